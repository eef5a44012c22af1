package server

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// markerTimelines are the timelines that keep a read position, as in Mastodon.
var markerTimelines = []string{"home", "notifications"}

// markerIDMaxLen bounds a saved position; ids here are 16 digits, remote ones no longer.
const markerIDMaxLen = 64

func markerEntities(ms map[string]store.Marker) map[string]mastodon.Marker {
	out := make(map[string]mastodon.Marker, len(ms))
	for tl, m := range ms {
		out[tl] = mastodon.Marker{LastReadID: m.LastReadID, Version: m.Version, UpdatedAt: mastodon.Timestamp(m.UpdatedAt)}
	}
	return out
}

// markersGet is GET /api/v1/markers?timeline[]=home&timeline[]=notifications; timelines
// without a saved position, and unknown ones, are left out.
func (s *Server) markersGet(c *fiber.Ctx) error {
	var timelines []string
	for _, tl := range queryList(c, "timeline") {
		if slices.Contains(markerTimelines, tl) && !slices.Contains(timelines, tl) {
			timelines = append(timelines, tl)
		}
	}
	ms, err := s.store.Markers(c.UserContext(), me(c).ID, timelines)
	if err != nil {
		return err
	}
	return c.JSON(markerEntities(ms))
}

// markerParams is one timeline's part of POST /api/v1/markers.
type markerParams struct {
	LastReadID optString `json:"last_read_id"`
}

// markersSave is POST /api/v1/markers with home[last_read_id] and/or
// notifications[last_read_id]; it answers with the markers it saved.
func (s *Server) markersSave(c *fiber.Ctx) error {
	var p struct {
		Home          *markerParams `json:"home"`
		Notifications *markerParams `json:"notifications"`
	}
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	positions := map[string]string{}
	for tl, mp := range map[string]*markerParams{"home": p.Home, "notifications": p.Notifications} {
		if mp == nil || !mp.LastReadID.set {
			continue
		}
		id := strings.TrimSpace(mp.LastReadID.val)
		switch {
		case id == "":
			return validationFailed("Last read can't be blank")
		case len(id) > markerIDMaxLen:
			return validationFailed("Last read is too long")
		}
		positions[tl] = id
	}
	ms, err := s.store.SaveMarkers(c.UserContext(), me(c).ID, positions)
	if err != nil {
		return err
	}
	return c.JSON(markerEntities(ms))
}

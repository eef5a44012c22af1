package server

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/text"
)

// Hashtag endpoints' constants, as in Mastodon.
const (
	tagHistoryDays   = 7
	followedTagsPage = 100
	followedTagsMax  = 200
)

// tagEntity is Mastodon's Tag with its history always present (an empty history is still an
// array in Mastodon's JSON), which mastodon.Tag omits when empty.
type tagEntity struct {
	mastodon.Tag
	History []mastodon.TagHistory `json:"history"`
}

// tagParam reads the :name path parameter and normalizes it as hashtags in statuses are
// normalized; a name that is not a hashtag is 404, as in Mastodon.
func tagParam(c *fiber.Ctx) (string, error) {
	raw, err := url.PathUnescape(c.Params("name"))
	if err != nil {
		return "", errNotFound
	}
	names := text.HashtagNames("#" + raw)
	if len(names) != 1 || names[0] != strings.ToLower(raw) {
		return "", errNotFound
	}
	return names[0], nil
}

// tagEntities builds Tag entities with their recent history; following is set only for a
// signed-in viewer, from follows (nil to look each tag up).
func (s *Server) tagEntities(ctx context.Context, viewer *store.Account, names []string, follows map[string]bool) ([]tagEntity, error) {
	history, err := s.store.TagsHistory(ctx, names, time.Now(), tagHistoryDays)
	if err != nil {
		return nil, err
	}
	out := make([]tagEntity, len(names))
	for i, name := range names {
		e := tagEntity{Tag: mastodon.Tag{ID: name, Name: name, URL: s.site.TagURL(name)}, History: []mastodon.TagHistory{}}
		for _, d := range history[name] {
			e.History = append(e.History, mastodon.TagHistory{
				Day:      strconv.FormatInt(d.Day.Unix(), 10),
				Uses:     strconv.FormatInt(d.Uses, 10),
				Accounts: strconv.FormatInt(d.Accounts, 10),
			})
		}
		if viewer != nil {
			following, known := follows[name]
			if !known {
				if following, err = s.store.FollowsTag(ctx, viewer.ID, name); err != nil {
					return nil, err
				}
			}
			e.Following = &following
		}
		out[i] = e
	}
	return out, nil
}

// tagGet is GET /api/v1/tags/:name. Any valid hashtag name has an entity, used or not.
func (s *Server) tagGet(c *fiber.Ctx) error {
	name, err := tagParam(c)
	if err != nil {
		return err
	}
	out, err := s.tagEntities(c.UserContext(), viewer(c), []string{name}, nil)
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// tagFollow is POST /api/v1/tags/:name/follow; following twice is harmless.
func (s *Server) tagFollow(c *fiber.Ctx) error {
	name, err := tagParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := s.store.FollowTag(ctx, me(c).ID, name); err != nil {
		return err
	}
	out, err := s.tagEntities(ctx, me(c), []string{name}, map[string]bool{name: true})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// tagUnfollow is POST /api/v1/tags/:name/unfollow; unfollowing a tag not followed is harmless.
func (s *Server) tagUnfollow(c *fiber.Ctx) error {
	name, err := tagParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	if err := s.store.UnfollowTag(ctx, me(c).ID, name); err != nil {
		return err
	}
	out, err := s.tagEntities(ctx, me(c), []string{name}, map[string]bool{name: false})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// followedTags is GET /api/v1/followed_tags, newest follow first.
func (s *Server) followedTags(c *fiber.Ctx) error {
	ctx := c.UserContext()
	entries, err := s.store.FollowedTags(ctx, me(c).ID, pageFrom(c, followedTagsPage, followedTagsMax))
	if err != nil {
		return err
	}
	names := store.Members(entries)
	follows := make(map[string]bool, len(names))
	for _, n := range names {
		follows[n] = true
	}
	out, err := s.tagEntities(ctx, me(c), names, follows)
	if err != nil {
		return err
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}

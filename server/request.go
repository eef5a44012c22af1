package server

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
)

func shortErr(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// queryList reads a repeated array parameter such as types[] or id[] from the query string.
func queryList(c *fiber.Ctx, name string) []string {
	var out []string
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		key := string(k)
		if key == name || key == name+"[]" || strings.HasPrefix(key, name+"[") {
			out = append(out, string(v))
		}
	})
	return out
}

// queryBool reads a boolean parameter the way Rails does ("true", "1", "on").
func queryBool(c *fiber.Ctx, name string) bool {
	switch strings.ToLower(c.Query(name)) {
	case "true", "1", "on", "yes":
		return true
	}
	return false
}

// pageFrom reads max_id, since_id, min_id and limit, capping limit at max.
func pageFrom(c *fiber.Ctx, def, max int) store.Page {
	limit, err := strconv.Atoi(c.Query("limit"))
	if err != nil || limit <= 0 {
		limit = def
	}
	if limit > max {
		limit = max
	}
	return store.Page{MaxID: cleanID(c.Query("max_id")), SinceID: cleanID(c.Query("since_id")), MinID: cleanID(c.Query("min_id")), Limit: limit}
}

// cleanID drops ids that are not decimal numbers, which can only come from a confused client.
func cleanID(id string) string {
	if _, err := strconv.ParseUint(id, 10, 63); err != nil {
		return ""
	}
	return id
}

// setLinkHeader writes Mastodon's pagination Link header for a page of entries (newest first).
func (s *Server) setLinkHeader(c *fiber.Ctx, entries []store.Entry) {
	if len(entries) == 0 {
		return
	}
	base := s.cfg.URL + c.Path()
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	for _, k := range []string{"max_id", "since_id", "min_id", "access_token"} {
		q.Del(k)
	}
	next, prev := cloneValues(q), cloneValues(q)
	next.Set("max_id", entries[len(entries)-1].ID)
	prev.Set("min_id", entries[0].ID)
	c.Set(fiber.HeaderLink, `<`+base+"?"+next.Encode()+`>; rel="next", <`+base+"?"+prev.Encode()+`>; rel="prev"`)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

package server

import (
	"cmp"
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/store"
	"watercooler/text"
)

// featuredTagSuggestions is how many of one's most used hashtags are suggested for featuring.
const featuredTagSuggestions = 10

// featuredTag is Mastodon's FeaturedTag entity.
type featuredTag struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	URL           string  `json:"url"`
	StatusesCount int64   `json:"statuses_count"`
	LastStatusAt  *string `json:"last_status_at"`
}

func (s *Server) featuredTagEntities(owner *store.Account, tags []*store.FeaturedTag) []featuredTag {
	out := make([]featuredTag, len(tags))
	for i, t := range tags {
		profile := owner.URL
		if profile == "" {
			profile = owner.URI
		}
		out[i] = featuredTag{ID: t.ID, Name: t.Name, URL: profile + "/tagged/" + t.Name, StatusesCount: t.StatusesCount}
		if !t.LastStatusAt.IsZero() {
			day := t.LastStatusAt.UTC().Format("2006-01-02") // Mastodon gives the day
			out[i].LastStatusAt = &day
		}
	}
	return out
}

// featuredTagsList is GET /api/v1/featured_tags: the viewer's own.
func (s *Server) featuredTagsList(c *fiber.Ctx) error {
	tags, err := s.store.FeaturedTags(c.UserContext(), me(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(s.featuredTagEntities(me(c), tags))
}

// accountFeaturedTags is GET /api/v1/accounts/:id/featured_tags.
func (s *Server) accountFeaturedTags(c *fiber.Ctx) error {
	a, err := s.accountParam(c)
	if err != nil {
		return err
	}
	tags, err := s.store.FeaturedTags(c.UserContext(), a.ID)
	if err != nil {
		return err
	}
	return c.JSON(s.featuredTagEntities(a, tags))
}

// featureTagNamed features a hashtag name given by the client, normalized as statuses' are.
func (s *Server) featureTagNamed(c *fiber.Ctx, raw string) (*store.FeaturedTag, error) {
	raw = strings.TrimPrefix(strings.TrimSpace(raw), "#")
	names := text.HashtagNames("#" + raw)
	if len(names) != 1 || names[0] != strings.ToLower(raw) {
		return nil, errorf(fiber.StatusUnprocessableEntity, "Validation failed: Tag is invalid")
	}
	t, err := s.store.FeatureTag(c.UserContext(), me(c).ID, names[0])
	if errors.Is(err, store.ErrFeaturedTagLimit) {
		return nil, errorf(fiber.StatusUnprocessableEntity, "Validation failed: You have already featured the maximum number of hashtags")
	}
	if err != nil {
		return nil, err
	}
	tags, err := s.store.FeaturedTags(c.UserContext(), me(c).ID)
	if err != nil {
		return nil, err
	}
	for _, x := range tags {
		if x.ID == t.ID {
			return x, nil
		}
	}
	return t, nil
}

// featuredTagCreate is POST /api/v1/featured_tags (name=).
func (s *Server) featuredTagCreate(c *fiber.Ctx) error {
	var p struct {
		Name string `json:"name" form:"name"`
	}
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	t, err := s.featureTagNamed(c, p.Name)
	if err != nil {
		return err
	}
	return c.JSON(s.featuredTagEntities(me(c), []*store.FeaturedTag{t})[0])
}

// featuredTagDelete is DELETE /api/v1/featured_tags/:id.
func (s *Server) featuredTagDelete(c *fiber.Ctx) error {
	if err := s.store.UnfeatureTag(c.UserContext(), me(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// featuredTagSuggestionsList is GET /api/v1/featured_tags/suggestions: the viewer's most used
// hashtags not yet featured, as Tag entities.
func (s *Server) featuredTagSuggestionsList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	used, err := s.store.TagUse(ctx, me(c).ID)
	if err != nil {
		return err
	}
	featured, err := s.store.FeaturedTags(ctx, me(c).ID)
	if err != nil {
		return err
	}
	var names []string
	for name := range used {
		if !slices.ContainsFunc(featured, func(t *store.FeaturedTag) bool { return t.Name == name }) {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(used[b].Count, used[a].Count), cmp.Compare(a, b))
	})
	out, err := s.tagEntities(ctx, me(c), names[:min(len(names), featuredTagSuggestions)], nil)
	if err != nil {
		return err
	}
	if out == nil {
		out = []tagEntity{}
	}
	return c.JSON(out)
}

// tagFeature is POST /api/v1/tags/:name/feature (Mastodon 4.4): feature and answer the Tag.
func (s *Server) tagFeature(c *fiber.Ctx) error {
	name, err := tagParam(c)
	if err != nil {
		return err
	}
	if _, err := s.featureTagNamed(c, name); err != nil {
		return err
	}
	return s.tagGet(c)
}

// tagUnfeature is POST /api/v1/tags/:name/unfeature.
func (s *Server) tagUnfeature(c *fiber.Ctx) error {
	name, err := tagParam(c)
	if err != nil {
		return err
	}
	tags, err := s.store.FeaturedTags(c.UserContext(), me(c).ID)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if t.Name == name {
			if err := s.store.UnfeatureTag(c.UserContext(), me(c).ID, t.ID); err != nil {
				return err
			}
		}
	}
	return s.tagGet(c)
}

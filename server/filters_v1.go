package server

import (
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// API v1 filters are Mastodon's older view of the same filters: each v1 filter is one keyword
// of a v2 filter, its id the keyword's id, its context, expiry and irreversibility (the "hide"
// action) the filter's. Creating one makes a v2 filter titled with the phrase, as Mastodon does.

// filterV1 is Mastodon's V1::Filter entity.
type filterV1 struct {
	ID           string   `json:"id"`
	Phrase       string   `json:"phrase"`
	Context      []string `json:"context"`
	WholeWord    bool     `json:"whole_word"`
	ExpiresAt    *string  `json:"expires_at"`
	Irreversible bool     `json:"irreversible"`
}

// filterV1Params are the parameters of POST and PUT /api/v1/filters.
type filterV1Params struct {
	Phrase       optString `json:"phrase"`
	Context      optList   `json:"context"`
	Irreversible optString `json:"irreversible"`
	WholeWord    optString `json:"whole_word"`
	ExpiresIn    optString `json:"expires_in"`
}

// asV2 turns v1 parameters into the v2 filter parameters they stand for; keyword is the
// keyword the v1 filter is (empty when creating).
func (p filterV1Params) asV2(keywordID string) filterParams {
	v2 := filterParams{Title: p.Phrase, Context: p.Context, ExpiresIn: p.ExpiresIn}
	if p.Irreversible.set {
		action := "warn"
		if v, _ := railsBool(p.Irreversible.val); v {
			action = "hide"
		}
		v2.FilterAction = optString{set: true, val: action}
	}
	kw := keywordParams{Keyword: p.Phrase, WholeWord: p.WholeWord}
	if keywordID != "" {
		kw.ID = optString{set: true, val: keywordID}
		v2.Title = optString{} // an edit keeps the v2 filter's title
	}
	if kw.Keyword.set || kw.WholeWord.set || keywordID == "" {
		v2.Keywords = keywordAttrsParams{kw}
	}
	return v2
}

func filterV1Entity(f *store.Filter, k store.FilterKeyword) filterV1 {
	out := filterV1{ID: k.ID, Phrase: k.Keyword, Context: f.Context, WholeWord: k.WholeWord, Irreversible: f.FilterAction == "hide"}
	if out.Context == nil {
		out.Context = []string{}
	}
	if f.ExpiresAt != nil {
		ts := mastodon.Timestamp(*f.ExpiresAt)
		out.ExpiresAt = &ts
	}
	return out
}

// filtersListV1 is GET /api/v1/filters.
func (s *Server) filtersListV1(c *fiber.Ctx) error {
	filters, err := s.store.Filters(c.UserContext(), me(c).ID)
	if err != nil {
		return err
	}
	out := []filterV1{}
	for _, f := range filters {
		for _, k := range f.Keywords {
			out = append(out, filterV1Entity(f, k))
		}
	}
	return c.JSON(out)
}

// filterCreateV1 is POST /api/v1/filters.
func (s *Server) filterCreateV1(c *fiber.Ctx) error {
	var p filterV1Params
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	f := &store.Filter{FilterAction: "warn", Keywords: []store.FilterKeyword{}}
	if err := applyFilterParams(f, p.asV2(""), time.Now()); err != nil {
		return err
	}
	if err := s.store.SaveFilter(c.UserContext(), me(c).ID, f); err != nil {
		return err
	}
	return c.JSON(filterV1Entity(f, f.Keywords[0]))
}

// filterGetV1 is GET /api/v1/filters/:id.
func (s *Server) filterGetV1(c *fiber.Ctx) error {
	f, i, err := s.keywordOwner(c)
	if err != nil {
		return err
	}
	return c.JSON(filterV1Entity(f, f.Keywords[i]))
}

// filterUpdateV1 is PUT /api/v1/filters/:id: the keyword and its filter change together.
func (s *Server) filterUpdateV1(c *fiber.Ctx) error {
	var p filterV1Params
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	owner, _, err := s.keywordOwner(c)
	if err != nil {
		return err
	}
	id := c.Params("id")
	updated, err := s.store.UpdateFilter(c.UserContext(), me(c).ID, owner.ID, func(f *store.Filter) error {
		return applyFilterParams(f, p.asV2(id), time.Now())
	})
	if err != nil {
		return err
	}
	i := slices.IndexFunc(updated.Keywords, func(k store.FilterKeyword) bool { return k.ID == id })
	if i < 0 {
		return errNotFound
	}
	return c.JSON(filterV1Entity(updated, updated.Keywords[i]))
}

// filterDeleteV1 is DELETE /api/v1/filters/:id: the keyword goes, and its filter with it when
// it was the last one.
func (s *Server) filterDeleteV1(c *fiber.Ctx) error {
	ctx := c.UserContext()
	owner, _, err := s.keywordOwner(c)
	if err != nil {
		return err
	}
	if len(owner.Keywords) == 1 {
		if err := s.store.DeleteFilter(ctx, me(c).ID, owner.ID); err != nil {
			return err
		}
		return c.JSON(fiber.Map{})
	}
	id := c.Params("id")
	_, err = s.store.UpdateFilter(ctx, me(c).ID, owner.ID, func(f *store.Filter) error {
		f.Keywords = slices.DeleteFunc(f.Keywords, func(k store.FilterKeyword) bool { return k.ID == id })
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

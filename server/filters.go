package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Filter limits. Mastodon caps titles and keywords; Watercooler keeps a filter in one hash
// field, so it caps the keywords of one filter as well.
const (
	filterTitleMaxLen   = 256
	filterKeywordMaxLen = 512
	filterKeywordsMax   = 200
)

var (
	filterContexts = []string{contextHome, contextNotifications, contextPublic, contextThread, contextAccount}
	// filterActions includes "blur", which Mastodon 4.4 added; matchFilters treats it as "warn"
	// and clients blur the media.
	filterActions = []string{"warn", "hide", "blur"}
)

// filterParams are the parameters of POST and PUT /api/v2/filters.
type filterParams struct {
	Title        optString          `json:"title"`
	Context      optList            `json:"context"`
	FilterAction optString          `json:"filter_action"`
	ExpiresIn    optString          `json:"expires_in"`
	Keywords     keywordAttrsParams `json:"keywords_attributes"`
}

// keywordParams are one entry of keywords_attributes, or the body of the keyword endpoints.
type keywordParams struct {
	ID        optString `json:"id"`
	Keyword   optString `json:"keyword"`
	WholeWord optString `json:"whole_word"`
	Destroy   optString `json:"_destroy"`
}

// blank is Rails' all_blank for nested attributes: nothing but _destroy was given.
func (k keywordParams) blank() bool {
	return strings.TrimSpace(k.ID.val) == "" && strings.TrimSpace(k.Keyword.val) == "" && strings.TrimSpace(k.WholeWord.val) == ""
}

// apply sets the given fields on kw; a new keyword matches whole words unless told otherwise.
func (k keywordParams) apply(kw *store.FilterKeyword) {
	if k.Keyword.set {
		kw.Keyword = k.Keyword.val
	}
	if k.WholeWord.set {
		if v, ok := railsBool(k.WholeWord.val); ok {
			kw.WholeWord = v
		}
	}
}

// keywordAttrsParams accepts keywords_attributes as an array or, as Rails forms send it, an
// object keyed by index.
type keywordAttrsParams []keywordParams

// UnmarshalJSON reads an array of keyword objects or an object of them keyed by index.
func (k *keywordAttrsParams) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*k = nil
		return nil
	}
	var list []keywordParams
	if err := json.Unmarshal(b, &list); err == nil {
		*k = list
		return nil
	}
	var byIndex map[string]keywordParams
	if err := json.Unmarshal(b, &byIndex); err != nil {
		return errors.New("keywords_attributes must be an array of objects")
	}
	keys := make([]string, 0, len(byIndex))
	for key := range byIndex {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, compareParamKeys)
	*k = make([]keywordParams, len(keys))
	for i, key := range keys {
		(*k)[i] = byIndex[key]
	}
	return nil
}

// applyFilterParams validates p against f (a new filter or a copy of a stored one) and
// applies it, collecting Mastodon's validation messages in Rails' order.
func applyFilterParams(f *store.Filter, p filterParams, now time.Time) error {
	var problems []string
	if p.Title.set {
		f.Title = p.Title.val
	}
	if p.Context.set {
		f.Context = f.Context[:0:0]
		for _, c := range p.Context.vals {
			if c = strings.TrimSpace(c); c != "" && !slices.Contains(f.Context, c) {
				f.Context = append(f.Context, c)
			}
		}
	}
	if p.FilterAction.set {
		if !slices.Contains(filterActions, p.FilterAction.val) {
			return errorf(fiber.StatusUnprocessableEntity, "'%s' is not a valid filter_action", p.FilterAction.val)
		}
		f.FilterAction = p.FilterAction.val
	}
	if p.ExpiresIn.set {
		expires, err := expiresAt(p.ExpiresIn.val, now)
		if err != nil {
			return err
		}
		f.ExpiresAt = expires
	}
	problems, err := applyKeywordAttrs(f, p.Keywords, problems)
	if err != nil {
		return err
	}
	switch title := strings.TrimSpace(f.Title); {
	case title == "":
		problems = append(problems, "Title can't be blank")
	case utf8.RuneCountInString(f.Title) > filterTitleMaxLen:
		problems = append(problems, fmt.Sprintf("Title is too long (maximum is %d characters)", filterTitleMaxLen))
	}
	if len(f.Context) == 0 {
		problems = append(problems, "Context can't be blank")
	}
	if len(f.Context) == 0 || slices.ContainsFunc(f.Context, func(c string) bool { return !slices.Contains(filterContexts, c) }) {
		problems = append(problems, "Context None or invalid context supplied")
	}
	if len(problems) > 0 {
		return validationFailed(problems...)
	}
	return nil
}

// applyKeywordAttrs applies keywords_attributes the way Rails' nested attributes do: entries
// with an id edit (or, with _destroy, delete) that keyword of the filter, others add one, and
// entirely blank entries are skipped. An id of another filter's keyword is 404.
func applyKeywordAttrs(f *store.Filter, attrs []keywordParams, problems []string) ([]string, error) {
	for _, a := range attrs {
		if a.blank() {
			continue
		}
		destroy, _ := railsBool(a.Destroy.val)
		if id := strings.TrimSpace(a.ID.val); id != "" {
			i := slices.IndexFunc(f.Keywords, func(k store.FilterKeyword) bool { return k.ID == id })
			if i < 0 {
				return nil, errNotFound
			}
			if destroy {
				f.Keywords = slices.Delete(f.Keywords, i, i+1)
				continue
			}
			a.apply(&f.Keywords[i])
			continue
		}
		if destroy {
			continue
		}
		kw := store.FilterKeyword{WholeWord: true}
		a.apply(&kw)
		f.Keywords = append(f.Keywords, kw)
	}
	for _, k := range f.Keywords {
		if msg := keywordProblem(k.Keyword); msg != "" {
			problems = append(problems, "Keywords keyword "+msg)
			break
		}
	}
	if len(f.Keywords) > filterKeywordsMax {
		problems = append(problems, fmt.Sprintf("Keywords are too many (maximum is %d)", filterKeywordsMax))
	}
	return problems, nil
}

// keywordProblem is the validation message of a keyword's text, or "" when it is fine.
func keywordProblem(keyword string) string {
	switch {
	case strings.TrimSpace(keyword) == "":
		return "can't be blank"
	case utf8.RuneCountInString(keyword) > filterKeywordMaxLen:
		return fmt.Sprintf("is too long (maximum is %d characters)", filterKeywordMaxLen)
	}
	return ""
}

// expiresAt reads expires_in, a number of seconds from now; blank clears the expiry.
func expiresAt(v string, now time.Time) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || secs < 0 || math.IsInf(secs, 0) || math.IsNaN(secs) || secs > 100*365*24*3600 {
		return nil, validationFailed("Expires in is not a valid number of seconds")
	}
	t := now.Add(time.Duration(secs) * time.Second).UTC()
	return &t, nil
}

// filtersList is GET /api/v2/filters.
func (s *Server) filtersList(c *fiber.Ctx) error {
	filters, err := s.store.Filters(c.UserContext(), me(c).ID)
	if err != nil {
		return err
	}
	out := make([]mastodon.Filter, len(filters))
	for i, f := range filters {
		out[i] = FilterEntity(f)
	}
	return c.JSON(out)
}

// filterCreate is POST /api/v2/filters.
func (s *Server) filterCreate(c *fiber.Ctx) error {
	var p filterParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	f := &store.Filter{FilterAction: filterActions[0], Keywords: []store.FilterKeyword{}}
	if err := applyFilterParams(f, p, time.Now()); err != nil {
		return err
	}
	if err := s.store.SaveFilter(c.UserContext(), me(c).ID, f); err != nil {
		return err
	}
	return c.JSON(FilterEntity(f))
}

// filterGet is GET /api/v2/filters/:id.
func (s *Server) filterGet(c *fiber.Ctx) error {
	f, err := s.store.Filter(c.UserContext(), me(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(FilterEntity(f))
}

// filterUpdate is PUT /api/v2/filters/:id; parameters not sent keep their values.
func (s *Server) filterUpdate(c *fiber.Ctx) error {
	var p filterParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	now := time.Now()
	f, err := s.store.UpdateFilter(c.UserContext(), me(c).ID, c.Params("id"), func(f *store.Filter) error {
		return applyFilterParams(f, p, now)
	})
	if err != nil {
		return err
	}
	return c.JSON(FilterEntity(f))
}

// filterDelete is DELETE /api/v2/filters/:id.
func (s *Server) filterDelete(c *fiber.Ctx) error {
	if err := s.store.DeleteFilter(c.UserContext(), me(c).ID, c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

func keywordEntity(k store.FilterKeyword) mastodon.FilterKeyword {
	return mastodon.FilterKeyword{ID: k.ID, Keyword: k.Keyword, WholeWord: k.WholeWord}
}

// filterKeywordsList is GET /api/v2/filters/:id/keywords.
func (s *Server) filterKeywordsList(c *fiber.Ctx) error {
	f, err := s.store.Filter(c.UserContext(), me(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	out := make([]mastodon.FilterKeyword, len(f.Keywords))
	for i, k := range f.Keywords {
		out[i] = keywordEntity(k)
	}
	return c.JSON(out)
}

// filterKeywordAdd is POST /api/v2/filters/:id/keywords.
func (s *Server) filterKeywordAdd(c *fiber.Ctx) error {
	var p keywordParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	kw := store.FilterKeyword{WholeWord: true}
	p.apply(&kw)
	if msg := keywordProblem(kw.Keyword); msg != "" {
		return validationFailed("Keyword " + msg)
	}
	f, err := s.store.UpdateFilter(c.UserContext(), me(c).ID, c.Params("id"), func(f *store.Filter) error {
		if len(f.Keywords) >= filterKeywordsMax {
			return validationFailed(fmt.Sprintf("Keywords are too many (maximum is %d)", filterKeywordsMax))
		}
		f.Keywords = append(f.Keywords, kw)
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(f.Keywords[len(f.Keywords)-1]))
}

// keywordOwner finds the signed-in account's filter holding the keyword named in the path.
func (s *Server) keywordOwner(c *fiber.Ctx) (*store.Filter, int, error) {
	id := c.Params("id")
	f, err := s.store.FilterByKeyword(c.UserContext(), me(c).ID, id)
	if err != nil {
		return nil, 0, err
	}
	return f, slices.IndexFunc(f.Keywords, func(k store.FilterKeyword) bool { return k.ID == id }), nil
}

// filterKeywordGet is GET /api/v2/filters/keywords/:id.
func (s *Server) filterKeywordGet(c *fiber.Ctx) error {
	f, i, err := s.keywordOwner(c)
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(f.Keywords[i]))
}

// filterKeywordUpdate is PUT /api/v2/filters/keywords/:id.
func (s *Server) filterKeywordUpdate(c *fiber.Ctx) error {
	var p keywordParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	owner, _, err := s.keywordOwner(c)
	if err != nil {
		return err
	}
	id := c.Params("id")
	var updated store.FilterKeyword
	_, err = s.store.UpdateFilter(c.UserContext(), me(c).ID, owner.ID, func(f *store.Filter) error {
		i := slices.IndexFunc(f.Keywords, func(k store.FilterKeyword) bool { return k.ID == id })
		if i < 0 {
			return errNotFound // deleted meanwhile
		}
		p.apply(&f.Keywords[i])
		if msg := keywordProblem(f.Keywords[i].Keyword); msg != "" {
			return validationFailed("Keyword " + msg)
		}
		updated = f.Keywords[i]
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(keywordEntity(updated))
}

// filterKeywordDelete is DELETE /api/v2/filters/keywords/:id.
func (s *Server) filterKeywordDelete(c *fiber.Ctx) error {
	owner, _, err := s.keywordOwner(c)
	if err != nil {
		return err
	}
	id := c.Params("id")
	_, err = s.store.UpdateFilter(c.UserContext(), me(c).ID, owner.ID, func(f *store.Filter) error {
		i := slices.IndexFunc(f.Keywords, func(k store.FilterKeyword) bool { return k.ID == id })
		if i < 0 {
			return errNotFound
		}
		f.Keywords = slices.Delete(f.Keywords, i, i+1)
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

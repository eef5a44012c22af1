package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/testrig"
)

// createFilter creates a filter through the API with a JSON body.
func createFilter(t testing.TB, inst *testrig.Instance, token, body string) mastodon.Filter {
	t.Helper()
	var f mastodon.Filter
	apiJSON(t, http.MethodPost, inst.API("/api/v2/filters"), token, body).ok(t, &f)
	return f
}

func keywordsOf(f mastodon.Filter) map[string]bool {
	out := map[string]bool{}
	for _, k := range f.Keywords {
		out[k.Keyword] = k.WholeWord
	}
	return out
}

func TestFiltersCreateBodyShapes(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	shapes := []struct{ name, contentType, body string }{
		{"form with indexes", formType,
			"title=Spoilers&context[]=home&context[]=public&filter_action=hide&expires_in=3600" +
				"&keywords_attributes[0][keyword]=finale&keywords_attributes[0][whole_word]=false" +
				"&keywords_attributes[1][keyword]=ending"},
		{"form with empty brackets", formType,
			"title=Spoilers&context[]=home&context[]=public&filter_action=hide&expires_in=3600" +
				"&keywords_attributes[][keyword]=finale&keywords_attributes[][whole_word]=0" +
				"&keywords_attributes[][keyword]=ending"},
		{"JSON", jsonType,
			`{"title":"Spoilers","context":["home","public"],"filter_action":"hide","expires_in":3600,
			  "keywords_attributes":[{"keyword":"finale","whole_word":false},{"keyword":"ending"}]}`},
		{"JSON with indexed keywords", jsonType,
			`{"title":"Spoilers","context":["home","public"],"filter_action":"hide","expires_in":"3600",
			  "keywords_attributes":{"0":{"keyword":"finale","whole_word":"false"},"1":{"keyword":"ending"}}}`},
	}
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			var f mastodon.Filter
			apiDo(t, http.MethodPost, inst.API("/api/v2/filters"), alice.Token, shape.contentType, shape.body).ok(t, &f)
			if f.ID == "" || f.Title != "Spoilers" || f.FilterAction != "hide" || !slices.Equal(f.Context, []string{"home", "public"}) {
				t.Fatalf("filter = %+v", f)
			}
			if kws := keywordsOf(f); len(kws) != 2 || kws["finale"] || !kws["ending"] {
				t.Fatalf("keywords = %+v; want finale (not whole word) and ending (whole word by default)", f.Keywords)
			}
			if f.ExpiresAt == nil {
				t.Fatal("expires_at is null")
			}
			if at, err := time.Parse(time.RFC3339, *f.ExpiresAt); err != nil || time.Until(at) < 59*time.Minute || time.Until(at) > 61*time.Minute {
				t.Fatalf("expires_at %q, want an hour from now (%v)", *f.ExpiresAt, err)
			}
			var again mastodon.Filter
			apiGet(t, inst.API("/api/v2/filters/%s", f.ID), alice.Token).ok(t, &again)
			if again.ID != f.ID || len(again.Keywords) != 2 || again.Keywords[0].ID != f.Keywords[0].ID {
				t.Fatalf("read back %+v, want %+v", again, f)
			}
		})
	}
	var all []mastodon.Filter
	apiGet(t, inst.API("/api/v2/filters"), alice.Token).ok(t, &all)
	if len(all) != len(shapes) {
		t.Fatalf("%d filters listed, want %d", len(all), len(shapes))
	}
}

func TestFiltersUpdateKeywordsAttributes(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	f := createFilter(t, inst, alice.Token, `{"title":"TV","context":["home"],"expires_in":600,
		"keywords_attributes":[{"keyword":"finale"},{"keyword":"season"},{"keyword":"cliffhanger"}]}`)
	ids := map[string]string{}
	for _, k := range f.Keywords {
		ids[k.Keyword] = k.ID
	}
	u := inst.API("/api/v2/filters/%s", f.ID)

	var updated mastodon.Filter
	apiForm(t, http.MethodPut, u, alice.Token, "title=Shows&context[]=thread&context[]=notifications&expires_in="+
		"&keywords_attributes[0][id]="+ids["finale"]+"&keywords_attributes[0][keyword]=series+finale&keywords_attributes[0][whole_word]=false"+
		"&keywords_attributes[1][id]="+ids["season"]+"&keywords_attributes[1][_destroy]=true"+
		"&keywords_attributes[2][keyword]=episode"+
		"&keywords_attributes[3][keyword]=").ok(t, &updated)
	if updated.Title != "Shows" || !slices.Equal(updated.Context, []string{"thread", "notifications"}) || updated.ExpiresAt != nil || updated.FilterAction != "warn" {
		t.Fatalf("updated = %+v", updated)
	}
	kws := keywordsOf(updated)
	if len(kws) != 3 || kws["series finale"] || !kws["cliffhanger"] || !kws["episode"] {
		t.Fatalf("keywords = %+v; want series finale (edited), cliffhanger (kept), episode (added); season destroyed", updated.Keywords)
	}
	for _, k := range updated.Keywords {
		if k.Keyword == "series finale" && k.ID != ids["finale"] {
			t.Errorf("edited keyword got a new id %s, want %s", k.ID, ids["finale"])
		}
	}

	// JSON with only a title keeps everything else.
	apiJSON(t, http.MethodPut, u, alice.Token, `{"title":"Renamed"}`).ok(t, &updated)
	if updated.Title != "Renamed" || len(updated.Keywords) != 3 || len(updated.Context) != 2 {
		t.Fatalf("title-only update = %+v", updated)
	}

	r := apiDo(t, http.MethodDelete, u, alice.Token, "", "")
	if r.Code != http.StatusOK || strings.TrimSpace(string(r.Body)) != "{}" {
		t.Fatalf("delete = %d %s", r.Code, r.Body)
	}
	apiGet(t, u, alice.Token).expectError(t, http.StatusNotFound, "Record not found")
	apiGet(t, inst.API("/api/v2/filters/keywords/%s", ids["cliffhanger"]), alice.Token).expectError(t, http.StatusNotFound, "Record not found")
}

func TestFiltersKeywordEndpoints(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	f := createFilter(t, inst, alice.Token, `{"title":"Words","context":["public"]}`)
	keywordsURL := inst.API("/api/v2/filters/%s/keywords", f.ID)

	var added, second mastodon.FilterKeyword
	apiForm(t, http.MethodPost, keywordsURL, alice.Token, "keyword=rust").ok(t, &added)
	if added.ID == "" || added.Keyword != "rust" || !added.WholeWord {
		t.Fatalf("added = %+v, want whole_word true by default", added)
	}
	apiJSON(t, http.MethodPost, keywordsURL, alice.Token, `{"keyword":"go","whole_word":false}`).ok(t, &second)
	if second.WholeWord {
		t.Fatalf("second = %+v", second)
	}

	var list []mastodon.FilterKeyword
	apiGet(t, keywordsURL, alice.Token).ok(t, &list)
	if len(list) != 2 || list[0].ID != added.ID || list[1].ID != second.ID {
		t.Fatalf("keywords = %+v", list)
	}
	keywordURL := inst.API("/api/v2/filters/keywords/%s", added.ID)
	var got mastodon.FilterKeyword
	apiGet(t, keywordURL, alice.Token).ok(t, &got)
	if got != added {
		t.Fatalf("GET keyword = %+v, want %+v", got, added)
	}
	apiForm(t, http.MethodPut, keywordURL, alice.Token, "whole_word=false").ok(t, &got)
	if got.Keyword != "rust" || got.WholeWord {
		t.Fatalf("after PUT whole_word=false: %+v", got)
	}
	apiJSON(t, http.MethodPut, keywordURL, alice.Token, `{"keyword":"rustacean"}`).ok(t, &got)
	if got.Keyword != "rustacean" || got.WholeWord {
		t.Fatalf("after PUT keyword: %+v", got)
	}
	var filter mastodon.Filter
	apiGet(t, inst.API("/api/v2/filters/%s", f.ID), alice.Token).ok(t, &filter)
	if kws := keywordsOf(filter); len(kws) != 2 || kws["rustacean"] || kws["go"] {
		t.Fatalf("filter keywords = %+v", filter.Keywords)
	}

	r := apiDo(t, http.MethodDelete, keywordURL, alice.Token, "", "")
	if r.Code != http.StatusOK || strings.TrimSpace(string(r.Body)) != "{}" {
		t.Fatalf("delete keyword = %d %s", r.Code, r.Body)
	}
	apiGet(t, keywordURL, alice.Token).expectError(t, http.StatusNotFound, "Record not found")
	apiGet(t, keywordsURL, alice.Token).ok(t, &list)
	if len(list) != 1 || list[0].ID != second.ID {
		t.Fatalf("after delete keywords = %+v", list)
	}
}

func TestFiltersOfOthersAreNotFound(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	f := createFilter(t, inst, alice.Token, `{"title":"Mine","context":["home"],"keywords_attributes":[{"keyword":"x"}]}`)
	kw := f.Keywords[0].ID
	requests := []struct{ method, path, body string }{
		{http.MethodGet, "/api/v2/filters/" + f.ID, ""},
		{http.MethodPut, "/api/v2/filters/" + f.ID, "title=Stolen"},
		{http.MethodDelete, "/api/v2/filters/" + f.ID, ""},
		{http.MethodGet, "/api/v2/filters/" + f.ID + "/keywords", ""},
		{http.MethodPost, "/api/v2/filters/" + f.ID + "/keywords", "keyword=y"},
		{http.MethodGet, "/api/v2/filters/keywords/" + kw, ""},
		{http.MethodPut, "/api/v2/filters/keywords/" + kw, "keyword=y"},
		{http.MethodDelete, "/api/v2/filters/keywords/" + kw, ""},
	}
	for _, rq := range requests {
		apiForm(t, rq.method, inst.URL+rq.path, bob.Token, rq.body).expectError(t, http.StatusNotFound, "Record not found")
	}
	var mine mastodon.Filter
	apiGet(t, inst.API("/api/v2/filters/%s", f.ID), alice.Token).ok(t, &mine)
	if mine.Title != "Mine" || len(mine.Keywords) != 1 || mine.Keywords[0].Keyword != "x" {
		t.Fatalf("another account changed the filter: %+v", mine)
	}
	var bobs []mastodon.Filter
	apiGet(t, inst.API("/api/v2/filters"), bob.Token).ok(t, &bobs)
	if len(bobs) != 0 {
		t.Fatalf("bob sees filters %+v", bobs)
	}
}

func TestFiltersBadInput(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	readOnly := userToken(t, inst, alice, "read")
	existing := createFilter(t, inst, alice.Token, `{"title":"Keep","context":["home"],"keywords_attributes":[{"keyword":"keep"}]}`)
	filtersURL := inst.API("/api/v2/filters")
	existingURL := inst.API("/api/v2/filters/%s", existing.ID)
	expectRefusals(t, []refusal{
		{"no token", http.MethodGet, filtersURL, "", "", "", http.StatusUnauthorized, "The access token is invalid"},
		{"read-only token", http.MethodPost, filtersURL, readOnly, formType, "title=x&context[]=home", http.StatusForbidden, "This action is outside the authorized scopes"},
		{"malformed JSON", http.MethodPost, filtersURL, alice.Token, jsonType, `{"title":"x",`, http.StatusBadRequest, "Malformed request body*"},
		{"keywords not objects", http.MethodPost, filtersURL, alice.Token, jsonType, `{"title":"x","context":["home"],"keywords_attributes":"x"}`, http.StatusBadRequest, "Malformed request body*"},
		{"blank title", http.MethodPost, filtersURL, alice.Token, formType, "title=&context[]=home", http.StatusUnprocessableEntity, "Validation failed: Title can't be blank"},
		{"no context", http.MethodPost, filtersURL, alice.Token, formType, "title=x", http.StatusUnprocessableEntity, "Validation failed: Context can't be blank, Context None or invalid context supplied"},
		{"invalid context", http.MethodPost, filtersURL, alice.Token, jsonType, `{"title":"x","context":["home","everywhere"]}`, http.StatusUnprocessableEntity, "Validation failed: Context None or invalid context supplied"},
		{"blank keyword", http.MethodPost, filtersURL, alice.Token, jsonType, `{"title":"x","context":["home"],"keywords_attributes":[{"keyword":"","whole_word":true}]}`, http.StatusUnprocessableEntity, "Validation failed: Keywords keyword can't be blank"},
		{"everything wrong", http.MethodPost, filtersURL, alice.Token, jsonType, `{"keywords_attributes":[{"keyword":" ","whole_word":true}]}`, http.StatusUnprocessableEntity,
			"Validation failed: Keywords keyword can't be blank, Title can't be blank, Context can't be blank, Context None or invalid context supplied"},
		{"bad filter_action", http.MethodPost, filtersURL, alice.Token, formType, "title=x&context[]=home&filter_action=delete", http.StatusUnprocessableEntity, "'delete' is not a valid filter_action"},
		{"bad expires_in", http.MethodPost, filtersURL, alice.Token, formType, "title=x&context[]=home&expires_in=soon", http.StatusUnprocessableEntity, "Validation failed: Expires in is not a valid number of seconds"},
		{"unknown filter", http.MethodGet, filtersURL + "/12345", alice.Token, "", "", http.StatusNotFound, "Record not found"},
		{"unknown filter update", http.MethodPut, filtersURL + "/12345", alice.Token, formType, "title=x", http.StatusNotFound, "Record not found"},
		{"unknown keyword", http.MethodGet, filtersURL + "/keywords/12345", alice.Token, "", "", http.StatusNotFound, "Record not found"},
		{"update with another filter's keyword id", http.MethodPut, existingURL, alice.Token, formType, "keywords_attributes[0][id]=12345&keywords_attributes[0][keyword]=y", http.StatusNotFound, "Record not found"},
		{"update to blank title", http.MethodPut, existingURL, alice.Token, jsonType, `{"title":"  "}`, http.StatusUnprocessableEntity, "Validation failed: Title can't be blank"},
		{"update to no context", http.MethodPut, existingURL, alice.Token, formType, "context[]=", http.StatusUnprocessableEntity, "Validation failed: Context can't be blank, Context None or invalid context supplied"},
		{"blank keyword added", http.MethodPost, existingURL + "/keywords", alice.Token, formType, "keyword=", http.StatusUnprocessableEntity, "Validation failed: Keyword can't be blank"},
		{"keyword blanked", http.MethodPut, inst.API("/api/v2/filters/keywords/%s", existing.Keywords[0].ID), alice.Token, formType, "keyword=", http.StatusUnprocessableEntity, "Validation failed: Keyword can't be blank"},
	})
	var all []mastodon.Filter
	apiGet(t, filtersURL, alice.Token).ok(t, &all)
	if len(all) != 1 || all[0].Title != "Keep" || !slices.Equal(all[0].Context, []string{"home"}) ||
		len(all[0].Keywords) != 1 || all[0].Keywords[0].Keyword != "keep" {
		t.Fatalf("refused requests changed the filters: %+v", all)
	}
}

// TestFiltersApplyToTimelines checks what filters made through this API do to a timeline:
// "hide" drops a status, "warn" annotates it, and whole_word keywords match only whole words.
func TestFiltersApplyToTimelines(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	warn := createFilter(t, inst, alice.Token, `{"title":"Langs","context":["public"],"filter_action":"warn",
		"keywords_attributes":[{"keyword":"rust","whole_word":true},{"keyword":"tool","whole_word":false}]}`)
	createFilter(t, inst, alice.Token, `{"title":"Spam","context":["public"],"filter_action":"hide","keywords_attributes":[{"keyword":"casino"}]}`)
	createFilter(t, inst, alice.Token, `{"title":"Elsewhere","context":["home"],"filter_action":"hide","keywords_attributes":[{"keyword":"weather"}]}`)
	createFilter(t, inst, alice.Token, `{"title":"Expired","context":["public"],"filter_action":"hide","expires_in":0,"keywords_attributes":[{"keyword":"lunch"}]}`)

	posts := map[string]string{}
	for _, text := range []string{"I like Rust.", "trusty tools", "casino tonight", "nice weather", "lunch time", "hello"} {
		posts[text] = string(postStatus(t, inst, bob, gomastodon.Toot{Status: text}).ID)
	}
	sts := timeline(t, inst.API("/api/v1/timelines/public?local=true&limit=40"), alice.Token)
	byID := map[string]mastodon.Status{}
	for _, st := range sts {
		byID[st.ID] = st
	}
	if _, shown := byID[posts["casino tonight"]]; shown {
		t.Error("a status matching a hide filter is shown")
	}
	for _, text := range []string{"nice weather", "lunch time", "hello"} {
		if st, ok := byID[posts[text]]; !ok || len(st.Filtered) != 0 {
			t.Errorf("%q: shown %v, filtered %+v; want shown unfiltered (other context, expired, no match)", text, ok, st.Filtered)
		}
	}
	rust, ok := byID[posts["I like Rust."]]
	if !ok || len(rust.Filtered) != 1 || rust.Filtered[0].Filter.ID != warn.ID || !slices.Equal(rust.Filtered[0].KeywordMatches, []string{"rust"}) {
		t.Errorf("whole word match: %+v", rust.Filtered)
	}
	// "rust" inside "trusty" is no whole word; "tool" matches inside "tools" as it is not whole_word.
	trusty, ok := byID[posts["trusty tools"]]
	if !ok || len(trusty.Filtered) != 1 || !slices.Equal(trusty.Filtered[0].KeywordMatches, []string{"tool"}) {
		t.Errorf("partial matches: %+v", trusty.Filtered)
	}

	// Bob has no filters: he sees everything unannotated.
	for _, st := range timeline(t, inst.API("/api/v1/timelines/public?local=true&limit=40"), bob.Token) {
		if len(st.Filtered) != 0 {
			t.Errorf("bob's view of %s is filtered by alice's filters", st.ID)
		}
	}
}

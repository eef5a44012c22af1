package server_test

import (
	"net/http"
	"testing"

	"watercooler/testrig"
)

// TestFiltersV1 checks API v1 filters as views of v2 filters' keywords, as Mastodon keeps them.
func TestFiltersV1(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	type v1 struct {
		ID           string   `json:"id"`
		Phrase       string   `json:"phrase"`
		Context      []string `json:"context"`
		WholeWord    bool     `json:"whole_word"`
		ExpiresAt    *string  `json:"expires_at"`
		Irreversible bool     `json:"irreversible"`
	}
	var created v1
	resp := apiForm(t, http.MethodPost, inst.URL+"/api/v1/filters", alice.Token, "phrase=finale&context[]=home&context[]=public&irreversible=true&whole_word=false&expires_in=3600")
	resp.ok(t, &created)
	var raw map[string]any
	resp.decode(t, &raw)
	for _, f := range []string{"id", "phrase", "context", "whole_word", "expires_at", "irreversible"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("v1 filter lacks %q: %s", f, resp.Body)
		}
	}
	if created.Phrase != "finale" || !created.Irreversible || created.WholeWord || len(created.Context) != 2 || created.ExpiresAt == nil {
		t.Errorf("created %+v", created)
	}
	var v2 []struct {
		Title        string
		FilterAction string `json:"filter_action"`
		Keywords     []struct{ ID, Keyword string }
	}
	apiGet(t, inst.URL+"/api/v2/filters", alice.Token).ok(t, &v2)
	if len(v2) != 1 || v2[0].FilterAction != "hide" || len(v2[0].Keywords) != 1 || v2[0].Keywords[0].ID != created.ID {
		t.Fatalf("v2 view = %+v, want one hiding filter holding the keyword %s", v2, created.ID)
	}

	var updated v1
	apiForm(t, http.MethodPut, inst.URL+"/api/v1/filters/"+created.ID, alice.Token, "phrase=season+finale&context[]=thread&irreversible=false").ok(t, &updated)
	if updated.ID != created.ID || updated.Phrase != "season finale" || updated.Irreversible || len(updated.Context) != 1 || updated.Context[0] != "thread" {
		t.Errorf("updated %+v", updated)
	}
	var got v1
	apiGet(t, inst.URL+"/api/v1/filters/"+created.ID, alice.Token).ok(t, &got)
	if got.Phrase != "season finale" {
		t.Errorf("GET = %+v", got)
	}

	// A v2 filter with two keywords is two v1 filters; deleting one keeps the other.
	apiJSON(t, http.MethodPost, inst.URL+"/api/v2/filters", alice.Token, `{"title":"Spoilers","context":["home"],"keywords_attributes":[{"keyword":"ending"},{"keyword":"twist"}]}`).ok(t, nil)
	var list []v1
	apiGet(t, inst.URL+"/api/v1/filters", alice.Token).ok(t, &list)
	if len(list) != 3 {
		t.Fatalf("v1 list = %+v, want 3", list)
	}
	apiDo(t, http.MethodDelete, inst.URL+"/api/v1/filters/"+list[1].ID, alice.Token, "", "").ok(t, nil)
	apiDo(t, http.MethodDelete, inst.URL+"/api/v1/filters/"+created.ID, alice.Token, "", "").ok(t, nil)
	apiGet(t, inst.URL+"/api/v2/filters", alice.Token).ok(t, &v2)
	if len(v2) != 1 || v2[0].Title != "Spoilers" || len(v2[0].Keywords) != 1 {
		t.Errorf("after deleting: %+v, want the Spoilers filter with one keyword left", v2)
	}
	apiGet(t, inst.URL+"/api/v1/filters/"+created.ID, alice.Token).expectError(t, http.StatusNotFound, "Record not found")
	apiForm(t, http.MethodPost, inst.URL+"/api/v1/filters", alice.Token, "phrase=x").expectError(t, http.StatusUnprocessableEntity, "Validation failed: Context can't be blank, Context None or invalid context supplied")
}

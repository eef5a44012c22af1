package server_test

import (
	"net/http"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// TestFeaturedTags: featuring hashtags on one's profile, with how often one used them, the
// suggestions from one's own posts, and the 4.4 feature/unfeature shortcuts.
func TestFeaturedTags(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	for _, text := range []string{"#golang tip one", "#golang tip two #testing", "#testing only", "#secret stuff"} {
		vis := "public"
		if text == "#secret stuff" {
			vis = "direct"
		}
		postStatus(t, inst, alice, gomastodon.Toot{Status: text, Visibility: vis})
	}
	type featured struct {
		ID            string  `json:"id"`
		Name          string  `json:"name"`
		URL           string  `json:"url"`
		StatusesCount int     `json:"statuses_count"`
		LastStatusAt  *string `json:"last_status_at"`
	}
	var sugg []struct{ Name string }
	apiGet(t, inst.URL+"/api/v1/featured_tags/suggestions", alice.Token).ok(t, &sugg)
	if len(sugg) != 2 || sugg[0].Name != "golang" || sugg[1].Name != "testing" {
		t.Errorf("suggestions = %+v, want golang then testing (a direct message's tag is private)", sugg)
	}
	var ft featured
	apiForm(t, http.MethodPost, inst.URL+"/api/v1/featured_tags", alice.Token, "name=%23GoLang").ok(t, &ft)
	if ft.Name != "golang" || ft.StatusesCount != 2 || ft.LastStatusAt == nil || ft.URL != alice.Account.URL+"/tagged/golang" {
		t.Errorf("featured = %+v", ft)
	}
	apiForm(t, http.MethodPost, inst.URL+"/api/v1/featured_tags", alice.Token, "name=not+a+tag!").expectError(t, http.StatusUnprocessableEntity, "Validation failed: Tag is invalid")
	apiDo(t, http.MethodPost, inst.URL+"/api/v1/tags/testing/feature", alice.Token, "", "").ok(t, nil)
	var list []featured
	apiGet(t, inst.URL+"/api/v1/accounts/"+alice.Account.ID+"/featured_tags", bob.Token).ok(t, &list)
	if len(list) != 2 || list[0].Name != "golang" || list[1].Name != "testing" || list[1].StatusesCount != 2 {
		t.Errorf("alice's featured tags seen by bob = %+v", list)
	}
	apiGet(t, inst.URL+"/api/v1/featured_tags/suggestions", alice.Token).ok(t, &sugg)
	if len(sugg) != 0 {
		t.Errorf("suggestions after featuring both = %+v", sugg)
	}
	apiDo(t, http.MethodDelete, inst.URL+"/api/v1/featured_tags/"+ft.ID, alice.Token, "", "").ok(t, nil)
	apiDo(t, http.MethodPost, inst.URL+"/api/v1/tags/testing/unfeature", alice.Token, "", "").ok(t, nil)
	apiGet(t, inst.URL+"/api/v1/featured_tags", alice.Token).ok(t, &list)
	if len(list) != 0 {
		t.Errorf("after removing both: %+v", list)
	}
	apiDo(t, http.MethodDelete, inst.URL+"/api/v1/featured_tags/"+ft.ID, alice.Token, "", "").expectError(t, http.StatusNotFound, "Record not found")
}

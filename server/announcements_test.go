package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"watercooler/store"
	"watercooler/testrig"
)

// TestAnnouncements checks what apps show of the admin's announcements: only those in effect,
// dismissal per person, and emoji reactions counted once per person.
func TestAnnouncements(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ctx := context.Background()
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	current := &store.Announcement{Text: "Welcome", Content: "<p>Welcome</p>"}
	ended := &store.Announcement{Text: "Old", Content: "<p>Old</p>", EndsAt: &past}
	upcoming := &store.Announcement{Text: "Soon", Content: "<p>Soon</p>", StartsAt: &future}
	for _, a := range []*store.Announcement{current, ended, upcoming} {
		if err := inst.Store.CreateAnnouncement(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	type reaction struct {
		Name  string
		Count int
		Me    bool
	}
	type entity struct {
		ID        string
		Content   string
		Read      bool
		Reactions []reaction
	}
	list := func(u *testrig.User, query string) []entity {
		var out []entity
		resp := apiGet(t, inst.URL+"/api/v1/announcements"+query, u.Token)
		resp.ok(t, &out)
		var raw []map[string]any
		resp.decode(t, &raw)
		for _, a := range raw {
			for _, f := range []string{"id", "content", "starts_at", "ends_at", "all_day", "published_at", "updated_at", "read", "mentions", "statuses", "tags", "emojis", "reactions"} {
				if _, ok := a[f]; !ok {
					t.Errorf("announcement lacks %q", f)
				}
			}
		}
		return out
	}
	if got := list(alice, ""); len(got) != 1 || got[0].ID != current.ID || got[0].Content != "<p>Welcome</p>" {
		t.Fatalf("announcements = %+v, want the current one only", got)
	}
	react := func(u *testrig.User, method, name string) apiResponse {
		return apiDo(t, method, inst.URL+"/api/v1/announcements/"+current.ID+"/reactions/"+url.PathEscape(name), u.Token, "", "")
	}
	react(alice, http.MethodPut, "👍").ok(t, nil)
	react(alice, http.MethodPut, "👍").ok(t, nil)
	react(bob, http.MethodPut, "👍").ok(t, nil)
	react(bob, http.MethodPut, "🎉").ok(t, nil)
	react(bob, http.MethodDelete, "🎉").ok(t, nil)
	react(bob, http.MethodPut, "thumbsup").expectError(t, http.StatusUnprocessableEntity, "Validation failed: Name is not a recognized emoji")
	if got := list(alice, "")[0].Reactions; len(got) != 1 || got[0] != (reaction{"👍", 2, true}) {
		t.Errorf("reactions seen by alice = %+v, want 👍 ×2 including hers", got)
	}

	apiDo(t, http.MethodPost, inst.URL+"/api/v1/announcements/"+current.ID+"/dismiss", alice.Token, "", "").ok(t, nil)
	if got := list(alice, ""); len(got) != 0 {
		t.Errorf("dismissed announcement still listed: %+v", got)
	}
	if got := list(alice, "?with_dismissed=true"); len(got) != 1 || !got[0].Read {
		t.Errorf("with_dismissed = %+v, want it, read", got)
	}
	if got := list(bob, ""); len(got) != 1 || got[0].Read {
		t.Errorf("bob's view = %+v, want it unread", got)
	}
	apiDo(t, http.MethodPost, inst.URL+"/api/v1/announcements/404/dismiss", alice.Token, "", "").expectError(t, http.StatusNotFound, "Record not found")
}

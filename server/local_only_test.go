package server_test

import (
	"net/http"
	"testing"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// TestLocalOnlyPosts: local_only is taken as glitch-soc takes it (form or JSON), shown on the
// status, inherited by replies, and a department-only post cannot quote another server's post.
func TestLocalOnlyPosts(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	statuses := inst.URL + "/api/v1/statuses"
	var inside, outside, reply mastodon.Status
	apiForm(t, http.MethodPost, statuses, alice.Token, "status=rota&local_only=true").ok(t, &inside)
	apiJSON(t, http.MethodPost, statuses, alice.Token, `{"status":"release"}`).ok(t, &outside)
	apiJSON(t, http.MethodPost, statuses, alice.Token, `{"status":"pager","in_reply_to_id":"`+inside.ID+`","local_only":false}`).ok(t, &reply)
	if !inside.LocalOnly || outside.LocalOnly || !reply.LocalOnly {
		t.Fatalf("local_only: post %v, ordinary %v, reply %v; want true, false, true", inside.LocalOnly, outside.LocalOnly, reply.LocalOnly)
	}
	if got := getStatus(t, inst, inside.ID, alice.Token); !got.LocalOnly {
		t.Error("the stored post lost local_only")
	}
	remote := storeStatus(t, inst, remoteAccount(t, inst, "carol", "sales.example"), store.Status{Visibility: store.VisibilityPublic, URI: "https://sales.example/s/1"})
	apiJSON(t, http.MethodPost, statuses, alice.Token, `{"status":"see this","local_only":true,"quoted_status_id":"`+remote.ID+`"}`).
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: A post that stays in this department cannot quote a post from another server")
}

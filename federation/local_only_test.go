package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"
)

// TestDepartmentOnlyPostsStayHome: a post made with local_only (and a reply to it, and a boost
// of it) is never delivered to another department nor served to it, while the same author's
// ordinary posts still are.
func TestDepartmentOnlyPostsStayHome(t *testing.T) {
	ctx := context.Background()
	eng := newDept(t, "alice")
	sales := newDept(t, "bob")
	sales.follow(t, eng)

	post := func(form url.Values) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, eng.inst.URL+"/api/v1/statuses", strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer "+eng.user.Token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("post: %d %v", resp.StatusCode, err)
		}
		return out
	}
	inside := post(url.Values{"status": {"Only for engineering: the on-call rota"}, "visibility": {"public"}, "local_only": {"true"}})
	if inside["local_only"] != true {
		t.Fatalf("local_only = %v, want true", inside["local_only"])
	}
	reply := post(url.Values{"status": {"And the pager number, also inside"}, "in_reply_to_id": {inside["id"].(string)}})
	if reply["local_only"] != true {
		t.Fatalf("a reply in a department-only thread has local_only = %v", reply["local_only"])
	}
	if _, err := eng.client.Reblog(ctx, gomastodon.ID(inside["id"].(string))); err != nil {
		t.Fatal(err)
	}
	eng.post(t, &gomastodon.Toot{Status: "For everyone: the release is out", Visibility: "public"})

	// Deliveries leave in the order they were queued; the ordinary post arriving means the
	// others would have had their chance, and they were never queued.
	sales.waitHome(t, "the ordinary post in sales", contains("the release is out"))
	for _, s := range sales.home(t) {
		if strings.Contains(s.Content, "on-call") || strings.Contains(s.Content, "pager") || (s.Reblog != nil && strings.Contains(s.Reblog.Content, "on-call")) {
			t.Errorf("a department-only post reached sales: %q", s.Content)
		}
	}
	// Nor is it served to another server asking for it, or listed in the outbox.
	if code, _, _ := get(t, inside["uri"].(string), activityJSON); code != http.StatusNotFound {
		t.Errorf("GET the department-only post as ActivityPub = %d, want 404", code)
	}
	_, _, body := get(t, eng.user.Account.OutboxURI+"?page=true", activityJSON)
	if !strings.Contains(string(body), "the release is out") {
		t.Errorf("the outbox page lacks the ordinary post: %s", body)
	}
	if strings.Contains(string(body), "on-call") || strings.Contains(string(body), inside["uri"].(string)) {
		t.Errorf("the outbox lists the department-only post: %s", body)
	}
	if res, err := sales.client.Search(ctx, inside["uri"].(string), true); err == nil && len(res.Statuses) > 0 {
		t.Errorf("sales resolved the department-only post: %+v", res.Statuses[0])
	}
}

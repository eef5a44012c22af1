package main

import (
	"context"
	"strings"
	"testing"

	"watercooler/store"
	"watercooler/testrig"
)

// TestAdminAnnouncements publishes, lists and deletes announcements as an admin would.
func TestAdminAnnouncements(t *testing.T) {
	admin, prefix := adminRunner(t)
	out, err := admin("announcement", "create", "--text", "Town hall on Friday, see https://intranet.example/townhall #allhands", "--ends-at", "2099-01-01T00:00:00Z")
	if err != nil || !strings.HasPrefix(out, "published announcement ") {
		t.Fatalf("create: %q, %v", out, err)
	}
	id := strings.TrimSpace(strings.TrimPrefix(out, "published announcement "))
	st := store.New(testrig.Redis(t), prefix, "eng.test.example")
	list, err := st.Announcements(context.Background())
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("stored announcements = %+v, %v", list, err)
	}
	if c := list[0].Content; !strings.Contains(c, `href="https://intranet.example/townhall"`) || !strings.Contains(c, "/tags/allhands") {
		t.Errorf("content not rendered as a status is: %s", c)
	}
	if out, err := admin("announcement", "list"); err != nil || !strings.Contains(out, id) || !strings.Contains(out, "true") {
		t.Errorf("list: %q, %v", out, err)
	}
	for _, bad := range [][]string{
		{"announcement", "create"},
		{"announcement", "create", "--text", "x", "--starts-at", "tomorrow"},
		{"announcement", "create", "--text", "x", "--starts-at", "2030-01-02T00:00:00Z", "--ends-at", "2030-01-01T00:00:00Z"},
		{"announcement", "delete", "--id", "123"},
	} {
		if out, err := admin(bad...); err == nil {
			t.Errorf("%v succeeded: %q", bad, out)
		}
	}
	if out, err := admin("announcement", "delete", "--id", id); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("delete: %q, %v", out, err)
	}
	if list, _ := st.Announcements(context.Background()); len(list) != 0 {
		t.Errorf("after delete: %+v", list)
	}
}

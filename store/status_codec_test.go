package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"watercooler/store"
)

// TestStatusRecordsCompactAndOldOnesStillRead checks that a status is stored compressed, and
// that records in the forms written before (plain JSON, then uncompressed compact JSON) read back
// the same.
func TestStatusRecordsCompactAndOldOnesStillRead(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	author := localAccount(t, st, "alice")
	created := postStatus(t, st, author, store.Status{
		Text:    "see #golang and https://example.com/a",
		Content: `<p>see <a href="https://test.example/tags/golang" class="mention hashtag" rel="tag">#<span>golang</span></a> &amp; more</p>`,
		Tags:    []string{"golang"}, Language: "en", ApplicationName: "Web",
	})
	key := "{" + prefix + ":status:" + created.ID + "}"
	raw := rdb.Get(ctx, key).Val()
	plain, err := json.Marshal(created)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "\x02") || len(raw) > len(plain)/2 {
		t.Errorf("stored record is not compressed: %d bytes, %d as plain JSON: %q", len(raw), len(plain), raw)
	}
	t.Logf("status record: %d bytes compressed, %d bytes as plain JSON", len(raw), len(plain))
	// The uncompressed compact form of before: short names, no id, the URI's base only.
	uncompressed, err := json.Marshal(map[string]any{
		"ub": strings.TrimSuffix(created.URI, created.ID), "lm": true, "a": created.AccountID, "lo": true,
		"t": created.Text, "c": created.Content, "v": created.Visibility, "la": created.Language,
		"g": created.Tags, "m": created.Mentions, "an": created.ApplicationName, "ct": created.CreatedAt.UnixNano(),
	})
	if err != nil {
		t.Fatal(err)
	}

	edited := *created
	edited.EditedAt = time.Now().UTC()
	edited.URI = "https://elsewhere.example/objects/xyz" // not ending with the id
	edited.CreatedAt = created.CreatedAt.Add(-time.Hour) // not the time of the id
	for _, tc := range []struct {
		name   string
		stored func() string
		want   *store.Status
	}{
		{"compact", func() string { return raw }, created},
		{"plain JSON of before", func() string { return string(plain) }, created},
		{"uncompressed compact JSON of before", func() string { return "\x01" + string(uncompressed) }, created},
		{"edited, URI without the id, created long before its id", func() string {
			if err := st.UpdateStatus(ctx, &edited, created); err != nil {
				t.Fatal(err)
			}
			return rdb.Get(ctx, key).Val()
		}, &edited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := rdb.Set(ctx, key, tc.stored(), 0).Err(); err != nil {
				t.Fatal(err)
			}
			one, err := st.Status(ctx, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			many, err := st.Statuses(ctx, []string{"1", created.ID})
			if err != nil || len(many) != 1 {
				t.Fatalf("statuses: %v %v", many, err)
			}
			for _, got := range []*store.Status{one, many[0]} {
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("read back\n%+v\nwant\n%+v", got, tc.want)
				}
			}
		})
	}
}

// TestStatusByURIWithoutIndexingLocalStatuses checks that local statuses, which are no longer in
// the URI index, are found by URI, as are remote ones, local ones indexed before, and a remote
// status whose URI ends with the id of a local one.
func TestStatusByURIWithoutIndexingLocalStatuses(t *testing.T) {
	ctx := context.Background()
	st, rdb, _ := rawStore(t)
	alice := localAccount(t, st, "alice")
	bob := remoteAccount(t, st, "bob", "remote.example")
	local := postStatus(t, st, alice, store.Status{Text: "hello"})
	if rdb.HExists(ctx, store.StatusURIIndex(st, local.URI), local.URI).Val() {
		t.Errorf("local status %s is in the URI index", local.URI)
	}
	remote, err := st.CreateStatus(ctx, store.NewStatus{Status: store.Status{
		AccountID: bob.ID, Visibility: store.VisibilityPublic, Content: "<p>hi</p>",
		URI: bob.URI + "/statuses/" + local.ID, // a remote URI ending like a local one
	}})
	if err != nil {
		t.Fatal(err)
	}
	older := postStatus(t, st, alice, store.Status{Text: "indexed as before"})
	rdb.HSet(ctx, store.StatusURIIndex(st, older.URI), older.URI, older.ID)
	for _, tc := range []struct {
		uri, want string
	}{
		{local.URI, local.ID},
		{remote.URI, remote.ID},
		{older.URI, older.ID},
		{strings.TrimSuffix(local.URI, local.ID) + remote.ID, ""}, // that id holds another URI
		{testBaseURL + "/users/alice/statuses/1", ""},
		{testBaseURL + "/users/alice/statuses/x" + local.ID, ""},
	} {
		got, err := st.StatusByURI(ctx, tc.uri)
		switch {
		case tc.want == "" && !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s: %v, %v; want not found", tc.uri, got, err)
		case tc.want != "" && (err != nil || got.ID != tc.want):
			t.Errorf("%s: %v, %v; want %s", tc.uri, got, err, tc.want)
		}
	}
}

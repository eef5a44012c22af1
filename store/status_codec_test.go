package store_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"watercooler/store"
)

// TestStatusRecordsCompactAndOldOnesStillRead checks that a status is stored in the compact
// form, and that a record in the plain JSON written before it reads back the same.
func TestStatusRecordsCompactAndOldOnesStillRead(t *testing.T) {
	ctx := context.Background()
	st, rdb, prefix := rawStore(t)
	author := localAccount(t, st, "alice")
	created := postStatus(t, st, author, store.Status{
		Text:    "see #golang and https://example.com/a",
		Content: `<p>see <a href="https://test.example/tags/golang" class="mention hashtag" rel="tag">#<span>golang</span></a> &amp; more</p>`,
		Tags:    []string{"golang"}, Language: "en", ApplicationName: "Web",
	})
	key := "{" + prefix + "}:status:" + created.ID
	raw := rdb.Get(ctx, key).Val()
	plain, err := json.Marshal(created)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "\x01") || strings.Contains(raw, `\u003c`) || strings.Contains(raw, created.ID) {
		t.Errorf("stored record is not compact: %q", raw)
	}
	t.Logf("status record: %d bytes compact, %d bytes as plain JSON", len(raw), len(plain))

	edited := *created
	edited.EditedAt = time.Now().UTC()
	edited.URI = "https://elsewhere.example/objects/xyz" // not ending with the id
	for _, tc := range []struct {
		name   string
		stored func() string
		want   *store.Status
	}{
		{"compact", func() string { return raw }, created},
		{"plain JSON of before", func() string { return string(plain) }, created},
		{"edited, URI without the id", func() string {
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

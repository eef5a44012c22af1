package federation

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/go-fed/activity/streams/vocab"

	"watercooler/store"
)

func TestActivityBuilders(t *testing.T) {
	const (
		alice     = "https://eng.example/users/alice"
		carol     = "https://social.sales.example/users/carol"
		status    = "https://eng.example/users/alice/statuses/1"
		followers = "https://eng.example/users/alice/followers"
	)
	remoteFollow, _ := parseFixture(t, "mastodon/follow.json")
	ourFollow := FollowActivity("https://eng.example/follows/7", alice, carol)
	like := LikeActivity("https://eng.example/users/alice#likes/3", alice, "https://social.sales.example/users/carol/statuses/9")
	person, err := AccountToPerson(testSite(), localAlice())
	if err != nil {
		t.Fatal(err)
	}
	published := time.Date(2024, 5, 6, 7, 8, 9, 999, time.UTC)

	for _, tc := range []struct {
		name  string
		act   vocab.Type
		want  map[string]any // top-level keys
		obj   any            // the object as JSON: a string, or a map of keys it must have
		env   Envelope       // what ParseEnvelope reads back
		to    []string       // nil: no check
		cc    []string
		noAud bool // to and cc must be absent
	}{
		{
			name: "Follow", act: ourFollow,
			want: map[string]any{"type": "Follow", "id": "https://eng.example/follows/7", "actor": alice},
			obj:  carol, noAud: true,
			env: Envelope{ID: "https://eng.example/follows/7", Type: "Follow", Actor: alice, ObjectID: carol},
		},
		{
			// Mastodon embeds the Follow it accepts; the parsed one keeps its id and actor.
			name: "Accept", act: AcceptActivity("https://eng.example/users/alice#accepts/follows/1", alice, remoteFollow),
			want: map[string]any{"type": "Accept", "actor": alice},
			obj:  map[string]any{"type": "Follow", "id": "https://social.sales.example/2b9a7c1e-4f3d-4e8a-9c6b-0d1e2f3a4b5c", "actor": carol, "object": alice},
			env: Envelope{ID: "https://eng.example/users/alice#accepts/follows/1", Type: "Accept", Actor: alice,
				ObjectID: "https://social.sales.example/2b9a7c1e-4f3d-4e8a-9c6b-0d1e2f3a4b5c", ObjectType: "Follow", ObjectActor: carol},
		},
		{
			name: "Reject", act: RejectActivity("https://eng.example/users/alice#rejects/follows/1", alice, remoteFollow),
			want: map[string]any{"type": "Reject", "actor": alice},
			obj:  map[string]any{"type": "Follow", "actor": carol},
			env: Envelope{ID: "https://eng.example/users/alice#rejects/follows/1", Type: "Reject", Actor: alice,
				ObjectID: "https://social.sales.example/2b9a7c1e-4f3d-4e8a-9c6b-0d1e2f3a4b5c", ObjectType: "Follow", ObjectActor: carol},
		},
		{
			name: "Undo Follow", act: UndoActivity("https://eng.example/follows/7/undo", alice, ourFollow),
			want: map[string]any{"type": "Undo", "actor": alice},
			obj:  map[string]any{"type": "Follow", "id": "https://eng.example/follows/7", "actor": alice, "object": carol},
			env: Envelope{ID: "https://eng.example/follows/7/undo", Type: "Undo", Actor: alice,
				ObjectID: "https://eng.example/follows/7", ObjectType: "Follow", ObjectActor: alice},
		},
		{
			name: "Undo Like", act: UndoActivity("https://eng.example/users/alice#likes/3/undo", alice, like),
			want: map[string]any{"type": "Undo"},
			obj:  map[string]any{"type": "Like", "actor": alice, "object": "https://social.sales.example/users/carol/statuses/9"},
			env: Envelope{ID: "https://eng.example/users/alice#likes/3/undo", Type: "Undo", Actor: alice,
				ObjectID: "https://eng.example/users/alice#likes/3", ObjectType: "Like", ObjectActor: alice},
		},
		{
			name: "Like", act: like,
			want: map[string]any{"type": "Like", "actor": alice}, obj: "https://social.sales.example/users/carol/statuses/9", noAud: true,
			env: Envelope{ID: "https://eng.example/users/alice#likes/3", Type: "Like", Actor: alice, ObjectID: "https://social.sales.example/users/carol/statuses/9"},
		},
		{
			name: "Block", act: BlockActivity("https://eng.example/blocks/4", alice, carol),
			want: map[string]any{"type": "Block", "actor": alice}, obj: carol, noAud: true,
			env: Envelope{ID: "https://eng.example/blocks/4", Type: "Block", Actor: alice, ObjectID: carol},
		},
		{
			name: "Announce", act: AnnounceActivity(status+"/activity", alice, "https://social.sales.example/users/carol/statuses/9", published, []string{PublicAudience}, []string{carol, followers}),
			want: map[string]any{"type": "Announce", "published": "2024-05-06T07:08:09Z"},
			obj:  "https://social.sales.example/users/carol/statuses/9", to: []string{PublicAudience}, cc: []string{carol, followers},
			env: Envelope{ID: status + "/activity", Type: "Announce", Actor: alice, ObjectID: "https://social.sales.example/users/carol/statuses/9"},
		},
		{
			// One recipient still goes out as an array.
			name: "Delete status", act: DeleteActivity(status+"#delete", alice, status, []string{PublicAudience}, nil),
			want: map[string]any{"type": "Delete", "actor": alice},
			obj:  map[string]any{"type": "Tombstone", "id": status}, to: []string{PublicAudience}, cc: []string{},
			env: Envelope{ID: status + "#delete", Type: "Delete", Actor: alice, ObjectID: status, ObjectType: "Tombstone"},
		},
		{
			name: "Delete account", act: DeleteActivity(alice+"#delete", alice, alice, []string{PublicAudience}, nil),
			want: map[string]any{"type": "Delete"}, obj: alice, to: []string{PublicAudience},
			env: Envelope{ID: alice + "#delete", Type: "Delete", Actor: alice, ObjectID: alice},
		},
		{
			name: "Update person", act: UpdatePersonActivity(alice+"#updates/1", person),
			want: map[string]any{"type": "Update", "actor": alice},
			obj:  map[string]any{"type": "Person", "id": alice, "preferredUsername": "alice"},
			to:   []string{PublicAudience}, cc: []string{followers},
			env: Envelope{ID: alice + "#updates/1", Type: "Update", Actor: alice, ObjectID: alice, ObjectType: "Person"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Serialize(tc.act)
			if err != nil {
				t.Fatal(err)
			}
			m := decode(t, b)
			for k, v := range tc.want {
				if m[k] != v {
					t.Errorf("%s JSON %q = %#v, want %#v", tc.name, k, m[k], v)
				}
			}
			switch want := tc.obj.(type) {
			case string:
				if m["object"] != want {
					t.Errorf("%s JSON object = %#v, want %q", tc.name, m["object"], want)
				}
			case map[string]any:
				obj, ok := m["object"].(map[string]any)
				if !ok {
					t.Fatalf("%s JSON object = %#v, want an embedded object", tc.name, m["object"])
				}
				for k, v := range want {
					if obj[k] != v {
						t.Errorf("%s JSON object[%q] = %#v, want %#v", tc.name, k, obj[k], v)
					}
				}
				if _, ok := obj["@context"]; ok {
					t.Errorf("%s JSON embedded object kept its @context", tc.name)
				}
			}
			if tc.noAud {
				if _, ok := m["to"]; ok {
					t.Errorf("%s JSON to = %v, want none", tc.name, m["to"])
				}
			}
			if tc.to != nil && !reflect.DeepEqual(toStrings(m["to"]), tc.to) {
				t.Errorf("%s JSON to = %#v, want %q", tc.name, m["to"], tc.to)
			}
			if tc.cc != nil && !reflect.DeepEqual(toStrings(m["cc"]), tc.cc) {
				t.Errorf("%s JSON cc = %#v, want %q", tc.name, m["cc"], tc.cc)
			}
			env, err := ParseEnvelope(b)
			if err != nil {
				t.Fatalf("ParseEnvelope(%s) = %v", tc.name, err)
			}
			if env != tc.env {
				t.Errorf("ParseEnvelope(%s) = %+v, want %+v", tc.name, env, tc.env)
			}
			if typ, _, err := Parse(context.Background(), b); err != nil || typ.GetTypeName() != tc.want["type"] {
				t.Errorf("Parse(%s) = %v, %v", tc.name, typ, err)
			}
		})
	}
}

// toStrings reads a JSON array of strings; anything else is nil, so a scalar fails the check.
func toStrings(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := []string{}
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

func TestActivityCreateCopiesNote(t *testing.T) {
	st := &store.Status{ID: "1", URI: "https://eng.example/users/alice/statuses/1", Content: "<p>hi</p>",
		Visibility: store.VisibilityUnlisted, CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	note, err := StatusToNote(testSite(), st, NoteContext{Author: localAlice()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Serialize(CreateActivity(st.URI+"/activity", localAlice().URI, note))
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	obj, _ := m["object"].(map[string]any)
	for _, k := range []string{"to", "cc", "published"} {
		if !reflect.DeepEqual(m[k], obj[k]) {
			t.Errorf("Create %s = %v, note %s = %v; want them equal", k, m[k], k, obj[k])
		}
	}
	if m["published"] != "2024-01-02T03:04:05Z" {
		t.Errorf("Create published = %v", m["published"])
	}
}

func BenchmarkSerializeCreate(b *testing.B) {
	alice := localAlice()
	st := &store.Status{ID: "1", URI: "https://eng.example/users/alice/statuses/1", URL: "https://eng.example/@alice/1",
		Content:     `<p>Hello <span class="h-card"><a href="https://sales.example/@bob" class="u-url mention">@<span>bob</span></a></span> <a href="https://eng.example/tags/go" class="mention hashtag" rel="tag">#<span>go</span></a></p>`,
		SpoilerText: "benchmarks", Visibility: store.VisibilityPublic, Language: "en", CreatedAt: time.Now()}
	nc := NoteContext{Author: alice, Tags: []string{"go"},
		Mentions: []*store.Account{{Username: "bob", Domain: "sales.example", URI: "https://sales.example/users/bob"}},
		Media:    []*store.Media{{Type: "image", URL: "https://eng.example/media/1.png", Description: "alt", Blurhash: "LKN]Rv%2Tw=w]~RBVZRi};RPxuwH", Width: 640, Height: 480}},
	}
	site := testSite()
	b.ReportAllocs()
	for b.Loop() {
		note, err := StatusToNote(site, st, nc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Serialize(CreateActivity(st.URI+"/activity", alice.URI, note)); err != nil {
			b.Fatal(err)
		}
	}
}

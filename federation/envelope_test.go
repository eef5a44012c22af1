package federation

import (
	"strings"
	"testing"
)

func TestParseEnvelope(t *testing.T) {
	const (
		actor = "https://social.sales.example/users/carol"
		note  = "https://social.sales.example/users/carol/statuses/1"
	)
	nested := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		name, body string
		want       Envelope
		wantErr    bool
	}{
		{
			name: "bare IRI object",
			body: `{"id":"https://s.example/likes/1","type":"Like","actor":"` + actor + `","object":"` + note + `"}`,
			want: Envelope{ID: "https://s.example/likes/1", Type: "Like", Actor: actor, ObjectID: note},
		},
		{
			name: "embedded note",
			body: `{"@context":"https://www.w3.org/ns/activitystreams","id":"` + note + `/activity","type":"Create","actor":"` + actor + `",
				"object":{"id":"` + note + `","type":"Note","attributedTo":"` + actor + `","content":"hi"}}`,
			want: Envelope{ID: note + "/activity", Type: "Create", Actor: actor, ObjectID: note, ObjectType: "Note", ObjectActor: actor},
		},
		{
			name: "embedded follow being undone",
			body: `{"id":"https://s.example/u","type":"Undo","actor":"` + actor + `","object":{"id":"https://s.example/f","type":"Follow","actor":"` + actor + `","object":"https://eng.example/users/alice"}}`,
			want: Envelope{ID: "https://s.example/u", Type: "Undo", Actor: actor, ObjectID: "https://s.example/f", ObjectType: "Follow", ObjectActor: actor},
		},
		{
			name: "actor as object, attributedTo as list, type as list",
			body: `{"id":"https://s.example/c","type":["Create"],"actor":{"id":"` + actor + `","type":"Person"},
				"object":{"id":"` + note + `","type":"Video","attributedTo":[{"type":"Person","id":"` + actor + `"},{"type":"Group","id":"https://s.example/c/ch"}]}}`,
			want: Envelope{ID: "https://s.example/c", Type: "Create", Actor: actor, ObjectID: note, ObjectType: "Video", ObjectActor: actor},
		},
		{
			name: "no object",
			body: `  {"id":"https://s.example/x","type":"Question","actor":"` + actor + `"}`,
			want: Envelope{ID: "https://s.example/x", Type: "Question", Actor: actor},
		},
		{
			// encoding/json would fold ACTOR into actor; the worker reads actor.
			name: "keys are case-sensitive",
			body: `{"id":"https://s.example/x","type":"Like","actor":"` + actor + `","ACTOR":"https://evil.example/users/m","Id":"https://evil.example/x","object":"` + note + `"}`,
			want: Envelope{ID: "https://s.example/x", Type: "Like", Actor: actor, ObjectID: note},
		},
		{name: "missing actor", body: `{"id":"https://s.example/x","type":"Like","object":"` + note + `"}`, wantErr: true},
		{name: "actor is a list", body: `{"id":"https://s.example/x","type":"Like","actor":["` + actor + `"],"object":"` + note + `"}`, wantErr: true},
		{name: "actor is a number", body: `{"id":"https://s.example/x","type":"Like","actor":7}`, wantErr: true},
		{name: "actor object without id", body: `{"id":"https://s.example/x","type":"Like","actor":{"type":"Person"}}`, wantErr: true},
		{name: "missing id", body: `{"type":"Like","actor":"` + actor + `"}`, wantErr: true},
		{name: "id not a string", body: `{"id":{"x":1},"type":"Like","actor":"` + actor + `"}`, wantErr: true},
		{name: "missing type", body: `{"id":"https://s.example/x","actor":"` + actor + `"}`, wantErr: true},
		{name: "top-level array", body: `[{"id":"https://s.example/x","type":"Like","actor":"` + actor + `"}]`, wantErr: true},
		{name: "top-level string", body: `"Like"`, wantErr: true},
		{name: "empty", body: ``, wantErr: true},
		{name: "truncated", body: `{"id":"https://s.example/x","type":"Like","actor":"` + actor, wantErr: true},
		{name: "trailing garbage", body: `{"id":"https://s.example/x","type":"Like","actor":"` + actor + `"} {}`, wantErr: true},
		{name: "nested 100 deep", body: `{"id":"https://s.example/x","type":"Like","actor":"` + actor + `","x":` + nested(100) + `}`, wantErr: true},
		{
			name: "nested 64 deep is fine",
			body: `{"id":"https://s.example/x","type":"Like","actor":"` + actor + `","x":` + nested(63) + `}`,
			want: Envelope{ID: "https://s.example/x", Type: "Like", Actor: actor},
		},
		{
			name: "brackets inside strings do not count",
			body: `{"id":"https://s.example/x","type":"Like","actor":"` + actor + `","x":"` + strings.Repeat(`[{\"`, 200) + `"}`,
			want: Envelope{ID: "https://s.example/x", Type: "Like", Actor: actor},
		},
		{name: "over 1 MiB", body: `{"id":"https://s.example/x","type":"Like","actor":"` + actor + `","pad":"` + strings.Repeat("a", 1<<20) + `"}`, wantErr: true},
	} {
		got, err := ParseEnvelope([]byte(tc.body))
		switch {
		case tc.wantErr && err == nil:
			t.Errorf("ParseEnvelope(%s) = %+v, want an error", tc.name, got)
		case !tc.wantErr && err != nil:
			t.Errorf("ParseEnvelope(%s) = %v, want %+v", tc.name, err, tc.want)
		case !tc.wantErr && got != tc.want:
			t.Errorf("ParseEnvelope(%s) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestFixtureEnvelope(t *testing.T) {
	const carol = "https://social.sales.example/users/carol"
	for _, tc := range []struct {
		file string
		want Envelope
	}{
		{"mastodon/create_note.json", Envelope{ID: carol + "/statuses/112233445566778899/activity", Type: "Create", Actor: carol,
			ObjectID: carol + "/statuses/112233445566778899", ObjectType: "Note", ObjectActor: carol}},
		{"mastodon/announce.json", Envelope{ID: carol + "/statuses/112233449999999999/activity", Type: "Announce", Actor: carol,
			ObjectID: "https://eng.example/users/alice/statuses/112233440000000001"}},
		{"mastodon/like.json", Envelope{ID: carol + "#likes/98765", Type: "Like", Actor: carol,
			ObjectID: "https://eng.example/users/alice/statuses/112233440000000001"}},
		{"mastodon/follow.json", Envelope{ID: "https://social.sales.example/2b9a7c1e-4f3d-4e8a-9c6b-0d1e2f3a4b5c", Type: "Follow", Actor: carol,
			ObjectID: "https://eng.example/users/alice"}},
		{"mastodon/accept_follow.json", Envelope{ID: carol + "#accepts/follows/31337", Type: "Accept", Actor: carol,
			ObjectID: "https://eng.example/follows/01HX3K5M7N9P", ObjectType: "Follow", ObjectActor: "https://eng.example/users/alice"}},
		{"mastodon/undo_follow.json", Envelope{ID: carol + "#follows/31338/undo", Type: "Undo", Actor: carol,
			ObjectID: "https://social.sales.example/2b9a7c1e-4f3d-4e8a-9c6b-0d1e2f3a4b5c", ObjectType: "Follow", ObjectActor: carol}},
		{"mastodon/delete_note.json", Envelope{ID: carol + "/statuses/112233445566778899#delete", Type: "Delete", Actor: carol,
			ObjectID: carol + "/statuses/112233445566778899", ObjectType: "Tombstone"}},
		{"mastodon/delete_actor.json", Envelope{ID: carol + "#delete", Type: "Delete", Actor: carol, ObjectID: carol}},
		{"mastodon/update_person.json", Envelope{ID: carol + "#updates/1715600000", Type: "Update", Actor: carol, ObjectID: carol, ObjectType: "Person"}},
		{"mastodon/move.json", Envelope{ID: "https://old.sales.example/users/carol#moves/7", Type: "Move", Actor: "https://old.sales.example/users/carol",
			ObjectID: "https://old.sales.example/users/carol"}},
		{"gotosocial/create_note.json", Envelope{ID: "https://gts.ops.example/users/dave/statuses/01HX4QWERTY0123456789ABCDE/activity#Create", Type: "Create",
			Actor: "https://gts.ops.example/users/dave", ObjectID: "https://gts.ops.example/users/dave/statuses/01HX4QWERTY0123456789ABCDE",
			ObjectType: "Note", ObjectActor: "https://gts.ops.example/users/dave"}},
		{"pleroma/create_note.json", Envelope{ID: "https://pleroma.hr.example/activities/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", Type: "Create",
			Actor: "https://pleroma.hr.example/users/erin", ObjectID: "https://pleroma.hr.example/objects/9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b",
			ObjectType: "Note", ObjectActor: "https://pleroma.hr.example/users/erin"}},
		{"misskey/create_note.json", Envelope{ID: "https://misskey.design.example/notes/9k3q8r2s1t/activity", Type: "Create",
			Actor: "https://misskey.design.example/users/9k2x7abc01", ObjectID: "https://misskey.design.example/notes/9k3q8r2s1t",
			ObjectType: "Note", ObjectActor: "https://misskey.design.example/users/9k2x7abc01"}},
	} {
		got, err := ParseEnvelope(fixture(t, tc.file))
		if err != nil {
			t.Errorf("ParseEnvelope(%s) = %v", tc.file, err)
		} else if got != tc.want {
			t.Errorf("ParseEnvelope(%s) = %+v, want %+v", tc.file, got, tc.want)
		}
	}
	// An actor document is not an activity.
	if got, err := ParseEnvelope(fixture(t, "mastodon/person.json")); err == nil {
		t.Errorf("ParseEnvelope(person.json) = %+v, want an error", got)
	}
}

func BenchmarkParseEnvelope(b *testing.B) {
	body := fixture(b, "mastodon/create_note.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseEnvelope(body); err != nil {
			b.Fatal(err)
		}
	}
}

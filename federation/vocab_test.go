package federation

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"watercooler/text"
)

// testSite is the local instance of the conversion tests; fixtures address eng.example.
func testSite() Site {
	return Site{BaseURL: "https://eng.example", Domain: "eng.example", Renderer: text.NewRenderer("https://eng.example")}
}

// fixture reads testdata/name.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// asFixtures lists the ActivityStreams fixtures (every server's folder, not signatures/).
func asFixtures(tb testing.TB) []string {
	tb.Helper()
	var names []string
	for _, dir := range []string{"mastodon", "gotosocial", "pleroma", "misskey"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range files {
			names = append(names, strings.TrimPrefix(filepath.ToSlash(f), "testdata/"))
		}
	}
	if len(names) < 17 {
		tb.Fatalf("found %d fixtures, want at least 17", len(names))
	}
	return names
}

// parseFixture parses testdata/name.
func parseFixture(tb testing.TB, name string) (vocab.Type, map[string]any) {
	tb.Helper()
	t, raw, err := Parse(context.Background(), fixture(tb, name))
	if err != nil {
		tb.Fatalf("Parse(%s): %v", name, err)
	}
	return t, raw
}

// decode unmarshals serialized JSON for assertions on its literal keys.
func decode(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("output is not a JSON object: %v\n%s", err, b)
	}
	return m
}

func TestFixtureParseAll(t *testing.T) {
	for _, name := range asFixtures(t) {
		t.Run(name, func(t *testing.T) {
			typ, raw := parseFixture(t, name)
			if got, want := typ.GetTypeName(), raw["type"]; got != want {
				t.Errorf("Parse(%s) type = %q, want %q", name, got, want)
			}
			// Whatever we parsed must serialize again: Accept and Undo embed parsed activities.
			b, err := Serialize(typ)
			if err != nil {
				t.Fatalf("Serialize(Parse(%s)): %v", name, err)
			}
			m := decode(t, b)
			if m["id"] != raw["id"] {
				t.Errorf("Serialize(Parse(%s)) id = %v, want %v", name, m["id"], raw["id"])
			}
		})
	}
}

func TestParseInjectsContext(t *testing.T) {
	body := []byte(`{"id":"https://a.example/likes/1","type":"Like","actor":"https://a.example/users/x","object":"https://eng.example/users/alice/statuses/1"}`)
	typ, raw, err := Parse(context.Background(), body)
	if err != nil {
		t.Fatalf("Parse(no @context) = %v, want success", err)
	}
	if typ.GetTypeName() != "Like" || raw["@context"] != asVocabulary {
		t.Errorf("Parse(no @context) = %s with @context %v, want Like with %s", typ.GetTypeName(), raw["@context"], asVocabulary)
	}

	obj := map[string]any{"id": "https://a.example/notes/1", "type": "Note", "content": "hi"}
	if _, err := ParseMap(context.Background(), obj); err != nil {
		t.Fatalf("ParseMap(embedded note) = %v", err)
	}
	if _, ok := obj["@context"]; ok {
		t.Error("ParseMap added @context to the caller's map")
	}
}

func TestParseRejects(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)
	for _, tc := range []struct{ name, body string }{
		{"array", `[{"type":"Note"}]`},
		{"null", `null`},
		{"string", `"Note"`},
		{"truncated", `{"type":"Note"`},
		{"no type", `{"id":"https://a.example/1"}`},
		{"too deep", `{"type":"Note","id":"https://a.example/1","x":` + deep + `}`},
	} {
		if _, _, err := Parse(context.Background(), []byte(tc.body)); err == nil {
			t.Errorf("Parse(%s) = nil error, want an error", tc.name)
		}
	}
	_, _, err := Parse(context.Background(), []byte(`{"id":"https://a.example/1","type":"EmojiReact","actor":"https://a.example/u"}`))
	if !errors.Is(err, streams.ErrUnhandledType) {
		t.Errorf("Parse(EmojiReact) = %v, want ErrUnhandledType", err)
	}
}

func TestParseHostOf(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://eng.example/users/alice", "eng.example"},
		{"https://ENG.Example/users/alice", "eng.example"},
		{"http://127.0.0.1:3000/actor", "127.0.0.1:3000"},
		{"https://eng.example:443/x", "eng.example"},
		{"http://eng.example:80/x", "eng.example"},
		{"https://eng.example:8443/x", "eng.example:8443"},
		{"https://[::1]:8443/x", "[::1]:8443"},
		{"HTTPS://eng.example", "eng.example"},
		{"ftp://eng.example/x", ""},
		{"/users/alice", ""},
		{"eng.example", ""},
		{"https://:443/x", ""},
		{"https://eng.example:/x", "eng.example"},
		{"", ""},
		{"as:Public", ""},
	} {
		if got := HostOf(tc.in); got != tc.want {
			t.Errorf("HostOf(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestActivityPubContentType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"application/activity+json", true},
		{"application/activity+json; charset=utf-8", true},
		{`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, true},
		{`application/ld+json;profile="https://www.w3.org/ns/activitystreams"`, true},
		{`application/ld+json; profile="https://www.w3.org/ns/activitystreams https://example.org/ext"`, true},
		{"application/ld+json", true},
		{`application/ld+json; profile="https://example.org/other"`, false},
		{"application/json", false},
		{"text/html", false},
		{"", false},
		{"text/html, application/activity+json;q=0.9", true},
		{`text/html,application/ld+json; profile="https://www.w3.org/ns/activitystreams"`, true},
		{"application/activity+json;q=0, text/html", false},
		{"application/activity+json; q=0.0", false},
		{"*/*", false},
		{"garbage;;;", false},
	} {
		if got := IsActivityPubType(tc.in); got != tc.want {
			t.Errorf("IsActivityPubType(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestActivitySerializeShape(t *testing.T) {
	// One recipient and one tag: go-fed alone would write both as scalars.
	like := streams.NewActivityStreamsNote()
	setID(like, "https://eng.example/users/alice/statuses/1")
	setAudience(like, []string{PublicAudience}, nil)
	like.GetUnknownProperties()["tag"] = map[string]any{"type": "Hashtag", "name": "#go"}
	b, err := Serialize(like)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	for _, k := range []string{"to", "cc", "tag"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("Serialize(note)[%q] = %#v, want an array", k, m[k])
		}
	}
	var ctx []any
	if err := json.Unmarshal([]byte(ldContext), &ctx); err != nil {
		t.Fatalf("ldContext is not JSON: %v", err)
	}
	if !reflect.DeepEqual(m["@context"], ctx) {
		t.Errorf("Serialize @context = %v, want the fixed context", m["@context"])
	}
	if strings.Contains(string(b), `\u003c`) {
		t.Errorf("Serialize escaped HTML: %s", b)
	}
	if _, err := Serialize(nil); err == nil {
		t.Error("Serialize(nil) = nil error, want an error")
	}
}

func TestActivityIRIKeptVerbatim(t *testing.T) {
	// url.URL.String would percent-encode this path; other servers compare ids byte for byte.
	const id = "https://eng.example/tags/café"
	n := streams.NewActivityStreamsNote()
	setID(n, id)
	b, err := Serialize(n)
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, b)["id"]; got != id {
		t.Errorf("Serialize(note with id %q) id = %v", id, got)
	}
	if got := iri("https://eng.example/users/alice"); got.Host != "eng.example" {
		t.Errorf("iri(plain URL).Host = %q, want a parsed URL", got.Host)
	}
}

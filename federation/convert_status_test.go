package federation

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-fed/activity/streams/vocab"

	"watercooler/store"
)

// embeddedNote parses a Create fixture's object.
func embeddedNote(tb testing.TB, name string) (vocab.Type, map[string]any) {
	tb.Helper()
	_, raw := parseFixture(tb, name)
	obj := EmbeddedObject(raw)
	if obj == nil {
		tb.Fatalf("%s has no embedded object", name)
	}
	t, err := ParseMap(context.Background(), obj)
	if err != nil {
		tb.Fatalf("ParseMap(%s object): %v", name, err)
	}
	return t, obj
}

func TestFixtureNoteToStatus(t *testing.T) {
	for _, tc := range []struct {
		file, followers      string // followers: the author's followers URI, as the stored account has it
		visibility           string
		content              []string // substrings the sanitized content must keep
		summary, language    string
		sensitive            bool
		inReplyTo            string
		mentions, hashtags   []string
		attachments          []ParsedAttachment
		published, urlPrefix string
	}{
		{
			file: "mastodon/create_note.json", followers: "https://social.sales.example/users/carol/followers",
			visibility: store.VisibilityPublic,
			content:    []string{"the dashboard is live", `href="https://eng.example/@alice"`, `class="u-url mention"`},
			summary:    "Q2 numbers (internal)", language: "en", sensitive: true,
			inReplyTo: "https://eng.example/users/alice/statuses/112233440000000001",
			// The content links @ghost too, but only tag entries are mentions.
			mentions: []string{"https://eng.example/users/alice"}, hashtags: []string{"dashboards"},
			attachments: []ParsedAttachment{{
				URL:       "https://files.sales.example/media_attachments/files/112/233/445/566/778/899/original/3f2e1d0c9b8a7f6e.png",
				MediaType: "image/png", Name: "Bar chart of Q2 revenue by region", Blurhash: "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
				Width: 1600, Height: 900, FocusX: -0.25, FocusY: 0.5,
			}},
			published: "2024-05-06T14:03:27Z", urlPrefix: "https://social.sales.example/@carol/",
		},
		{
			file: "gotosocial/create_note.json", followers: "https://gts.ops.example/users/dave/followers",
			visibility: store.VisibilityUnlisted,
			content:    []string{"Deploy is green", "#<span>OnCall</span>"},
			language:   "en",
			mentions:   []string{"https://eng.example/users/alice"}, hashtags: []string{"oncall"},
			attachments: []ParsedAttachment{{
				URL:       "https://gts.ops.example/fileserver/01HQ8Z3RJ0X5Y7K2M4N6P8Q0RS/attachment/original/01HX4QWERTYMEDIA0000000001.jpeg",
				MediaType: "image/jpeg", Name: "Grafana panel: p99 latency flat at 40 ms", Blurhash: "LKO2?U%2Tw=w]~RBVZRi};RPxuwH",
			}},
			published: "2024-05-08T09:21:46Z", urlPrefix: "https://gts.ops.example/@dave/statuses/",
		},
		{
			file: "pleroma/create_note.json", followers: "https://pleroma.hr.example/users/erin/followers",
			visibility: store.VisibilityPrivate,
			content:    []string{"benefits enrollment closes Friday", "#Benefits"},
			mentions:   []string{"https://eng.example/users/alice"}, hashtags: []string{"benefits"},
			attachments: []ParsedAttachment{{
				URL:       "https://pleroma.hr.example/media/5d4c3b2a1f0e9d8c7b6a59483726150493f8e7d6c5b4a39281706f5e4d3c2b1a.jpg",
				MediaType: "image/jpeg", Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj", Width: 1920, Height: 1080,
			}},
			published: "2024-05-09T11:12:13.456789Z", urlPrefix: "https://pleroma.hr.example/objects/",
		},
		{
			file: "misskey/create_note.json", followers: "https://misskey.design.example/users/9k2x7abc01/followers",
			visibility: store.VisibilityPublic,
			content:    []string{"new icon set is up for review", "RE: "},
			sensitive:  true,
			mentions:   []string{"https://eng.example/users/alice"}, hashtags: []string{"designsystem"},
			attachments: []ParsedAttachment{{
				URL:       "https://media.design.example/files/webpublic-0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0.webp",
				MediaType: "image/webp",
			}},
			published: "2024-05-10T03:02:01Z", urlPrefix: "https://misskey.design.example/notes/",
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			typ, raw := embeddedNote(t, tc.file)
			n, err := NoteToStatus(testSite(), typ, raw)
			if err != nil {
				t.Fatalf("NoteToStatus(%s) = %v", tc.file, err)
			}
			for _, s := range tc.content {
				if !strings.Contains(n.Content, s) {
					t.Errorf("NoteToStatus(%s).Content = %q, want it to contain %q", tc.file, n.Content, s)
				}
			}
			for _, s := range []string{"<script", "alert(", "onclick", "data-user"} {
				if strings.Contains(n.Content, s) {
					t.Errorf("NoteToStatus(%s).Content = %q, kept %q", tc.file, n.Content, s)
				}
			}
			if got := VisibilityOf(n.To, n.Cc, tc.followers); got != tc.visibility {
				t.Errorf("VisibilityOf(NoteToStatus(%s)) = %q, want %q", tc.file, got, tc.visibility)
			}
			for _, c := range []struct{ what, got, want string }{
				{"URI", n.URI, rawString(raw["id"])},
				{"AttributedTo", n.AttributedTo, rawID(raw["attributedTo"])},
				{"Summary", n.Summary, tc.summary},
				{"Language", n.Language, tc.language},
				{"InReplyTo", n.InReplyTo, tc.inReplyTo},
				{"Published", n.Published.Format(time.RFC3339Nano), tc.published},
			} {
				if c.got != c.want {
					t.Errorf("NoteToStatus(%s).%s = %q, want %q", tc.file, c.what, c.got, c.want)
				}
			}
			if !strings.HasPrefix(n.URL, tc.urlPrefix) {
				t.Errorf("NoteToStatus(%s).URL = %q, want prefix %q", tc.file, n.URL, tc.urlPrefix)
			}
			if n.Sensitive != tc.sensitive {
				t.Errorf("NoteToStatus(%s).Sensitive = %v, want %v", tc.file, n.Sensitive, tc.sensitive)
			}
			if !reflect.DeepEqual(n.Mentions, tc.mentions) {
				t.Errorf("NoteToStatus(%s).Mentions = %q, want %q", tc.file, n.Mentions, tc.mentions)
			}
			if !reflect.DeepEqual(n.Hashtags, tc.hashtags) {
				t.Errorf("NoteToStatus(%s).Hashtags = %q, want %q", tc.file, n.Hashtags, tc.hashtags)
			}
			if !reflect.DeepEqual(n.Attachments, tc.attachments) {
				t.Errorf("NoteToStatus(%s).Attachments = %+v, want %+v", tc.file, n.Attachments, tc.attachments)
			}
		})
	}
}

// roundTripNote publishes a status as another Watercooler would receive it: StatusToNote,
// CreateActivity, Serialize, Parse, NoteToStatus.
func roundTripNote(t *testing.T, st *store.Status, nc NoteContext) (*ParsedNote, map[string]any) {
	t.Helper()
	note, err := StatusToNote(testSite(), st, nc)
	if err != nil {
		t.Fatalf("StatusToNote(%s) = %v", st.Visibility, err)
	}
	b, err := Serialize(CreateActivity(st.URI+"/activity", nc.Author.URI, note))
	if err != nil {
		t.Fatal(err)
	}
	typ, raw, err := Parse(context.Background(), b)
	if err != nil {
		t.Fatalf("Parse(Create %s) = %v\n%s", st.Visibility, err, b)
	}
	if typ.GetTypeName() != "Create" {
		t.Fatalf("Parse(Create) type = %s", typ.GetTypeName())
	}
	obj := EmbeddedObject(raw)
	nt, err := ParseMap(context.Background(), obj)
	if err != nil {
		t.Fatal(err)
	}
	n, err := NoteToStatus(Site{BaseURL: "https://sales.example", Domain: "sales.example"}, nt, obj)
	if err != nil {
		t.Fatalf("NoteToStatus(round trip %s) = %v", st.Visibility, err)
	}
	return n, raw
}

func TestNoteRoundTrip(t *testing.T) {
	alice := localAlice()
	bob := &store.Account{Username: "bob", Domain: "sales.example", URI: "https://sales.example/users/bob"}
	dan := &store.Account{Username: "dan", URI: "https://eng.example/users/dan"} // local
	const (
		public    = PublicAudience
		followers = "https://eng.example/users/alice/followers"
		bobURI    = "https://sales.example/users/bob"
		danURI    = "https://eng.example/users/dan"
	)
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for _, tc := range []struct {
		visibility string
		to, cc     []string
	}{
		// Mastodon's ActivityPub::TagManager#to and #cc.
		{store.VisibilityPublic, []string{public}, []string{followers, bobURI, danURI}},
		{store.VisibilityUnlisted, []string{followers}, []string{public, bobURI, danURI}},
		{store.VisibilityPrivate, []string{followers}, []string{bobURI, danURI}},
		{store.VisibilityDirect, []string{bobURI, danURI}, nil},
	} {
		t.Run(tc.visibility, func(t *testing.T) {
			st := &store.Status{
				ID: "112", URI: "https://eng.example/users/alice/statuses/112", URL: "https://eng.example/@alice/112",
				Content:     `<p>Hi @bob &amp; @dan, see #go and #café</p>`,
				SpoilerText: "CW: spoilers", Sensitive: true, Visibility: tc.visibility, Language: "de",
				CreatedAt: created, EditedAt: created.Add(time.Hour),
			}
			nc := NoteContext{
				Author: alice, Mentions: []*store.Account{bob, dan, bob}, Tags: []string{"go", "café"},
				InReplyTo: "https://sales.example/users/bob/statuses/9",
				Media: []*store.Media{{
					Type: "image", URL: "https://eng.example/media/1.png", Description: "a chart", Blurhash: "LKN]Rv%2Tw=w]~RBVZRi};RPxuwH",
					Width: 640, Height: 480, FocusX: 0.5, FocusY: -0.5, ContentType: "image/png",
				}},
			}
			n, raw := roundTripNote(t, st, nc)
			if !reflect.DeepEqual(n.To, tc.to) || !reflect.DeepEqual(n.Cc, tc.cc) {
				t.Errorf("round trip %s to/cc = %q / %q, want %q / %q", tc.visibility, n.To, n.Cc, tc.to, tc.cc)
			}
			if got := VisibilityOf(n.To, n.Cc, followers); got != tc.visibility {
				t.Errorf("VisibilityOf(round trip %s) = %q", tc.visibility, got)
			}
			// The Create carries the note's audience, as Mastodon's does.
			if !reflect.DeepEqual(audienceIDs(raw["to"]), tc.to) || !reflect.DeepEqual(audienceIDs(raw["cc"]), tc.cc) {
				t.Errorf("Create %s to/cc = %v / %v, want %q / %q", tc.visibility, raw["to"], raw["cc"], tc.to, tc.cc)
			}
			for _, c := range []struct{ what, got, want string }{
				{"URI", n.URI, st.URI}, {"URL", n.URL, st.URL}, {"AttributedTo", n.AttributedTo, alice.URI},
				{"Content", n.Content, st.Content}, {"Summary", n.Summary, st.SpoilerText},
				{"Language", n.Language, "de"}, {"InReplyTo", n.InReplyTo, nc.InReplyTo},
				{"Published", n.Published.Format(time.RFC3339Nano), "2024-05-06T07:08:09Z"},
				{"Updated", n.Updated.Format(time.RFC3339Nano), "2024-05-06T08:08:09Z"},
			} {
				if c.got != c.want {
					t.Errorf("round trip %s %s = %q, want %q", tc.visibility, c.what, c.got, c.want)
				}
			}
			if !n.Sensitive {
				t.Errorf("round trip %s Sensitive = false", tc.visibility)
			}
			if want := []string{bobURI, danURI}; !reflect.DeepEqual(n.Mentions, want) {
				t.Errorf("round trip %s Mentions = %q, want %q", tc.visibility, n.Mentions, want)
			}
			if want := []string{"go", "café"}; !reflect.DeepEqual(n.Hashtags, want) {
				t.Errorf("round trip %s Hashtags = %q, want %q", tc.visibility, n.Hashtags, want)
			}
			wantAtt := []ParsedAttachment{{URL: "https://eng.example/media/1.png", MediaType: "image/png", Name: "a chart",
				Blurhash: "LKN]Rv%2Tw=w]~RBVZRi};RPxuwH", Width: 640, Height: 480, FocusX: 0.5, FocusY: -0.5}}
			if !reflect.DeepEqual(n.Attachments, wantAtt) {
				t.Errorf("round trip %s Attachments = %+v, want %+v", tc.visibility, n.Attachments, wantAtt)
			}
		})
	}
}

func TestNoteWireFormat(t *testing.T) {
	alice := localAlice()
	dan := &store.Account{Username: "dan", URI: "https://eng.example/users/dan"}
	st := &store.Status{ID: "1", URI: "https://eng.example/users/alice/statuses/1", Content: "<p>hi</p>",
		Visibility: store.VisibilityDirect, CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))}
	note, err := StatusToNote(testSite(), st, NoteContext{Author: alice, Mentions: []*store.Account{dan}, Tags: []string{"go"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Serialize(note)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	for k, v := range map[string]any{"type": "Note", "published": "2024-01-02T02:04:05Z", "sensitive": false, "content": "<p>hi</p>"} {
		if m[k] != v {
			t.Errorf("StatusToNote JSON %q = %#v, want %#v", k, m[k], v)
		}
	}
	for _, k := range []string{"summary", "inReplyTo", "updated", "contentMap", "url"} {
		if _, ok := m[k]; ok {
			t.Errorf("StatusToNote JSON has %q = %v, want it omitted", k, m[k])
		}
	}
	for _, k := range []string{"to", "cc", "tag", "attachment"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("StatusToNote JSON %q = %#v, want an array", k, m[k])
		}
	}
	tags := m["tag"].([]any)
	if len(tags) != 2 {
		t.Fatalf("StatusToNote JSON tag = %v, want a Mention and a Hashtag", tags)
	}
	// Local mentions carry our domain, so the receiver can tell who is meant.
	if mt, _ := tags[0].(map[string]any); mt["type"] != "Mention" || mt["name"] != "@dan@eng.example" || mt["href"] != dan.URI {
		t.Errorf("StatusToNote JSON tag[0] = %v", tags[0])
	}
	if ht, _ := tags[1].(map[string]any); ht["type"] != "Hashtag" || ht["name"] != "#go" || ht["href"] != "https://eng.example/tags/go" {
		t.Errorf("StatusToNote JSON tag[1] = %v", tags[1])
	}

	st.Visibility = "secret"
	if _, err := StatusToNote(testSite(), st, NoteContext{Author: alice}); err == nil {
		t.Error("StatusToNote(unknown visibility) = nil error, want an error")
	}
}

func TestNoteToStatusShapes(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{
			"id": "https://remote.example/notes/1", "type": "Note",
			"attributedTo": "https://remote.example/users/zed", "content": "<p>x</p>",
			"to": "as:Public", "cc": []any{"https://remote.example/users/zed/followers"},
		}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	parse := func(m map[string]any) (*ParsedNote, error) {
		t.Helper()
		typ, err := ParseMap(context.Background(), m)
		if err != nil {
			t.Fatalf("ParseMap(%v) = %v", m, err)
		}
		return NoteToStatus(testSite(), typ, m)
	}

	n, err := parse(base(map[string]any{"summary": "CW: spoilers"}))
	if err != nil {
		t.Fatal(err)
	}
	// go-fed would read this summary as the IRI "cw: spoilers".
	if n.Summary != "CW: spoilers" || !n.Sensitive {
		t.Errorf("NoteToStatus(summary CW: spoilers) = %q sensitive %v", n.Summary, n.Sensitive)
	}
	if !reflect.DeepEqual(n.To, []string{PublicAudience}) || n.URL != n.URI {
		t.Errorf("NoteToStatus(to as:Public) To = %q URL = %q", n.To, n.URL)
	}

	n, err = parse(base(map[string]any{"type": "Article", "name": "Quarterly <review>", "url": "https://remote.example/blog/q2"}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(n.Content, "<strong>Quarterly &lt;review&gt;</strong>") || !strings.Contains(n.Content, `href="https://remote.example/blog/q2"`) || !strings.Contains(n.Content, "<p>x</p>") {
		t.Errorf("NoteToStatus(Article).Content = %q, want title, content and link", n.Content)
	}

	n, err = parse(base(map[string]any{"type": "Question", "content": "<p>Lunch?</p>", "oneOf": []any{
		map[string]any{"type": "Note", "name": "Tacos & more"}, map[string]any{"type": "Note", "name": "Soup"}}}))
	if err != nil {
		t.Fatal(err)
	}
	// A Question is a poll (poll.go); its text stays as it is.
	if n.Content != "<p>Lunch?</p>" || n.Poll == nil || !reflect.DeepEqual(n.Poll.Options, []string{"Tacos & more", "Soup"}) {
		t.Errorf("NoteToStatus(Question) = content %q poll %+v", n.Content, n.Poll)
	}
	// One without options it could show lists what was asked after its text.
	n, err = parse(base(map[string]any{"type": "Question", "content": "<p>Lunch?</p>", "oneOf": []any{map[string]any{"type": "Note", "name": " "}}}))
	if err != nil {
		t.Fatal(err)
	}
	if n.Poll != nil || n.Content != "<p>Lunch?</p>" {
		t.Errorf("NoteToStatus(Question without options) = content %q poll %+v", n.Content, n.Poll)
	}

	n, err = parse(base(map[string]any{"content": nil, "contentMap": map[string]any{"fr": "<p>salut</p>"}, "published": "2999-01-01T00:00:00Z"}))
	if err != nil {
		t.Fatal(err)
	}
	if n.Content != "<p>salut</p>" || n.Language != "fr" || n.Published.After(time.Now().Add(time.Hour)) {
		t.Errorf("NoteToStatus(contentMap only) = %q lang %q published %v", n.Content, n.Language, n.Published)
	}

	n, err = parse(base(map[string]any{"attributedTo": []any{
		map[string]any{"type": "Person", "id": "https://remote.example/users/zed"},
		map[string]any{"type": "Group", "id": "https://remote.example/c/chan"},
	}, "tag": map[string]any{"type": "Mention", "href": "https://eng.example/users/alice"},
		"attachment": []any{
			map[string]any{"type": "PropertyValue", "name": "x", "value": "y"},
			map[string]any{"type": "Document", "url": "javascript:alert(1)"},
			map[string]any{"type": "Document", "url": "https://cdn.example/v.mp4", "mediaType": "video/mp4", "width": -3, "height": 1.5, "focalPoint": []any{5, 0.2}},
		}}))
	if err != nil {
		t.Fatal(err)
	}
	wantAtt := []ParsedAttachment{{URL: "https://cdn.example/v.mp4", MediaType: "video/mp4", FocusY: 0.2}}
	if n.AttributedTo != "https://remote.example/users/zed" || !reflect.DeepEqual(n.Mentions, []string{"https://eng.example/users/alice"}) || !reflect.DeepEqual(n.Attachments, wantAtt) {
		t.Errorf("NoteToStatus(odd shapes) = attributedTo %q mentions %q attachments %+v", n.AttributedTo, n.Mentions, n.Attachments)
	}

	for name, m := range map[string]map[string]any{
		"no id":                base(map[string]any{"id": nil}),
		"id not http":          base(map[string]any{"id": "tag:remote.example,2024:1"}),
		"no attributedTo":      base(map[string]any{"attributedTo": nil}),
		"attributedTo not IRI": base(map[string]any{"attributedTo": "zed"}),
		"not a post":           base(map[string]any{"type": "Tombstone"}),
	} {
		if n, err := parse(m); err == nil {
			t.Errorf("NoteToStatus(%s) = %+v, want an error", name, n)
		}
	}
}

func TestConvertVisibilityOf(t *testing.T) {
	const fol = "https://remote.example/users/zed/followers"
	for _, tc := range []struct {
		to, cc []string
		want   string
	}{
		{[]string{PublicAudience}, []string{fol}, store.VisibilityPublic},
		{[]string{"as:Public"}, nil, store.VisibilityPublic},
		{[]string{fol}, []string{"Public"}, store.VisibilityUnlisted},
		{[]string{fol}, nil, store.VisibilityPrivate},
		{[]string{"https://eng.example/users/alice"}, []string{fol}, store.VisibilityPrivate},
		{[]string{"https://eng.example/users/alice"}, nil, store.VisibilityDirect},
		{nil, nil, store.VisibilityDirect},
	} {
		if got := VisibilityOf(tc.to, tc.cc, fol); got != tc.want {
			t.Errorf("VisibilityOf(%q, %q) = %q, want %q", tc.to, tc.cc, got, tc.want)
		}
	}
	if got := VisibilityOf([]string{fol}, nil, ""); got != store.VisibilityDirect {
		t.Errorf("VisibilityOf(followers, unknown followers URI) = %q, want direct", got)
	}
}

func BenchmarkParseCreateNote(b *testing.B) {
	body := fixture(b, "mastodon/create_note.json")
	site := testSite()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		create, raw, err := Parse(ctx, body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := NoteToStatus(site, EmbeddedType(create), EmbeddedObject(raw)); err != nil {
			b.Fatal(err)
		}
	}
}

package federation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"watercooler/store"
)

func TestFixturePersonToAccount(t *testing.T) {
	for _, tc := range []struct {
		file, embedded                       string // embedded: read the activity's object
		username, domain, inbox, sharedInbox string
		keyID, url, avatar                   string
		locked, bot, discoverable            bool
		fields                               []string // names
	}{
		{
			file: "mastodon/person.json", username: "carol", domain: "social.sales.example",
			inbox: "https://social.sales.example/users/carol/inbox", sharedInbox: "https://social.sales.example/inbox",
			keyID: "https://social.sales.example/users/carol#main-key", url: "https://social.sales.example/@carol",
			avatar: "https://files.sales.example/accounts/avatars/109/876/543/original/5a1e2b3c4d5e6f70.png",
			locked: true, discoverable: true, fields: []string{"Team", "Website"},
		},
		{
			file: "mastodon/update_person.json", embedded: "object", username: "carol", domain: "social.sales.example",
			inbox: "https://social.sales.example/users/carol/inbox", sharedInbox: "https://social.sales.example/inbox",
			keyID: "https://social.sales.example/users/carol#main-key", url: "https://social.sales.example/@carol",
			avatar: "https://files.sales.example/accounts/avatars/109/876/543/original/5a1e2b3c4d5e6f70.png",
			locked: true, discoverable: true, fields: []string{"Team", "Website"},
		},
		{
			// GoToSocial has no shared inbox and names its key .../main-key without a fragment.
			file: "gotosocial/person.json", username: "dave", domain: "gts.ops.example",
			inbox: "https://gts.ops.example/users/dave/inbox", sharedInbox: "",
			keyID: "https://gts.ops.example/users/dave/main-key", url: "https://gts.ops.example/@dave",
			avatar:       "https://gts.ops.example/fileserver/01HQ8Z3RJ0X5Y7K2M4N6P8Q0RS/avatar/original/01HQ8Z4A1B2C3D4E5F6G7H8J9K.webp",
			discoverable: true, fields: []string{"pronouns"},
		},
		{
			file: "pleroma/person.json", username: "erin", domain: "pleroma.hr.example",
			inbox: "https://pleroma.hr.example/users/erin/inbox", sharedInbox: "https://pleroma.hr.example/inbox",
			keyID: "https://pleroma.hr.example/users/erin#main-key", url: "https://pleroma.hr.example/users/erin",
			avatar: "https://pleroma.hr.example/media/8c1f7a2be4d94f0c9e1b5a7d3c2e6f80a1b2c3d4e5f60718293a4b5c6d7e8f90.png",
			locked: true, fields: []string{"Office hours"},
		},
		{
			// Misskey ids are opaque; the username only appears in preferredUsername and url.
			file: "misskey/person.json", username: "frank", domain: "misskey.design.example",
			inbox: "https://misskey.design.example/users/9k2x7abc01/inbox", sharedInbox: "https://misskey.design.example/inbox",
			keyID: "https://misskey.design.example/users/9k2x7abc01#main-key", url: "https://misskey.design.example/@frank",
			avatar:       "https://media.design.example/files/webpublic-7d1e9c2a-3b4f-4a5e-8c6d-1f2e3d4c5b6a.webp",
			discoverable: true, fields: []string{"Portfolio"},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			typ, raw := parseFixture(t, tc.file)
			if tc.embedded != "" {
				raw = EmbeddedObject(raw)
				var err error
				if typ, err = ParseMap(context.Background(), raw); err != nil {
					t.Fatal(err)
				}
			}
			a, err := PersonToAccount(testSite(), typ, raw)
			if err != nil {
				t.Fatalf("PersonToAccount(%s) = %v", tc.file, err)
			}
			for _, c := range []struct{ what, got, want string }{
				{"Username", a.Username, tc.username},
				{"Domain", a.Domain, tc.domain},
				{"URI", a.URI, rawString(raw["id"])},
				{"InboxURI", a.InboxURI, tc.inbox},
				{"SharedInboxURI", a.SharedInboxURI, tc.sharedInbox},
				{"PublicKeyID", a.PublicKeyID, tc.keyID},
				{"URL", a.URL, tc.url},
				{"AvatarURL", a.AvatarURL, tc.avatar},
				{"FollowersURI", a.FollowersURI, rawString(raw["followers"])},
				{"OutboxURI", a.OutboxURI, rawString(raw["outbox"])},
				{"FeaturedURI", a.FeaturedURI, rawString(raw["featured"])},
			} {
				if c.got != c.want {
					t.Errorf("PersonToAccount(%s).%s = %q, want %q", tc.file, c.what, c.got, c.want)
				}
			}
			if !strings.HasPrefix(a.PublicKeyPEM, "-----BEGIN PUBLIC KEY-----\n") {
				t.Errorf("PersonToAccount(%s).PublicKeyPEM = %.40q, want a PEM", tc.file, a.PublicKeyPEM)
			}
			if a.Locked != tc.locked || a.Bot != tc.bot || a.Discoverable != tc.discoverable {
				t.Errorf("PersonToAccount(%s) locked/bot/discoverable = %v/%v/%v, want %v/%v/%v",
					tc.file, a.Locked, a.Bot, a.Discoverable, tc.locked, tc.bot, tc.discoverable)
			}
			var names []string
			for _, f := range a.Fields {
				names = append(names, f.Name)
				if strings.Contains(f.Value, "onclick") || strings.Contains(f.Value, "rel=\"me") {
					t.Errorf("PersonToAccount(%s) field %q value not sanitized: %s", tc.file, f.Name, f.Value)
				}
			}
			if strings.Join(names, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("PersonToAccount(%s) fields = %q, want %q", tc.file, names, tc.fields)
			}
			if a.Domain == "" || a.Local() || a.CreatedAt.IsZero() || a.FetchedAt.IsZero() {
				t.Errorf("PersonToAccount(%s) = domain %q, created %v, fetched %v: want remote with times", tc.file, a.Domain, a.CreatedAt, a.FetchedAt)
			}
		})
	}
}

// actorJSON is a minimal actor with overrides; nil values delete the key.
func actorJSON(t *testing.T, overrides map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"@context":          "https://www.w3.org/ns/activitystreams",
		"id":                "https://remote.example/users/zed",
		"type":              "Person",
		"preferredUsername": "zed",
		"inbox":             "https://remote.example/users/zed/inbox",
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPersonToAccountShapes(t *testing.T) {
	const id = "https://remote.example/users/zed"
	pem := func(s string) string { return "-----BEGIN PUBLIC KEY-----\n" + s + "\n-----END PUBLIC KEY-----\n" }
	for _, tc := range []struct {
		name      string
		overrides map[string]any
		check     func(*store.Account) string // "" when fine
	}{
		{"Service is a bot", map[string]any{"type": "Service"}, func(a *store.Account) string {
			if !a.Bot {
				return "Bot = false, want true"
			}
			return ""
		}},
		{"key list: the owner's key wins", map[string]any{"publicKey": []any{
			map[string]any{"id": "https://evil.example/users/x#main-key", "owner": "https://evil.example/users/x", "publicKeyPem": pem("EVIL")},
			map[string]any{"id": id + "#main-key", "owner": id, "publicKeyPem": pem("GOOD")},
		}}, func(a *store.Account) string {
			if a.PublicKeyID != id+"#main-key" || !strings.Contains(a.PublicKeyPEM, "GOOD") {
				return "took " + a.PublicKeyID
			}
			return ""
		}},
		{"someone else's key is never taken", map[string]any{"publicKey": map[string]any{
			"id": "https://evil.example/users/x#main-key", "owner": "https://evil.example/users/x", "publicKeyPem": pem("EVIL")}},
			func(a *store.Account) string {
				if a.PublicKeyPEM != "" {
					return "took a key owned by another actor"
				}
				return ""
			}},
		{"key without owner", map[string]any{"publicKey": map[string]any{"id": id + "#k", "publicKeyPem": pem("K")}},
			func(a *store.Account) string {
				if a.PublicKeyID != id+"#k" {
					return "PublicKeyID = " + a.PublicKeyID
				}
				return ""
			}},
		{"icon list and Link url", map[string]any{
			"icon": []any{map[string]any{"type": "Image", "url": map[string]any{"type": "Link", "href": "https://cdn.example/a.png"}}},
			"url": []any{
				map[string]any{"type": "Link", "href": "https://remote.example/feed.atom", "mediaType": "application/atom+xml"},
				map[string]any{"type": "Link", "href": "https://remote.example/@zed", "mediaType": "text/html"},
			},
		}, func(a *store.Account) string {
			if a.AvatarURL != "https://cdn.example/a.png" || a.URL != "https://remote.example/@zed" {
				return "avatar " + a.AvatarURL + ", url " + a.URL
			}
			return ""
		}},
		{"bare icon URL, no url", map[string]any{"icon": "https://cdn.example/b.png"}, func(a *store.Account) string {
			if a.AvatarURL != "https://cdn.example/b.png" || a.URL != id {
				return "avatar " + a.AvatarURL + ", url " + a.URL
			}
			return ""
		}},
		{"javascript URLs dropped", map[string]any{"icon": "javascript:alert(1)", "outbox": "javascript:x", "endpoints": map[string]any{"sharedInbox": "file:///etc/passwd"}},
			func(a *store.Account) string {
				if a.AvatarURL != "" || a.OutboxURI != "" || a.SharedInboxURI != "" {
					return "kept " + a.AvatarURL + a.OutboxURI + a.SharedInboxURI
				}
				return ""
			}},
		{"port kept in domain", map[string]any{"id": "https://remote.example:8443/users/zed"}, func(a *store.Account) string {
			if a.Domain != "remote.example:8443" {
				return "Domain = " + a.Domain
			}
			return ""
		}},
		{"nameMap and future published", map[string]any{"nameMap": map[string]any{"en": "Zed"}, "published": "2999-01-01T00:00:00Z"},
			func(a *store.Account) string {
				if a.DisplayName != "Zed" || a.CreatedAt.After(time.Now().Add(time.Minute)) {
					return "name " + a.DisplayName + ", created " + a.CreatedAt.String()
				}
				return ""
			}},
	} {
		typ, raw, err := Parse(context.Background(), actorJSON(t, tc.overrides))
		if err != nil {
			t.Fatalf("%s: Parse: %v", tc.name, err)
		}
		a, err := PersonToAccount(testSite(), typ, raw)
		if err != nil {
			t.Errorf("PersonToAccount(%s) = %v", tc.name, err)
			continue
		}
		if msg := tc.check(a); msg != "" {
			t.Errorf("PersonToAccount(%s): %s", tc.name, msg)
		}
	}
}

func TestPersonToAccountRejects(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides map[string]any
	}{
		{"no id", map[string]any{"id": nil}},
		{"id not http", map[string]any{"id": "urn:uuid:1234"}},
		{"no inbox", map[string]any{"inbox": nil}},
		{"inbox not http", map[string]any{"inbox": "javascript:alert(1)"}},
		{"no preferredUsername", map[string]any{"preferredUsername": nil}},
		{"username with @", map[string]any{"preferredUsername": "zed@evil.example"}},
		{"username with space", map[string]any{"preferredUsername": "z ed"}},
		{"not an actor", map[string]any{"type": "Note"}},
	} {
		typ, raw, err := Parse(context.Background(), actorJSON(t, tc.overrides))
		if err != nil {
			t.Fatalf("%s: Parse: %v", tc.name, err)
		}
		if a, err := PersonToAccount(testSite(), typ, raw); err == nil {
			t.Errorf("PersonToAccount(%s) = %+v, want an error", tc.name, a)
		}
	}
	if _, err := PersonToAccount(testSite(), nil, nil); err == nil {
		t.Error("PersonToAccount(nil) = nil error, want an error")
	}
}

// localAlice is a local account as store.CreateLocalAccount makes it.
func localAlice() *store.Account {
	return &store.Account{
		ID: "01", Username: "alice", DisplayName: "Alice", Note: "<p>Platform team</p>",
		Fields:    []store.Field{{Name: "Pronouns", Value: "she/her"}, {Name: "Site", Value: `<a href="https://alice.example">alice.example</a>`}},
		AvatarURL: "https://eng.example/media/avatars/alice.png", HeaderURL: "https://eng.example/media/headers/alice.jpg",
		Locked: true, Discoverable: true, CreatedAt: time.Date(2024, 3, 4, 15, 16, 17, 0, time.UTC),
		URI: "https://eng.example/users/alice", URL: "https://eng.example/@alice",
		InboxURI: "https://eng.example/users/alice/inbox", SharedInboxURI: "https://eng.example/inbox",
		OutboxURI: "https://eng.example/users/alice/outbox", FollowersURI: "https://eng.example/users/alice/followers",
		FollowingURI: "https://eng.example/users/alice/following", FeaturedURI: "https://eng.example/users/alice/collections/featured",
		PublicKeyPEM: "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", PublicKeyID: "https://eng.example/users/alice#main-key",
	}
}

func TestConvertAccountToPerson(t *testing.T) {
	alice := localAlice()
	p, err := AccountToPerson(testSite(), alice)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Serialize(p)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	want := map[string]any{
		"type": "Person", "id": alice.URI, "preferredUsername": "alice", "name": "Alice", "summary": "<p>Platform team</p>",
		"url": alice.URL, "inbox": alice.InboxURI, "outbox": alice.OutboxURI, "followers": alice.FollowersURI,
		"following": alice.FollowingURI, "featured": alice.FeaturedURI, "manuallyApprovesFollowers": true,
		"discoverable": true, "indexable": true, "published": "2024-03-04T00:00:00Z",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("AccountToPerson JSON %q = %#v, want %#v", k, m[k], v)
		}
	}
	if pk, _ := m["publicKey"].(map[string]any); pk["id"] != alice.PublicKeyID || pk["owner"] != alice.URI || pk["publicKeyPem"] != alice.PublicKeyPEM {
		t.Errorf("AccountToPerson JSON publicKey = %v, want {id, owner, publicKeyPem}", m["publicKey"])
	}
	if ep, _ := m["endpoints"].(map[string]any); ep["sharedInbox"] != alice.SharedInboxURI {
		t.Errorf("AccountToPerson JSON endpoints = %v, want sharedInbox %s", m["endpoints"], alice.SharedInboxURI)
	}
	if ctx, ok := m["@context"].([]any); !ok || len(ctx) != 3 || ctx[0] != asVocabulary || ctx[1] != "https://w3id.org/security/v1" {
		t.Errorf("AccountToPerson JSON @context = %v, want [AS, security v1, {...}]", m["@context"])
	}
	att, _ := m["attachment"].([]any)
	if len(att) != 2 {
		t.Fatalf("AccountToPerson JSON attachment = %v, want 2 PropertyValues", m["attachment"])
	}
	if f, _ := att[1].(map[string]any); f["type"] != "PropertyValue" || f["name"] != "Site" || f["value"] != alice.Fields[1].Value {
		t.Errorf("AccountToPerson JSON attachment[1] = %v, want PropertyValue Site", att[1])
	}
	if icon, _ := m["icon"].(map[string]any); icon["type"] != "Image" || icon["url"] != alice.AvatarURL || icon["mediaType"] != "image/png" {
		t.Errorf("AccountToPerson JSON icon = %v, want Image png", m["icon"])
	}
	if img, _ := m["image"].(map[string]any); img["url"] != alice.HeaderURL || img["mediaType"] != "image/jpeg" {
		t.Errorf("AccountToPerson JSON image = %v, want Image jpeg", m["image"])
	}
	for _, k := range []string{`"publicKey":{`, `"publicKeyPem":`, `"endpoints":{"sharedInbox":`, `"@context":["https://www.w3.org/ns/activitystreams","https://w3id.org/security/v1",{`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("AccountToPerson JSON lacks %s", k)
		}
	}

	// What we publish must read back as the same account on another Watercooler.
	typ, raw, err := Parse(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := PersonToAccount(Site{BaseURL: "https://sales.example", Domain: "sales.example"}, typ, raw)
	if err != nil {
		t.Fatalf("PersonToAccount(AccountToPerson(alice)) = %v", err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"Username", back.Username, alice.Username}, {"Domain", back.Domain, "eng.example"},
		{"DisplayName", back.DisplayName, alice.DisplayName}, {"Note", back.Note, alice.Note},
		{"URL", back.URL, alice.URL}, {"InboxURI", back.InboxURI, alice.InboxURI},
		{"SharedInboxURI", back.SharedInboxURI, alice.SharedInboxURI}, {"FeaturedURI", back.FeaturedURI, alice.FeaturedURI},
		{"PublicKeyID", back.PublicKeyID, alice.PublicKeyID}, {"PublicKeyPEM", back.PublicKeyPEM, alice.PublicKeyPEM},
		{"AvatarURL", back.AvatarURL, alice.AvatarURL}, {"HeaderURL", back.HeaderURL, alice.HeaderURL},
	} {
		if c.got != c.want {
			t.Errorf("round trip %s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !back.Locked || !back.Discoverable || back.Bot || len(back.Fields) != 2 {
		t.Errorf("round trip locked/discoverable/bot/fields = %v/%v/%v/%d, want true/true/false/2", back.Locked, back.Discoverable, back.Bot, len(back.Fields))
	}

	alice.Bot = true
	p, err = AccountToPerson(testSite(), alice)
	if err != nil || p.GetTypeName() != "Service" {
		t.Errorf("AccountToPerson(bot) = %v, %v; want a Service", p, err)
	}
	if _, err := AccountToPerson(testSite(), &store.Account{Username: "bob", Domain: "sales.example", URI: "https://sales.example/users/bob"}); err == nil {
		t.Error("AccountToPerson(remote account) = nil error, want an error")
	}
}

func TestConvertInstanceActor(t *testing.T) {
	app, err := InstanceActor(testSite(), "PEM")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Serialize(app)
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, b)
	for k, v := range map[string]any{
		"type": "Application", "id": "https://eng.example/actor", "preferredUsername": "eng.example",
		"inbox": "https://eng.example/actor/inbox", "outbox": "https://eng.example/actor/outbox",
		"manuallyApprovesFollowers": true,
	} {
		if m[k] != v {
			t.Errorf("InstanceActor JSON %q = %#v, want %#v", k, m[k], v)
		}
	}
	if pk, _ := m["publicKey"].(map[string]any); pk["id"] != "https://eng.example/actor#main-key" || pk["owner"] != "https://eng.example/actor" || pk["publicKeyPem"] != "PEM" {
		t.Errorf("InstanceActor JSON publicKey = %v", m["publicKey"])
	}
	typ, raw, err := Parse(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := PersonToAccount(testSite(), typ, raw); err != nil || !a.Bot || a.Username != "eng.example" {
		t.Errorf("PersonToAccount(InstanceActor) = %+v, %v; want bot eng.example", a, err)
	}
}

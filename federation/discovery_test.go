package federation_test

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/store"
	"watercooler/testrig"
)

// noRedirects is a client that reports redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get fetches rawURL, with an Accept header unless accept is "", without following redirects.
func get(t *testing.T, rawURL, accept string) (int, http.Header, []byte) {
	t.Helper()
	return fetch(t, noRedirects, rawURL, "Accept", accept)
}

// getDoc fetches a JSON document that must come with status 200 and media type wantType.
func getDoc(t *testing.T, rawURL, accept, wantType string) map[string]any {
	t.Helper()
	status, h, body := get(t, rawURL, accept)
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", rawURL, status, body)
	}
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != wantType {
		t.Fatalf("GET %s: Content-Type %q, want %s", rawURL, h.Get("Content-Type"), wantType)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("GET %s: %v in %s", rawURL, err, body)
	}
	return doc
}

const (
	activityJSON = "application/activity+json"
	ldJSON       = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
)

func TestDiscoveryWebFinger(t *testing.T) {
	d := newDept(t, "alice")
	alice := d.user.Account
	domain := d.inst.Config.Domain()
	wf := func(resource string) string {
		return d.inst.URL + "/.well-known/webfinger?resource=" + url.QueryEscape(resource)
	}
	for _, resource := range []string{"acct:alice@" + domain, alice.URI, alice.URL} {
		t.Run(resource, func(t *testing.T) {
			jrd := getDoc(t, wf(resource), "", "application/jrd+json")
			if jrd["subject"] != "acct:alice@"+domain {
				t.Fatalf("subject = %v, want acct:alice@%s", jrd["subject"], domain)
			}
			self := ""
			for _, l := range jrd["links"].([]any) {
				link := l.(map[string]any)
				if link["rel"] == "self" && link["type"] == activityJSON {
					self, _ = link["href"].(string)
				}
			}
			if self != alice.URI {
				t.Fatalf("self link = %q, want %s", self, alice.URI)
			}
		})
	}
	for _, c := range []struct {
		name, url string
		want      int
	}{
		{"unknown user", wf("acct:nobody@" + domain), http.StatusNotFound},
		{"another domain", wf("acct:alice@elsewhere.example"), http.StatusNotFound},
		{"missing resource", d.inst.URL + "/.well-known/webfinger", http.StatusBadRequest},
	} {
		if status, _, body := get(t, c.url, ""); status != c.want {
			t.Errorf("%s: GET %s = %d %s, want %d", c.name, c.url, status, body, c.want)
		}
	}
}

func TestDiscoveryHostMeta(t *testing.T) {
	d := newDept(t, "alice")
	status, h, body := get(t, d.inst.URL+"/.well-known/host-meta", "")
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/xrd+xml") {
		t.Fatalf("host-meta = %d %q, want 200 application/xrd+xml", status, h.Get("Content-Type"))
	}
	want := `template="` + d.inst.URL + `/.well-known/webfinger?resource={uri}"`
	if !strings.Contains(string(body), `rel="lrdd"`) || !strings.Contains(string(body), want) {
		t.Fatalf("host-meta = %s, want an lrdd link with %s", body, want)
	}
}

func TestDiscoveryNodeInfo(t *testing.T) {
	d := newDept(t, "alice")
	d.addUser(t, "bob")
	for _, text := range []string{"one", "two", "three"} {
		d.post(t, &gomastodon.Toot{Status: text, Visibility: "public"})
	}
	links := getDoc(t, d.inst.URL+"/.well-known/nodeinfo", "", "application/json")
	hrefs := map[string]string{}
	for _, l := range links["links"].([]any) {
		link := l.(map[string]any)
		hrefs[link["rel"].(string)] = link["href"].(string)
	}
	for _, version := range []string{"2.0", "2.1"} {
		t.Run(version, func(t *testing.T) {
			href := hrefs["http://nodeinfo.diaspora.software/ns/schema/"+version]
			if href == "" {
				t.Fatalf("no NodeInfo %s link in %v", version, hrefs)
			}
			info := getDoc(t, href, "", "application/json")
			usage := info["usage"].(map[string]any)
			users := usage["users"].(map[string]any)
			software := info["software"].(map[string]any)
			if info["version"] != version || software["name"] != "watercooler" || users["total"] != 2.0 || usage["localPosts"] != 3.0 {
				t.Fatalf("NodeInfo %s = version %v software %v users %v posts %v, want %s watercooler 2 users 3 posts",
					version, info["version"], software["name"], users["total"], usage["localPosts"], version)
			}
			if protocols := info["protocols"].([]any); len(protocols) != 1 || protocols[0] != "activitypub" {
				t.Fatalf("protocols = %v, want [activitypub]", protocols)
			}
		})
	}
}

func TestDiscoveryActorDocument(t *testing.T) {
	d := newDept(t, "alice", locked)
	alice := d.user.Account
	for _, accept := range []string{activityJSON, ldJSON} {
		t.Run(accept, func(t *testing.T) {
			actor := getDoc(t, alice.URI, accept, activityJSON)
			want := map[string]any{
				"id": alice.URI, "type": "Person", "preferredUsername": "alice",
				"inbox": alice.URI + "/inbox", "outbox": alice.URI + "/outbox",
				"followers": alice.URI + "/followers", "following": alice.URI + "/following",
				"featured": alice.URI + "/collections/featured", "manuallyApprovesFollowers": true,
			}
			for k, v := range want {
				if actor[k] != v {
					t.Errorf("actor %s = %v, want %v", k, actor[k], v)
				}
			}
			endpoints, _ := actor["endpoints"].(map[string]any)
			if endpoints["sharedInbox"] != d.inst.URL+"/inbox" {
				t.Errorf("endpoints.sharedInbox = %v, want %s/inbox", endpoints["sharedInbox"], d.inst.URL)
			}
			key, _ := actor["publicKey"].(map[string]any)
			if key["id"] != alice.URI+"#main-key" || key["owner"] != alice.URI || !strings.Contains(key["publicKeyPem"].(string), "BEGIN PUBLIC KEY") {
				t.Errorf("publicKey = %v, want alice's main-key", key)
			}
		})
	}
	t.Run("text/html", func(t *testing.T) {
		status, h, _ := get(t, alice.URI, "text/html")
		if status != http.StatusFound || h.Get("Location") != alice.URL {
			t.Fatalf("GET actor as HTML = %d to %q, want 302 to %s", status, h.Get("Location"), alice.URL)
		}
	})
}

func TestDiscoveryCollections(t *testing.T) {
	ctx := context.Background()
	alice := newDept(t, "alice")
	bob := alice.addUser(t, "bob")
	if _, err := bob.client.AccountFollow(ctx, alice.id()); err != nil {
		t.Fatal(err)
	}
	post := alice.post(t, &gomastodon.Toot{Status: "Collections are paged", Visibility: "public"})
	a, b := alice.user.Account, bob.user.Account

	cases := []struct {
		name, id string
		// item tells whether one orderedItems entry is the one expected.
		item func(any) bool
	}{
		{"outbox", a.OutboxURI, func(v any) bool {
			act, _ := v.(map[string]any)
			obj, _ := act["object"].(map[string]any)
			return act["type"] == "Create" && obj["id"] == post.URI
		}},
		{"followers", a.FollowersURI, func(v any) bool { return v == b.URI }},
		{"following", b.FollowingURI, func(v any) bool { return v == a.URI }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			coll := getDoc(t, c.id, activityJSON, activityJSON)
			if coll["id"] != c.id || coll["type"] != "OrderedCollection" || coll["totalItems"] != 1.0 {
				t.Fatalf("%s = id %v type %v totalItems %v, want %s OrderedCollection 1", c.name, coll["id"], coll["type"], coll["totalItems"], c.id)
			}
			first, _ := coll["first"].(string)
			if first == "" {
				t.Fatalf("%s has no first page: %v", c.name, coll)
			}
			page := getDoc(t, first, activityJSON, activityJSON)
			items, _ := page["orderedItems"].([]any)
			if page["type"] != "OrderedCollectionPage" || page["partOf"] != c.id || len(items) != 1 || !c.item(items[0]) {
				t.Fatalf("%s first page = type %v partOf %v items %v", c.name, page["type"], page["partOf"], items)
			}
		})
	}
}

func TestDiscoveryStatusDocument(t *testing.T) {
	d := newDept(t, "alice")
	post := d.post(t, &gomastodon.Toot{Status: "Dereference me", Visibility: "public"})
	note := getDoc(t, post.URI, activityJSON, activityJSON)
	if note["id"] != post.URI || note["type"] != "Note" || note["attributedTo"] != d.user.Account.URI || !strings.Contains(note["content"].(string), "Dereference me") {
		t.Fatalf("note = %v, want alice's post", note)
	}
	if to := note["to"].([]any); len(to) != 1 || to[0] != publicAudience {
		t.Fatalf("note to = %v, want public", to)
	}

	if err := d.client.DeleteStatus(context.Background(), post.ID); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, deadline, "deleted status answers 410", func() bool {
		status, _, _ := get(t, post.URI, activityJSON)
		return status == http.StatusGone
	})
	status, _, body := get(t, post.URI, activityJSON)
	var tomb map[string]any
	if err := json.Unmarshal(body, &tomb); err != nil || status != http.StatusGone || tomb["type"] != "Tombstone" || tomb["id"] != post.URI {
		t.Fatalf("deleted status = %d %s, want 410 with a Tombstone", status, body)
	}
}

// TestDiscoveryFeaturedTags: the actor names its featured hashtags as Mastodon's featuredTags
// collection, which lists each as a Hashtag with its tag page.
func TestDiscoveryFeaturedTags(t *testing.T) {
	d := newDept(t, "alice")
	alice := d.user.Account
	for _, name := range []string{"golang", "onboarding"} {
		if _, err := d.inst.Store.FeatureTag(context.Background(), alice.ID, name); err != nil {
			t.Fatal(err)
		}
	}
	actor := getDoc(t, alice.URI, activityJSON, activityJSON)
	if actor["featuredTags"] != alice.URI+"/collections/tags" {
		t.Fatalf("actor featuredTags = %v, want %s/collections/tags", actor["featuredTags"], alice.URI)
	}
	coll := getDoc(t, alice.URI+"/collections/tags", activityJSON, activityJSON)
	items, _ := coll["items"].([]any)
	if coll["type"] != "Collection" || coll["totalItems"] != 2.0 || len(items) != 2 {
		t.Fatalf("featured tags collection = %v", coll)
	}
	for i, name := range []string{"golang", "onboarding"} {
		tag, _ := items[i].(map[string]any)
		if tag["type"] != "Hashtag" || tag["name"] != "#"+name || tag["href"] != d.inst.URL+"/tags/"+name {
			t.Errorf("item %d = %v, want #%s", i, tag, name)
		}
	}
}

// TestDiscoveryDocumentsFollowAccountChanges reads alice's actor document and WebFinger answer,
// which are then rendered once and kept, changes her account, and reads them again: a renamed
// account shows its new name, a suspended one is gone.
func TestDiscoveryDocumentsFollowAccountChanges(t *testing.T) {
	ctx := context.Background()
	d := newDept(t, "alice")
	alice := d.user.Account
	wf := d.inst.URL + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:alice@"+d.inst.Config.Domain())
	update := func(change func(a *store.Account)) {
		a, err := d.inst.Store.Account(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		change(a)
		if err := d.inst.Store.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		getDoc(t, wf, "", "application/jrd+json")
		if actor := getDoc(t, alice.URI, activityJSON, activityJSON); actor["name"] == "Renamed" {
			t.Fatal("renamed before the change")
		}
	}
	update(func(a *store.Account) { a.DisplayName = "Renamed" })
	if actor := getDoc(t, alice.URI, activityJSON, activityJSON); actor["name"] != "Renamed" {
		t.Errorf("after the rename, actor name = %v", actor["name"])
	}
	update(func(a *store.Account) { a.Suspended = true })
	for _, u := range []string{alice.URI, wf} {
		if status, _, body := get(t, u, activityJSON); status != http.StatusNotFound {
			t.Errorf("GET %s of a suspended account = %d %s, want 404", u, status, body)
		}
	}
}

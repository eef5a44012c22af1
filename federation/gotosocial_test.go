package federation_test

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-fed/httpsig"
	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/federation"
	"watercooler/signup"
	"watercooler/testrig"
	"watercooler/text"
)

// mastodonUsername is Mastodon's rule for usernames (Account::USERNAME_RE), which its
// WebFinger, mentions and GoToSocial's namestring parser all expect of preferredUsername.
var mastodonUsername = regexp.MustCompile(`^[a-zA-Z0-9_]+([a-zA-Z0-9_.-]+[a-zA-Z0-9_]+)?$`)

// gtsNamestring is GoToSocial's regexes.MentionName: how it splits a WebFinger subject into
// username and domain. Usernames take letters, digits, '.', '-' and '_'; domains also ':'.
var gtsNamestring = regexp.MustCompile(`^@((?:[\p{L}\p{M}\p{N}]|\.|-|_)+)(?:@((?:[\p{L}\p{M}\p{N}]|\.|-|:)+))?$`)

func TestInstanceActorName(t *testing.T) {
	for _, c := range []struct{ domain, want string }{
		{"eng.example", "eng.example"}, // Mastodon's convention, kept where it fits
		{"127.0.0.3:8133", "127.0.0.3_8133"},
		{"localhost:3000", "localhost_3000"},
		{"[::1]:8080", "___1__8080"},
		{"sales-dept.corp.example", "sales-dept.corp.example"},
		{"", "instance_actor"},
	} {
		got := text.InstanceActorName(c.domain)
		if got != c.want || !mastodonUsername.MatchString(got) {
			t.Errorf("InstanceActorName(%q) = %q, want %q, which fits Mastodon's username rule", c.domain, got, c.want)
		}
	}
}

// TestActorNamesWithPort serves the documents of an instance configured as
// http://127.0.0.3:8133, the setup GoToSocial failed with: every actor's preferredUsername must
// fit the username rule and be answered by WebFinger as acct:<name>@127.0.0.3:8133.
func TestActorNamesWithPort(t *testing.T) {
	for _, base := range []string{"http://127.0.0.3:8133", "https://eng.example", "http://localhost:3000"} {
		t.Run(base, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.URL = base
			cfg.BcryptCost = 4
			domain := cfg.Domain()
			st := testrig.NewStore(t, domain)
			fed, err := federation.New(context.Background(), cfg, st, testrig.Logger(t), testrig.FastFederation())
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(fed.Handler())
			t.Cleanup(srv.Close)
			inst := &testrig.Instance{URL: base, Config: cfg, Store: st, Federator: fed}
			alice := inst.CreateUser(t, "alice").Account
			bot := inst.CreateUser(t, "build_bot", func(p *signup.Params) { p.Bot = true }).Account

			actors := []struct{ path, id, typ string }{
				{"/actor", base + "/actor", "Application"},
				{"/users/alice", alice.URI, "Person"},
				{"/users/build_bot", bot.URI, "Service"},
			}
			for _, a := range actors {
				doc := getDoc(t, srv.URL+a.path, activityJSON, activityJSON)
				name, _ := doc["preferredUsername"].(string)
				if doc["id"] != a.id || doc["type"] != a.typ || !mastodonUsername.MatchString(name) {
					t.Fatalf("GET %s = id %v type %v preferredUsername %q; want %s %s with a name that fits Mastodon's username rule", a.path, doc["id"], doc["type"], name, a.id, a.typ)
				}
				subject := "acct:" + name + "@" + domain
				jrd := getDoc(t, srv.URL+"/.well-known/webfinger?resource="+url.QueryEscape(subject), "", "application/jrd+json")
				if jrd["subject"] != subject || selfLink(jrd) != a.id {
					t.Fatalf("WebFinger %s = subject %v self %q, want %s and %s", subject, jrd["subject"], selfLink(jrd), subject, a.id)
				}
				if m := gtsNamestring.FindStringSubmatch("@" + strings.TrimPrefix(subject, "acct:")); m == nil || m[1] != name || m[2] != domain {
					t.Fatalf("GoToSocial's namestring parser splits %s into %q, want %s and %s", subject, m, name, domain)
				}
				// GoToSocial counts an actor's statuses by its outbox (and warns when it is
				// missing): every collection an actor names is served.
				for _, prop := range []string{"outbox", "followers", "following", "featured"} {
					uri, _ := doc[prop].(string)
					if uri == "" {
						continue
					}
					coll := getDoc(t, srv.URL+strings.TrimPrefix(uri, base), activityJSON, activityJSON)
					if coll["id"] != uri || coll["type"] != "OrderedCollection" {
						t.Fatalf("%s of %s = id %v type %v, want %s, an OrderedCollection", prop, a.path, coll["id"], coll["type"], uri)
					}
				}
			}
			// The domain was the instance actor's name before; peers that stored it still find it,
			// and the forms with a leading '@' or without a scheme that Mastodon accepts work too.
			for _, resource := range []string{"acct:" + domain + "@" + domain, "acct:@alice@" + domain, "alice@" + domain} {
				status, _, body := get(t, srv.URL+"/.well-known/webfinger?resource="+url.QueryEscape(resource), "")
				if status != http.StatusOK {
					t.Errorf("WebFinger %s = %d %s, want 200", resource, status, body)
				}
			}
		})
	}
}

func selfLink(jrd map[string]any) string {
	links, _ := jrd["links"].([]any)
	for _, l := range links {
		link, _ := l.(map[string]any)
		if link["rel"] == "self" && link["type"] == activityJSON {
			s, _ := link["href"].(string)
			return s
		}
	}
	return ""
}

// strictPeer plays a GoToSocial server on 127.0.0.4, as its source (v0.20) behaves:
//   - a request without a User-Agent gets 418 (internal/middleware/useragent.go);
//   - an ActivityPub GET must be signed, except the public key path /users/NAME/main-key
//     (internal/processing/fedi/user.go); inbox POSTs must be signed with a matching Digest;
//   - to authenticate a signature it dereferences the key's owner, then WebFingers
//     preferredUsername@host and requires the subject to parse with its namestring regex and
//     name the same username (internal/federation/dereferencing/finger.go);
//   - accounts are locked: a Follow is recorded, and accepted only when the test says so.
//
// Everything it refused or warned about is kept in refusals, for the test to show.
type strictPeer struct {
	srv    *httptest.Server
	client *http.Client

	mu       sync.Mutex
	keys     map[string]*rsa.PrivateKey
	posted   []map[string]any
	refusals []string
}

func newStrictPeer(t *testing.T) *strictPeer {
	ln, err := net.Listen("tcp", "127.0.0.4:0")
	if err != nil {
		t.Skipf("no 127.0.0.4 to listen on: %v", err)
	}
	p := &strictPeer{keys: map[string]*rsa.PrivateKey{}, client: &http.Client{Timeout: deadline}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Listener.Close()
	p.srv.Listener = ln
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *strictPeer) host() string                { return strings.TrimPrefix(p.srv.URL, "http://") }
func (p *strictPeer) acct(name string) string     { return name + "@" + p.host() }
func (p *strictPeer) actorURI(name string) string { return p.srv.URL + "/users/" + name }
func (p *strictPeer) keyID(name string) string    { return p.actorURI(name) + "/main-key" }

func (p *strictPeer) addActor(t *testing.T, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[name] = newKey(t)
}

func (p *strictPeer) key(name string) *rsa.PrivateKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[name]
}

func (p *strictPeer) refuse(w http.ResponseWriter, r *http.Request, status int, why string) {
	p.mu.Lock()
	p.refusals = append(p.refusals, fmt.Sprintf("%s %s: %d %s", r.Method, r.URL, status, why))
	p.mu.Unlock()
	http.Error(w, why, status)
}

// refused returns what the peer refused so far.
func (p *strictPeer) refused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refusals)
}

// postedOfType lists the activities of one type POSTed to the peer.
func (p *strictPeer) postedOfType(typ string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, a := range p.posted {
		if a["type"] == typ {
			out = append(out, a)
		}
	}
	return out
}

func (p *strictPeer) serve(w http.ResponseWriter, r *http.Request) {
	if r.UserAgent() == "" {
		p.refuse(w, r, http.StatusTeapot, "I'm a teapot: no user-agent sent with request")
		return
	}
	rest, isUser := strings.CutPrefix(r.URL.Path, "/users/")
	name, sub, _ := strings.Cut(rest, "/")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/.well-known/webfinger":
		user, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Query().Get("resource"), "acct:"), "@"+p.host())
		if !ok || p.key(user) == nil {
			http.NotFound(w, r)
			return
		}
		writeDoc(w, "application/jrd+json", map[string]any{
			"subject": "acct:" + p.acct(user),
			"links":   []any{map[string]any{"rel": "self", "type": activityJSON, "href": p.actorURI(user)}},
		})
	case !isUser || p.key(name) == nil:
		http.NotFound(w, r)
	case r.Method == http.MethodGet && sub == "main-key":
		// The public key path is served to anyone, as a minimal actor.
		writeDoc(w, activityJSON, map[string]any{
			"@context": []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":       p.actorURI(name), "type": "Person", "preferredUsername": name,
			"publicKey": map[string]any{"id": p.keyID(name), "owner": p.actorURI(name), "publicKeyPem": publicKeyPEM(p.key(name))},
		})
	case r.Method == http.MethodGet && sub == "":
		if err := p.authenticate(r, nil); err != nil {
			p.refuse(w, r, http.StatusUnauthorized, err.Error())
			return
		}
		writeDoc(w, activityJSON, p.actorDoc(name))
	case r.Method == http.MethodPost && sub == "inbox":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		if err := p.authenticate(r, body); err != nil {
			p.refuse(w, r, http.StatusUnauthorized, err.Error())
			return
		}
		var act map[string]any
		if err := json.Unmarshal(body, &act); err != nil {
			http.Error(w, "bad activity", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.posted = append(p.posted, act)
		p.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, r)
	}
}

// actorDoc is a locked Person as GoToSocial serves it: key at /main-key, no shared inbox.
func (p *strictPeer) actorDoc(name string) map[string]any {
	uri := p.actorURI(name)
	return map[string]any{
		"@context":                  []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1", map[string]any{"manuallyApprovesFollowers": "as:manuallyApprovesFollowers"}},
		"id":                        uri,
		"type":                      "Person",
		"preferredUsername":         name,
		"inbox":                     uri + "/inbox",
		"outbox":                    uri + "/outbox",
		"followers":                 uri + "/followers",
		"following":                 uri + "/following",
		"url":                       p.srv.URL + "/@" + name,
		"manuallyApprovesFollowers": true,
		"publicKey":                 map[string]any{"id": p.keyID(name), "owner": uri, "publicKeyPem": publicKeyPEM(p.key(name))},
	}
}

// authenticate checks a request's signature the way GoToSocial does, WebFinger round trip
// included.
func (p *strictPeer) authenticate(r *http.Request, body []byte) error {
	v, err := httpsig.NewVerifier(r)
	if err != nil {
		return fmt.Errorf("not signed: %w", err)
	}
	if r.Header.Get("Date") == "" {
		return errors.New("no Date")
	}
	if body != nil {
		sum := sha256.Sum256(body)
		if r.Header.Get("Digest") != "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]) {
			return errors.New("Digest does not match the body")
		}
	}
	keyID := v.KeyId()
	owner, pub, err := p.dereferenceKey(keyID)
	if err != nil {
		return fmt.Errorf("key %s: %w", keyID, err)
	}
	if err := p.finger(owner); err != nil {
		return fmt.Errorf("key owner %s: %w", owner["id"], err)
	}
	// It counts the owner's statuses by its outbox (dereferenceAccountStats) and reads its
	// pinned posts from featured, even when the actor names none (dereferenceAccountFeatured);
	// a failure there only logs, and is kept with the refusals.
	for _, prop := range []string{"outbox", "featured"} {
		uri, _ := owner[prop].(string)
		var coll map[string]any
		err := errors.New("not named")
		if uri != "" {
			coll, err = p.get(uri, activityJSON)
		}
		if err != nil || coll["type"] != "OrderedCollection" {
			p.mu.Lock()
			p.refusals = append(p.refusals, fmt.Sprintf("logged: %s of %s: %v (error %v)", prop, owner["id"], coll["type"], err))
			p.mu.Unlock()
		}
	}
	if err := v.Verify(pub, httpsig.RSA_SHA256); err != nil {
		return fmt.Errorf("signature of %s: %w", keyID, err)
	}
	return nil
}

// get fetches a JSON document from the server being tested, with a User-Agent as GoToSocial
// sends.
func (p *strictPeer) get(rawURL, accept string) (map[string]any, error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "gotosocial-test (+"+p.srv.URL+")")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", rawURL, resp.StatusCode)
	}
	var doc map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	return doc, nil
}

func (p *strictPeer) dereferenceKey(keyID string) (map[string]any, *rsa.PublicKey, error) {
	owner, err := p.get(strings.SplitN(keyID, "#", 2)[0], activityJSON)
	if err != nil {
		return nil, nil, err
	}
	pk, _ := owner["publicKey"].(map[string]any)
	if pk["id"] != keyID {
		return nil, nil, fmt.Errorf("owner document has key %v", pk["id"])
	}
	pemText, _ := pk["publicKeyPem"].(string)
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, nil, errors.New("no PEM")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, nil, err
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return nil, nil, errors.New("not an RSA key")
	}
	return owner, pub, nil
}

// finger WebFingers an actor's preferredUsername@host and checks the answer names it.
func (p *strictPeer) finger(actor map[string]any) error {
	id, _ := actor["id"].(string)
	u, err := url.Parse(id)
	if err != nil {
		return err
	}
	username, _ := actor["preferredUsername"].(string)
	jrd, err := p.get(u.Scheme+"://"+u.Host+"/.well-known/webfinger?resource="+url.QueryEscape("acct:"+username+"@"+u.Host), "application/jrd+json")
	if err != nil {
		return fmt.Errorf("webfinger %s@%s: %w", username, u.Host, err)
	}
	subject, _ := jrd["subject"].(string)
	m := gtsNamestring.FindStringSubmatch("@" + strings.TrimPrefix(subject, "acct:"))
	if m == nil {
		return fmt.Errorf("couldn't match namestring %q", subject)
	}
	if m[1] != username {
		return fmt.Errorf("webfinger subject %q does not name %q", subject, username)
	}
	if selfLink(jrd) != id {
		return fmt.Errorf("webfinger self link %q, want %s", selfLink(jrd), id)
	}
	return nil
}

// deliver POSTs an activity of one of the peer's actors to inbox, signed with its /main-key.
func (p *strictPeer) deliver(t *testing.T, inbox, name string, act map[string]any) {
	t.Helper()
	body := mustJSON(t, act)
	status := postInbox(t, inbox, body, func(req *http.Request) {
		mastodonSign(req, body, p.keyID(name), p.key(name), time.Now())
		req.Header.Set("User-Agent", "gotosocial-test")
	})
	if status != http.StatusAccepted {
		t.Fatalf("POST %s %s to %s = %d, want 202", act["type"], act["id"], inbox, status)
	}
}

// TestGoToSocialStrictPeer runs a session with a peer as strict as GoToSocial both ways: our
// instance resolves @alice@127.0.0.4:PORT through a signed fetch the peer authenticates by
// WebFingering our instance actor, follows her locked account (requested until she accepts),
// accepts a follow from the peer, delivers a post and a favourite the peer authenticates again,
// takes a followers-only post of the locked account once following it, and takes the Accepts
// that approve its like and reply under the peer's interaction policy as no errors. Every
// request we make must carry a User-Agent and, for documents, a signature.
func TestGoToSocialStrictPeer(t *testing.T) {
	ctx := context.Background()
	d := newDept(t, "carol")
	peer := newStrictPeer(t)
	peer.addActor(t, "alice")
	peer.addActor(t, "bob")

	// The peer is as strict as it claims: no User-Agent gets 418, an unsigned GET 401.
	for _, c := range []struct {
		name, ua string
		want     int
	}{
		{"no User-Agent", "", http.StatusTeapot},
		{"unsigned GET", "test", http.StatusUnauthorized},
	} {
		req, err := http.NewRequest(http.MethodGet, peer.actorURI("alice"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", activityJSON)
		req.Header.Set("User-Agent", c.ua) // net/http sends none when it is set empty
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Fatalf("%s of the peer's actor = %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	checked := len(peer.refused())

	// Search with resolve=true, as an app does with a name whose domain has a port.
	alice := d.resolve(t, "@"+peer.acct("alice"))
	if alice.Acct != peer.acct("alice") || !alice.Locked {
		t.Fatalf("resolved %s (locked %v), want %s, locked", alice.Acct, alice.Locked, peer.acct("alice"))
	}

	// A locked account: the follow stays requested until the peer's Accept.
	if _, err := d.client.AccountFollow(ctx, alice.ID); err != nil {
		t.Fatalf("follow %s: %v", alice.Acct, err)
	}
	var follow map[string]any
	testrig.Eventually(t, deadline, "the peer receives carol's Follow", func() bool {
		follows := peer.postedOfType("Follow")
		if len(follows) > 0 {
			follow = follows[0]
		}
		return follow != nil
	})
	if rel := d.relationship(t, alice.ID); rel.Following || !rel.Requested {
		t.Fatalf("before the Accept: following %v, requested %v; want requested only", rel.Following, rel.Requested)
	}
	peer.deliver(t, d.inst.URL+"/inbox", "alice", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       peer.actorURI("alice") + "/accepts/01JACCEPT",
		"type":     "Accept", "actor": peer.actorURI("alice"), "object": follow,
	})
	testrig.Eventually(t, deadline, "the Accept turns the request into a follow", func() bool {
		rel := d.relationship(t, alice.ID)
		return rel.Following && !rel.Requested
	})

	// The peer's bob, unknown to us, follows carol: we fetch him (signed) and accept.
	followID := peer.actorURI("bob") + "/follow/01JFOLLOW"
	peer.deliver(t, d.inst.URL+"/inbox", "bob", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       followID, "type": "Follow", "actor": peer.actorURI("bob"), "object": d.user.Account.URI,
	})
	testrig.Eventually(t, deadline, "the peer receives the Accept of bob's follow", func() bool {
		for _, a := range peer.postedOfType("Accept") {
			if obj, _ := a["object"].(map[string]any); obj["id"] == followID || a["object"] == followID {
				return true
			}
		}
		return false
	})

	// A post of carol's reaches bob's inbox, signed so that the peer accepts it.
	post := d.post(t, &gomastodon.Toot{Status: "Hello across the port", Visibility: "public"})
	testrig.Eventually(t, deadline, "the peer receives carol's post", func() bool {
		for _, c := range peer.postedOfType("Create") {
			if obj, _ := c["object"].(map[string]any); obj["id"] == post.URI {
				return true
			}
		}
		return false
	})
	// A followers-only post of alice's reaches carol, and carol's favourite reaches alice.
	note := map[string]any{
		"id": peer.actorURI("alice") + "/statuses/01JNOTE", "type": "Note", "attributedTo": peer.actorURI("alice"),
		"content": "<p>Locked but talking</p>", "to": []any{peer.actorURI("alice") + "/followers"}, "cc": []any{},
		"published": time.Now().UTC().Format(time.RFC3339),
	}
	peer.deliver(t, d.inst.URL+"/inbox", "alice", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       note["id"].(string) + "/activity", "type": "Create", "actor": peer.actorURI("alice"),
		"to": note["to"], "object": note,
	})
	got := d.waitHome(t, "alice's followers-only post reaches carol", withURI(note["id"].(string)))
	if _, err := d.client.Favourite(ctx, got.ID); err != nil {
		t.Fatalf("favourite: %v", err)
	}
	var likeID string
	testrig.Eventually(t, deadline, "the peer receives carol's Like", func() bool {
		for _, l := range peer.postedOfType("Like") {
			if l["object"] == note["id"] {
				likeID, _ = l["id"].(string)
				return true
			}
		}
		return false
	})
	// A like or reply of a followers-only post is approved under GoToSocial's interaction
	// policy by an Accept of the interaction itself (object: its id; target: the post), seen
	// from GoToSocial 0.20 in the manual session. It is no follow, and no bad data either: the
	// job ends, nothing goes to the dead letters.
	reply := d.post(t, &gomastodon.Toot{Status: "@" + peer.acct("alice") + " Agreed", InReplyToID: got.ID, Visibility: "private"})
	testrig.Eventually(t, deadline, "the peer receives carol's reply", func() bool {
		for _, c := range peer.postedOfType("Create") {
			if obj, _ := c["object"].(map[string]any); obj["id"] == reply.URI {
				return true
			}
		}
		return false
	})
	for i, interaction := range []string{likeID, reply.URI} {
		peer.deliver(t, d.inst.URL+"/inbox", "alice", map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams",
			"id":       fmt.Sprintf("%s/accepts/01JINTERACTION%d", peer.actorURI("alice"), i),
			"type":     "Accept", "actor": peer.actorURI("alice"), "to": d.user.Account.URI,
			"object": interaction, "target": note["id"],
		})
	}
	quiesce(t, d.inst)
	if dead := queueStats(t, d.inst, "inbox").Dead; dead != 0 {
		t.Fatalf("the Accepts of carol's like and reply left %d dead-lettered inbox jobs, want 0", dead)
	}
	if refused := peer.refused()[checked:]; len(refused) != 0 {
		t.Fatalf("the strict peer refused %d of our requests:\n%s", len(refused), strings.Join(refused, "\n"))
	}
}

// TestResolveStaysWhereSent: through the whole instance, a search that resolves an actor on a
// peer host which redirects to another local port, or names the instance's Redis address
// outright, finds nothing, and nothing connects to that port.
func TestResolveStaysWhereSent(t *testing.T) {
	other := federation.NewConnCounter(t)
	redis := other.Addr()
	inst := testrig.StartInstance(t, func(c *config.Config) { c.RedisURL = "redis://" + redis + "/0" })
	d := deptOn(inst, inst.CreateUser(t, "alice"))

	ln, err := net.Listen("tcp", "127.0.0.9:0")
	if err != nil {
		t.Skipf("no 127.0.0.9 to listen on: %v", err)
	}
	peer := httptest.NewUnstartedServer(http.RedirectHandler("http://"+redis+"/", http.StatusFound))
	peer.Listener.Close()
	peer.Listener = ln
	peer.Start()
	t.Cleanup(peer.Close)
	peerHost := strings.TrimPrefix(peer.URL, "http://")

	for _, q := range []string{peer.URL + "/users/mallory", "mallory@" + peerHost, "http://" + redis + "/users/mallory", "mallory@" + redis} {
		res, err := d.client.Search(context.Background(), q, true)
		if err != nil {
			t.Fatalf("search %s: %v", q, err)
		}
		if len(res.Accounts) != 0 || len(res.Statuses) != 0 {
			t.Fatalf("search %s found %d accounts and %d statuses, want nothing", q, len(res.Accounts), len(res.Statuses))
		}
	}
	other.AssertUntouched(t)
}

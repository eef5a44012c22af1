package federation_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/signup"
	"watercooler/store"
	"watercooler/testrig"
)

// publicAudience is ActivityStreams' public collection.
const publicAudience = "https://www.w3.org/ns/activitystreams#Public"

// deadline bounds every cross-instance wait. Deliveries on loopback take milliseconds and the
// test retry schedule (testrig.FastFederation) keeps retrying for minutes, so nothing the code
// guarantees runs out before it: it is a bound for a hung test, generous enough for a machine
// whose cores other work keeps busy, not a performance target.
const deadline = 45 * time.Second

// dept is one instance with one signed-in user and a Mastodon client for them.
type dept struct {
	inst   *testrig.Instance
	user   *testrig.User
	client *gomastodon.Client
}

// newDept starts an instance with one user, created with the given sign-up options (a locked
// account, say).
func newDept(t *testing.T, username string, options ...func(*signup.Params)) *dept {
	inst := testrig.StartInstance(t)
	return deptOn(inst, inst.CreateUser(t, username, options...))
}

// acct is how people on other instances address d's user.
func (d *dept) acct() string { return d.user.Account.Username + "@" + d.inst.Config.Domain() }

// resolve finds another department's user through search with resolve=true (WebFinger).
func (d *dept) resolve(t *testing.T, acct string) *gomastodon.Account {
	t.Helper()
	res, err := d.client.Search(context.Background(), acct, true)
	if err != nil {
		t.Fatalf("search %s: %v", acct, err)
	}
	if len(res.Accounts) != 1 {
		t.Fatalf("search %s found %d accounts, want 1", acct, len(res.Accounts))
	}
	return res.Accounts[0]
}

// follow makes d's user follow other's user across instances and waits for the Accept.
func (d *dept) follow(t *testing.T, other *dept) *gomastodon.Account {
	t.Helper()
	ctx := context.Background()
	remote := d.resolve(t, other.acct())
	if _, err := d.client.AccountFollow(ctx, remote.ID); err != nil {
		t.Fatalf("follow %s: %v", other.acct(), err)
	}
	testrig.Eventually(t, deadline, d.acct()+" follows "+other.acct(), func() bool {
		rels, err := d.client.GetAccountRelationships(ctx, []string{string(remote.ID)})
		return err == nil && len(rels) == 1 && rels[0].Following
	})
	return remote
}

// waitHome polls d's home timeline for a status that match accepts.
func (d *dept) waitHome(t *testing.T, what string, match func(*gomastodon.Status) bool) *gomastodon.Status {
	t.Helper()
	var found *gomastodon.Status
	testrig.Eventually(t, deadline, what, func() bool {
		sts, err := d.client.GetTimelineHome(context.Background(), nil)
		if err != nil {
			return false
		}
		for _, s := range sts {
			if match(s) {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

func contains(text string) func(*gomastodon.Status) bool {
	return func(s *gomastodon.Status) bool { return strings.Contains(s.Content, text) }
}

// waitNotification polls d's notifications for one of the given type from acct.
func (d *dept) waitNotification(t *testing.T, typ, fromAcct string) *gomastodon.Notification {
	t.Helper()
	var found *gomastodon.Notification
	testrig.Eventually(t, deadline, d.acct()+" notified of "+typ+" by "+fromAcct, func() bool {
		ns, err := d.client.GetNotifications(context.Background(), nil)
		if err != nil {
			return false
		}
		for _, n := range ns {
			if n.Type == typ && n.Account.Acct == fromAcct {
				found = n
				return true
			}
		}
		return false
	})
	return found
}

// addUser creates another user on d's instance.
func (d *dept) addUser(t *testing.T, username string, options ...func(*signup.Params)) *dept {
	return deptOn(d.inst, d.inst.CreateUser(t, username, options...))
}

func deptOn(inst *testrig.Instance, user *testrig.User) *dept {
	return &dept{inst: inst, user: user, client: gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: user.Token})}
}

func locked(p *signup.Params) { p.Locked = true }

// post publishes a status through the client API.
func (d *dept) post(t *testing.T, toot *gomastodon.Toot) *gomastodon.Status {
	t.Helper()
	st, err := d.client.PostStatus(context.Background(), toot)
	if err != nil {
		t.Fatalf("%s posts %q: %v", d.acct(), toot.Status, err)
	}
	return st
}

// home returns d's home timeline.
func (d *dept) home(t *testing.T) []*gomastodon.Status {
	t.Helper()
	sts, err := d.client.GetTimelineHome(context.Background(), &gomastodon.Pagination{Limit: 40})
	if err != nil {
		t.Fatalf("home of %s: %v", d.acct(), err)
	}
	return sts
}

// homeHasNo fails when d's home timeline holds a status (or the original of a boost) that
// matches; what describes it.
func (d *dept) homeHasNo(t *testing.T, what string, match func(*gomastodon.Status) bool) {
	t.Helper()
	for _, s := range d.home(t) {
		if match(s) || (s.Reblog != nil && match(s.Reblog)) {
			t.Fatalf("home of %s holds %s (status %s by %s), want it absent", d.acct(), what, s.URI, s.Account.Acct)
		}
	}
}

// withURI matches the status with that ActivityPub id.
func withURI(uri string) func(*gomastodon.Status) bool {
	return func(s *gomastodon.Status) bool { return s.URI == uri }
}

// id is d's user's account id on its own instance.
func (d *dept) id() gomastodon.ID { return gomastodon.ID(d.user.Account.ID) }

// findStatus looks a status up by its URI through search without resolving, so it finds only
// what d's instance has stored and d may see.
func (d *dept) findStatus(t *testing.T, uri string) *gomastodon.Status {
	t.Helper()
	if res := d.searchStored(t, uri); len(res.Statuses) != 0 {
		return res.Statuses[0]
	}
	return nil
}

// findAccount looks an account up by actor URI without resolving.
func (d *dept) findAccount(t *testing.T, uri string) *gomastodon.Account {
	t.Helper()
	if res := d.searchStored(t, uri); len(res.Accounts) != 0 {
		return res.Accounts[0]
	}
	return nil
}

// searchStored searches d's instance for uri without resolving it remotely.
func (d *dept) searchStored(t *testing.T, uri string) *gomastodon.Results {
	t.Helper()
	res, err := d.client.Search(context.Background(), uri, false)
	if err != nil {
		t.Fatalf("search %s: %v", uri, err)
	}
	return res
}

// relationship reads d's relationship to an account with raw HTTP: go-mastodon's Relationship
// lacks blocked_by and requested_by.
type relationship struct {
	Following  bool `json:"following"`
	FollowedBy bool `json:"followed_by"`
	Requested  bool `json:"requested"`
	Blocking   bool `json:"blocking"`
	BlockedBy  bool `json:"blocked_by"`
}

func (d *dept) relationship(t *testing.T, id gomastodon.ID) relationship {
	t.Helper()
	var rels []relationship
	d.getJSON(t, "/api/v1/accounts/relationships?id[]="+url.QueryEscape(string(id)), &rels)
	if len(rels) != 1 {
		t.Fatalf("relationships with %s: %d entries, want 1", id, len(rels))
	}
	return rels[0]
}

// getJSON GETs a client API path as d's user and decodes a 200 answer.
func (d *dept) getJSON(t *testing.T, path string, out any) {
	t.Helper()
	status, _, body := fetch(t, http.DefaultClient, d.inst.URL+path, "Authorization", "Bearer "+d.user.Token)
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", path, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// fetch GETs rawURL with client and returns the status, headers and body; header holds name,
// value pairs, and a pair with an empty value is left out.
func fetch(t testing.TB, client *http.Client, rawURL string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] != "" {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// mentionsOf lists the URIs of the statuses d's user was mentioned in.
func (d *dept) mentionsOf(t *testing.T) []string {
	t.Helper()
	ns, err := d.client.GetNotifications(context.Background(), nil)
	if err != nil {
		t.Fatalf("notifications of %s: %v", d.acct(), err)
	}
	var uris []string
	for _, n := range ns {
		if n.Type == "mention" && n.Status != nil {
			uris = append(uris, n.Status.URI)
		}
	}
	return uris
}

// queueStats reads one of an instance's federation queues.
func queueStats(t testing.TB, inst *testrig.Instance, name string) store.QueueStats {
	t.Helper()
	st, err := inst.Store.Queue(name).Stats(context.Background())
	if err != nil {
		t.Fatalf("stats of %s queue: %v", name, err)
	}
	return st
}

// quiesce waits until no instance has an inbound activity or a delivery queued or waiting for a
// retry, twice in a row (work on one instance can queue work on another), so that a test can
// then check that something did NOT happen.
func quiesce(t testing.TB, insts ...*testrig.Instance) {
	t.Helper()
	idle := func() bool {
		for _, inst := range insts {
			for _, q := range []string{"inbox", "delivery"} {
				if s := queueStats(t, inst, q); s.Queued != 0 || s.Retrying != 0 {
					return false
				}
			}
		}
		return true
	}
	testrig.Eventually(t, deadline, "federation queues drained", func() bool { return idle() && idle() })
}

// fakeRemote is a stand-in for a remote Mastodon server on 127.0.0.1: it serves actor documents
// (with keys the test controls), WebFinger, and whatever objects the test puts there; it counts
// every request by path and accepts inbox POSTs.
type fakeRemote struct {
	srv *httptest.Server

	mu     sync.Mutex
	keys   map[string]*rsa.PrivateKey // actor name → current key
	docs   map[string]any             // path → document
	hits   map[string]int             // path → requests
	posted []map[string]any           // activities POSTed to any inbox
}

func newFakeRemote(t testing.TB) *fakeRemote { return serveFakeRemote(t, nil) }

// serveFakeRemote starts a fakeRemote on ln, or on a fresh 127.0.0.1 port when ln is nil.
func serveFakeRemote(t testing.TB, ln net.Listener) *fakeRemote {
	r := &fakeRemote{keys: map[string]*rsa.PrivateKey{}, docs: map[string]any{}, hits: map[string]int{}}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	if ln != nil {
		r.srv.Listener.Close()
		r.srv.Listener = ln
	}
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

// host is the remote's domain as instances see it: 127.0.0.1:port.
func (r *fakeRemote) host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

func (r *fakeRemote) actorURI(name string) string { return r.srv.URL + "/users/" + name }

func (r *fakeRemote) keyID(name string) string { return r.actorURI(name) + "#main-key" }

func (r *fakeRemote) acct(name string) string { return name + "@" + r.host() }

// addActor publishes an actor whose documents carry key's public half.
func (r *fakeRemote) addActor(name string, key *rsa.PrivateKey) {
	r.setKey(name, key)
}

// setKey rotates an actor's key: its document carries the new one from now on.
func (r *fakeRemote) setKey(name string, key *rsa.PrivateKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[name] = key
}

func (r *fakeRemote) key(name string) *rsa.PrivateKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[name]
}

// put serves doc at its id, which must be on this server.
func (r *fakeRemote) put(doc map[string]any) {
	u, _ := url.Parse(doc["id"].(string))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docs[u.Path] = doc
}

// hitsOf counts the requests for path so far.
func (r *fakeRemote) hitsOf(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[path]
}

// totalHits counts every request so far.
func (r *fakeRemote) totalHits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, h := range r.hits {
		n += h
	}
	return n
}

// postedOfType lists the activities of one type POSTed to the remote's inboxes.
func (r *fakeRemote) postedOfType(typ string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, a := range r.posted {
		if a["type"] == typ {
			out = append(out, a)
		}
	}
	return out
}

func (r *fakeRemote) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.hits[req.URL.Path]++
	r.mu.Unlock()
	switch {
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/inbox"):
		var act map[string]any
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&act); err != nil {
			http.Error(w, "bad activity", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.posted = append(r.posted, act)
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case req.URL.Path == "/.well-known/webfinger":
		name, ok := strings.CutSuffix(strings.TrimPrefix(req.URL.Query().Get("resource"), "acct:"), "@"+r.host())
		if !ok || r.key(name) == nil {
			http.NotFound(w, req)
			return
		}
		writeDoc(w, "application/jrd+json", map[string]any{
			"subject": "acct:" + r.acct(name),
			"links":   []any{map[string]any{"rel": "self", "type": "application/activity+json", "href": r.actorURI(name)}},
		})
	case strings.HasPrefix(req.URL.Path, "/users/") && !strings.Contains(strings.TrimPrefix(req.URL.Path, "/users/"), "/"):
		name := strings.TrimPrefix(req.URL.Path, "/users/")
		key := r.key(name)
		if key == nil {
			http.NotFound(w, req)
			return
		}
		writeDoc(w, "application/activity+json", r.actorDoc(name, key))
	default:
		r.mu.Lock()
		doc, ok := r.docs[req.URL.Path]
		r.mu.Unlock()
		if !ok {
			http.NotFound(w, req)
			return
		}
		writeDoc(w, "application/activity+json", doc)
	}
}

// actorDoc is a Person as Mastodon 4 serves it, trimmed to what federation reads.
func (r *fakeRemote) actorDoc(name string, key *rsa.PrivateKey) map[string]any {
	uri := r.actorURI(name)
	return map[string]any{
		"@context":                  []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1", map[string]any{"manuallyApprovesFollowers": "as:manuallyApprovesFollowers"}},
		"id":                        uri,
		"type":                      "Person",
		"preferredUsername":         name,
		"name":                      strings.ToUpper(name[:1]) + name[1:],
		"inbox":                     uri + "/inbox",
		"outbox":                    uri + "/outbox",
		"followers":                 uri + "/followers",
		"following":                 uri + "/following",
		"url":                       r.srv.URL + "/@" + name,
		"manuallyApprovesFollowers": false,
		"endpoints":                 map[string]any{"sharedInbox": r.srv.URL + "/inbox"},
		"publicKey":                 map[string]any{"id": uri + "#main-key", "owner": uri, "publicKeyPem": publicKeyPEM(key)},
	}
}

func writeDoc(w http.ResponseWriter, contentType string, doc any) {
	w.Header().Set("Content-Type", contentType)
	_ = json.NewEncoder(w).Encode(doc)
}

// note builds a public Note by one of the remote's actors; extra members override the defaults.
func (r *fakeRemote) note(name, id, content string, extra map[string]any) map[string]any {
	actor := r.actorURI(name)
	n := map[string]any{
		"id":           actor + "/statuses/" + id,
		"type":         "Note",
		"attributedTo": actor,
		"content":      "<p>" + content + "</p>",
		"to":           []any{publicAudience},
		"cc":           []any{actor + "/followers"},
		"published":    time.Now().UTC().Format(time.RFC3339),
		"url":          r.srv.URL + "/@" + name + "/" + id,
	}
	for k, v := range extra {
		n[k] = v
	}
	return n
}

// mentioning addresses a note to a local user and tags the mention, as Mastodon does.
func mentioning(u *dept) map[string]any {
	return map[string]any{
		"to":  []any{publicAudience, u.user.Account.URI},
		"tag": []any{map[string]any{"type": "Mention", "href": u.user.Account.URI, "name": "@" + u.acct()}},
	}
}

// activity wraps an object in an activity by one of the remote's actors, with @context.
func (r *fakeRemote) activity(name, typ, id string, object any) map[string]any {
	actor := r.actorURI(name)
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       actor + "#" + strings.ToLower(typ) + "s/" + id,
		"type":     typ,
		"actor":    actor,
		"to":       []any{publicAudience},
		"object":   object,
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newKey generates a 2048-bit RSA key, as Mastodon's actors have.
func newKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicKeyPEM(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// mastodonSign signs an inbox POST exactly as Mastodon's Request class does: Date and a
// SHA-256 Digest of body, then an rsa-sha256 draft-cavage signature over
// "(request-target) host date digest content-type".
func mastodonSign(req *http.Request, body []byte, keyID string, key *rsa.PrivateKey, date time.Time) {
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/activity+json")
	}
	sum := sha256.Sum256(body)
	req.Header.Set("Date", date.UTC().Format(http.TimeFormat))
	req.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]))
	signed := strings.Join([]string{
		"(request-target): " + strings.ToLower(req.Method) + " " + req.URL.RequestURI(),
		"host: " + req.URL.Host,
		"date: " + req.Header.Get("Date"),
		"digest: " + req.Header.Get("Digest"),
		"content-type: " + req.Header.Get("Content-Type"),
	}, "\n")
	hash := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, hash[:])
	if err != nil {
		panic(err)
	}
	req.Header.Set("Signature", fmt.Sprintf(`keyId="%s",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature="%s"`,
		keyID, base64.StdEncoding.EncodeToString(sig)))
}

// inboxRequest is a POST of body to an inbox with the headers sign adds.
func inboxRequest(t testing.TB, inbox string, body []byte, sign func(*http.Request)) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/activity+json")
	if sign != nil {
		sign(req)
	}
	return req
}

// postInbox POSTs body to an inbox after letting sign add headers, and returns the status.
func postInbox(t testing.TB, inbox string, body []byte, sign func(*http.Request)) int {
	t.Helper()
	req := inboxRequest(t, inbox, body, sign)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", inbox, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// announceInbox sends the headers of a signed POST of body, announcing its length, but not the
// body, and returns the status the server answers with: how a test checks that an oversized
// body is refused from its headers. Sending the body too would race the server's close against
// the client's write, and the client could see a reset instead of the answer.
func announceInbox(t testing.TB, inbox string, body []byte, sign func(*http.Request)) int {
	t.Helper()
	req := inboxRequest(t, inbox, body, sign)
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.URL.RequestURI(), req.Host, len(body))
	if err := req.Header.Write(conn); err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("POST %s (headers only): %v", inbox, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// signedBy signs as a fake remote actor with its current key, now.
func (r *fakeRemote) signedBy(name string, body []byte) func(*http.Request) {
	return func(req *http.Request) { mastodonSign(req, body, r.keyID(name), r.key(name), time.Now()) }
}

// deliver POSTs an activity of one of the remote's actors to an instance's shared inbox, signed
// like Mastodon, and fails unless it is accepted.
func (r *fakeRemote) deliver(t testing.TB, to *testrig.Instance, name string, act map[string]any) {
	t.Helper()
	body := mustJSON(t, act)
	if got := postInbox(t, to.URL+"/inbox", body, r.signedBy(name, body)); got != http.StatusAccepted {
		t.Fatalf("POST %s %s to %s/inbox = %d, want 202", act["type"], act["id"], to.URL, got)
	}
}

package server_test

// The HTTP, set-up and parsing helpers every test file of this package shares, kept in one
// place so that a fix to how tests talk to an instance reaches every test at once.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/server/mastodon"
	"watercooler/signup"
	"watercooler/store"
	"watercooler/testrig"
)

// The content types of the request bodies the client API accepts besides multipart.
const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

// apiResponse is one HTTP answer, read whole so that a test can check its status, headers and
// body in any order after the connection has been released.
type apiResponse struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r apiResponse) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// ok fails the test unless the answer is 200, then decodes it into v (when not nil).
func (r apiResponse) ok(t testing.TB, v any) {
	t.Helper()
	if r.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Code, r.Body)
	}
	if v != nil {
		r.decode(t, v)
	}
}

// errorBody fails the test unless the answer has status code, then decodes its error body.
func (r apiResponse) errorBody(t testing.TB, code int) mastodon.Error {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body %s", r.Code, code, r.Body)
	}
	var e mastodon.Error
	r.decode(t, &e)
	return e
}

// expectError checks the status and Mastodon's {"error": msg} body. Some messages carry
// details a test should not pin down, so msg "" accepts any non-empty message and a msg ending
// in "*" accepts any message starting with the rest; any other msg must match exactly.
func (r apiResponse) expectError(t testing.TB, code int, msg string) {
	t.Helper()
	e := r.errorBody(t, code)
	switch prefix, isPrefix := strings.CutSuffix(msg, "*"); {
	case msg == "":
		if e.Error == "" {
			t.Fatalf("error %q, want a message; body %s", e.Error, r.Body)
		}
	case isPrefix:
		if !strings.HasPrefix(e.Error, prefix) {
			t.Fatalf("error %q, want it to start with %q", e.Error, prefix)
		}
	case e.Error != msg:
		t.Fatalf("error %q, want %q", e.Error, msg)
	}
}

// expectOAuthError checks an RFC 6749 error answer: status, error code and a description, and
// that no token leaks into it.
func (r apiResponse) expectOAuthError(t testing.TB, code int, oauthCode string) {
	t.Helper()
	e := r.errorBody(t, code)
	if e.Error != oauthCode || e.ErrorDescription == "" {
		t.Fatalf("error %q (%q), want %q with a description", e.Error, e.ErrorDescription, oauthCode)
	}
	if strings.Contains(string(r.Body), "access_token") {
		t.Fatalf("an error answer carries a token: %s", r.Body)
	}
}

// refusal is a request the API must refuse, and the error it must answer with; msg is as for
// expectError.
type refusal struct {
	name, method, url, token, contentType, body string
	code                                        int
	msg                                         string
}

// expectRefusals sends each request in a subtest of its own and checks its error answer.
func expectRefusals(t *testing.T, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			apiDo(t, tc.method, tc.url, tc.token, tc.contentType, tc.body).expectError(t, tc.code, tc.msg)
		})
	}
}

// newAPIRequest builds a request with an optional bearer token, an optional body of
// contentType, and extra headers given as name, value pairs. It is separate from apiDo for
// callers that send with their own client or keep the response open (benchmarks, streams).
func newAPIRequest(t testing.TB, method, u, token, contentType, body string, header ...string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// apiSend sends req with client (http.DefaultClient when nil) and reads the whole answer.
func apiSend(t testing.TB, client *http.Client, req *http.Request) apiResponse {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{Code: resp.StatusCode, Header: resp.Header, Body: b}
}

// apiDo sends one request: any body (JSON, form, or multipart from multipartBody) with its
// content type, a bearer token unless token is "", and extra headers as name, value pairs.
func apiDo(t testing.TB, method, u, token, contentType, body string, header ...string) apiResponse {
	t.Helper()
	return apiSend(t, nil, newAPIRequest(t, method, u, token, contentType, body, header...))
}

func apiGet(t testing.TB, u, token string) apiResponse {
	t.Helper()
	return apiDo(t, http.MethodGet, u, token, "", "")
}

// apiForm sends an already encoded form: callers pass strings rather than url.Values where the
// order of repeated keys across names matters (keywords_attributes[][keyword]=…).
func apiForm(t testing.TB, method, u, token, form string, header ...string) apiResponse {
	t.Helper()
	return apiDo(t, method, u, token, formType, form, header...)
}

func apiJSON(t testing.TB, method, u, token, body string, header ...string) apiResponse {
	t.Helper()
	return apiDo(t, method, u, token, jsonType, body, header...)
}

// multipartFile is the file part of a multipart body; a zero Field means no file.
type multipartFile struct {
	Field, Name string
	// ContentType defaults to application/octet-stream, as multipart.Writer.CreateFormFile sets.
	ContentType string
	Data        []byte
}

// multipartQuotes escapes a name for a Content-Disposition header as mime/multipart does.
var multipartQuotes = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

// multipartBody builds a multipart/form-data body of text fields, given as name, value pairs,
// and file; it returns the content type (with its boundary) and the body for apiDo.
func multipartBody(t testing.TB, file multipartFile, fields ...string) (contentType, body string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := w.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if file.Field != "" {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, multipartQuotes.Replace(file.Field), multipartQuotes.Replace(file.Name)))
		ct := file.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		part, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := part.Write(file.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.String()
}

// testImage draws a w×h image with varied pixels, so encoders cannot compress it to nothing.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), uint8((x * y) % 251), 0xff})
		}
	}
	return img
}

// pngBytes encodes testImage(w, h) as PNG.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// userClient is a go-mastodon client signed in as u.
func userClient(inst *testrig.Instance, u *testrig.User) *gomastodon.Client {
	return gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: u.Token})
}

// followUser makes follower follow target straight in the store, boosts shown, so tests about
// something else need not go through the follow API.
func followUser(t testing.TB, inst *testrig.Instance, follower, target *testrig.User) {
	t.Helper()
	if err := inst.Store.Follow(context.Background(), follower.Account, target.Account, store.FollowOptions{ShowReblogs: true}); err != nil {
		t.Fatalf("follow: %v", err)
	}
}

// locked is a sign-up option for an account that approves its followers.
func locked(p *signup.Params) { p.Locked = true }

// userToken mints another token for u with only the given scopes, to test scope checks.
func userToken(t testing.TB, inst *testrig.Instance, u *testrig.User, scopes ...string) string {
	t.Helper()
	tok, _, err := inst.Store.CreateToken(context.Background(), "", u.Account.ID, scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// clientAppToken registers an app and mints a client_credentials token for it: a token with
// no user behind it.
func clientAppToken(t testing.TB, inst *testrig.Instance, scopes ...string) string {
	t.Helper()
	ctx := context.Background()
	app := &store.App{Name: "Sign-up tester", RedirectURIs: []string{"urn:ietf:wg:oauth:2.0:oob"}, Scopes: scopes}
	if err := inst.Store.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	tok, _, err := inst.Store.CreateToken(ctx, app.ClientID, "", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// postStatus posts through the API with go-mastodon, as a client app would.
func postStatus(t testing.TB, inst *testrig.Instance, u *testrig.User, toot gomastodon.Toot) *gomastodon.Status {
	t.Helper()
	st, err := userClient(inst, u).PostStatus(context.Background(), &toot)
	if err != nil {
		t.Fatalf("post %q: %v", toot.Status, err)
	}
	return st
}

// storeStatus stores a status directly, for tests about reading statuses that should not
// depend on the statuses API; it is public with "<p>hello</p>" unless st says otherwise.
func storeStatus(t testing.TB, inst *testrig.Instance, author *store.Account, st store.Status) *store.Status {
	t.Helper()
	st.AccountID, st.Local = author.ID, author.Local()
	if st.Visibility == "" {
		st.Visibility = store.VisibilityPublic
	}
	if st.Content == "" {
		st.Content = "<p>hello</p>"
	}
	out, err := inst.Store.CreateStatus(context.Background(), store.NewStatus{Status: st, BaseURL: inst.URL})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// remoteAccount stores a remote account as federation would.
func remoteAccount(t testing.TB, inst *testrig.Instance, username, domain string) *store.Account {
	t.Helper()
	a, err := inst.Store.PutRemoteAccount(context.Background(), &store.Account{
		Username: username, Domain: domain, URI: "https://" + domain + "/users/" + username, URL: "https://" + domain + "/@" + username,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// storeAccount reads an account straight from the store, to check what a request changed.
func storeAccount(t testing.TB, inst *testrig.Instance, id string) *store.Account {
	t.Helper()
	a, err := inst.Store.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// storeAccounts creates n local accounts named prefix0… straight in the store: sign-up's RSA
// key generation would dominate the set-up time of tests that need many.
func storeAccounts(t testing.TB, inst *testrig.Instance, prefix string, n int) []*store.Account {
	t.Helper()
	out := make([]*store.Account, n)
	for i := range out {
		a, err := inst.Store.CreateLocalAccount(context.Background(), store.NewLocalAccount{Username: fmt.Sprintf("%s%d", prefix, i), BaseURL: inst.URL})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	return out
}

// getStatus fetches and decodes one status, failing unless it answers 200.
func getStatus(t testing.TB, inst *testrig.Instance, id, token string) mastodon.Status {
	t.Helper()
	var st mastodon.Status
	apiGet(t, inst.API("/api/v1/statuses/%s", id), token).ok(t, &st)
	return st
}

// timeline reads one page of statuses (a timeline, bookmarks, …), failing unless it answers 200.
func timeline(t testing.TB, u, token string) []mastodon.Status {
	t.Helper()
	var sts []mastodon.Status
	apiGet(t, u, token).ok(t, &sts)
	return sts
}

func statusIDs(sts []mastodon.Status) []string {
	ids := make([]string, len(sts))
	for i, st := range sts {
		ids[i] = st.ID
	}
	return ids
}

// timelineIDs reads one page of statuses and returns their ids.
func timelineIDs(t testing.TB, u, token string) []string {
	t.Helper()
	return statusIDs(timeline(t, u, token))
}

// statusesCount reads an account's statuses_count from the store.
func statusesCount(t testing.TB, inst *testrig.Instance, accountID string) int64 {
	t.Helper()
	counts, err := inst.Store.AccountCounts(context.Background(), []string{accountID})
	if err != nil {
		t.Fatal(err)
	}
	return counts[accountID].Statuses
}

// notificationsOf reads an account's notifications of one type from the store.
func notificationsOf(t testing.TB, inst *testrig.Instance, accountID, typ string) []*store.Notification {
	t.Helper()
	ns, err := inst.Store.Notifications(context.Background(), accountID, store.NotificationQuery{Page: store.Page{Limit: 40}, Types: []string{typ}})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// linkRel extracts the URL of one rel of a Link header, or "" when there is none: the last
// page of a timeline has no rel="next", and pagination loops stop on "".
func linkRel(header, rel string) string {
	for _, part := range strings.Split(header, ",") {
		u, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if ok && strings.Contains(params, `rel="`+rel+`"`) {
			return strings.Trim(strings.TrimSpace(u), "<>")
		}
	}
	return ""
}

// mustLinkRel is linkRel for a rel the answer must have.
func mustLinkRel(t testing.TB, header, rel string) string {
	t.Helper()
	u := linkRel(header, rel)
	if u == "" {
		t.Fatalf("no rel=%q in Link header %q", rel, header)
	}
	return u
}

// jsonPath walks a decoded JSON document along keys; nil when a step is missing.
func jsonPath(doc any, keys ...string) any {
	for _, k := range keys {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

// announceBody sends the headers of a POST announcing a body of length bytes, but not the body,
// and returns the status the server answers with: how a test checks that an oversized body is
// refused from its headers. Sending the body too would race the server's close against the
// client's write, and the client could see a reset instead of the answer.
func announceBody(t testing.TB, rawURL, token, contentType string, length int) int {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		u.RequestURI(), u.Host, token, contentType, length)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to headers announcing %d bytes: %v", length, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

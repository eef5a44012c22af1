package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/server/mastodon"
	"watercooler/signup"
	"watercooler/store"
	"watercooler/testrig"
)

// accResponse is one raw API answer; the acc prefix keeps these helpers apart from other areas'
// helpers in the same test package.
type accResponse struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r accResponse) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// ok fails the test unless the answer is 200, then decodes it into v (when not nil).
func (r accResponse) ok(t testing.TB, v any) {
	t.Helper()
	if r.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Code, r.Body)
	}
	if v != nil {
		r.decode(t, v)
	}
}

// expectError checks the status and Mastodon's {"error": msg} body; msg "" skips the message.
func (r accResponse) expectError(t testing.TB, code int, msg string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body %s", r.Code, code, r.Body)
	}
	var e mastodon.Error
	r.decode(t, &e)
	if e.Error == "" || (msg != "" && e.Error != msg) {
		t.Fatalf("error %q, want %q", e.Error, msg)
	}
}

// accDo sends one request.
func accDo(t testing.TB, method, u, token, contentType string, body io.Reader) accResponse {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return accResponse{Code: resp.StatusCode, Header: resp.Header, Body: b}
}

func accGet(t testing.TB, u, token string) accResponse {
	t.Helper()
	return accDo(t, http.MethodGet, u, token, "", nil)
}

func accForm(t testing.TB, method, u, token string, form url.Values) accResponse {
	t.Helper()
	return accDo(t, method, u, token, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

func accJSON(t testing.TB, method, u, token, body string) accResponse {
	t.Helper()
	return accDo(t, method, u, token, "application/json", strings.NewReader(body))
}

func accClient(inst *testrig.Instance, u *testrig.User) *gomastodon.Client {
	return gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: u.Token})
}

// accReadOnlyToken mints a "read" token for u.
func accReadOnlyToken(t testing.TB, inst *testrig.Instance, u *testrig.User) string {
	t.Helper()
	tok, _, err := inst.Store.CreateToken(context.Background(), "", u.Account.ID, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// accAppToken registers an app and mints a client_credentials token for it.
func accAppToken(t testing.TB, inst *testrig.Instance, scopes ...string) string {
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

// accPost stores a status directly, for tests about reading statuses.
func accPost(t testing.TB, inst *testrig.Instance, author *store.Account, st store.Status) *store.Status {
	t.Helper()
	st.AccountID, st.Local = author.ID, true
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

// accPNG draws a small PNG.
func accPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// accMultipart builds a multipart body with text fields and one file.
func accMultipart(t testing.TB, fields map[string]string, fileField, fileName string, file []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if fileField != "" {
		fw, err := w.CreateFormFile(fileField, fileName)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), &buf
}

func accAccount(t testing.TB, inst *testrig.Instance, id string) *store.Account {
	t.Helper()
	a, err := inst.Store.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAccountRegistrationClosedByDefault(t *testing.T) {
	inst := testrig.StartInstance(t)
	app := accAppToken(t, inst, "read", "write")
	r := accForm(t, http.MethodPost, inst.API("/api/v1/accounts"), app, url.Values{
		"username": {"newbie"}, "email": {"newbie@example.com"}, "password": {"a long password"}, "agreement": {"true"},
	})
	r.expectError(t, http.StatusForbidden, "This action is not allowed")
	if _, err := inst.Store.AccountByAcct(context.Background(), "newbie"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("closed registration created an account: %v", err)
	}
}

func TestAccountRegistration(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) { c.OpenRegistrations = true })
	ctx := context.Background()
	existing := inst.CreateUser(t, "taken")
	app := accAppToken(t, inst, "read", "write", "follow")

	r := accForm(t, http.MethodPost, inst.API("/api/v1/accounts"), app, url.Values{
		"username": {"newbie"}, "email": {"newbie@example.com"}, "password": {"a long password"}, "agreement": {"true"}, "locale": {"en"},
	})
	var tok mastodon.Token
	r.ok(t, &tok)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.Scope != "read write follow" {
		t.Fatalf("token %+v", tok)
	}
	newbie, err := gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: tok.AccessToken}).GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatalf("the new token does not work: %v", err)
	}
	if newbie.Username != "newbie" {
		t.Errorf("signed up as %q", newbie.Username)
	}

	cases := []struct {
		name, body, contentType string
		wantAttr, wantCode      string
	}{
		{"73-byte password", url.Values{"username": {"longpw"}, "email": {"longpw@example.com"}, "password": {strings.Repeat("p", 73)}, "agreement": {"true"}}.Encode(), "application/x-www-form-urlencoded", "password", "ERR_TOO_LONG"},
		{"short password", `{"username":"shortpw","email":"shortpw@example.com","password":"short","agreement":true}`, "application/json", "password", "ERR_TOO_SHORT"},
		{"duplicate username", url.Values{"username": {"Taken"}, "email": {"other@example.com"}, "password": {"a long password"}, "agreement": {"1"}}.Encode(), "application/x-www-form-urlencoded", "username", "ERR_TAKEN"},
		{"duplicate email", `{"username":"fresh","email":"` + "taken@example.com" + `","password":"a long password","agreement":"true"}`, "application/json", "email", "ERR_TAKEN"},
		{"invalid username", `{"username":"no spaces","email":"nospace@example.com","password":"a long password","agreement":true}`, "application/json", "username", "ERR_INVALID"},
		{"invalid email", `{"username":"bademail","email":"not-an-address","password":"a long password","agreement":true}`, "application/json", "email", "ERR_INVALID"},
		{"no agreement", `{"username":"nodeal","email":"nodeal@example.com","password":"a long password"}`, "application/json", "agreement", "ERR_ACCEPTED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := accDo(t, http.MethodPost, inst.API("/api/v1/accounts"), app, tc.contentType, strings.NewReader(tc.body))
			if r.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422; body %s", r.Code, r.Body)
			}
			var body struct {
				Error   string `json:"error"`
				Details map[string][]struct {
					Error, Description string
				} `json:"details"`
			}
			r.decode(t, &body)
			if !strings.HasPrefix(body.Error, "Validation failed: ") {
				t.Errorf("error %q", body.Error)
			}
			if d := body.Details[tc.wantAttr]; len(d) != 1 || d[0].Error != tc.wantCode {
				t.Errorf("details %+v, want %s %s", body.Details, tc.wantAttr, tc.wantCode)
			}
		})
	}
	all, err := inst.Store.LocalAccounts(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("%d local accounts after refused sign-ups (%v), want taken and newbie", len(all), err)
	}
	if _, err := inst.Store.UserByLogin(ctx, "longpw@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a 73-byte password created a user: %v", err)
	}

	bad := []struct {
		name, token, contentType, body string
		code                           int
		msg                            string
	}{
		{"no token", "", "application/json", `{}`, http.StatusUnauthorized, "The access token is invalid"},
		{"user token", existing.Token, "application/json", `{}`, http.StatusForbidden, "This method requires an client credentials authentication"},
		{"read-only app", accAppToken(t, inst, "read"), "application/json", `{}`, http.StatusForbidden, "This action is outside the authorized scopes"},
		{"malformed JSON", app, "application/json", `{"username":`, http.StatusBadRequest, ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			accDo(t, http.MethodPost, inst.API("/api/v1/accounts"), tc.token, tc.contentType, strings.NewReader(tc.body)).expectError(t, tc.code, tc.msg)
		})
	}
}

func TestAccountVerifyCredentialsAndGet(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")

	me, err := accClient(inst, alice).GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(me.ID) != alice.Account.ID || me.Acct != "alice" || me.Source == nil || me.Source.Privacy == nil || *me.Source.Privacy != "public" {
		t.Errorf("verify_credentials %+v (source %+v)", me, me.Source)
	}
	var raw map[string]json.RawMessage
	accGet(t, inst.API("/api/v1/accounts/verify_credentials"), alice.Token).ok(t, &raw)
	for _, key := range []string{"source", "role"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("verify_credentials lacks %q: %s", key, raw)
		}
	}

	raw = nil
	accGet(t, inst.API("/api/v1/accounts/%s", bob.Account.ID), alice.Token).ok(t, &raw)
	if _, ok := raw["source"]; ok {
		t.Errorf("someone else's account shows its source")
	}
	var anon mastodon.Account
	accGet(t, inst.API("/api/v1/accounts/%s", bob.Account.ID), "").ok(t, &anon)
	if anon.Username != "bob" || anon.Avatar != inst.URL+"/avatars/original/missing.png" {
		t.Errorf("anonymous GET account: %+v", anon)
	}

	// A suspended account keeps its name but shows nothing else.
	suspended := accAccount(t, inst, bob.Account.ID)
	suspended.Suspended, suspended.DisplayName, suspended.Note = true, "Bob B.", "<p>bio</p>"
	if err := inst.Store.UpdateAccount(ctx, suspended); err != nil {
		t.Fatal(err)
	}
	var gone mastodon.Account
	accGet(t, inst.API("/api/v1/accounts/%s", bob.Account.ID), alice.Token).ok(t, &gone)
	if !gone.Suspended || gone.DisplayName != "" || gone.Note != "" || gone.Username != "bob" {
		t.Errorf("suspended account: %+v", gone)
	}

	accGet(t, inst.API("/api/v1/accounts/verify_credentials"), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")
	accGet(t, inst.API("/api/v1/accounts/verify_credentials"), "not-a-token").expectError(t, http.StatusUnauthorized, "The access token is invalid")
	accGet(t, inst.API("/api/v1/accounts/123456789"), "").expectError(t, http.StatusNotFound, "Record not found")
}

func TestAccountUpdateCredentials(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice := inst.CreateUser(t, "alice")
	inst.CreateUser(t, "bob")

	name, note, privacy, sensitive, locked := "Alice A.", "Hi, I am @bob's friend. https://example.com/alice", "private", true, true
	updated, err := accClient(inst, alice).AccountUpdate(ctx, &gomastodon.Profile{
		DisplayName: &name, Note: &note, Locked: &locked,
		Fields: &[]gomastodon.Field{{Name: "Team", Value: "Plumbing"}, {Name: "Site", Value: "https://example.com"}},
		Source: &gomastodon.AccountSource{Privacy: &privacy, Sensitive: &sensitive},
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.DisplayName != name || !updated.Locked {
		t.Errorf("display name %q locked %v", updated.DisplayName, updated.Locked)
	}
	for _, want := range []string{`href="https://example.com/alice"`, `class="u-url mention"`, `@<span>bob</span>`} {
		if !strings.Contains(updated.Note, want) {
			t.Errorf("note %s lacks %s", updated.Note, want)
		}
	}
	if updated.Source == nil || updated.Source.Note == nil || *updated.Source.Note != note || *updated.Source.Privacy != "private" || !*updated.Source.Sensitive {
		t.Errorf("source %+v", updated.Source)
	}
	if len(updated.Fields) != 2 || updated.Fields[0].Name != "Team" || updated.Fields[0].Value != "Plumbing" ||
		!strings.Contains(updated.Fields[1].Value, `<a href="https://example.com"`) || strings.HasPrefix(updated.Fields[1].Value, "<p>") {
		t.Errorf("fields %+v", updated.Fields)
	}
	var prefs map[string]any
	accGet(t, inst.API("/api/v1/preferences"), alice.Token).ok(t, &prefs)
	if prefs["posting:default:visibility"] != "private" || prefs["posting:default:sensitive"] != true || prefs["posting:default:language"] != nil || prefs["reading:expand:media"] != "default" {
		t.Errorf("preferences %v", prefs)
	}

	// The JSON shape of fields, as an object keyed by index; empty rows are dropped.
	var viaJSON mastodon.Account
	accJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token,
		`{"display_name":"A","fields_attributes":{"1":{"name":"B","value":"2"},"0":{"name":"A","value":"1"},"2":{"name":"","value":""}},"source":{"language":"de"},"locked":false}`).ok(t, &viaJSON)
	if got := []string{viaJSON.Fields[0].Name, viaJSON.Fields[1].Name}; len(viaJSON.Fields) != 2 || !slices.Equal(got, []string{"A", "B"}) || viaJSON.Locked || viaJSON.Source.Language != "de" {
		t.Errorf("after JSON update: fields %+v locked %v source %+v", viaJSON.Fields, viaJSON.Locked, viaJSON.Source)
	}
	accJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token,
		`{"fields_attributes":[{"name":"Only","value":"one"}]}`).ok(t, &viaJSON)
	if len(viaJSON.Fields) != 1 || viaJSON.Fields[0].Name != "Only" || viaJSON.DisplayName != "A" {
		t.Errorf("after JSON array update: %+v", viaJSON)
	}
	accJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, `{"fields_attributes":[]}`).ok(t, &viaJSON)
	if len(viaJSON.Fields) != 0 {
		t.Errorf("an empty fields_attributes kept %+v", viaJSON.Fields)
	}
	accJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, `{"fields_attributes":[{"name":"Back","value":"again"}]}`).ok(t, &viaJSON)

	before := accAccount(t, inst, alice.Account.ID)
	readOnly := accReadOnlyToken(t, inst, alice)
	fiveFields := url.Values{"display_name": {"Changed"}}
	for i := 0; i < 5; i++ {
		fiveFields.Set(fmt.Sprintf("fields_attributes[%d][name]", i), fmt.Sprintf("n%d", i))
		fiveFields.Set(fmt.Sprintf("fields_attributes[%d][value]", i), "v")
	}
	bad := []struct {
		name, token, contentType, body string
		code                           int
		msg                            string
	}{
		{"display name too long", alice.Token, "application/json", `{"display_name":"` + strings.Repeat("é", 31) + `","note":"changed"}`, 422, "Validation failed: Display name is too long (maximum is 30 characters)"},
		{"note too long", alice.Token, "application/json", `{"display_name":"Changed","note":"` + strings.Repeat("n", 501) + `"}`, 422, "Validation failed: Note is too long (maximum is 500 characters)"},
		{"five fields", alice.Token, "application/x-www-form-urlencoded", fiveFields.Encode(), 422, ""},
		{"unknown privacy", alice.Token, "application/json", `{"display_name":"Changed","source":{"privacy":"secret"}}`, 422, "Validation failed: Setting default privacy is not included in the list"},
		{"malformed JSON", alice.Token, "application/json", `{"display_name":`, 400, ""},
		{"no token", "", "application/json", `{"display_name":"Changed"}`, 401, "The access token is invalid"},
		{"read-only token", readOnly, "application/json", `{"display_name":"Changed"}`, 403, "This action is outside the authorized scopes"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			accDo(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), tc.token, tc.contentType, strings.NewReader(tc.body)).expectError(t, tc.code, tc.msg)
		})
	}
	after := accAccount(t, inst, alice.Account.ID)
	if after.DisplayName != before.DisplayName || after.NoteSource != before.NoteSource || len(after.Fields) != len(before.Fields) {
		t.Errorf("refused updates changed the profile: %+v", after)
	}
}

func TestAccountUpdateCredentialsUnlockAcceptsRequests(t *testing.T) {
	inst := testrig.StartInstance(t)
	bob := inst.CreateUser(t, "bob", func(p *signup.Params) { p.Locked = true })
	alice := inst.CreateUser(t, "alice")
	accForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", bob.Account.ID), alice.Token, nil).ok(t, nil)
	accJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), bob.Token, `{"locked":false}`).ok(t, nil)
	var rels []mastodon.Relationship
	accGet(t, inst.API("/api/v1/accounts/relationships?id[]=%s", bob.Account.ID), alice.Token).ok(t, &rels)
	if len(rels) != 1 || !rels[0].Following || rels[0].Requested {
		t.Errorf("after bob unlocked: %+v", rels)
	}
}

var accMediaURL = regexp.MustCompile(`^/media/[0-9]{4}/[0-9]+\.(png|jpg)$`)

func TestAccountAvatarAndHeaderUpload(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	pic := accPNG(t)

	ct, body := accMultipart(t, map[string]string{"display_name": "Pictured"}, "avatar", "me.png", pic)
	var acct mastodon.Account
	accDo(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, ct, body).ok(t, &acct)
	path, ok := strings.CutPrefix(acct.Avatar, inst.URL)
	if !ok || !accMediaURL.MatchString(path) || acct.AvatarStatic != acct.Avatar || acct.DisplayName != "Pictured" {
		t.Fatalf("avatar %q static %q display name %q", acct.Avatar, acct.AvatarStatic, acct.DisplayName)
	}
	onDisk, err := os.ReadFile(filepath.Join(inst.Config.MediaDir, strings.TrimPrefix(path, "/media/")))
	if err != nil || !bytes.Equal(onDisk, pic) {
		t.Fatalf("stored avatar: %v (equal %v)", err, bytes.Equal(onDisk, pic))
	}
	served := accGet(t, acct.Avatar, "")
	if served.Code != http.StatusOK || !bytes.Equal(served.Body, pic) || served.Header.Get("Content-Type") != "image/png" {
		t.Errorf("GET avatar: %d %s", served.Code, served.Header.Get("Content-Type"))
	}

	// A header as a data: URI, the way go-mastodon sends it; the avatar stays.
	webp, err := os.ReadFile("../media/testdata/lossy.webp") // stored as JPEG: Go cannot encode WebP
	if err != nil {
		t.Fatal(err)
	}
	dataURI := "data:image/webp;base64," + base64.StdEncoding.EncodeToString(webp)
	updated, err := accClient(inst, alice).AccountUpdate(context.Background(), &gomastodon.Profile{Header: dataURI})
	if err != nil {
		t.Fatal(err)
	}
	if hp, _ := strings.CutPrefix(updated.Header, inst.URL); !accMediaURL.MatchString(hp) || !strings.HasSuffix(hp, ".jpg") || updated.Avatar != acct.Avatar {
		t.Errorf("header %q avatar %q", updated.Header, updated.Avatar)
	}

	// A replaced avatar's file goes away.
	ct, body = accMultipart(t, nil, "avatar", "again.png", pic)
	var again mastodon.Account
	accDo(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, ct, body).ok(t, &again)
	if again.Avatar == acct.Avatar {
		t.Error("a new avatar kept the old URL")
	}
	if _, err := os.Stat(filepath.Join(inst.Config.MediaDir, strings.TrimPrefix(path, "/media/"))); !os.IsNotExist(err) {
		t.Errorf("the replaced avatar file is still there: %v", err)
	}

	for _, tc := range []struct {
		name string
		file []byte
		msg  string
	}{
		{"text posing as an image", []byte("#!/bin/sh\necho not an image\n"), "Validation failed: Avatar content type is invalid"},
		{"over 8 MiB", append(append([]byte(nil), pic...), make([]byte, 8<<20)...), "Validation failed: Avatar file size must be less than 8 MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, body := accMultipart(t, map[string]string{"display_name": "Broken"}, "avatar", "evil.png", tc.file)
			accDo(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, ct, body).expectError(t, 422, tc.msg)
			if a := accAccount(t, inst, alice.Account.ID); a.AvatarURL != again.Avatar || a.DisplayName == "Broken" {
				t.Errorf("a refused upload changed the account: avatar %q name %q", a.AvatarURL, a.DisplayName)
			}
		})
	}
}

func TestAccountLookupAndSearch(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, alicia, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "alicia"), inst.CreateUser(t, "bob")

	for _, acct := range []string{"alice", "@alice", "alice@" + inst.Config.Domain()} {
		var a mastodon.Account
		accGet(t, inst.API("/api/v1/accounts/lookup?acct=%s", url.QueryEscape(acct)), "").ok(t, &a)
		if a.ID != alice.Account.ID {
			t.Errorf("lookup %q found %s", acct, a.ID)
		}
	}
	accGet(t, inst.API("/api/v1/accounts/lookup?acct=nobody"), "").expectError(t, http.StatusNotFound, "Record not found")
	accGet(t, inst.API("/api/v1/accounts/lookup?acct=alice@elsewhere.example"), "").expectError(t, http.StatusNotFound, "Record not found")

	found, err := accClient(inst, bob).AccountsSearch(ctx, "ali", 10)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range found {
		names = append(names, a.Acct)
	}
	if !slices.Equal(names, []string{"alice", "alicia"}) {
		t.Errorf("search ali: %v", names)
	}
	if err := inst.Store.Follow(ctx, bob.Account, alicia.Account, store.FollowOptions{ShowReblogs: true}); err != nil {
		t.Fatal(err)
	}
	var following []mastodon.Account
	accGet(t, inst.API("/api/v1/accounts/search?q=ali&following=true"), bob.Token).ok(t, &following)
	if len(following) != 1 || following[0].ID != alicia.Account.ID {
		t.Errorf("search following=true: %+v", following)
	}
	var limited []mastodon.Account
	accGet(t, inst.API("/api/v1/accounts/search?q=ALI&limit=1&offset=1"), bob.Token).ok(t, &limited)
	if len(limited) != 1 || limited[0].ID != alicia.Account.ID {
		t.Errorf("search limit=1 offset=1: %+v", limited)
	}
	if err := inst.Store.Block(ctx, alice.Account.ID, bob.Account.ID); err != nil {
		t.Fatal(err)
	}
	var afterBlock []mastodon.Account
	accGet(t, inst.API("/api/v1/accounts/search?q=ali"), bob.Token).ok(t, &afterBlock)
	if len(afterBlock) != 1 || afterBlock[0].ID != alicia.Account.ID {
		t.Errorf("search by someone alice blocks: %+v", afterBlock)
	}
	accGet(t, inst.API("/api/v1/accounts/search?q=ali"), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")
}

func TestAccountStatuses(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	a := alice.Account
	if err := inst.Store.Follow(ctx, bob.Account, a, store.FollowOptions{ShowReblogs: true}); err != nil {
		t.Fatal(err)
	}
	media := &store.Media{AccountID: a.ID, Type: "image", URL: inst.URL + "/media/x.png"}
	if err := inst.Store.CreateMedia(ctx, media); err != nil {
		t.Fatal(err)
	}
	carolPost := accPost(t, inst, carol.Account, store.Status{Tags: []string{"news"}})
	public := accPost(t, inst, a, store.Status{Tags: []string{"go"}})
	private := accPost(t, inst, a, store.Status{Visibility: store.VisibilityPrivate})
	direct := accPost(t, inst, a, store.Status{Visibility: store.VisibilityDirect, Mentions: []string{carol.Account.ID}})
	reply := accPost(t, inst, a, store.Status{InReplyToID: carolPost.ID, InReplyToAccountID: carol.Account.ID, Mentions: []string{carol.Account.ID}})
	selfReply := accPost(t, inst, a, store.Status{InReplyToID: public.ID, InReplyToAccountID: a.ID})
	withMedia := accPost(t, inst, a, store.Status{MediaIDs: []string{media.ID}, Visibility: store.VisibilityUnlisted})
	boost, err := inst.Store.Reblog(ctx, a, carolPost, store.VisibilityPublic, inst.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Store.Pin(ctx, a.ID, public.ID); err != nil {
		t.Fatal(err)
	}
	ids := func(r accResponse) []string {
		t.Helper()
		var sts []mastodon.Status
		r.ok(t, &sts)
		out := make([]string, len(sts))
		for i, s := range sts {
			out[i] = s.ID
		}
		return out
	}
	base := inst.API("/api/v1/accounts/%s/statuses", a.ID)
	for _, tc := range []struct {
		name, query, token string
		want               []string
	}{
		{"anonymous", "", "", []string{boost.ID, withMedia.ID, selfReply.ID, reply.ID, public.ID}},
		{"follower", "", bob.Token, []string{boost.ID, withMedia.ID, selfReply.ID, reply.ID, private.ID, public.ID}},
		{"mentioned", "", carol.Token, []string{boost.ID, withMedia.ID, selfReply.ID, reply.ID, direct.ID, public.ID}},
		{"owner", "", alice.Token, []string{boost.ID, withMedia.ID, selfReply.ID, reply.ID, direct.ID, private.ID, public.ID}},
		{"exclude replies keeps threads", "?exclude_replies=true", bob.Token, []string{boost.ID, withMedia.ID, selfReply.ID, private.ID, public.ID}},
		{"exclude reblogs", "?exclude_reblogs=1", "", []string{withMedia.ID, selfReply.ID, reply.ID, public.ID}},
		{"only media", "?only_media=true", "", []string{withMedia.ID}},
		{"tagged", "?tagged=Go", "", []string{public.ID}},
		{"pinned", "?pinned=true", "", []string{public.ID}},
		{"limit", "?limit=2", bob.Token, []string{boost.ID, withMedia.ID}},
		{"below max_id", "?limit=2&max_id=" + withMedia.ID, bob.Token, []string{selfReply.ID, reply.ID}},
		{"nearest min_id", "?limit=2&min_id=" + public.ID, bob.Token, []string{reply.ID, private.ID}},
	} {
		if got := ids(accGet(t, base+tc.query, tc.token)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	r := accGet(t, base+"?limit=2", bob.Token)
	if link := r.Header.Get("Link"); !strings.Contains(link, "max_id="+withMedia.ID) || !strings.Contains(link, "min_id="+boost.ID) {
		t.Errorf("Link %q", link)
	}

	// Muting carol hides alice's boost of carol from bob; alice blocking bob hides everything.
	if err := inst.Store.Mute(ctx, bob.Account.ID, carol.Account.ID, true); err != nil {
		t.Fatal(err)
	}
	if got := ids(accGet(t, base+"?limit=1", bob.Token)); !slices.Equal(got, []string{withMedia.ID}) {
		t.Errorf("boost of a muted account: %v", got)
	}
	if err := inst.Store.Block(ctx, a.ID, bob.Account.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(accGet(t, base, bob.Token)); len(got) != 0 {
		t.Errorf("blocked viewer sees %v", got)
	}
	accGet(t, inst.API("/api/v1/accounts/999/statuses"), "").expectError(t, http.StatusNotFound, "Record not found")
}

func TestAccountListsAndPreferences(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	if err := inst.Store.Follow(ctx, alice.Account, bob.Account, store.FollowOptions{ShowReblogs: true}); err != nil {
		t.Fatal(err)
	}
	with, without := &store.List{AccountID: alice.Account.ID, Title: "Friends", RepliesPolicy: "list"}, &store.List{AccountID: alice.Account.ID, Title: "Empty", RepliesPolicy: "list"}
	for _, l := range []*store.List{with, without} {
		if err := inst.Store.CreateList(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := inst.Store.AddListAccounts(ctx, with, []string{bob.Account.ID}); err != nil {
		t.Fatal(err)
	}
	var lists []mastodon.List
	accGet(t, inst.API("/api/v1/accounts/%s/lists", bob.Account.ID), alice.Token).ok(t, &lists)
	if len(lists) != 1 || lists[0].ID != with.ID || lists[0].Title != "Friends" {
		t.Errorf("lists containing bob: %+v", lists)
	}
	lists = nil
	accGet(t, inst.API("/api/v1/accounts/%s/lists", bob.Account.ID), bob.Token).ok(t, &lists)
	if len(lists) != 0 {
		t.Errorf("bob sees alice's lists: %+v", lists)
	}
	accGet(t, inst.API("/api/v1/accounts/%s/lists", bob.Account.ID), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")

	var prefs map[string]any
	accGet(t, inst.API("/api/v1/preferences"), alice.Token).ok(t, &prefs)
	want := map[string]any{"posting:default:visibility": "public", "posting:default:sensitive": false, "posting:default:language": nil, "reading:expand:media": "default", "reading:expand:spoilers": false}
	for k, v := range want {
		if got, ok := prefs[k]; !ok || got != v {
			t.Errorf("preference %s = %v, want %v", k, got, v)
		}
	}
}

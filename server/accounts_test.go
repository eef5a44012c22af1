package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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
	"watercooler/store"
	"watercooler/testrig"
)

func TestAccountRegistrationClosedByDefault(t *testing.T) {
	inst := testrig.StartInstance(t)
	app := clientAppToken(t, inst, "read", "write")
	r := apiForm(t, http.MethodPost, inst.API("/api/v1/accounts"), app, url.Values{
		"username": {"newbie"}, "email": {"newbie@example.com"}, "password": {"a long password"}, "agreement": {"true"},
	}.Encode())
	r.expectError(t, http.StatusForbidden, "This action is not allowed")
	if _, err := inst.Store.AccountByAcct(context.Background(), "newbie"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("closed registration created an account: %v", err)
	}
}

func TestAccountRegistration(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) { c.OpenRegistrations = true })
	ctx := context.Background()
	existing := inst.CreateUser(t, "taken")
	app := clientAppToken(t, inst, "read", "write", "follow")

	r := apiForm(t, http.MethodPost, inst.API("/api/v1/accounts"), app, url.Values{
		"username": {"newbie"}, "email": {"newbie@example.com"}, "password": {"a long password"}, "agreement": {"true"}, "locale": {"en"},
	}.Encode())
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
		{"73-byte password", url.Values{"username": {"longpw"}, "email": {"longpw@example.com"}, "password": {strings.Repeat("p", 73)}, "agreement": {"true"}}.Encode(), formType, "password", "ERR_TOO_LONG"},
		{"short password", `{"username":"shortpw","email":"shortpw@example.com","password":"short","agreement":true}`, jsonType, "password", "ERR_TOO_SHORT"},
		{"duplicate username", url.Values{"username": {"Taken"}, "email": {"other@example.com"}, "password": {"a long password"}, "agreement": {"1"}}.Encode(), formType, "username", "ERR_TAKEN"},
		{"duplicate email", `{"username":"fresh","email":"` + "taken@example.com" + `","password":"a long password","agreement":"true"}`, jsonType, "email", "ERR_TAKEN"},
		{"invalid username", `{"username":"no spaces","email":"nospace@example.com","password":"a long password","agreement":true}`, jsonType, "username", "ERR_INVALID"},
		{"invalid email", `{"username":"bademail","email":"not-an-address","password":"a long password","agreement":true}`, jsonType, "email", "ERR_INVALID"},
		{"no agreement", `{"username":"nodeal","email":"nodeal@example.com","password":"a long password"}`, jsonType, "agreement", "ERR_ACCEPTED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := apiDo(t, http.MethodPost, inst.API("/api/v1/accounts"), app, tc.contentType, tc.body)
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
		{"no token", "", jsonType, `{}`, http.StatusUnauthorized, "The access token is invalid"},
		{"user token", existing.Token, jsonType, `{}`, http.StatusForbidden, "This method requires an client credentials authentication"},
		{"read-only app", clientAppToken(t, inst, "read"), jsonType, `{}`, http.StatusForbidden, "This action is outside the authorized scopes"},
		{"malformed JSON", app, jsonType, `{"username":`, http.StatusBadRequest, ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			apiDo(t, http.MethodPost, inst.API("/api/v1/accounts"), tc.token, tc.contentType, tc.body).expectError(t, tc.code, tc.msg)
		})
	}
}

func TestAccountVerifyCredentialsAndGet(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")

	me, err := userClient(inst, alice).GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(me.ID) != alice.Account.ID || me.Acct != "alice" || me.Source == nil || me.Source.Privacy == nil || *me.Source.Privacy != "public" {
		t.Errorf("verify_credentials %+v (source %+v)", me, me.Source)
	}
	var raw map[string]json.RawMessage
	apiGet(t, inst.API("/api/v1/accounts/verify_credentials"), alice.Token).ok(t, &raw)
	for _, key := range []string{"source", "role"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("verify_credentials lacks %q: %s", key, raw)
		}
	}

	raw = nil
	apiGet(t, inst.API("/api/v1/accounts/%s", bob.Account.ID), alice.Token).ok(t, &raw)
	if _, ok := raw["source"]; ok {
		t.Errorf("someone else's account shows its source")
	}
	var anon mastodon.Account
	apiGet(t, inst.API("/api/v1/accounts/%s", bob.Account.ID), "").ok(t, &anon)
	if anon.Username != "bob" || anon.Avatar != inst.URL+"/avatars/original/missing.png" {
		t.Errorf("anonymous GET account: %+v", anon)
	}

	// A suspended account keeps its name but shows nothing else.
	suspended := storeAccount(t, inst, bob.Account.ID)
	suspended.Suspended, suspended.DisplayName, suspended.Note = true, "Bob B.", "<p>bio</p>"
	if err := inst.Store.UpdateAccount(ctx, suspended); err != nil {
		t.Fatal(err)
	}
	var gone mastodon.Account
	apiGet(t, inst.API("/api/v1/accounts/%s", bob.Account.ID), alice.Token).ok(t, &gone)
	if !gone.Suspended || gone.DisplayName != "" || gone.Note != "" || gone.Username != "bob" {
		t.Errorf("suspended account: %+v", gone)
	}

	apiGet(t, inst.API("/api/v1/accounts/verify_credentials"), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")
	apiGet(t, inst.API("/api/v1/accounts/verify_credentials"), "not-a-token").expectError(t, http.StatusUnauthorized, "The access token is invalid")
	apiGet(t, inst.API("/api/v1/accounts/123456789"), "").expectError(t, http.StatusNotFound, "Record not found")
}

func TestAccountUpdateCredentials(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice := inst.CreateUser(t, "alice")
	inst.CreateUser(t, "bob")

	name, note, privacy, sensitive, locked := "Alice A.", "Hi, I am @bob's friend. https://example.com/alice", "private", true, true
	updated, err := userClient(inst, alice).AccountUpdate(ctx, &gomastodon.Profile{
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
	apiGet(t, inst.API("/api/v1/preferences"), alice.Token).ok(t, &prefs)
	if prefs["posting:default:visibility"] != "private" || prefs["posting:default:sensitive"] != true || prefs["posting:default:language"] != nil || prefs["reading:expand:media"] != "default" {
		t.Errorf("preferences %v", prefs)
	}

	// The JSON shape of fields, as an object keyed by index; empty rows are dropped.
	var viaJSON mastodon.Account
	apiJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token,
		`{"display_name":"A","fields_attributes":{"1":{"name":"B","value":"2"},"0":{"name":"A","value":"1"},"2":{"name":"","value":""}},"source":{"language":"de"},"locked":false}`).ok(t, &viaJSON)
	if got := []string{viaJSON.Fields[0].Name, viaJSON.Fields[1].Name}; len(viaJSON.Fields) != 2 || !slices.Equal(got, []string{"A", "B"}) || viaJSON.Locked || viaJSON.Source.Language != "de" {
		t.Errorf("after JSON update: fields %+v locked %v source %+v", viaJSON.Fields, viaJSON.Locked, viaJSON.Source)
	}
	apiJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token,
		`{"fields_attributes":[{"name":"Only","value":"one"}]}`).ok(t, &viaJSON)
	if len(viaJSON.Fields) != 1 || viaJSON.Fields[0].Name != "Only" || viaJSON.DisplayName != "A" {
		t.Errorf("after JSON array update: %+v", viaJSON)
	}
	apiJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, `{"fields_attributes":[]}`).ok(t, &viaJSON)
	if len(viaJSON.Fields) != 0 {
		t.Errorf("an empty fields_attributes kept %+v", viaJSON.Fields)
	}
	apiJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, `{"fields_attributes":[{"name":"Back","value":"again"}]}`).ok(t, &viaJSON)

	before := storeAccount(t, inst, alice.Account.ID)
	readOnly := userToken(t, inst, alice, "read")
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
		{"display name too long", alice.Token, jsonType, `{"display_name":"` + strings.Repeat("é", 31) + `","note":"changed"}`, 422, "Validation failed: Display name is too long (maximum is 30 characters)"},
		{"note too long", alice.Token, jsonType, `{"display_name":"Changed","note":"` + strings.Repeat("n", 501) + `"}`, 422, "Validation failed: Note is too long (maximum is 500 characters)"},
		{"five fields", alice.Token, formType, fiveFields.Encode(), 422, ""},
		{"unknown privacy", alice.Token, jsonType, `{"display_name":"Changed","source":{"privacy":"secret"}}`, 422, "Validation failed: Setting default privacy is not included in the list"},
		{"malformed JSON", alice.Token, jsonType, `{"display_name":`, 400, ""},
		{"no token", "", jsonType, `{"display_name":"Changed"}`, 401, "The access token is invalid"},
		{"read-only token", readOnly, jsonType, `{"display_name":"Changed"}`, 403, "This action is outside the authorized scopes"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			apiDo(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), tc.token, tc.contentType, tc.body).expectError(t, tc.code, tc.msg)
		})
	}
	after := storeAccount(t, inst, alice.Account.ID)
	if after.DisplayName != before.DisplayName || after.NoteSource != before.NoteSource || len(after.Fields) != len(before.Fields) {
		t.Errorf("refused updates changed the profile: %+v", after)
	}
}

func TestAccountUpdateCredentialsUnlockAcceptsRequests(t *testing.T) {
	inst := testrig.StartInstance(t)
	bob := inst.CreateUser(t, "bob", locked)
	alice := inst.CreateUser(t, "alice")
	apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", bob.Account.ID), alice.Token, "").ok(t, nil)
	apiJSON(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), bob.Token, `{"locked":false}`).ok(t, nil)
	var rels []mastodon.Relationship
	apiGet(t, inst.API("/api/v1/accounts/relationships?id[]=%s", bob.Account.ID), alice.Token).ok(t, &rels)
	if len(rels) != 1 || !rels[0].Following || rels[0].Requested {
		t.Errorf("after bob unlocked: %+v", rels)
	}
}

var accMediaURL = regexp.MustCompile(`^/media/[0-9]{4}/[0-9]+\.(png|jpg)$`)

func TestAccountAvatarAndHeaderUpload(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	pic := pngBytes(t, 4, 3)

	ct, body := multipartBody(t, multipartFile{Field: "avatar", Name: "me.png", Data: pic}, "display_name", "Pictured")
	var acct mastodon.Account
	apiDo(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, ct, body).ok(t, &acct)
	path, ok := strings.CutPrefix(acct.Avatar, inst.URL)
	if !ok || !accMediaURL.MatchString(path) || acct.AvatarStatic != acct.Avatar || acct.DisplayName != "Pictured" {
		t.Fatalf("avatar %q static %q display name %q", acct.Avatar, acct.AvatarStatic, acct.DisplayName)
	}
	onDisk, err := os.ReadFile(filepath.Join(inst.Config.MediaDir, strings.TrimPrefix(path, "/media/")))
	if err != nil || !bytes.Equal(onDisk, pic) {
		t.Fatalf("stored avatar: %v (equal %v)", err, bytes.Equal(onDisk, pic))
	}
	served := apiGet(t, acct.Avatar, "")
	if served.Code != http.StatusOK || !bytes.Equal(served.Body, pic) || served.Header.Get("Content-Type") != "image/png" {
		t.Errorf("GET avatar: %d %s", served.Code, served.Header.Get("Content-Type"))
	}

	// A header as a data: URI, the way go-mastodon sends it; the avatar stays.
	webp, err := os.ReadFile("../media/testdata/lossy.webp") // stored as JPEG: Go cannot encode WebP
	if err != nil {
		t.Fatal(err)
	}
	dataURI := "data:image/webp;base64," + base64.StdEncoding.EncodeToString(webp)
	updated, err := userClient(inst, alice).AccountUpdate(context.Background(), &gomastodon.Profile{Header: dataURI})
	if err != nil {
		t.Fatal(err)
	}
	if hp, _ := strings.CutPrefix(updated.Header, inst.URL); !accMediaURL.MatchString(hp) || !strings.HasSuffix(hp, ".jpg") || updated.Avatar != acct.Avatar {
		t.Errorf("header %q avatar %q", updated.Header, updated.Avatar)
	}

	// A replaced avatar's file goes away.
	ct, body = multipartBody(t, multipartFile{Field: "avatar", Name: "again.png", Data: pic})
	var again mastodon.Account
	apiDo(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, ct, body).ok(t, &again)
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
			ct, body := multipartBody(t, multipartFile{Field: "avatar", Name: "evil.png", Data: tc.file}, "display_name", "Broken")
			apiDo(t, http.MethodPatch, inst.API("/api/v1/accounts/update_credentials"), alice.Token, ct, body).expectError(t, 422, tc.msg)
			if a := storeAccount(t, inst, alice.Account.ID); a.AvatarURL != again.Avatar || a.DisplayName == "Broken" {
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
		apiGet(t, inst.API("/api/v1/accounts/lookup?acct=%s", url.QueryEscape(acct)), "").ok(t, &a)
		if a.ID != alice.Account.ID {
			t.Errorf("lookup %q found %s", acct, a.ID)
		}
	}
	apiGet(t, inst.API("/api/v1/accounts/lookup?acct=nobody"), "").expectError(t, http.StatusNotFound, "Record not found")
	apiGet(t, inst.API("/api/v1/accounts/lookup?acct=alice@elsewhere.example"), "").expectError(t, http.StatusNotFound, "Record not found")

	found, err := userClient(inst, bob).AccountsSearch(ctx, "ali", 10)
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
	followUser(t, inst, bob, alicia)
	var following []mastodon.Account
	apiGet(t, inst.API("/api/v1/accounts/search?q=ali&following=true"), bob.Token).ok(t, &following)
	if len(following) != 1 || following[0].ID != alicia.Account.ID {
		t.Errorf("search following=true: %+v", following)
	}
	var limited []mastodon.Account
	apiGet(t, inst.API("/api/v1/accounts/search?q=ALI&limit=1&offset=1"), bob.Token).ok(t, &limited)
	if len(limited) != 1 || limited[0].ID != alicia.Account.ID {
		t.Errorf("search limit=1 offset=1: %+v", limited)
	}
	if err := inst.Store.Block(ctx, alice.Account.ID, bob.Account.ID); err != nil {
		t.Fatal(err)
	}
	var afterBlock []mastodon.Account
	apiGet(t, inst.API("/api/v1/accounts/search?q=ali"), bob.Token).ok(t, &afterBlock)
	if len(afterBlock) != 1 || afterBlock[0].ID != alicia.Account.ID {
		t.Errorf("search by someone alice blocks: %+v", afterBlock)
	}
	apiGet(t, inst.API("/api/v1/accounts/search?q=ali"), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")
}

func TestAccountStatuses(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	a := alice.Account
	followUser(t, inst, bob, alice)
	media := &store.Media{AccountID: a.ID, Type: "image", URL: inst.URL + "/media/x.png"}
	if err := inst.Store.CreateMedia(ctx, media); err != nil {
		t.Fatal(err)
	}
	carolPost := storeStatus(t, inst, carol.Account, store.Status{Tags: []string{"news"}})
	public := storeStatus(t, inst, a, store.Status{Tags: []string{"go"}})
	private := storeStatus(t, inst, a, store.Status{Visibility: store.VisibilityPrivate})
	direct := storeStatus(t, inst, a, store.Status{Visibility: store.VisibilityDirect, Mentions: []string{carol.Account.ID}})
	reply := storeStatus(t, inst, a, store.Status{InReplyToID: carolPost.ID, InReplyToAccountID: carol.Account.ID, Mentions: []string{carol.Account.ID}})
	selfReply := storeStatus(t, inst, a, store.Status{InReplyToID: public.ID, InReplyToAccountID: a.ID})
	withMedia := storeStatus(t, inst, a, store.Status{MediaIDs: []string{media.ID}, Visibility: store.VisibilityUnlisted})
	boost, err := inst.Store.Reblog(ctx, a, carolPost, store.VisibilityPublic, inst.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Store.Pin(ctx, a.ID, public.ID); err != nil {
		t.Fatal(err)
	}
	ids := func(r apiResponse) []string {
		t.Helper()
		var sts []mastodon.Status
		r.ok(t, &sts)
		return statusIDs(sts)
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
		if got := ids(apiGet(t, base+tc.query, tc.token)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	r := apiGet(t, base+"?limit=2", bob.Token)
	if link := r.Header.Get("Link"); !strings.Contains(link, "max_id="+withMedia.ID) || !strings.Contains(link, "min_id="+boost.ID) {
		t.Errorf("Link %q", link)
	}

	// Muting carol hides alice's boost of carol from bob; alice blocking bob hides everything.
	if err := inst.Store.Mute(ctx, bob.Account.ID, carol.Account.ID, true); err != nil {
		t.Fatal(err)
	}
	if got := ids(apiGet(t, base+"?limit=1", bob.Token)); !slices.Equal(got, []string{withMedia.ID}) {
		t.Errorf("boost of a muted account: %v", got)
	}
	if err := inst.Store.Block(ctx, a.ID, bob.Account.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(apiGet(t, base, bob.Token)); len(got) != 0 {
		t.Errorf("blocked viewer sees %v", got)
	}
	apiGet(t, inst.API("/api/v1/accounts/999/statuses"), "").expectError(t, http.StatusNotFound, "Record not found")
}

func TestAccountListsAndPreferences(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	followUser(t, inst, alice, bob)
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
	apiGet(t, inst.API("/api/v1/accounts/%s/lists", bob.Account.ID), alice.Token).ok(t, &lists)
	if len(lists) != 1 || lists[0].ID != with.ID || lists[0].Title != "Friends" {
		t.Errorf("lists containing bob: %+v", lists)
	}
	lists = nil
	apiGet(t, inst.API("/api/v1/accounts/%s/lists", bob.Account.ID), bob.Token).ok(t, &lists)
	if len(lists) != 0 {
		t.Errorf("bob sees alice's lists: %+v", lists)
	}
	apiGet(t, inst.API("/api/v1/accounts/%s/lists", bob.Account.ID), "").expectError(t, http.StatusUnauthorized, "The access token is invalid")

	var prefs map[string]any
	apiGet(t, inst.API("/api/v1/preferences"), alice.Token).ok(t, &prefs)
	want := map[string]any{"posting:default:visibility": "public", "posting:default:sensitive": false, "posting:default:language": nil, "reading:expand:media": "default", "reading:expand:spoilers": false}
	for k, v := range want {
		if got, ok := prefs[k]; !ok || got != v {
			t.Errorf("preference %s = %v, want %v", k, got, v)
		}
	}
}

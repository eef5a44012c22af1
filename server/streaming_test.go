package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// strmWait bounds every wait for a streamed event; on loopback they take milliseconds.
const strmWait = 10 * time.Second

// strmMsg is a WebSocket message: an event, or an error frame.
type strmMsg struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload *string  `json:"payload"`
	Error   string   `json:"error"`
	Status  int      `json:"status"`
}

// status decodes an update's payload, which is the Status's JSON as a string.
func (m strmMsg) status(t testing.TB) mastodon.Status {
	t.Helper()
	if m.Payload == nil {
		t.Fatalf("%s event without payload", m.Event)
	}
	var st mastodon.Status
	if err := json.Unmarshal([]byte(*m.Payload), &st); err != nil {
		t.Fatalf("payload of %s is not a Status encoded as a string: %v: %s", m.Event, err, *m.Payload)
	}
	return st
}

// strmWS is a WebSocket client whose reader goroutine queues messages and pongs.
type strmWS struct {
	t      testing.TB
	conn   *websocket.Conn
	resp   *http.Response
	msgs   chan strmMsg
	pongs  chan string
	pings  chan struct{}
	closed chan error
}

func strmWSURL(inst *testrig.Instance, query string) string {
	return "ws" + strings.TrimPrefix(inst.URL, "http") + "/api/v1/streaming" + query
}

// strmDialRaw dials without starting a reader.
func strmDialRaw(inst *testrig.Instance, token, query string, subprotocols ...string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	d := websocket.Dialer{HandshakeTimeout: strmWait, Subprotocols: subprotocols}
	return d.Dial(strmWSURL(inst, query), h)
}

// strmDial connects a WebSocket and starts reading it.
func strmDial(t testing.TB, inst *testrig.Instance, token, query string, subprotocols ...string) *strmWS {
	t.Helper()
	conn, resp, err := strmDialRaw(inst, token, query, subprotocols...)
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", query, err, code)
	}
	t.Cleanup(func() { conn.Close() })
	w := &strmWS{t: t, conn: conn, resp: resp, msgs: make(chan strmMsg, 1000), pongs: make(chan string, 16), pings: make(chan struct{}, 16), closed: make(chan error, 1)}
	conn.SetPongHandler(func(data string) error { w.pongs <- data; return nil })
	conn.SetPingHandler(func(data string) error {
		select {
		case w.pings <- struct{}{}:
		default:
		}
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				w.closed <- err
				return
			}
			var m strmMsg
			if err := json.Unmarshal(data, &m); err != nil {
				w.closed <- err
				return
			}
			w.msgs <- m
		}
	}()
	return w
}

// strmAwait returns the first of a stream's queued items (WebSocket messages, server-sent
// events) that match accepts, skipping others; it fails when the stream ends first or nothing
// matches within strmWait.
func strmAwait[T any](t testing.TB, what string, items <-chan T, ended <-chan error, match func(T) bool) T {
	t.Helper()
	deadline := time.After(strmWait)
	for {
		select {
		case it := <-items:
			if match(it) {
				return it
			}
		case err := <-ended:
			t.Fatalf("%s: stream ended: %v", what, err)
		case <-deadline:
			t.Fatalf("%s: nothing within %s", what, strmWait)
		}
	}
}

// strmAwaitEnd skips a stream's queued items until the server ends it, and returns why it
// ended; it fails when the stream is still open after strmWait.
func strmAwaitEnd[T any](t testing.TB, what string, items <-chan T, ended <-chan error) error {
	t.Helper()
	deadline := time.After(strmWait)
	for {
		select {
		case <-items:
		case err := <-ended:
			return err
		case <-deadline:
			t.Fatalf("%s: still open after %s", what, strmWait)
		}
	}
}

// await returns the first message match accepts, skipping others.
func (w *strmWS) await(what string, match func(strmMsg) bool) strmMsg {
	w.t.Helper()
	return strmAwait(w.t, what, w.msgs, w.closed, match)
}

// next returns the next message.
func (w *strmWS) next(what string) strmMsg {
	w.t.Helper()
	return w.await(what, func(strmMsg) bool { return true })
}

func (w *strmWS) send(v any) {
	w.t.Helper()
	if err := w.conn.WriteJSON(v); err != nil {
		w.t.Fatal(err)
	}
}

// sync waits until the server has handled every message sent before: it answers a ping only
// after them.
func (w *strmWS) sync() {
	w.t.Helper()
	token := store.RandomToken(6)
	if err := w.conn.WriteControl(websocket.PingMessage, []byte(token), time.Now().Add(time.Second)); err != nil {
		w.t.Fatal(err)
	}
	deadline := time.After(strmWait)
	for {
		select {
		case p := <-w.pongs:
			if p == token {
				return
			}
		case <-deadline:
			w.t.Fatal("no pong")
		}
	}
}

// awaitClose waits for the server to close the stream and returns its close code.
func (w *strmWS) awaitClose(what string) int {
	w.t.Helper()
	err := strmAwaitEnd(w.t, what, w.msgs, w.closed)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		w.t.Fatalf("%s: stream ended without a close frame: %v", what, err)
	}
	return ce.Code
}

// strmEvent is one server-sent event; comments have Event ":" and the comment as Data.
type strmEvent struct{ Event, Data string }

// strmSSE reads a server-sent events stream.
type strmSSE struct {
	t      testing.TB
	events chan strmEvent
	ended  chan error
}

// strmRequest GETs u and leaves the body to the caller, as an event stream does not end.
func strmRequest(t testing.TB, u, token string) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(newAPIRequest(t, http.MethodGet, u, token, "", ""))
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp
}

// strmOpenSSE opens an event stream and parses it as a browser's EventSource would.
func strmOpenSSE(t testing.TB, u, token string) *strmSSE {
	t.Helper()
	resp := strmRequest(t, u, token)
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s: %s", u, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &strmSSE{t: t, events: make(chan strmEvent, 1000), ended: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev strmEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" {
					s.events <- ev
				}
				ev = strmEvent{}
			case strings.HasPrefix(line, ":"):
				s.events <- strmEvent{Event: ":", Data: line[1:]}
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.Data += line[len("data: "):]
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		s.ended <- err
	}()
	return s
}

// await returns the first event match accepts, skipping others.
func (s *strmSSE) await(what string, match func(strmEvent) bool) strmEvent {
	s.t.Helper()
	return strmAwait(s.t, what, s.events, s.ended, match)
}

// awaitEnd waits for the server to end the stream.
func (s *strmSSE) awaitEnd(what string) {
	s.t.Helper()
	strmAwaitEnd(s.t, what, s.events, s.ended)
}

func isUpdate(id gomastodon.ID) func(strmMsg) bool {
	return func(m strmMsg) bool {
		if m.Event != "update" || m.Payload == nil {
			return false
		}
		var st struct{ ID string }
		return json.Unmarshal([]byte(*m.Payload), &st) == nil && st.ID == string(id)
	}
}

func TestStreamingHealth(t *testing.T) {
	inst := testrig.StartInstance(t)
	resp := strmRequest(t, inst.API("/api/v1/streaming/health"), "")
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "OK" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("health: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

func TestStreamingUserStreamOverWebSocketAndSSE(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	followUser(t, inst, bob, alice)
	ws := strmDial(t, inst, bob.Token, "?stream=user")
	sse := strmOpenSSE(t, inst.API("/api/v1/streaming/user"), bob.Token)

	post := postStatus(t, inst, alice, gomastodon.Toot{Status: "Standup moved to 10:30", Visibility: "private"})

	m := ws.await("alice's post on bob's user stream", isUpdate(post.ID))
	if len(m.Stream) != 1 || m.Stream[0] != "user" {
		t.Fatalf("stream = %q, want [user]", m.Stream)
	}
	st := m.status(t)
	if st.Account.ID != alice.Account.ID || !strings.Contains(st.Content, "Standup moved") || st.Visibility != "private" || st.Favourited == nil {
		t.Fatalf("streamed status = %+v", st)
	}

	ev := sse.await("alice's post as a server-sent event", func(e strmEvent) bool { return e.Event == "update" })
	var sseStatus mastodon.Status
	if err := json.Unmarshal([]byte(ev.Data), &sseStatus); err != nil {
		t.Fatalf("SSE data is not the Status itself: %v: %s", err, ev.Data)
	}
	if sseStatus.ID != string(post.ID) || sseStatus.Account.Acct != "alice" {
		t.Fatalf("SSE status = %+v", sseStatus)
	}
}

func TestStreamingTokenAsSubprotocolOrQuery(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")

	ws := strmDial(t, inst, "", "?stream=user", alice.Token)
	if got := ws.resp.Header.Get("Sec-WebSocket-Protocol"); got != alice.Token {
		t.Fatalf("Sec-WebSocket-Protocol echoed %q, want the token", got)
	}
	viaQuery := strmDial(t, inst, "", "?stream=user&access_token="+url.QueryEscape(alice.Token))

	post := postStatus(t, inst, alice, gomastodon.Toot{Status: "own posts reach one's own home", Visibility: "public"})
	ws.await("own post, token as subprotocol", isUpdate(post.ID))
	viaQuery.await("own post, token as query parameter", isUpdate(post.ID))
}

func TestStreamingPublicAndHashtagStreams(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	ws := strmDial(t, inst, bob.Token, "?stream=public")
	ws.send(map[string]string{"type": "subscribe", "stream": "public:local"})
	ws.send(map[string]string{"type": "subscribe", "stream": "hashtag", "tag": "Launch"})
	ws.send(map[string]string{"type": "subscribe", "stream": "public:remote"})
	ws.sync()
	sse := strmOpenSSE(t, inst.API("/api/v1/streaming/hashtag/local?tag=launch"), bob.Token)

	unlisted := postStatus(t, inst, alice, gomastodon.Toot{Status: "quiet #launch note", Visibility: "unlisted"})
	public := postStatus(t, inst, alice, gomastodon.Toot{Status: "We ship today #launch", Visibility: "public"})

	got := map[string]bool{}
	for len(got) < 3 {
		m := ws.next("public post on public, public:local and hashtag")
		if m.Event != "update" {
			continue
		}
		st := m.status(t)
		if st.ID == string(unlisted.ID) {
			t.Fatalf("unlisted status streamed on %q", m.Stream)
		}
		if st.ID == string(public.ID) {
			got[strings.Join(m.Stream, "#")] = true
		}
	}
	for _, want := range []string{"public", "public:local", "hashtag#launch"} {
		if !got[want] {
			t.Fatalf("streams that got the post: %v; missing %s", got, want)
		}
	}
	ev := sse.await("public post on hashtag:local", func(e strmEvent) bool { return e.Event == "update" })
	if !strings.Contains(ev.Data, `"id":"`+string(public.ID)+`"`) {
		t.Fatalf("hashtag:local streamed %s first, want the public post (the unlisted one is not public)", ev.Data)
	}
}

func TestStreamingNotificationDeleteAndEdit(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	followUser(t, inst, bob, alice)
	notes := strmDial(t, inst, alice.Token, "?stream=user:notification")
	notesSSE := strmOpenSSE(t, inst.API("/api/v1/streaming/user/notification"), alice.Token)
	home := strmDial(t, inst, bob.Token, "?stream=user")

	post := postStatus(t, inst, alice, gomastodon.Toot{Status: "Lunch order closes at noon", Visibility: "public"})
	home.await("the post", isUpdate(post.ID))
	if _, err := userClient(inst, bob).Favourite(context.Background(), post.ID); err != nil {
		t.Fatal(err)
	}
	m := notes.await("favourite notification", func(m strmMsg) bool { return m.Event == "notification" })
	var n mastodon.Notification
	if err := json.Unmarshal([]byte(*m.Payload), &n); err != nil {
		t.Fatal(err)
	}
	if n.Type != "favourite" || n.Account.ID != bob.Account.ID || n.Status == nil || n.Status.ID != string(post.ID) || m.Stream[0] != "user:notification" {
		t.Fatalf("notification = %+v on %q", n, m.Stream)
	}
	ev := notesSSE.await("favourite notification over SSE", func(e strmEvent) bool { return e.Event == "notification" })
	if !strings.Contains(ev.Data, `"type":"favourite"`) {
		t.Fatalf("SSE notification = %s", ev.Data)
	}

	r := apiForm(t, http.MethodPut, inst.API("/api/v1/statuses/%s", post.ID), alice.Token, url.Values{"status": {"Lunch order closes at 12:30"}}.Encode())
	if r.Code != http.StatusOK {
		t.Fatalf("edit: %d %s", r.Code, r.Body)
	}
	m = home.await("the edit", func(m strmMsg) bool { return m.Event == "status.update" })
	if st := m.status(t); st.ID != string(post.ID) || !strings.Contains(st.Content, "12:30") || st.EditedAt == nil {
		t.Fatalf("status.update payload = %+v", st)
	}

	if err := userClient(inst, alice).DeleteStatus(context.Background(), post.ID); err != nil {
		t.Fatal(err)
	}
	m = home.await("the deletion", func(m strmMsg) bool { return m.Event == "delete" })
	if m.Payload == nil || *m.Payload != string(post.ID) {
		t.Fatalf("delete payload = %v, want the id %s", m.Payload, post.ID)
	}
}

func TestStreamingRespectsFiltersAndMutes(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	followUser(t, inst, bob, alice)
	followUser(t, inst, bob, carol)
	ws := strmDial(t, inst, bob.Token, "?stream=user")
	if r := apiForm(t, http.MethodPost, inst.API("/api/v1/accounts/%s/mute", carol.Account.ID), bob.Token, ""); r.Code != http.StatusOK {
		t.Fatalf("mute: %d %s", r.Code, r.Body)
	}
	for _, f := range []string{
		`{"title":"no spoilers","context":["home"],"filter_action":"hide","keywords_attributes":[{"keyword":"finale"}]}`,
		`{"title":"meh","context":["home"],"filter_action":"warn","keywords_attributes":[{"keyword":"standup"}]}`,
	} {
		if r := apiJSON(t, http.MethodPost, inst.API("/api/v2/filters"), bob.Token, f); r.Code != http.StatusOK {
			t.Fatalf("filter: %d %s", r.Code, r.Body)
		}
		m := ws.next("filters_changed")
		if m.Event != "filters_changed" || m.Payload != nil {
			t.Fatalf("after saving a filter got %+v, want filters_changed without payload", m)
		}
	}

	hidden := postStatus(t, inst, alice, gomastodon.Toot{Status: "The finale was wild", Visibility: "public"})
	muted := postStatus(t, inst, carol, gomastodon.Toot{Status: "hello from carol", Visibility: "public"})
	warned := postStatus(t, inst, alice, gomastodon.Toot{Status: "standup notes", Visibility: "public"})
	m := ws.await("the warned post", func(m strmMsg) bool { return m.Event == "update" })
	st := m.status(t)
	if st.ID == string(hidden.ID) || st.ID == string(muted.ID) {
		t.Fatalf("streamed %s (%q), which a hide filter or a mute should drop", st.ID, st.Content)
	}
	if st.ID != string(warned.ID) || len(st.Filtered) != 1 || st.Filtered[0].Filter.Title != "meh" {
		t.Fatalf("warned post streamed as %+v, want it with its filter result", st)
	}
}

func TestStreamingListAndDirect(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	followUser(t, inst, bob, alice)
	list := &store.List{AccountID: bob.Account.ID, Title: "team"}
	if err := inst.Store.CreateList(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	if err := inst.Store.AddListAccounts(context.Background(), list, []string{alice.Account.ID}); err != nil {
		t.Fatal(err)
	}
	ws := strmDial(t, inst, bob.Token, "?stream=list&list="+list.ID)
	ws.send(map[string]string{"type": "subscribe", "stream": "direct"})
	ws.sync()
	sse := strmOpenSSE(t, inst.API("/api/v1/streaming/list?list=%s", list.ID), bob.Token)

	post := postStatus(t, inst, alice, gomastodon.Toot{Status: "team update", Visibility: "public"})
	m := ws.await("list update", isUpdate(post.ID))
	if len(m.Stream) != 2 || m.Stream[0] != "list" || m.Stream[1] != list.ID {
		t.Fatalf("list event stream = %q", m.Stream)
	}
	sse.await("list update over SSE", func(e strmEvent) bool { return e.Event == "update" && strings.Contains(e.Data, string(post.ID)) })

	dm := postStatus(t, inst, carol, gomastodon.Toot{Status: "@bob psst", Visibility: "direct"})
	m = ws.await("conversation", func(m strmMsg) bool { return m.Event == "conversation" })
	var conv struct {
		ID         string             `json:"id"`
		Unread     bool               `json:"unread"`
		Accounts   []mastodon.Account `json:"accounts"`
		LastStatus mastodon.Status    `json:"last_status"`
	}
	if err := json.Unmarshal([]byte(*m.Payload), &conv); err != nil {
		t.Fatal(err)
	}
	if m.Stream[0] != "direct" || conv.LastStatus.ID != string(dm.ID) || !conv.Unread || len(conv.Accounts) != 1 || conv.Accounts[0].ID != carol.Account.ID {
		t.Fatalf("conversation = %+v on %q", conv, m.Stream)
	}
	// The streamed conversation is the one the API lists, so a client can update it in place.
	var listed []struct {
		ID string `json:"id"`
	}
	apiGet(t, inst.API("/api/v1/conversations"), bob.Token).ok(t, &listed)
	if len(listed) != 1 || listed[0].ID != conv.ID {
		t.Fatalf("conversations = %+v, want the streamed one %s", listed, conv.ID)
	}
}

func TestStreamingSubscribeAndUnsubscribeMessages(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	otherList := &store.List{AccountID: bob.Account.ID, Title: "bob's"}
	if err := inst.Store.CreateList(context.Background(), otherList); err != nil {
		t.Fatal(err)
	}
	ws := strmDial(t, inst, alice.Token, "")

	for _, tc := range []struct {
		req    map[string]string
		status int
		msg    string
	}{
		{map[string]string{"type": "subscribe", "stream": "nope"}, 400, "Unknown stream type"},
		{map[string]string{"type": "subscribe", "stream": "hashtag"}, 400, "No tag for stream provided"},
		{map[string]string{"type": "subscribe", "stream": "list", "list": otherList.ID}, 404, "Record not found"},
		{map[string]string{"type": "dance"}, 400, "Unknown message type"},
	} {
		ws.send(tc.req)
		if m := ws.next("error frame"); m.Status != tc.status || m.Error != tc.msg {
			t.Fatalf("%v answered %+v, want %d %q", tc.req, m, tc.status, tc.msg)
		}
	}

	ws.send(map[string]string{"type": "subscribe", "stream": "user"})
	ws.send(map[string]string{"type": "subscribe", "stream": "hashtag", "tag": "cats"})
	ws.sync()
	first := postStatus(t, inst, alice, gomastodon.Toot{Status: "#cats are great", Visibility: "public"})
	streams := map[string]bool{}
	for len(streams) < 2 {
		m := ws.await("the post on user and hashtag", isUpdate(first.ID))
		streams[strings.Join(m.Stream, "#")] = true
	}
	if !streams["user"] || !streams["hashtag#cats"] {
		t.Fatalf("streams = %v", streams)
	}

	ws.send(map[string]string{"type": "unsubscribe", "stream": "hashtag", "tag": "#Cats"})
	ws.sync()
	second := postStatus(t, inst, alice, gomastodon.Toot{Status: "#cats again", Visibility: "public"})
	marker := postStatus(t, inst, alice, gomastodon.Toot{Status: "marker", Visibility: "public"})
	for {
		m := ws.next("posts after unsubscribing")
		if m.Stream[0] != "user" {
			t.Fatalf("got %+v on %q after unsubscribing from the hashtag", m.Event, m.Stream)
		}
		if isUpdate(marker.ID)(m) {
			break
		}
		if !isUpdate(second.ID)(m) {
			t.Fatalf("unexpected %s", m.Event)
		}
	}
}

func TestStreamingRefusals(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	notificationsOnly := userToken(t, inst, alice, "read:notifications")
	appOnly := clientAppToken(t, inst, "read")
	bobsList := &store.List{AccountID: bob.Account.ID, Title: "bob's"}
	if err := inst.Store.CreateList(context.Background(), bobsList); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, ws, sse string
		code                 int
		msg                  string
	}{
		{"no token", "", "?stream=user", "/user", 401, "The access token is invalid"},
		{"unknown token", "nope", "?stream=user", "/user", 401, "The access token is invalid"},
		{"app token", appOnly, "?stream=public", "/public", 401, "The access token is invalid"},
		{"notifications scope on user", notificationsOnly, "?stream=user", "/user", 403, "This action is outside the authorized scopes"},
		{"notifications scope on public", notificationsOnly, "?stream=public", "/public", 403, "This action is outside the authorized scopes"},
		{"unknown stream", alice.Token, "?stream=everything", "", 400, "Unknown stream type"},
		{"hashtag without tag", alice.Token, "?stream=hashtag", "/hashtag", 400, "No tag for stream provided"},
		{"someone else's list", alice.Token, "?stream=list&list=" + bobsList.ID, "/list?list=" + bobsList.ID, 404, "Record not found"},
		{"unknown list", alice.Token, "?stream=list&list=123", "/list?list=123", 404, "Record not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, resp, err := strmDialRaw(inst, tc.token, tc.ws)
			if err == nil {
				conn.Close()
				t.Fatal("WebSocket upgraded")
			}
			if resp == nil || resp.StatusCode != tc.code {
				t.Fatalf("WebSocket refused with %v, want HTTP %d", resp, tc.code)
			}
			var e mastodon.Error
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error != tc.msg {
				t.Fatalf("WebSocket refusal body %q (%v), want %q", e.Error, err, tc.msg)
			}
			if tc.sse == "" {
				return
			}
			r := strmRequest(t, inst.URL+"/api/v1/streaming"+tc.sse, tc.token)
			defer r.Body.Close()
			if err := json.NewDecoder(r.Body).Decode(&e); r.StatusCode != tc.code || err != nil || e.Error != tc.msg {
				t.Fatalf("SSE refused with %d %q (%v), want %d %q", r.StatusCode, e.Error, err, tc.code, tc.msg)
			}
		})
	}

	// A notifications-only token may stream notifications.
	ws := strmDial(t, inst, notificationsOnly, "?stream=user:notification")
	followUser(t, inst, bob, alice)
	ws.await("follow notification", func(m strmMsg) bool { return m.Event == "notification" })
}

func TestStreamingHeartbeats(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) { c.StreamingHeartbeat = 20 * time.Millisecond })
	alice := inst.CreateUser(t, "alice")
	sse := strmOpenSSE(t, inst.API("/api/v1/streaming/public"), alice.Token)
	sse.await("a heartbeat comment", func(e strmEvent) bool { return e.Event == ":" && e.Data == "thump" })
	ws := strmDial(t, inst, alice.Token, "?stream=public")
	select {
	case <-ws.pings:
	case <-time.After(strmWait):
		t.Fatal("no WebSocket ping")
	}
}

func TestStreamingRevokedTokenEndsStreams(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	token := userToken(t, inst, alice, "read")
	other := strmDial(t, inst, alice.Token, "?stream=user")
	ws := strmDial(t, inst, token, "?stream=user")
	sse := strmOpenSSE(t, inst.API("/api/v1/streaming/user"), token)

	if err := inst.Store.RevokeToken(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if code := ws.awaitClose("stream of a revoked token"); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want %d", code, websocket.ClosePolicyViolation)
	}
	sse.awaitEnd("SSE stream of a revoked token")
	post := postStatus(t, inst, alice, gomastodon.Toot{Status: "still here", Visibility: "public"})
	other.await("the stream of another token of the same account", isUpdate(post.ID))
}

func TestStreamingShutdownEndsStreams(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ws := strmDial(t, inst, alice.Token, "?stream=user")
	sse := strmOpenSSE(t, inst.API("/api/v1/streaming/user"), alice.Token)
	inst.Stop()
	// Streams that held shutdown up would be cut when its timeout ran out, without a close
	// frame: the Going Away code shows each stream ended itself when shutdown began.
	if code := ws.awaitClose("stream at shutdown"); code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want %d", code, websocket.CloseGoingAway)
	}
	sse.awaitEnd("SSE stream at shutdown")
}

func TestStreamingDropsSlowConsumerOnly(t *testing.T) {
	inst := testrig.StartInstance(t, func(c *config.Config) { c.StreamingBuffer = 4 })
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	post := postStatus(t, inst, alice, gomastodon.Toot{Status: "burst", Visibility: "public"})
	// Alice's connection is never read; Bob's is.
	slow, _, err := strmDialRaw(inst, alice.Token, "?stream=user")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast := strmDial(t, inst, bob.Token, "?stream=user")

	// A burst far beyond the buffer: the hub hands events over faster than a connection can
	// render them, so Alice's buffer overflows whatever her socket does.
	ctx := context.Background()
	pipe := inst.Store.Redis().Pipeline()
	for i := 0; i < 500; i++ {
		pipe.Publish(ctx, inst.Store.HomeStream(alice.Account.ID), "update "+string(post.ID))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	own := postStatus(t, inst, bob, gomastodon.Toot{Status: "unaffected", Visibility: "public"})
	fast.await("bob's post while alice's connection is dropped", isUpdate(own.ID))

	if err := slow.SetReadDeadline(time.Now().Add(strmWait)); err != nil {
		t.Fatal(err)
	}
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			continue // events written before the drop
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseTryAgainLater {
			t.Fatalf("slow connection ended with %v, want close code %d", err, websocket.CloseTryAgainLater)
		}
		break
	}
}

func TestStreamingFederatedPost(t *testing.T) {
	eng, sales := testrig.StartInstance(t), testrig.StartInstance(t)
	alice, bob := eng.CreateUser(t, "alice"), sales.CreateUser(t, "bob")
	ctx := context.Background()
	aliceClient := userClient(eng, alice)
	bobAcct := "bob@" + sales.Config.Domain()
	res, err := aliceClient.Search(ctx, bobAcct, true)
	if err != nil || len(res.Accounts) != 1 {
		t.Fatalf("search %s: %v %v", bobAcct, res, err)
	}
	remote := res.Accounts[0]
	if _, err := aliceClient.AccountFollow(ctx, remote.ID); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, strmWait, "alice follows bob across instances", func() bool {
		rels, err := aliceClient.GetAccountRelationships(ctx, []string{string(remote.ID)})
		return err == nil && len(rels) == 1 && rels[0].Following
	})
	ws := strmDial(t, eng, alice.Token, "?stream=user")
	ws.send(map[string]string{"type": "subscribe", "stream": "public:remote"})
	ws.send(map[string]string{"type": "subscribe", "stream": "hashtag", "tag": "sales"})
	ws.send(map[string]string{"type": "subscribe", "stream": "hashtag:local", "tag": "sales"})
	ws.sync()

	post := postStatus(t, sales, bob, gomastodon.Toot{Status: "Quarter closed early #sales", Visibility: "public"})
	streams := map[string]bool{}
	for len(streams) < 3 {
		m := ws.await("bob's federated post on alice's streams", func(m strmMsg) bool {
			return m.Event == "update" && strings.Contains(*m.Payload, "Quarter closed early")
		})
		st := m.status(t)
		if st.Account.Acct != bobAcct || st.URI != post.URI {
			t.Fatalf("federated status = account %q uri %q, want %q %q", st.Account.Acct, st.URI, bobAcct, post.URI)
		}
		streams[strings.Join(m.Stream, "#")] = true
	}
	if !streams["user"] || !streams["public:remote"] || !streams["hashtag#sales"] {
		t.Fatalf("federated post reached %v", streams)
	}
	// hashtag:local leaves the remote post out: the first thing it streams is a local one.
	local := postStatus(t, eng, alice, gomastodon.Toot{Status: "Local #sales note", Visibility: "public"})
	m := ws.await("the local post on hashtag:local", func(m strmMsg) bool { return m.Stream[0] == "hashtag:local" })
	if st := m.status(t); st.ID != string(local.ID) {
		t.Fatalf("hashtag:local streamed %q (%s) first, want the local post", st.Content, st.Account.Acct)
	}
}

func TestStreamingBoost(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	followUser(t, inst, bob, carol)
	home := strmDial(t, inst, bob.Token, "?stream=user")
	notes := strmDial(t, inst, alice.Token, "?stream=user:notification")
	post := postStatus(t, inst, alice, gomastodon.Toot{Status: "Worth sharing", Visibility: "public"})

	boost, err := userClient(inst, carol).Reblog(context.Background(), post.ID)
	if err != nil {
		t.Fatal(err)
	}
	m := home.await("carol's boost on bob's user stream", isUpdate(boost.ID))
	if st := m.status(t); st.Reblog == nil || st.Reblog.ID != string(post.ID) || st.Account.ID != carol.Account.ID || st.Reblog.Reblogged == nil || *st.Reblog.Reblogged {
		t.Fatalf("boost streamed as %+v", st)
	}
	m = notes.await("reblog notification", func(m strmMsg) bool { return m.Event == "notification" })
	if !strings.Contains(*m.Payload, `"type":"reblog"`) {
		t.Fatalf("notification = %s", *m.Payload)
	}
}

package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/testrig"
)

// pollForm is a form body of key, value pairs.
func pollForm(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

// postPoll posts a status with a poll as JSON and returns it.
func postPoll(t testing.TB, inst *testrig.Instance, u *testrig.User, body string) mastodon.Status {
	t.Helper()
	var st mastodon.Status
	apiJSON(t, http.MethodPost, inst.API("/api/v1/statuses"), u.Token, body).ok(t, &st)
	return st
}

// pollOf decodes the poll of a status entity, failing when it has none.
func pollOf(t testing.TB, st mastodon.Status) mastodon.Poll {
	t.Helper()
	b, err := json.Marshal(st.Poll)
	if err != nil || string(b) == "null" {
		t.Fatalf("status %s has no poll (%s)", st.ID, b)
	}
	var p mastodon.Poll
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func getPoll(t testing.TB, inst *testrig.Instance, id, token string) mastodon.Poll {
	t.Helper()
	var p mastodon.Poll
	apiGet(t, inst.API("/api/v1/polls/%s", id), token).ok(t, &p)
	return p
}

func vote(inst *testrig.Instance, t testing.TB, id, token string, choices ...string) apiResponse {
	t.Helper()
	kv := []string{}
	for _, c := range choices {
		kv = append(kv, "choices[]", c)
	}
	return apiForm(t, http.MethodPost, inst.API("/api/v1/polls/%s/votes", id), token, pollForm(kv...))
}

// optionCounts lists the options' votes_count, -1 for null.
func optionCounts(p mastodon.Poll) []int64 {
	out := make([]int64, len(p.Options))
	for i, o := range p.Options {
		out[i] = -1
		if o.VotesCount != nil {
			out[i] = *o.VotesCount
		}
	}
	return out
}

func TestPollsCreateRefusals(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ctx := context.Background()
	m := &store.Media{AccountID: alice.Account.ID, Type: "image", URL: inst.URL + "/media/x.png"}
	if err := inst.Store.CreateMedia(ctx, m); err != nil {
		t.Fatal(err)
	}
	post := inst.API("/api/v1/statuses")
	opts := func(o ...string) []string {
		var kv []string
		for _, x := range o {
			kv = append(kv, "poll[options][]", x)
		}
		return kv
	}
	form := func(kv ...[]string) string {
		var all []string
		for _, x := range kv {
			all = append(all, x...)
		}
		return pollForm(append([]string{"status", "which?"}, all...)...)
	}
	in300 := []string{"poll[expires_in]", "300"}
	expectRefusals(t, []refusal{
		{"one option", "POST", post, alice.Token, formType, form(opts("a"), in300), 422, "Validation failed: Poll options must have more than one item"},
		{"blank options dropped", "POST", post, alice.Token, formType, form(opts("a", " ", ""), in300), 422, "Validation failed: Poll options must have more than one item"},
		{"five options", "POST", post, alice.Token, formType, form(opts("a", "b", "c", "d", "e"), in300), 422, "Validation failed: Poll options can't contain more than 4 items"},
		{"long option", "POST", post, alice.Token, formType, form(opts("a", strings.Repeat("é", 51)), in300), 422, "Validation failed: Poll options cannot be longer than 50 characters each"},
		{"duplicates", "POST", post, alice.Token, formType, form(opts("a", "a"), in300), 422, "Validation failed: Poll options contain duplicate items"},
		{"no expires_in", "POST", post, alice.Token, formType, form(opts("a", "b")), 422, "Validation failed: Poll expires at is too far into the future"},
		{"expires_in too short", "POST", post, alice.Token, formType, form(opts("a", "b"), []string{"poll[expires_in]", "299"}), 422, "Validation failed: Poll expires at is too soon"},
		{"expires_in not a number", "POST", post, alice.Token, formType, form(opts("a", "b"), []string{"poll[expires_in]", "soon"}), 422, "Validation failed: Poll expires at is too soon"},
		{"expires_in too long", "POST", post, alice.Token, formType, form(opts("a", "b"), []string{"poll[expires_in]", "2629747"}), 422, "Validation failed: Poll expires at is too far into the future"},
		{"poll and media", "POST", post, alice.Token, formType, form(opts("a", "b"), in300, []string{"media_ids[]", m.ID}), 422, "Validation failed: A post with a poll cannot have media attachments"},
		{"JSON one option", "POST", post, alice.Token, jsonType, `{"status":"q","poll":{"options":["a"],"expires_in":300}}`, 422, "Validation failed: Poll options must have more than one item"},
		{"JSON too short", "POST", post, alice.Token, jsonType, `{"status":"q","poll":{"options":["a","b"],"expires_in":"60"}}`, 422, "Validation failed: Poll expires at is too soon"},
		{"JSON poll not an object", "POST", post, alice.Token, jsonType, `{"status":"q","poll":["a","b"]}`, 400, "Malformed request body: poll must be an object with options and expires_in"},
		{"JSON options not a list of text", "POST", post, alice.Token, jsonType, `{"status":"q","poll":{"options":[{"a":1}],"expires_in":300}}`, 400, "Malformed request body: poll must be an object with options and expires_in"},
		{"poll without text", "POST", post, alice.Token, jsonType, `{"poll":{"options":["a","b"],"expires_in":300}}`, 422, "Validation failed: Text can't be blank"},
	})
	if n := statusesCount(t, inst, alice.Account.ID); n != 0 {
		t.Errorf("statuses_count = %d after refused polls, want 0", n)
	}
	entries, err := inst.Store.AccountStatuses(ctx, alice.Account.ID, store.Page{Limit: 10})
	if err != nil || len(entries) != 0 {
		t.Errorf("refused polls were stored: %v %v", entries, err)
	}
	due, err := inst.Store.ClaimDuePolls(ctx, time.Now().Add(40*24*time.Hour), time.Minute, 10)
	if err != nil || len(due) != 0 {
		t.Errorf("refused polls were scheduled to end: %v %v", due, err)
	}
	// The bounds are the ones /api/v2/instance advertises.
	var instance struct {
		Configuration struct {
			Polls struct {
				MaxOptions             int `json:"max_options"`
				MaxCharactersPerOption int `json:"max_characters_per_option"`
				MinExpiration          int `json:"min_expiration"`
				MaxExpiration          int `json:"max_expiration"`
			} `json:"polls"`
		} `json:"configuration"`
	}
	apiGet(t, inst.API("/api/v2/instance"), "").ok(t, &instance)
	if p := instance.Configuration.Polls; p.MaxOptions != 4 || p.MaxCharactersPerOption != 50 || p.MinExpiration != 300 || p.MaxExpiration != 2629746 {
		t.Errorf("configuration.polls = %+v, not the limits posting enforces", p)
	}
}

func TestPollsVoteFlow(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	ctx := context.Background()

	// A form post, as most clients send it.
	var st mastodon.Status
	apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), alice.Token, pollForm("status", "Lunch?",
		"poll[options][]", "Pizza", "poll[options][]", "Soup", "poll[options][]", "Salad", "poll[expires_in]", "3600")).ok(t, &st)
	p := pollOf(t, st)
	if p.ID != st.ID || p.Multiple || p.Expired || p.VotesCount != 0 || p.ExpiresAt == nil {
		t.Fatalf("new poll = %+v", p)
	}
	if titles := []string{p.Options[0].Title, p.Options[1].Title, p.Options[2].Title}; !slices.Equal(titles, []string{"Pizza", "Soup", "Salad"}) {
		t.Errorf("options = %v", titles)
	}
	if end, _ := time.Parse(time.RFC3339, *p.ExpiresAt); end.Before(time.Now().Add(59*time.Minute)) || end.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("expires_at = %s, want an hour from now", *p.ExpiresAt)
	}
	// As in Mastodon, the author counts as having voted, with no votes of their own.
	if p.Voted == nil || !*p.Voted || p.OwnVotes == nil || len(*p.OwnVotes) != 0 {
		t.Errorf("author's view: voted %v own_votes %v", p.Voted, p.OwnVotes)
	}
	if p := getPoll(t, inst, st.ID, bob.Token); p.Voted == nil || *p.Voted || p.OwnVotes == nil || len(*p.OwnVotes) != 0 {
		t.Errorf("bob before voting: voted %v own_votes %v", p.Voted, p.OwnVotes)
	}

	var after mastodon.Poll
	vote(inst, t, st.ID, bob.Token, "1").ok(t, &after)
	if after.VotesCount != 1 || *after.VotersCount != 1 || !slices.Equal(optionCounts(after), []int64{0, 1, 0}) || !*after.Voted || !slices.Equal(*after.OwnVotes, []int{1}) {
		t.Errorf("after bob's vote: %+v", after)
	}
	expectRefusals(t, []refusal{
		{"again", "POST", inst.API("/api/v1/polls/%s/votes", st.ID), bob.Token, formType, pollForm("choices[]", "0"), 422, "Validation failed: You have already voted on this poll"},
		{"own poll", "POST", inst.API("/api/v1/polls/%s/votes", st.ID), alice.Token, formType, pollForm("choices[]", "0"), 422, "Validation failed: You cannot vote in your own polls"},
		{"no such option", "POST", inst.API("/api/v1/polls/%s/votes", st.ID), carol.Token, formType, pollForm("choices[]", "3"), 422, "Validation failed: The chosen vote option does not exist"},
		{"not a number", "POST", inst.API("/api/v1/polls/%s/votes", st.ID), carol.Token, formType, pollForm("choices[]", "x"), 422, "Validation failed: The chosen vote option does not exist"},
		{"two in a single-choice poll", "POST", inst.API("/api/v1/polls/%s/votes", st.ID), carol.Token, jsonType, `{"choices":[0,2]}`, 422, "Validation failed: You have already voted on this poll"},
		{"no choices", "POST", inst.API("/api/v1/polls/%s/votes", st.ID), carol.Token, jsonType, `{"choices":[]}`, 400, "param is missing or the value is empty: choices"},
		{"unknown poll", "POST", inst.API("/api/v1/polls/%s/votes", "12345"), carol.Token, formType, pollForm("choices[]", "0"), 404, "Record not found"},
		{"status without a poll", "GET", inst.API("/api/v1/polls/%s", postStatusID(t, inst, alice)), carol.Token, "", "", 404, "Record not found"},
		{"read-only token", "POST", inst.API("/api/v1/polls/%s/votes", st.ID), userToken(t, inst, carol, "read"), formType, pollForm("choices[]", "0"), 403, "This action is outside the authorized scopes"},
	})
	// The refused votes wrote nothing: carol has not voted, the counts are bob's vote alone.
	if p := getPoll(t, inst, st.ID, carol.Token); *p.Voted || p.VotesCount != 1 || !slices.Equal(optionCounts(p), []int64{0, 1, 0}) {
		t.Errorf("after refused votes: %+v", p)
	}
	// JSON votes with numbers, as the web client sends them.
	var c mastodon.Poll
	apiJSON(t, http.MethodPost, inst.API("/api/v1/polls/%s/votes", st.ID), carol.Token, `{"choices":[1]}`).ok(t, &c)
	if c.VotesCount != 2 || !slices.Equal(optionCounts(c), []int64{0, 2, 0}) {
		t.Errorf("after carol's vote: %+v", c)
	}
	// The status entity carries the same poll, for each viewer.
	if p := pollOf(t, getStatus(t, inst, st.ID, bob.Token)); !*p.Voted || !slices.Equal(*p.OwnVotes, []int{1}) || p.VotesCount != 2 {
		t.Errorf("bob's status view: %+v", p)
	}
	anon := apiGet(t, inst.API("/api/v1/polls/%s", st.ID), "")
	anon.ok(t, nil)
	if strings.Contains(string(anon.Body), `"voted"`) || strings.Contains(string(anon.Body), `"own_votes"`) {
		t.Errorf("anonymous poll carries viewer fields: %s", anon.Body)
	}

	// An ended poll takes no more votes; it says so.
	dave := inst.CreateUser(t, "dave")
	if err := inst.Store.SetPollEnd(ctx, st.ID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	vote(inst, t, st.ID, dave.Token, "0").expectError(t, 422, "Validation failed: The poll has already ended")
	if p := getPoll(t, inst, st.ID, dave.Token); !p.Expired || p.VotesCount != 2 {
		t.Errorf("ended poll: %+v", p)
	}

	// A followers-only poll is not there for others.
	private := postPoll(t, inst, alice, `{"status":"secret","visibility":"private","poll":{"options":["a","b"],"expires_in":300}}`)
	apiGet(t, inst.API("/api/v1/polls/%s", private.ID), dave.Token).expectError(t, 404, "Record not found")
	vote(inst, t, private.ID, dave.Token, "0").expectError(t, 404, "Record not found")

	// Deleting the status deletes its poll.
	apiDo(t, http.MethodDelete, inst.API("/api/v1/statuses/%s", st.ID), alice.Token, "", "").ok(t, nil)
	if _, err := inst.Store.Poll(ctx, st.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("poll after its status was deleted: %v", err)
	}
	if votes, voted, _ := inst.Store.PollVotes(ctx, st.ID, bob.Account.ID); voted {
		t.Errorf("votes kept after the status was deleted: %v", votes)
	}
}

// postStatusID posts a plain status and returns its id.
func postStatusID(t testing.TB, inst *testrig.Instance, u *testrig.User) string {
	t.Helper()
	var st mastodon.Status
	apiForm(t, http.MethodPost, inst.API("/api/v1/statuses"), u.Token, pollForm("status", "no poll here")).ok(t, &st)
	return st.ID
}

func TestPollsHideTotalsAndMultiple(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	st := postPoll(t, inst, alice, `{"status":"Colours?","poll":{"options":["red","green","blue"],"expires_in":"600","multiple":true,"hide_totals":"true"}}`)
	if p := pollOf(t, st); !p.Multiple || !slices.Equal(optionCounts(p), []int64{-1, -1, -1}) {
		t.Errorf("new hidden poll = %+v", p)
	}
	var p mastodon.Poll
	vote(inst, t, st.ID, bob.Token, "0", "2").ok(t, &p)
	// Totals hidden: the options' counts are null, the poll's own counts are not.
	if !slices.Equal(optionCounts(p), []int64{-1, -1, -1}) || p.VotesCount != 2 || *p.VotersCount != 1 || !slices.Equal(*p.OwnVotes, []int{0, 2}) {
		t.Errorf("hidden totals after a vote: %+v", p)
	}
	if err := inst.Store.SetPollEnd(context.Background(), st.ID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if p := getPoll(t, inst, st.ID, ""); !p.Expired || !slices.Equal(optionCounts(p), []int64{1, 0, 1}) {
		t.Errorf("ended hidden poll shows %v, want its totals", optionCounts(p))
	}
}

func TestPollsEdit(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	st := postPoll(t, inst, alice, `{"status":"Tea or coffee?","poll":{"options":["tea","coffee"],"expires_in":300}}`)
	vote(inst, t, st.ID, bob.Token, "0").ok(t, nil)
	edit := func(body string) mastodon.Status {
		var out mastodon.Status
		apiJSON(t, http.MethodPut, inst.API("/api/v1/statuses/%s", st.ID), alice.Token, body).ok(t, &out)
		return out
	}
	// Same options: the votes stay, the end moves.
	if p := pollOf(t, edit(`{"status":"Tea or coffee??","poll":{"options":["tea","coffee"],"expires_in":3600}}`)); p.VotesCount != 1 || !slices.Equal(optionCounts(p), []int64{1, 0}) {
		t.Errorf("after an edit keeping the options: %+v", p)
	}
	// New options: the votes cast for the old ones are gone, and bob may vote again.
	if p := pollOf(t, edit(`{"status":"Tea, coffee or water?","poll":{"options":["tea","coffee","water"],"expires_in":3600}}`)); p.VotesCount != 0 || len(p.Options) != 3 {
		t.Errorf("after an edit changing the options: %+v", p)
	}
	vote(inst, t, st.ID, bob.Token, "2").ok(t, nil)
	// A refused edit changes nothing.
	apiJSON(t, http.MethodPut, inst.API("/api/v1/statuses/%s", st.ID), alice.Token, `{"status":"x","poll":{"options":["only"],"expires_in":3600}}`).
		expectError(t, 422, "Validation failed: Poll options must have more than one item")
	if p := getPoll(t, inst, st.ID, bob.Token); p.VotesCount != 1 || len(p.Options) != 3 {
		t.Errorf("after a refused edit: %+v", p)
	}
	// An edit without a poll removes it, as in Mastodon.
	if out := edit(`{"status":"No poll after all"}`); out.Poll != nil {
		t.Errorf("poll after an edit without one: %v", out.Poll)
	}
	apiGet(t, inst.API("/api/v1/polls/%s", st.ID), bob.Token).expectError(t, 404, "Record not found")
}

func TestPollsEndNotifies(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob, carol := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol")
	st := postPoll(t, inst, alice, `{"status":"Friday drinks?","poll":{"options":["yes","no"],"expires_in":300}}`)
	vote(inst, t, st.ID, bob.Token, "0").ok(t, nil)
	// bob filters notifications from people he does not follow; a poll's end still reaches him.
	apiJSON(t, http.MethodPatch, inst.API("/api/v2/notifications/policy"), bob.Token, `{"for_not_following":"filter"}`).ok(t, nil)

	// Ended through the store: the shortest poll lasts five minutes.
	if err := inst.Store.SetPollEnd(context.Background(), st.ID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	// Read before the worker got to it, the poll has ended already.
	if p := getPoll(t, inst, st.ID, carol.Token); !p.Expired {
		t.Error("a poll past its end reads as open")
	}
	pollNotifications := func(u *testrig.User) []mastodon.Notification {
		var ns []mastodon.Notification
		apiGet(t, inst.API("/api/v1/notifications?types[]=poll"), u.Token).ok(t, &ns)
		return ns
	}
	for _, u := range []*testrig.User{alice, bob} {
		testrig.Eventually(t, 30*time.Second, u.Account.Username+" notified of the poll's end", func() bool {
			ns := pollNotifications(u)
			return len(ns) == 1 && ns[0].Type == "poll" && ns[0].Account.ID == alice.Account.ID && ns[0].Status != nil && ns[0].Status.ID == st.ID
		})
	}
	if ns := pollNotifications(carol); len(ns) != 0 {
		t.Errorf("carol, who did not vote, was notified: %+v", ns)
	}
	// Once: the end is not claimed again.
	due, err := inst.Store.ClaimDuePolls(context.Background(), time.Now().Add(time.Hour), time.Minute, 10)
	if err != nil || len(due) != 0 {
		t.Errorf("an ended poll is still due: %v %v", due, err)
	}
}

package community_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/community"
	"watercooler/signup"
	"watercooler/testrig"
)

// deadline bounds every wait for federation; it is what the delivery and inbox queues
// guarantee on a loaded machine (a first try at once, retries within seconds), with room to spare.
const deadline = 45 * time.Second

// person is a user of one department with a Mastodon client.
type person struct {
	inst   *testrig.Instance
	user   *testrig.User
	client *gomastodon.Client
}

func newPerson(inst *testrig.Instance, t *testing.T, username string, options ...func(*signup.Params)) *person {
	u := inst.CreateUser(t, username, options...)
	return &person{inst: inst, user: u, client: gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: u.Token})}
}

func (p *person) acct() string { return p.user.Account.Username + "@" + p.inst.Config.Domain() }

// createCommunity makes a community on inst as the admin command does.
func createCommunity(t *testing.T, inst *testrig.Instance, name, display string, moderators ...string) string {
	t.Helper()
	_, acct, err := community.Create(context.Background(), inst.Store, inst.URL,
		community.Params{Name: name, DisplayName: display, Moderators: moderators, KeyPair: testrig.TestKeyPair})
	if err != nil {
		t.Fatalf("create community %s: %v", name, err)
	}
	return acct.ID
}

// resolve finds an account by acct through search with resolve=true (WebFinger).
func (p *person) resolve(t *testing.T, acct string) *gomastodon.Account {
	t.Helper()
	res, err := p.client.Search(context.Background(), acct, true)
	if err != nil || len(res.Accounts) != 1 {
		t.Fatalf("%s searches %s: %v (%d accounts)", p.acct(), acct, err, len(res.Accounts))
	}
	return res.Accounts[0]
}

// join follows the group and waits until the follow is accepted.
func (p *person) join(t *testing.T, groupAcct string) *gomastodon.Account {
	t.Helper()
	ctx := context.Background()
	g := p.resolve(t, groupAcct)
	if _, err := p.client.AccountFollow(ctx, g.ID); err != nil {
		t.Fatalf("%s joins %s: %v", p.acct(), groupAcct, err)
	}
	testrig.Eventually(t, deadline, p.acct()+" is a member of "+groupAcct, func() bool {
		rels, err := p.client.GetAccountRelationships(ctx, []string{string(g.ID)})
		return err == nil && len(rels) == 1 && rels[0].Following
	})
	return g
}

func (p *person) post(t *testing.T, text string, inReplyTo gomastodon.ID) *gomastodon.Status {
	t.Helper()
	st, err := p.client.PostStatus(context.Background(), &gomastodon.Toot{Status: text, Visibility: "public", InReplyToID: inReplyTo})
	if err != nil {
		t.Fatalf("%s posts %q: %v", p.acct(), text, err)
	}
	return st
}

// boostBy matches a boost by the account acct of a status containing text.
func boostBy(acct, text string) func(*gomastodon.Status) bool {
	return func(s *gomastodon.Status) bool {
		return s.Reblog != nil && s.Account.Acct == acct && strings.Contains(s.Reblog.Content, text)
	}
}

// homeFind returns the first status of p's home that match accepts, or nil.
func (p *person) homeFind(t *testing.T, match func(*gomastodon.Status) bool) *gomastodon.Status {
	t.Helper()
	sts, err := p.client.GetTimelineHome(context.Background(), &gomastodon.Pagination{Limit: 40})
	if err != nil {
		return nil // a department being restarted answers nothing for a moment
	}
	for _, s := range sts {
		if match(s) {
			return s
		}
	}
	return nil
}

// waitHome polls p's home until a status matches; it returns it.
func (p *person) waitHome(t *testing.T, what string, match func(*gomastodon.Status) bool) *gomastodon.Status {
	t.Helper()
	var found *gomastodon.Status
	testrig.Eventually(t, deadline, what, func() bool { found = p.homeFind(t, match); return found != nil })
	return found
}

// api sends a client API request as p and decodes the JSON answer into out when given.
func (p *person) api(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.inst.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+p.user.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// quiesce waits until no instance has an inbound activity or a delivery queued or waiting for a
// retry, twice in a row, so that a test can then check that something did NOT happen.
func quiesce(t *testing.T, insts ...*testrig.Instance) {
	t.Helper()
	idle := func() bool {
		for _, inst := range insts {
			for _, q := range []string{"inbox", "delivery"} {
				s, err := inst.Store.Queue(q).Stats(context.Background())
				if err != nil || s.Queued != 0 || s.Retrying != 0 {
					return false
				}
			}
		}
		return true
	}
	testrig.Eventually(t, deadline, "federation queues drained", func() bool { return idle() && idle() })
}

// doJSON sends req and decodes a JSON answer into out; it returns the status.
func doJSON(t *testing.T, req *http.Request, out any) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
	}
	return resp.StatusCode
}

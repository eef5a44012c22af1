package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/sync/errgroup"

	"watercooler/community"
	"watercooler/config"
	"watercooler/federation"
	"watercooler/org"
	"watercooler/push"
	"watercooler/server"
	"watercooler/signup"
	"watercooler/sso"
	"watercooler/store"
)

// demoPassword signs in every demo user; the demo runs on loopback only.
const demoPassword = "watercooler-demo"

// demoProviderName names the demo's OpenID provider on the sign-in pages.
const demoProviderName = "Demo ID"

// department is one demo instance with its sample people and posts.
type department struct {
	name   string
	people []demoPerson
	posts  []demoPost
}

type demoPerson struct{ username, displayName, note string }

type demoPost struct {
	author, text string
	replyTo      int // 1-based index of an earlier post of this department; 0 for none
}

func demoDepartments() []department {
	return []department{
		{name: "engineering",
			people: []demoPerson{{"alice", "Alice (Platform)", "I keep the build green. Ask me about #golang and #redis."}, {"dave", "Dave (SRE)", "On call more than I'd like."}},
			posts: []demoPost{
				{author: "alice", text: "Welcome to the engineering Watercooler! Post what you learn; boost what helps. #welcome"},
				{author: "dave", text: "TIL: `redis-cli --latency` shows you whether the network or the server is slow. #redis #til"},
				{author: "alice", text: "@dave nice one, adding it to the on-call runbook.", replyTo: 2},
			}},
		{name: "sales",
			people: []demoPerson{{"bob", "Bob (Enterprise)", "Closing deals and sharing what customers ask for."}, {"erin", "Erin (Sales Ops)", "Spreadsheets are my love language."}},
			posts: []demoPost{
				{author: "bob", text: "Customers keep asking how our product handles offline mode. Who knows? #questions"},
				{author: "erin", text: "Pipeline review template is in the shared drive; comments welcome. #welcome"},
			}},
		{name: "support",
			people: []demoPerson{{"carol", "Carol (Support Lead)", "The voice of the customer, loudly."}, {"frank", "Frank (Tier 2)", "Collecting the weirdest bug reports since 2019."}},
			posts: []demoPost{
				{author: "carol", text: "Top three tickets this week: password resets, export timeouts, SSO. #support #til"},
				{author: "frank", text: "@carol the export timeouts all come from accounts with >10k rows.", replyTo: 1},
			}},
	}
}

func demo(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	host := fs.String("host", "127.0.0.1", "address the three instances listen on")
	basePort := fs.Int("base-port", 8081, "port of the first department; the others take the next ports")
	redisURL := fs.String("redis", "", "Redis shared by the three departments (each under its own key prefix); empty runs an embedded Redis per department (env REDIS_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *redisURL == "" {
		*redisURL = getenv("REDIS_URL")
	}
	mediaRoot, err := os.MkdirTemp("", "watercooler-demo-media")
	if err != nil {
		return err
	}
	defer os.RemoveAll(mediaRoot)

	// One OpenID provider for the organization, so one identity signs in to every department.
	// mockoidc signs every sign-in in as its default person without asking anything, which
	// suits a loopback demo that already prints its passwords.
	provider, err := mockoidc.Run()
	if err != nil {
		return fmt.Errorf("demo OpenID provider: %w", err)
	}
	defer func() { _ = provider.Shutdown() }()
	// mockoidc caches its key id on first use without a lock: compute it before any request.
	if _, err := provider.Keypair.KeyID(); err != nil {
		return fmt.Errorf("demo OpenID provider: %w", err)
	}

	g, gctx := errgroup.WithContext(ctx)
	type running struct {
		dept  department
		cfg   config.Config
		store *store.Store
	}
	var instances []running
	for i, dept := range demoDepartments() {
		cfg := config.Defaults()
		cfg.Listen = *host + ":" + strconv.Itoa(*basePort+i)
		cfg.URL = "http://" + cfg.Listen
		cfg.RedisURL = *redisURL
		cfg.RedisPrefix = "demo-" + dept.name
		cfg.Title = "Watercooler · " + dept.name
		cfg.MediaDir = filepath.Join(mediaRoot, dept.name)
		cfg.Description = "The " + dept.name + " department's Watercooler."
		cfg.PeerNetworks, _ = config.ParseNetworks("127.0.0.0/8,::1/128")
		if i > 0 {
			// The others join by naming the first, as WATERCOOLER_ORG_JOIN does.
			cfg.OrgJoin = "http://" + *host + ":" + strconv.Itoa(*basePort)
		}
		cfg.OIDC = config.OIDC{Issuer: provider.Issuer(), ClientID: provider.ClientID, ClientSecret: provider.ClientSecret,
			Name: demoProviderName, GroupsClaim: "groups"}
		if err := cfg.Validate(); err != nil {
			return err
		}
		rdb, closeRedis, err := openRedis(ctx, cfg.RedisURL, nil)
		if err != nil {
			return err
		}
		defer closeRedis()
		st := store.New(rdb, cfg.RedisPrefix, cfg.Domain())
		if err := st.EnsureAccountTermsIndexed(ctx); err != nil {
			return err
		}
		if err := st.EnsureSpreadKeys(ctx); err != nil {
			return err
		}
		// Federation at warning level: the three departments deliver to each other while the
		// demo seeds them, and what they do (an activity about a post one of them never got,
		// say) would come before the banner; what goes wrong still shows.
		fedLog := slog.New(minLevel{Handler: log.Handler(), min: slog.LevelWarn}).With("department", dept.name, "part", "federation")
		fed, err := federation.New(ctx, cfg, st, fedLog, federation.Options{})
		if err != nil {
			return err
		}
		pusher, err := push.New(ctx, cfg, st, fed.Fetcher(), log.With("department", dept.name, "part", "push"), push.Options{Consumer: fed.Consumer() + "/push"})
		if err != nil {
			return err
		}
		// The demo gossips every 2 s rather than 10, so its departments agree within seconds.
		// The organization part at warning level too: until the three have gossiped once, one
		// refuses another's request for its directory (a refusal it logs as information).
		orgLog := slog.New(minLevel{Handler: log.Handler(), min: slog.LevelWarn}).With("department", dept.name, "part", "org")
		organization := org.New(cfg, st, fed, orgLog, org.Options{Period: 2 * time.Second})
		if err := organization.Start(ctx); err != nil {
			return err
		}
		communities := community.New(cfg, st, fed, log.With("department", dept.name, "part", "community"), community.Options{})
		// Request lines at debug level: the demo's terminal shows its banner and what goes
		// wrong, not each of the requests its seeding and its visitors make.
		app := server.New(cfg, st, log.With("department", dept.name), server.WithFederation(fed), server.WithPush(pusher), server.WithOrganization(organization), server.WithCommunities(communities),
			server.WithSSO(sso.New(cfg.OIDC, cfg.URL, st, server.Bcrypt{Cost: cfg.BcryptCost}, nil)), server.WithRequestLogLevel(slog.LevelDebug))
		g.Go(func() error { fed.Run(gctx); return nil })
		g.Go(func() error {
			server.RunScheduled(gctx, cfg, st, log.With("department", dept.name, "part", "scheduled"), server.WithFederation(fed), server.WithCommunities(communities))
			return nil
		})
		g.Go(func() error {
			server.RunImports(gctx, cfg, st, log.With("department", dept.name, "part", "imports"), server.WithFederation(fed))
			return nil
		})
		g.Go(func() error { pusher.Run(gctx); return nil })
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("department %s: %w", dept.name, err)
		}
		g.Go(func() error { return listenUntilDone(gctx, app, ln) })
		// Gossip only once the department answers: the first message makes the receiver fetch
		// this department's key.
		g.Go(func() error { organization.Run(gctx); return nil })
		instances = append(instances, running{dept, cfg, st})
	}
	seeded := make([]demoInstance, len(instances))
	for i, in := range instances {
		seeded[i] = demoInstance{dept: in.dept, url: in.cfg.URL, domain: in.cfg.Domain(), store: in.store}
	}
	if err := seedOrganization(ctx, seeded); err != nil {
		return fmt.Errorf("seed the demo: %w", err)
	}
	fmt.Fprintln(stdout, "Watercooler demo: three departments are running.")
	for _, in := range instances {
		fmt.Fprintf(stdout, "\n  %-12s %s\n", in.dept.name, in.cfg.URL)
		for _, p := range in.dept.people {
			fmt.Fprintf(stdout, "    sign in as %s@example.com / %s  (%s)\n", p.username, demoPassword, p.displayName)
		}
	}
	fmt.Fprintf(stdout, "\n  Or choose \"Sign in with %s\" on any department's sign-in page: the demo's one OpenID\n  provider signs you in as %s everywhere, and the first sign-in creates the account.\n",
		demoProviderName, mockoidc.DefaultUser().PreferredUsername)
	keeps := "Data lives in an embedded in-memory Redis and is gone when the demo stops (set REDIS_URL to keep it)."
	if *redisURL != "" {
		keeps = "Data is kept in the Redis at REDIS_URL, each department under its own key prefix."
	}
	fmt.Fprintf(stdout, "\nUse any Mastodon client with one of the URLs above, or open it in a browser.\n%s Press Ctrl-C to stop.\n", keeps)
	return g.Wait()
}

// demoInstance is a running department as the seeding sees it.
type demoInstance struct {
	dept   department
	url    string
	domain string
	store  *store.Store
	tokens map[string]string
}

// demoFollows are the cross-department follows: who (department/user) follows whom.
var demoFollows = [][2]string{
	{"engineering/alice", "sales/bob"}, {"engineering/alice", "support/carol"},
	{"sales/bob", "engineering/alice"}, {"sales/erin", "support/carol"},
	{"support/carol", "engineering/dave"}, {"support/frank", "engineering/alice"},
	{"support/carol", "engineering/golang"}, {"sales/erin", "engineering/golang"}, // joining communities
}

// demoCommunities are the communities of practice the demo starts with: department, name,
// display name, moderator.
var demoCommunities = [][4]string{{"engineering", "golang", "Go practitioners", "alice"}}

// seedOrganization creates everyone, makes them follow each other within their department and
// across departments (over ActivityPub), then posts, replies and boosts through the client API,
// so the demo data takes exactly the path a real client's does and travels between instances.
func seedOrganization(ctx context.Context, insts []demoInstance) error {
	byName := map[string]*demoInstance{}
	for i := range insts {
		in := &insts[i]
		byName[in.dept.name] = in
		if err := seedPeople(ctx, in); err != nil {
			return fmt.Errorf("%s: %w", in.dept.name, err)
		}
	}
	for _, c := range demoCommunities {
		in := byName[c[0]]
		_, _, err := community.Create(ctx, in.store, in.url, community.Params{Name: c[1], DisplayName: c[2], Moderators: []string{c[3]}})
		if err != nil && !errors.Is(err, community.ErrNameTaken) { // a Redis seeded before has it
			return fmt.Errorf("community %s: %w", c[1], err)
		}
	}
	client := &http.Client{Timeout: 15 * time.Second}
	call := func(in *demoInstance, method, user, path string, body, out any) error {
		return demoCall(ctx, client, method, in.url+path, in.tokens[user], body, out)
	}
	type follow struct {
		in         *demoInstance
		user, acct string
	}
	var follows []follow
	for _, in := range insts {
		for _, a := range in.dept.people {
			for _, b := range in.dept.people {
				if a.username != b.username {
					follows = append(follows, follow{byName[in.dept.name], a.username, b.username})
				}
			}
		}
	}
	for _, f := range demoFollows {
		fromDept, fromUser, _ := strings.Cut(f[0], "/")
		toDept, toUser, _ := strings.Cut(f[1], "/")
		follows = append(follows, follow{byName[fromDept], fromUser, toUser + "@" + byName[toDept].domain})
	}
	for _, f := range follows {
		var found struct {
			Accounts []struct {
				ID string `json:"id"`
			} `json:"accounts"`
		}
		if err := call(f.in, "GET", f.user, "/api/v2/search?resolve=true&type=accounts&q="+url.QueryEscape(f.acct), nil, &found); err != nil {
			return err
		}
		if len(found.Accounts) == 0 {
			return fmt.Errorf("%s cannot find %s", f.user, f.acct)
		}
		id := found.Accounts[0].ID
		if err := call(f.in, "POST", f.user, "/api/v1/accounts/"+id+"/follow", nil, nil); err != nil {
			return err
		}
		// Wait for the Accept, so the posts below reach the new follower.
		if err := waitFor(ctx, 10*time.Second, func() bool {
			var rels []struct {
				Following bool `json:"following"`
			}
			return call(f.in, "GET", f.user, "/api/v1/accounts/relationships?id[]="+id, nil, &rels) == nil && len(rels) == 1 && rels[0].Following
		}); err != nil {
			return fmt.Errorf("%s following %s: %w", f.user, f.acct, err)
		}
	}
	posted := map[string][]string{} // department → status URIs in post order
	for _, in := range insts {
		inst := byName[in.dept.name]
		var ids []string
		for _, p := range in.dept.posts {
			body := map[string]any{"status": p.text, "visibility": "public"}
			if p.replyTo > 0 {
				body["in_reply_to_id"] = ids[p.replyTo-1]
			}
			var created struct {
				ID  string `json:"id"`
				URI string `json:"uri"`
			}
			if err := call(inst, "POST", p.author, "/api/v1/statuses", body, &created); err != nil {
				return err
			}
			ids = append(ids, created.ID)
			posted[in.dept.name] = append(posted[in.dept.name], created.URI)
		}
		// The second person favourites and boosts the first post, so notifications show something.
		other := in.dept.people[1].username
		if err := call(inst, "POST", other, "/api/v1/statuses/"+ids[0]+"/favourite", nil, nil); err != nil {
			return err
		}
		if err := call(inst, "POST", other, "/api/v1/statuses/"+ids[0]+"/reblog", nil, nil); err != nil {
			return err
		}
	}
	// Across departments: bob (sales) replies to alice's welcome and boosts dave's tip; carol
	// (support) favourites bob's question.
	cross := []struct {
		in            *demoInstance
		user, uri     string
		reply, action string
	}{
		{byName["sales"], "bob", posted["engineering"][0], "@alice@" + byName["engineering"].domain + " glad this exists. Sales will share customer questions here.", ""},
		{byName["sales"], "bob", posted["engineering"][1], "", "reblog"},
		{byName["support"], "carol", posted["sales"][0], "", "favourite"},
	}
	for _, c := range cross {
		var found struct {
			Statuses []struct {
				ID string `json:"id"`
			} `json:"statuses"`
		}
		if err := call(c.in, "GET", c.user, "/api/v2/search?resolve=true&type=statuses&q="+url.QueryEscape(c.uri), nil, &found); err != nil {
			return err
		}
		if len(found.Statuses) == 0 {
			return fmt.Errorf("%s cannot find %s", c.user, c.uri)
		}
		id := found.Statuses[0].ID
		if c.reply != "" {
			if err := call(c.in, "POST", c.user, "/api/v1/statuses", map[string]any{"status": c.reply, "in_reply_to_id": id, "visibility": "public"}, nil); err != nil {
				return err
			}
			continue
		}
		if err := call(c.in, "POST", c.user, "/api/v1/statuses/"+id+"/"+c.action, nil, nil); err != nil {
			return err
		}
	}
	// bob (sales) shares a tip with the Go community of engineering: carol and erin, members,
	// get it in home through the group's boost.
	tip := "@golang@" + byName["engineering"].domain + " customers love tools with a --json flag; worth adding to ours. #golang"
	return call(byName["sales"], "POST", "bob", "/api/v1/statuses", map[string]any{"status": tip, "visibility": "public"}, nil)
}

// seedPeople creates a department's people (or finds them in a Redis seeded before) and mints
// their tokens.
func seedPeople(ctx context.Context, in *demoInstance) error {
	in.tokens = map[string]string{}
	for _, p := range in.dept.people {
		acct, err := signup.Create(ctx, in.store, server.Bcrypt{Cost: 10}, in.url, signup.Params{
			Username: p.username, Email: p.username + "@example.com", Password: demoPassword, DisplayName: p.displayName})
		switch {
		case errors.Is(err, store.ErrConflict):
			if acct, err = in.store.AccountByAcct(ctx, p.username); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			acct.NoteSource, acct.Note = p.note, "<p>"+p.note+"</p>"
			if err := in.store.UpdateAccount(ctx, acct); err != nil {
				return err
			}
		}
		tok, _, err := in.store.CreateToken(ctx, "", acct.ID, []string{"read", "write", "follow"})
		if err != nil {
			return err
		}
		in.tokens[p.username] = tok
	}
	return nil
}

// waitFor polls cond until it holds or the time is up.
func waitFor(ctx context.Context, within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func demoCall(ctx context.Context, client *http.Client, method, url, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// minLevel passes on the records of Handler at min or above.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}

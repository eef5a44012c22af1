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
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"watercooler/config"
	"watercooler/federation"
	"watercooler/server"
	"watercooler/signup"
	"watercooler/store"
)

// demoPassword signs in every demo user; the demo runs on loopback only.
const demoPassword = "watercooler-demo"

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
		cfg.PeerNetworks, _ = config.ParseNetworks("127.0.0.0/8,::1/128")
		if err := cfg.Validate(); err != nil {
			return err
		}
		rdb, closeRedis, err := openRedis(ctx, cfg.RedisURL, log)
		if err != nil {
			return err
		}
		defer closeRedis()
		st := store.New(rdb, cfg.RedisPrefix, cfg.Domain())
		fed, err := federation.New(ctx, cfg, st, log.With("department", dept.name, "part", "federation"), federation.Options{})
		if err != nil {
			return err
		}
		app := server.New(cfg, st, log.With("department", dept.name), server.WithFederation(fed))
		g.Go(func() error { fed.Run(gctx); return nil })
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("department %s: %w", dept.name, err)
		}
		g.Go(func() error { return listenUntilDone(gctx, app, ln) })
		instances = append(instances, running{dept, cfg, st})
	}
	for _, in := range instances {
		if err := seedDepartment(ctx, in.cfg, in.store, in.dept); err != nil {
			return fmt.Errorf("seed %s: %w", in.dept.name, err)
		}
	}
	fmt.Fprintln(stdout, "Watercooler demo: three departments are running.")
	for _, in := range instances {
		fmt.Fprintf(stdout, "\n  %-12s %s\n", in.dept.name, in.cfg.URL)
		for _, p := range in.dept.people {
			fmt.Fprintf(stdout, "    sign in as %s@example.com / %s  (%s)\n", p.username, demoPassword, p.displayName)
		}
	}
	fmt.Fprintf(stdout, "\nUse any Mastodon client with one of the URLs above, or open it in a browser.\nData lives in memory unless REDIS_URL is set. Press Ctrl-C to stop.\n")
	return g.Wait()
}

// seedDepartment creates the department's people and posts through the client API, so the demo
// data takes exactly the path a real client's does.
func seedDepartment(ctx context.Context, cfg config.Config, st *store.Store, dept department) error {
	tokens := map[string]string{}
	for _, p := range dept.people {
		acct, err := signup.Create(ctx, st, server.Bcrypt{Cost: 10}, cfg.URL, signup.Params{
			Username: p.username, Email: p.username + "@example.com", Password: demoPassword, DisplayName: p.displayName})
		if errors.Is(err, store.ErrConflict) {
			acct, err = st.AccountByAcct(ctx, p.username) // already seeded in a shared Redis
			if err == nil {
				tok, _, terr := st.CreateToken(ctx, "", acct.ID, []string{"read", "write", "follow"})
				tokens[p.username], err = tok, terr
			}
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		tok, _, err := st.CreateToken(ctx, "", acct.ID, []string{"read", "write", "follow"})
		if err != nil {
			return err
		}
		tokens[p.username] = tok
		acct.NoteSource, acct.Note = p.note, "<p>"+p.note+"</p>"
		if err := st.UpdateAccount(ctx, acct); err != nil {
			return err
		}
	}
	if len(tokens) < len(dept.people) || len(dept.people) < 2 {
		return nil
	}
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, user, path string, body any, out any) error {
		return demoCall(ctx, client, method, cfg.URL+path, tokens[user], body, out)
	}
	// Everyone in a department follows everyone else there.
	for _, a := range dept.people {
		for _, b := range dept.people {
			if a.username == b.username {
				continue
			}
			target, err := st.AccountByAcct(ctx, b.username)
			if err != nil {
				return err
			}
			if err := call("POST", a.username, "/api/v1/accounts/"+target.ID+"/follow", nil, nil); err != nil {
				return err
			}
		}
	}
	var postIDs []string
	for _, p := range dept.posts {
		body := map[string]any{"status": p.text, "visibility": "public"}
		if p.replyTo > 0 {
			body["in_reply_to_id"] = postIDs[p.replyTo-1]
		}
		var created struct {
			ID string `json:"id"`
		}
		if err := call("POST", p.author, "/api/v1/statuses", body, &created); err != nil {
			return err
		}
		postIDs = append(postIDs, created.ID)
	}
	// The second person favourites and boosts the first post, so notifications show something.
	other := dept.people[1].username
	if err := call("POST", other, "/api/v1/statuses/"+postIDs[0]+"/favourite", nil, nil); err != nil {
		return err
	}
	return call("POST", other, "/api/v1/statuses/"+postIDs[0]+"/reblog", nil, nil)
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

// Command benchfloor is scripts/bench's helper: "benchfloor hello ADDR" serves the floor every
// figure is compared with, a Fiber app answering a small JSON; "benchfloor seed BASE_URL
// PASSWORD USER..." fills an instance through its client API and prints what the benchmark
// requests need as shell assignments.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: benchfloor hello ADDR | benchfloor seed BASE_URL PASSWORD VIEWER AUTHOR... | benchfloor post BASE_URL PASSWORD USER COUNT")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "hello":
		err = hello(os.Args[2])
	case "seed":
		err = seed(os.Args[2], os.Args[3], os.Args[4], os.Args[5:])
	case "post":
		var n int
		if n, err = strconv.Atoi(os.Args[5]); err == nil {
			var c *client
			if c, err = login(os.Args[2], os.Args[4], os.Args[3]); err == nil {
				err = c.postMany(n, 16)
			}
		}
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchfloor:", err)
		os.Exit(1)
	}
}

// hello is the floor: the cheapest Fiber handler with a JSON answer.
func hello(addr string) error {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/hello", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"hello": "world", "ok": true})
	})
	return app.Listen(addr)
}

// client calls one instance's client API as one user.
type client struct {
	base, token string
}

func (c *client) call(method, path string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// login registers an app and signs username in with the password grant.
func login(base, username, password string) (*client, error) {
	anon := &client{base: base}
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := anon.call("POST", "/api/v1/apps", url.Values{"client_name": {"bench"}, "redirect_uris": {"urn:ietf:wg:oauth:2.0:oob"}, "scopes": {"read write follow"}}, &app); err != nil {
		return nil, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err := anon.call("POST", "/oauth/token", url.Values{
		"grant_type": {"password"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
		"username": {username + "@bench.example"}, "password": {password}, "scope": {"read write follow"},
	}, &tok)
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", username, err)
	}
	return &client{base: base, token: tok.AccessToken}, nil
}

// postMany posts n public statuses with a hashtag and a link, from workers at once.
func (c *client) postMany(n, workers int) error {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				text := fmt.Sprintf("Status %d of the benchmark, about the #benchmark, see https://example.com/posts/%d", i, i)
				if err := c.call("POST", "/api/v1/statuses", url.Values{"status": {text}}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
	for i := range n {
		select {
		case next <- i:
			continue
		case err = <-errs:
		}
		break
	}
	close(next)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	return err
}

// seed makes viewer follow every author, has each author post 40 statuses, and prints the
// viewer's token, one of the statuses and one author's account.
func seed(base, password, viewer string, authors []string) error {
	v, err := login(base, viewer, password)
	if err != nil {
		return err
	}
	var statusID, accountID string
	for _, name := range authors {
		a, err := login(base, name, password)
		if err != nil {
			return err
		}
		var acct struct {
			ID string `json:"id"`
		}
		if err := v.call("GET", "/api/v1/accounts/lookup?acct="+name, nil, &acct); err != nil {
			return err
		}
		if err := v.call("POST", "/api/v1/accounts/"+acct.ID+"/follow", url.Values{}, nil); err != nil {
			return err
		}
		if err := a.postMany(40, 4); err != nil {
			return err
		}
		accountID = acct.ID
	}
	var home []struct {
		ID string `json:"id"`
	}
	if err := v.call("GET", "/api/v1/timelines/home?limit=20", nil, &home); err != nil {
		return err
	}
	if len(home) < 20 {
		return fmt.Errorf("home has %d statuses, want 20", len(home))
	}
	statusID = home[0].ID
	fmt.Printf("TOKEN=%s\nSTATUS_ID=%s\nACCOUNT_ID=%s\n", v.token, statusID, accountID)
	return nil
}

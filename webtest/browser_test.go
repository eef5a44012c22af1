// Package webtest_test drives the instance's own web client in a real headless Chromium
// against two real federating instances.
package webtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"watercooler/testrig"
)

const (
	// chromiumPath is Debian's chromium package; scripts/test installs it.
	chromiumPath = "/usr/bin/chromium"
	// requiredEnv, set to "required" by scripts/test, turns a missing browser into a failure.
	requiredEnv = "WATERCOOLER_BROWSER_TESTS"
	// waitFor bounds every wait on the page or across instances.
	waitFor = 30 * time.Second
)

// browser is one headless Chromium tab plus what the test watches it do.
type browser struct {
	t      *testing.T
	ctx    context.Context
	shots  string
	origin []string // URL prefixes the page may load from

	shotN int

	mu       sync.Mutex
	requests []string
	problems []string
	wsFrames []string
}

func startBrowser(t *testing.T, origins ...string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv(requiredEnv) == "required" {
			t.Fatalf("%s is missing but %s=required: install it with: apt-get install chromium", chromiumPath, requiredEnv)
		}
		t.Skipf("%s not found: install Debian's chromium (apt-get install chromium) or run scripts/test, which installs it", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t, origin: origins, shots: artifactsDir(t)}
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(b.observe))
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	b.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// observe records the page's requests, WebSocket frames, exceptions and console errors. It
// runs in chromedp's read loop, so it only appends under the lock.
func (b *browser) observe(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	case *network.EventWebSocketCreated:
		b.requests = append(b.requests, ev.URL)
	case *network.EventWebSocketFrameReceived:
		b.wsFrames = append(b.wsFrames, string(ev.Response.PayloadData))
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text+" "+exceptionText(ev.ExceptionDetails))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			b.problems = append(b.problems, "console "+string(ev.Entry.Source)+": "+ev.Entry.Text+" "+ev.Entry.URL)
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			b.problems = append(b.problems, "console.error called")
		}
	}
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return ""
}

func artifactsDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	out := filepath.Join(dir, "test-artifacts", "webclient")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(out, "*.png"))
	for _, f := range old {
		os.Remove(f) // screenshots of an earlier run would mislead
	}
	return out
}

// do runs actions or fails the test with what it was doing.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.shot("failed-" + slug(what))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](b *browser, what, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS polls a JavaScript predicate in the page until it is truthy. A navigation while it
// polls (a form post, a redirect) restarts the poll in the new document.
func (b *browser) waitJS(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](js,
			chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(50*time.Millisecond)))
		if err == nil {
			return
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil || !navigatedAway(err) {
			b.shot("failed-" + slug(what))
			b.t.Fatalf("%s: not true within %s: %v", what, waitFor, err)
		}
		time.Sleep(50 * time.Millisecond) // let the next document attach
	}
}

// navigatedAway tells errors of a document that went away mid-poll from real failures.
func navigatedAway(err error) bool {
	msg := err.Error()
	for _, s := range []string{"navigated or closed", "Not attached", "context was destroyed", "Cannot find context"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// shot saves a full-page screenshot under test-artifacts/webclient.
func (b *browser) shot(name string) {
	b.t.Helper()
	img, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.shotN++
	path := filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.shotN, name))
	if err := os.WriteFile(path, img, 0o644); err != nil {
		b.t.Fatalf("save screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s", path)
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// noOverflow checks that nothing makes the page scroll sideways.
func (b *browser) noOverflow(where string) {
	b.t.Helper()
	got := eval[[]int](b, "measure width", `[document.documentElement.scrollWidth, window.innerWidth]`)
	if got[0] > got[1] {
		b.shot("overflow-" + slug(where))
		b.t.Fatalf("%s: page is %dpx wide in a %dpx viewport (horizontal overflow)", where, got[0], got[1])
	}
}

// accessibilityProblems lists unlabelled form controls, unnamed buttons and links, and
// status images without alt attributes on the current page.
const accessibilityProblems = `(() => {
  const out = [];
  const named = (el) => (el.getAttribute("aria-label") || "").trim() ||
    (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean).map((id) => document.getElementById(id)?.textContent || "").join("").trim();
  for (const el of document.querySelectorAll("input, textarea, select")) {
    if (el.type === "hidden") continue;
    const label = [...(el.labels || [])].map((l) => l.textContent).join("").trim() || named(el) || (el.title || "").trim();
    if (!label) out.push("unlabelled " + el.tagName.toLowerCase() + "#" + el.id);
  }
  for (const el of document.querySelectorAll("button, a[href]")) {
    if (!el.getClientRects().length) continue; // not rendered, so not reachable
    if (!el.textContent.trim() && !named(el) && !el.querySelector("img[alt]:not([alt=''])") && el.getAttribute("aria-hidden") !== "true") out.push("unnamed " + el.outerHTML.slice(0, 80));
  }
  for (const img of document.querySelectorAll("article img, .status img")) {
    if (!img.hasAttribute("alt")) out.push("image without alt: " + img.src);
  }
  for (const tag of ["header", "nav", "main"]) if (!document.querySelector(tag)) out.push("no <" + tag + "> landmark");
  if (document.querySelectorAll("main").length !== 1) out.push("not exactly one <main>");
  if (!document.querySelector("main h1")) out.push("no h1 in main");
  if (!document.documentElement.lang) out.push("no lang on <html>");
  return out;
})()`

func (b *browser) checkAccessibility(where string) {
	b.t.Helper()
	if problems := eval[[]string](b, "accessibility check", accessibilityProblems); len(problems) > 0 {
		b.t.Errorf("accessibility problems on %s:\n  %s", where, strings.Join(problems, "\n  "))
	}
}

// checkTraffic fails when the page talked to anything but the two instances.
func (b *browser) checkTraffic() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, u := range b.requests {
		if strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "blob:") {
			continue
		}
		ok := false
		for _, o := range b.origin {
			if strings.HasPrefix(u, o) {
				ok = true
			}
		}
		if !ok {
			b.t.Errorf("the page requested %s, which is neither instance", u)
		}
	}
}

func (b *browser) checkNoProblems() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		if strings.Contains(p, "Content Security Policy") || strings.HasPrefix(p, "exception") || strings.Contains(p, "console.error") {
			b.t.Errorf("page problem: %s", p)
		} else {
			b.t.Logf("page console: %s", p)
		}
	}
}

func (b *browser) sawFrameWith(text string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.wsFrames {
		if strings.Contains(f, text) {
			return true
		}
	}
	return false
}

// apiCall is a client API request with a user's token.
func apiCall(t *testing.T, method, u, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode < 300 {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, u, err)
		}
	}
	return res.StatusCode
}

// waitStreaming waits until the instance's streaming API answers its health check.
func waitStreaming(t *testing.T, inst *testrig.Instance) {
	t.Helper()
	testrig.Eventually(t, waitFor, "streaming API health at "+inst.URL, func() bool {
		res, err := http.Get(inst.URL + "/api/v1/streaming/health")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// testPNG writes a small picture to upload.
func testPNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 160, 90))
	for y := 0; y < 90; y++ {
		for x := 0; x < 160; x++ {
			c := color.RGBA{0x1f, 0x4f, 0xa8, 0xff}
			if x/20 < (y/10)+2 && x%20 < 14 && y > 20 {
				c = color.RGBA{0xf5, 0x9e, 0x0b, 0xff}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "deploys-per-week.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type notification struct {
	Type    string `json:"type"`
	Account struct {
		Acct string `json:"acct"`
	} `json:"account"`
}

// TestWebClient signs in through the real OAuth page, posts with an image, follows someone
// in another department, sees their post arrive live, boosts it, and then uses the client at
// phone width, checking accessibility basics and that the page talks to nobody else.
// signIn signs in through inst's own OAuth page with a password, as a person would, and waits
// for the home timeline.
func (b *browser) signIn(inst *testrig.Instance, email, password string) {
	b.t.Helper()
	b.do("open the client",
		chromedp.Navigate(inst.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#account-box [data-sign-in]")))
	b.shot("signed-out")
	b.do("start sign-in", chromedp.Click(chromedp.CSS("#account-box [data-sign-in]")))
	b.do("fill the OAuth form",
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password))
	b.shot("oauth-page")
	if got := eval[string](b, "oauth url", `location.pathname + "|" + new URLSearchParams(location.search).get("code_challenge_method")`); got != "/oauth/authorize|S256" {
		b.t.Fatalf("sign-in page = %q, want /oauth/authorize with code_challenge_method=S256", got)
	}
	b.do("approve", chromedp.Click(chromedp.CSS(`button[name="decision"][value="approve"]`)))
	b.waitJS("home timeline after sign-in", `location.pathname === "/web/home" && document.querySelector("main h1")?.textContent === "Home" && !!document.querySelector("#compose-text")`)
}

func TestWebClient(t *testing.T) {
	eng, sales := testrig.StartInstance(t), testrig.StartInstance(t)
	alice := eng.CreateUser(t, "alice")
	bob := sales.CreateUser(t, "bob")
	bobAcct := "bob@" + sales.Config.Domain()
	aliceAcct := "alice@" + eng.Config.Domain()
	waitStreaming(t, eng)

	u, _ := url.Parse(eng.URL)
	b := startBrowser(t, eng.URL+"/", sales.URL+"/", "ws://"+u.Host+"/api/v1/streaming")

	b.signIn(eng, "alice@example.com", alice.Password)
	if got := eval[string](b, "signed-in account", `document.querySelector("#account-box .acct")?.textContent.trim()`); got != "@alice" {
		t.Fatalf("account box shows %q, want @alice", got)
	}
	b.shot("signed-in")

	// Post with an image and alt text.
	const postText = "Release notes for the 2.3 rollout are out #eng"
	const altText = "Bar chart of deploys per week, rising steadily"
	b.do("write a post",
		chromedp.SendKeys(chromedp.CSS("#compose-text"), postText),
		chromedp.SetUploadFiles(chromedp.CSS("#compose-media-input"), []string{testPNG(t)}),
		chromedp.WaitVisible(chromedp.CSS(".compose-media-item .alt-input")),
		chromedp.SendKeys(chromedp.CSS(".compose-media-item .alt-input"), altText))
	b.shot("composing")
	b.do("publish", chromedp.Click(chromedp.CSS(".compose-submit button[type=submit]")))
	b.waitJS("own post with its image in the home timeline", `[...document.querySelectorAll("#main article.status")].some((a) => {
		const img = a.querySelector(".media img");
		return a.textContent.includes(`+js(postText)+`) && img && img.alt === `+js(altText)+` && img.complete && img.naturalWidth > 0;
	})`)
	if v := eval[string](b, "composer cleared", `document.querySelector("#compose-text").value + document.querySelectorAll(".compose-media-item").length`); v != "0" {
		t.Errorf("composer after posting = %q, want empty with no attachments", v)
	}
	b.shot("posted-with-image")
	b.checkAccessibility("the home timeline")

	// Find bob in the other department by user@host and follow him.
	b.do("search for bob",
		chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/search"]`)),
		chromedp.WaitVisible(chromedp.CSS("#search-q")),
		chromedp.SendKeys(chromedp.CSS("#search-q"), bobAcct),
		chromedp.Click(chromedp.CSS(".search-form button[type=submit]")))
	row := `.account-row[data-acct=` + js(bobAcct) + `]`
	b.waitJS("bob in the search results", `!!document.querySelector(`+js(row+" .follow-button")+`)`)
	b.shot("search-remote-user")
	b.checkAccessibility("the search results")
	b.do("follow bob", chromedp.Click(chromedp.CSS(row+" .follow-button")))
	b.waitJS("the follow accepted", `document.querySelector(`+js(row+" .follow-button")+`)?.dataset.state === "following"`)
	b.shot("following")

	// Bob posts on his instance; it appears in alice's open home timeline without a reload.
	b.do("go home", chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/home"]`)))
	b.waitJS("home timeline loaded", `document.querySelector("main h1")?.textContent === "Home" && document.querySelector("main .feed")?.getAttribute("aria-busy") === "false"`)
	eval[bool](b, "mark the page", `window.__sameDocument = true`)
	const bobText = "Quarterly pipeline numbers are in #sales"
	var posted struct{ ID string }
	if code := apiCall(t, "POST", sales.API("/api/v1/statuses"), bob.Token, map[string]any{"status": bobText, "visibility": "public"}, &posted); code != http.StatusOK {
		t.Fatalf("bob's post: status %d", code)
	}
	b.waitJS("bob's post arriving live", `[...document.querySelectorAll("#main article.status")].some((a) => a.textContent.includes(`+js(bobText)+`))`)
	if !eval[bool](b, "no reload", `window.__sameDocument === true`) {
		t.Fatal("the page reloaded: bob's post did not arrive live")
	}
	if !b.sawFrameWith("Quarterly pipeline numbers") {
		t.Error("bob's post did not come over the streaming WebSocket")
	}
	b.shot("live-remote-post")

	// Boost it from the browser.
	card := `#main article.status[data-status-id="` + eval[string](b, "bob's card", `[...document.querySelectorAll("#main article.status")].find((a) => a.textContent.includes(`+js(bobText)+`)).dataset.statusId`) + `"]`
	if got := eval[string](b, "boost before", `document.querySelector(`+js(card+" .actions .boost")+`).getAttribute("aria-pressed") + "/" + document.querySelector(`+js(card+" .actions .boost .count")+`).textContent`); got != "false/0" {
		t.Fatalf("boost button before = %s, want false/0", got)
	}
	b.do("boost", chromedp.Click(chromedp.CSS(card+" .actions .boost")))
	b.waitJS("boost state and count", `[...document.querySelectorAll(`+js(card+" .actions .boost")+`)].every((btn) => btn.getAttribute("aria-pressed") === "true" && btn.querySelector(".count").textContent === "1")`)
	b.shot("boosted")
	testrig.Eventually(t, waitFor, "bob notified of alice's boost", func() bool {
		var ns []notification
		apiCall(t, "GET", sales.API("/api/v1/notifications"), bob.Token, nil, &ns)
		for _, n := range ns {
			if n.Type == "reblog" && n.Account.Acct == aliceAcct {
				return true
			}
		}
		return false
	})

	// Bob mentions alice: the unread badge counts it live, and the notification is listed.
	const mentionText = "thanks for the release notes"
	if code := apiCall(t, "POST", sales.API("/api/v1/statuses"), bob.Token, map[string]any{"status": "@" + aliceAcct + " " + mentionText, "visibility": "public"}, nil); code != http.StatusOK {
		t.Fatalf("bob's mention: status %d", code)
	}
	b.waitJS("the unread badge", `document.querySelector("#unread-badge:not([hidden])")?.firstChild.textContent === "1"`)
	b.shot("notification-badge")
	b.do("open notifications", chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/notifications"]`)))
	b.waitJS("the mention listed", `[...document.querySelectorAll("#main article.notification-mention")].some((n) => n.textContent.includes(`+js(mentionText)+`)) && document.querySelector("#unread-badge").hidden`)
	b.checkAccessibility("the notifications")

	// Reply to it from the notification; the reply reaches bob's instance as a mention.
	b.do("reply", chromedp.Click(chromedp.CSS("#main article.notification-mention .actions .reply")))
	if got := eval[string](b, "reply draft", `document.querySelector("#compose-heading").textContent + "|" + document.querySelector("#compose-text").value`); got != "Reply|@"+bobAcct+" " {
		t.Fatalf("composer after Reply = %q, want the Reply heading and @%s prefilled", got, bobAcct)
	}
	b.do("write the reply", chromedp.SendKeys(chromedp.CSS("#compose-text"), "glad they help"))
	b.shot("notifications-and-reply")
	b.do("send the reply", chromedp.Click(chromedp.CSS(".compose-submit button[type=submit]")))
	b.waitJS("composer reset after the reply", `document.querySelector("#compose-heading").textContent === "New post" && document.querySelector("#compose-text").value === ""`)
	testrig.Eventually(t, waitFor, "bob notified of alice's reply", func() bool {
		var ns []notification
		apiCall(t, "GET", sales.API("/api/v1/notifications"), bob.Token, nil, &ns)
		for _, n := range ns {
			if n.Type == "mention" && n.Account.Acct == aliceAcct {
				return true
			}
		}
		return false
	})

	// Bob's profile through the name link: following, with his posts.
	b.do("open bob's profile", chromedp.Click(chromedp.CSS(`#main article.notification-mention .status-head a.name`)))
	b.waitJS("bob's profile", `document.querySelector("#profile-name")?.textContent === "bob" && document.querySelector(".profile .follow-button")?.dataset.state === "following" && [...document.querySelectorAll("#main article.status")].some((a) => a.textContent.includes(`+js(bobText)+`))`)
	b.shot("remote-profile")
	b.checkAccessibility("a remote profile")

	// The hashtag inside bob's post opens the tag timeline.
	b.do("open #sales", chromedp.Click(chromedp.CSS(`#main article.status a.hashtag`)))
	b.waitJS("the #sales timeline", `document.querySelector("main h1")?.textContent === "#sales" && location.pathname === "/tags/sales" && [...document.querySelectorAll("#main article.status")].some((a) => a.textContent.includes(`+js(bobText)+`))`)
	b.shot("hashtag-timeline")

	// Bookmark bob's post and find it under Bookmarks.
	b.do("bookmark", chromedp.Click(chromedp.CSS(`#main article.status .actions .bookmark`)))
	b.waitJS("bookmarked", `document.querySelector("#main article.status .actions .bookmark").getAttribute("aria-pressed") === "true"`)
	b.do("open bookmarks", chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/bookmarks"]`)))
	b.waitJS("the bookmark listed", `document.querySelector("main h1")?.textContent === "Bookmarks" && [...document.querySelectorAll("#main article.status")].some((a) => a.textContent.includes(`+js(bobText)+`))`)

	// A list with bob in it.
	b.do("create a list",
		chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/lists"]`)),
		chromedp.WaitVisible(chromedp.CSS("#list-title")),
		chromedp.SendKeys(chromedp.CSS("#list-title"), "Sales team"),
		chromedp.Click(chromedp.CSS(".inline-form button[type=submit]")))
	b.waitJS("the new list", `[...document.querySelectorAll(".lists a")].some((a) => a.textContent === "Sales team")`)
	b.checkAccessibility("the lists")
	b.do("open the list", chromedp.Click(chromedp.CSS(`.lists li a`)))
	b.do("add bob",
		chromedp.WaitVisible(chromedp.CSS(".list-members summary")),
		chromedp.Click(chromedp.CSS(".list-members summary")),
		chromedp.SendKeys(chromedp.CSS("#list-add-q"), "bob"),
		chromedp.Click(chromedp.CSS(".list-members .inline-form button[type=submit]")))
	b.waitJS("bob found", `!!document.querySelector(".list-members .found .account-row button")`)
	b.do("add him", chromedp.Click(chromedp.CSS(".list-members .found .account-row button")))
	b.waitJS("bob is a member", `[...document.querySelectorAll(".list-members .members .account-row")].some((r) => r.dataset.acct === `+js(bobAcct)+`)`)
	b.shot("list-with-member")

	// Bob edits his post, then deletes it: alice's open home timeline follows both live.
	b.do("go home again", chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/home"]`)))
	b.waitJS("home loaded again", `document.querySelector("main h1")?.textContent === "Home" && document.querySelector("main .feed")?.getAttribute("aria-busy") === "false"`)
	// Mastodon's feed rule: alice's boost of a post already near the top of her home is not shown again.
	if n := eval[int](b, "copies of bob's post", `[...document.querySelectorAll("#main article.status")].filter((a) => a.textContent.includes(`+js(bobText)+`)).length`); n != 1 {
		t.Errorf("home shows bob's post %d times after alice boosted it, want once", n)
	}
	eval[bool](b, "mark the page", `window.__sameDocument = true`)
	const editedText = "Quarterly pipeline numbers are in, now with Q3 #sales"
	if code := apiCall(t, "PUT", sales.API("/api/v1/statuses/%s", posted.ID), bob.Token, map[string]any{"status": editedText}, nil); code != http.StatusOK {
		t.Fatalf("bob's edit: status %d", code)
	}
	b.waitJS("the edit arriving live", `(() => { const cards = [...document.querySelectorAll("#main article.status")]; return cards.some((a) => a.textContent.includes("now with Q3")) && !cards.some((a) => a.textContent.includes(`+js(bobText)+`)) })()`)
	b.shot("live-edit")
	if code := apiCall(t, "DELETE", sales.API("/api/v1/statuses/%s", posted.ID), bob.Token, nil, nil); code != http.StatusOK {
		t.Fatalf("bob's delete: status %d", code)
	}
	b.waitJS("the delete arriving live", `![...document.querySelectorAll("#main article.status")].some((a) => a.textContent.includes("now with Q3"))`)
	if !eval[bool](b, "no reload", `window.__sameDocument === true`) {
		t.Fatal("the page reloaded: the edit and delete did not arrive live")
	}
	b.shot("live-delete")

	// Phone width: one column, nothing sideways, compose and menu usable.
	b.do("phone viewport",
		chromedp.EmulateViewport(375, 667, chromedp.EmulateMobile),
		chromedp.Navigate(eng.URL+"/web/home"))
	b.waitJS("home at phone width", `document.querySelector("main h1")?.textContent === "Home" && document.querySelectorAll("#main article.status").length >= 2`)
	b.noOverflow("the phone home timeline")
	if got := eval[string](b, "phone chrome", `[getComputedStyle(document.querySelector("#side-nav")).display, getComputedStyle(document.querySelector("#compose")).display, getComputedStyle(document.querySelector("#compose-toggle")).display].join(",")`); !strings.HasPrefix(got, "none,none,") || strings.HasSuffix(got, ",none") {
		t.Errorf("at phone width nav,compose,compose-toggle display = %s, want nav and compose collapsed and the toggle shown", got)
	}
	b.shot("phone-home")
	b.do("open the composer", chromedp.Click(chromedp.CSS("#compose-toggle")), chromedp.WaitVisible(chromedp.CSS("#compose-text")))
	b.noOverflow("the phone composer")
	b.checkAccessibility("the phone composer")
	const phoneText = "Posting from my phone between meetings"
	b.do("post from the phone", chromedp.SendKeys(chromedp.CSS("#compose-text"), phoneText))
	b.shot("phone-compose")
	b.do("publish from the phone", chromedp.Click(chromedp.CSS(".compose-submit button[type=submit]")))
	b.waitJS("phone post in the timeline", `[...document.querySelectorAll("#main article.status")].some((a) => a.textContent.includes(`+js(phoneText)+`) && a.getBoundingClientRect().width > 300)`)
	b.noOverflow("the phone timeline after posting")
	b.shot("phone-posted")
	b.do("open the menu", chromedp.Click(chromedp.CSS("#menu-toggle")), chromedp.WaitVisible(chromedp.CSS(`#side-nav a[href="/web/notifications"]`)))
	b.noOverflow("the phone menu")
	b.shot("phone-menu")
	// Deep links the federation hands out: status URLs (/@user/<id>) and profile URLs.
	ownID := eval[string](b, "own post id", `[...document.querySelectorAll("#main article.status")].find((a) => a.textContent.includes(`+js(postText)+`)).dataset.statusId`)
	b.do("open a status URL", chromedp.Navigate(eng.URL+"/@alice/"+ownID))
	b.waitJS("thread view", `document.querySelector("#main article.status.focused")?.dataset.statusId === `+js(ownID)+` && !!document.querySelector("#main article.status.focused .media img")`)
	b.noOverflow("the phone thread view")
	b.shot("phone-thread")
	b.do("open a remote profile URL", chromedp.Navigate(eng.URL+"/@"+bobAcct))
	b.waitJS("bob's profile by acct", `document.querySelector("#profile-name")?.textContent === "bob" && document.querySelector(".profile .acct")?.textContent === `+js("@"+bobAcct))
	b.noOverflow("the phone profile")

	// The narrowest phones and tablets keep to the viewport too.
	for _, size := range [][2]int64{{360, 740}, {1000, 800}} {
		b.do(fmt.Sprintf("%dpx viewport", size[0]),
			chromedp.EmulateViewport(size[0], size[1], chromedp.EmulateMobile),
			chromedp.Navigate(eng.URL+"/web/home"))
		b.waitJS(fmt.Sprintf("home at %dpx", size[0]), `document.querySelector("main h1")?.textContent === "Home" && document.querySelectorAll("#main article.status").length >= 2`)
		b.noOverflow(fmt.Sprintf("the home timeline at %dpx", size[0]))
		b.shot(fmt.Sprintf("home-%dpx", size[0]))
	}

	// Signing out revokes the token.
	token := eval[string](b, "token", `localStorage.getItem("wc.token") || ""`)
	if token == "" {
		t.Fatal("no token in localStorage while signed in")
	}
	b.do("sign out", chromedp.Click(chromedp.CSS("#sign-out")))
	b.waitJS("signed out", `!localStorage.getItem("wc.token") && !!document.querySelector("#account-box [data-sign-in]")`)
	testrig.Eventually(t, waitFor, "the signed-out token is revoked", func() bool {
		return apiCall(t, "GET", eng.API("/api/v1/accounts/verify_credentials"), token, nil, nil) == http.StatusUnauthorized
	})
	b.shot("signed-out-again")

	// Signing in again reuses the registered app and gets a new token.
	appBefore := eval[string](b, "registered app", `JSON.parse(localStorage.getItem("wc.app")).client_id`)
	b.do("sign in again",
		chromedp.Click(chromedp.CSS("#account-box [data-sign-in]")),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), alice.Password),
		chromedp.Click(chromedp.CSS(`button[name="decision"][value="approve"]`)))
	b.waitJS("home after signing in again", `location.pathname === "/web/home" && document.querySelector("main h1")?.textContent === "Home" && document.querySelectorAll("#main article.status").length >= 2`)
	if appAfter := eval[string](b, "registered app", `JSON.parse(localStorage.getItem("wc.app")).client_id`); appAfter != appBefore {
		t.Errorf("signing in again registered a new app (%s, was %s)", appAfter, appBefore)
	}
	if again := eval[string](b, "new token", `localStorage.getItem("wc.token") || ""`); again == "" || again == token {
		t.Errorf("signing in again kept token %q, want a new one", again)
	}

	b.checkTraffic()
	b.checkNoProblems()
}

// TestWebClientServing checks the server side of the client: deep links load the app under
// its Content-Security-Policy, assets revalidate, and servers asking for ActivityPub at a
// profile URL are sent to the actor.
func TestWebClientServing(t *testing.T) {
	inst := testrig.StartInstance(t)
	inst.CreateUser(t, "carol")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", inst.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	for _, path := range []string{"/", "/web/home", "/web/statuses/123", "/@carol", "/@carol/123", "/@bob@elsewhere.example", "/tags/eng", "/authorize_interaction?uri=acct:bob@elsewhere.example", "/web/oauth/callback?code=x&state=y"} {
		res := get(path)
		body, _ := io.ReadAll(res.Body)
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`src="/assets/app.js"`)) {
			t.Errorf("GET %s = %d, want the client's index.html", path, res.StatusCode)
		}
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "connect-src 'self' ws://" + inst.Config.Domain()} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
	}

	js := get("/assets/app.js", "Accept-Encoding", "gzip")
	if ct := js.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("app.js Content-Type = %q, want text/javascript", ct)
	}
	if js.Header.Get("Content-Encoding") != "gzip" || js.Header.Get("ETag") == "" {
		t.Errorf("app.js encoding %q etag %q, want gzip with an ETag", js.Header.Get("Content-Encoding"), js.Header.Get("ETag"))
	}
	if again := get("/assets/app.js", "If-None-Match", js.Header.Get("ETag")); again.StatusCode != http.StatusNotModified {
		t.Errorf("app.js revalidation = %d, want 304", again.StatusCode)
	}
	if missing := get("/assets/nope.js"); missing.StatusCode != http.StatusNotFound {
		t.Errorf("unknown asset = %d, want 404", missing.StatusCode)
	}

	for path, want := range map[string]string{"/@carol": "/users/carol", "/@carol/123": "/users/carol/statuses/123"} {
		res := get(path, "Accept", "application/activity+json")
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != inst.URL+want {
			t.Errorf("ActivityPub GET %s = %d to %q, want 301 to %s", path, res.StatusCode, res.Header.Get("Location"), inst.URL+want)
		}
	}
	if res := get("/@bob@elsewhere.example", "Accept", "application/activity+json"); res.StatusCode != http.StatusOK {
		t.Errorf("ActivityPub GET of a remote profile route = %d, want the page (200), not a redirect", res.StatusCode)
	}
}

package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/text"
)

// webFile is one file of the web client, prepared once at start: the files are embedded, so
// they never change while the process runs.
type webFile struct {
	body, gzipped     []byte
	contentType, etag string
}

// webClient serves the single-page web client: index.html for every client-side route, under
// a strict Content-Security-Policy, and its assets with validators so a reload costs a 304.
type webClient struct {
	baseURL string
	csp     string
	index   webFile
	assets  map[string]webFile
}

// newWebClient reads the client's files from fsys (index.html and assets/).
func newWebClient(fsys fs.FS, baseURL string) (*webClient, error) {
	w := &webClient{baseURL: strings.TrimSuffix(baseURL, "/"), csp: webCSP(baseURL), assets: map[string]webFile{}}
	index, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return nil, fmt.Errorf("web client index: %w", err)
	}
	w.index = prepareWebFile("index.html", index)
	err = fs.WalkDir(fsys, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		w.assets[strings.TrimPrefix(p, "assets/")] = prepareWebFile(p, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web client assets: %w", err)
	}
	return w, nil
}

func prepareWebFile(name string, b []byte) webFile {
	sum := sha256.Sum256(b)
	f := webFile{body: b, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	f.contentType = mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		f.contentType = "text/javascript; charset=utf-8" // module scripts need a JavaScript type
	case ".html":
		f.contentType = fiber.MIMETextHTMLCharsetUTF8
	case "":
		f.contentType = "application/octet-stream"
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression) // the level is valid
	_, _ = zw.Write(b)                                      // writing to memory cannot fail
	_ = zw.Close()
	if gz.Len() < len(b)*9/10 {
		f.gzipped = gz.Bytes()
	}
	return f
}

// webCSP allows the client's own scripts and styles only; images and media may come from
// other departments' servers (remote avatars and attachments), and the streaming API is
// reached over a WebSocket to this host.
func webCSP(baseURL string) string {
	u, err := url.Parse(baseURL)
	ws, remote := "", "https:"
	if err == nil && u.Host != "" {
		if u.Scheme == "https" {
			ws = " wss://" + u.Host
		} else {
			// A plain-HTTP instance (a test rig, a closed network) federates with HTTP peers.
			ws, remote = " ws://"+u.Host, "https: http:"
		}
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; " +
		"img-src 'self' data: blob: " + remote + "; media-src 'self' blob: " + remote + "; " +
		"connect-src 'self'" + ws + "; font-src 'self'; object-src 'none'; frame-src 'none'; " +
		"worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}

// send writes f with its validators, compressed when the browser takes gzip.
func (f webFile) send(c *fiber.Ctx) error {
	c.Set(fiber.HeaderETag, f.etag)
	// no-cache still lets the browser keep the file, but it asks first: file names carry no
	// content hash, so a new release must be picked up at the next load.
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Set(fiber.HeaderContentType, f.contentType)
	if match := c.Get(fiber.HeaderIfNoneMatch); match != "" && strings.Contains(match, f.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	if f.gzipped != nil && strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(f.gzipped)
	}
	return c.Send(f.body)
}

// page serves index.html; the client routes by the URL itself.
func (w *webClient) page(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentSecurityPolicy, w.csp)
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	c.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	return w.index.send(c)
}

// asset serves a file under /assets/; unknown names fall through to the final 404.
func (w *webClient) asset(c *fiber.Ctx) error {
	f, ok := w.assets[c.Params("*")]
	if !ok {
		return c.Next()
	}
	return f.send(c)
}

// profile serves /@user and /@user/<id>: the web client to browsers, and a redirect to the
// ActivityPub object to servers that ask for one at the profile or status URL.
func (w *webClient) profile(c *fiber.Ctx) error {
	if wantsActivityJSON(c.Get(fiber.HeaderAccept)) {
		name, id := c.Params("acct"), c.Params("id")
		if text.ValidUsername(name) && (id == "" || isDigits(id)) {
			to := w.baseURL + "/users/" + name
			if id != "" {
				to += "/statuses/" + id
			}
			return c.Redirect(to, fiber.StatusMovedPermanently)
		}
	}
	return w.page(c)
}

func wantsActivityJSON(accept string) bool {
	return strings.Contains(accept, "application/activity+json") || strings.Contains(accept, "application/ld+json")
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// mountWebClient routes the client's pages and assets; routes.go calls it in its web client
// section, before the catch-all file server.
func (s *Server) mountWebClient(app *fiber.App, fsys fs.FS) {
	w, err := newWebClient(fsys, s.cfg.URL)
	if err != nil {
		panic("server: " + err.Error()) // the files are embedded: a build without them cannot serve the client
	}
	app.Get("/assets/*", w.asset)
	for _, p := range []string{"/", "/index.html", "/web", "/web/*", "/tags/:tag", "/authorize_interaction"} {
		app.Get(p, w.page)
	}
	app.Get("/@:acct", w.profile)
	app.Get("/@:acct/:id", w.profile)
}

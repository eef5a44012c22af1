package server_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"

	"watercooler/server"
	"watercooler/testrig"
)

// costShape is a crafted request body sent to every route.
type costShape struct {
	name, contentType, body, query string
}

// worstShapes are the shapes of issue 7: huge parameter counts, deep nesting, long values
// and huge bodies, as forms and as JSON, within the default body limit and far beyond it.
func worstShapes() []costShape {
	manyForm := strings.Repeat("a[]=&", 200_000)                               // 1 MB, 200k parameters
	hugeForm := strings.Repeat("a=&", 1_400_000) + strings.Repeat("b", 10<<20) // 14 MB, 1.4M parameters
	deepKey := strings.Repeat("[a]", 5000)                                     // 15 KB of nesting
	deepJSON := strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000)    // 400 KB
	manyJSON := "[" + strings.Repeat("0,", 300_000) + "0]"                     // 600 KB, 300k elements
	longJSON := `{"status":"` + strings.Repeat("x", 1000_000) + `","language":"` + strings.Repeat("e", 10) + `"}`
	manyQuery := strings.Repeat("a&", 1500)
	return []costShape{
		{"many form parameters", formType, manyForm, ""},
		{"14 MB form", formType, hugeForm, ""},
		{"deep form key", formType, "x" + deepKey + "=1", ""},
		{"deep JSON", jsonType, deepJSON, ""},
		{"many JSON elements", jsonType, manyJSON, ""},
		{"long JSON value", jsonType, longJSON, ""},
		{"many query parameters", "", "", manyQuery},
	}
}

// routePath fills a route pattern's parameters with plausible values.
func routePath(pattern string) string {
	var parts []string
	for _, p := range strings.Split(pattern, "/") {
		switch {
		case p == "*":
			p = "x"
		case strings.HasPrefix(p, ":"):
			p = "1839339123622497"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "/")
}

// allocated runs f and returns the bytes the whole process allocated meanwhile (TotalAlloc):
// unlike a sampled peak it does not depend on timing, and it bounds what f could have held.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Stated bounds, in bytes allocated by the whole process while one request is answered:
// a route that takes no files reads at most 1 MiB and decodes at most 4,096 parameters; an
// upload route reads at most 16 MiB and decodes an image within the media decode budget
// (128 MiB) after a header check.
const (
	maxRequestCost = 48 << 20
	maxUploadCost  = 192 << 20
)

// TestEveryRouteHasBoundedCost sends the worst shapes to every route of the table, signed in
// (the costlier case), and checks what each request allocated and that the instance still
// answers afterwards.
func TestEveryRouteHasBoundedCost(t *testing.T) {
	inst := testrig.StartInstance(t)
	cfg := inst.Config
	token := inst.CreateUser(t, "alice").Token
	// The same table the instance serves, built again to be listed.
	app := server.New(cfg, inst.Store, testrig.Logger(t))

	shapes := worstShapes()
	uploads := []costShape{pixelBombUpload(t), manyFramesUpload(t)}
	client := &http.Client{}
	seen := map[string]bool{}
	worst := map[string]uint64{} // by shape, for the log
	for _, r := range app.GetRoutes(true) {
		path := routePath(r.Path)
		key := r.Method + " " + path
		if seen[key] || r.Method == http.MethodHead || r.Method == http.MethodOptions || r.Method == "CONNECT" || r.Method == "TRACE" ||
			strings.Contains(path, "/streaming") || path == "/" {
			continue // streams stay open by design; the rest are served by the same handlers
		}
		seen[key] = true
		limit := uint64(maxRequestCost)
		send := shapes
		if isUpload(r.Method, path) {
			limit = maxUploadCost
			send = append(append([]costShape{}, shapes...), uploads...)
		}
		for _, s := range send {
			var status int
			cost := allocated(func() {
				req, err := http.NewRequest(r.Method, cfg.URL+path+"?"+s.query, strings.NewReader(s.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+token)
				if s.contentType != "" {
					req.Header.Set("Content-Type", s.contentType)
				}
				resp, err := client.Do(req)
				if err != nil {
					// The server may close the connection on a body it refuses to read.
					status = 0
					return
				}
				resp.Body.Close()
				status = resp.StatusCode
			})
			worst[s.name] = max(worst[s.name], cost)
			if status >= 500 {
				t.Errorf("%s %s with %s: status %d", r.Method, path, s.name, status)
			}
			if cost > limit {
				t.Errorf("%s %s with %s: allocated %d MiB, want at most %d MiB", r.Method, path, s.name, cost>>20, limit>>20)
			}
		}
	}
	if len(seen) < 50 {
		t.Fatalf("tried %d routes; the route table has more", len(seen))
	}
	for name, cost := range worst {
		t.Logf("%s: at most %.1f MiB allocated by one request", name, float64(cost)/(1<<20))
	}

	// Four pixel bombs at once cost no more than four apart.
	bomb := uploads[0]
	var wg sync.WaitGroup
	cost := allocated(func() {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				apiDo(t, "POST", cfg.URL+"/api/v2/media", token, bomb.contentType, bomb.body).expectError(t, 422, "")
			}()
		}
		wg.Wait()
	})
	t.Logf("four pixel bombs at once: %.1f MiB allocated", float64(cost)/(1<<20))
	if cost > 4*maxUploadCost {
		t.Errorf("four pixel bombs at once allocated %d MiB, want at most %d MiB", cost>>20, 4*maxUploadCost>>20)
	}
	apiGet(t, cfg.URL+"/api/v1/instance", "").ok(t, nil)
	apiGet(t, cfg.URL+"/api/v1/timelines/home", token).ok(t, nil)
}

// isUpload mirrors the routes that take files.
func isUpload(method, path string) bool {
	return (method == "POST" && (path == "/api/v1/media" || path == "/api/v2/media")) ||
		(method == "PATCH" && path == "/api/v1/accounts/update_credentials")
}

// pixelBombUpload is a multipart upload of a 128 KB PNG of 5750×5750 transparent pixels,
// which decodes to 132 MB; it is built a row at a time so the test does not hold it either.
func pixelBombUpload(t *testing.T) costShape {
	const side = 5750
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, 1+4*side)
	for range side {
		zw.Write(row)
	}
	zw.Close()
	var png bytes.Buffer
	png.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&png, binary.BigEndian, uint32(len(data)))
		png.WriteString(typ)
		png.Write(data)
		binary.Write(&png, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], side)
	binary.BigEndian.PutUint32(ihdr[4:], side)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA: the decoder's NRGBA, 4 bytes a pixel
	chunk("IHDR", ihdr)
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	ct, body := multipartBody(t, multipartFile{Field: "file", Name: "bomb.png", Data: png.Bytes()})
	return costShape{"pixel bomb PNG", ct, body, ""}
}

// manyFramesUpload is a multipart upload of a 15.6 MB GIF of 680,000 frames of 1×1 pixel.
func manyFramesUpload(t *testing.T) costShape {
	var gif bytes.Buffer
	gif.WriteString("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff")
	frame := "\x21\xf9\x04\x00\x01\x00\x00\x00" + "\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00" + "\x02\x02\x44\x01\x00"
	gif.WriteString(strings.Repeat(frame, 680_000))
	gif.WriteByte(0x3b)
	ct, body := multipartBody(t, multipartFile{Field: "file", Name: "frames.gif", Data: gif.Bytes()})
	return costShape{fmt.Sprintf("GIF of 680,000 frames (%d MB)", gif.Len()>>20), ct, body, ""}
}

// TestRequestDecoderBounds checks the answers of the one decoder at its limits.
func TestRequestDecoderBounds(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	params := func(n int) string { return strings.Repeat("a=1&", n-1) + "a=1" }
	cases := []struct {
		name, method, path, contentType, body string
		wantStatus                            int
		wantError                             string
	}{
		{"4,097 form parameters", "POST", "/api/v1/statuses", formType, params(4097), 400, "Too many parameters (the limit is 4096)"},
		{"4,097 token parameters, unauthenticated", "POST", "/oauth/token", formType, params(4097), 400, "Too many parameters (the limit is 4096)"},
		{"JSON nested 17 deep", "POST", "/api/v2/filters", jsonType, `{"a":` + strings.Repeat("[", 16) + strings.Repeat("]", 16) + "}", 400, "Parameters are nested too deeply (the limit is 16 levels)"},
		{"form key nested 17 deep", "POST", "/api/v2/filters", formType, "a" + strings.Repeat("[b]", 17) + "=1", 400, "Parameters are nested too deeply (the limit is 16 levels)"},
		{"64 KiB value", "POST", "/api/v1/lists", jsonType, `{"title":"` + strings.Repeat("t", 64<<10) + `"}`, 413, ""},
		{"ten-megabyte language", "POST", "/api/v1/statuses", jsonType, `{"status":"hi","language":"` + strings.Repeat("e", 60<<10) + `"}`, 422, "Validation failed: Language is not a valid ISO 639 code"},
		{"language that is no code", "POST", "/api/v1/statuses", formType, "status=hi&language=english", 422, "Validation failed: Language is not a valid ISO 639 code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			apiDo(t, c.method, inst.URL+c.path, alice.Token, c.contentType, c.body).expectError(t, c.wantStatus, c.wantError)
		})
	}

	// A body over the route's limit is refused from its Content-Length, before it is read.
	if got := announceBody(t, inst.URL+"/api/v2/filters", alice.Token, formType, 1<<20+1); got != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the request limit: status %d, want 413", got)
	}

	// Many parameters within the limit still decode (a filter of 4,000 keyword fields is
	// refused by its own validation, not by the decoder).
	resp := apiForm(t, "POST", inst.URL+"/api/v1/statuses", alice.Token, "status=ok&"+params(4000)+"&language=pt-BR")
	var st struct{ Language string }
	resp.ok(t, &st)
	if st.Language != "pt-BR" {
		t.Errorf("language = %q, want pt-BR", st.Language)
	}

	// Too many redirect URIs for an app: refused before anything is stored.
	uris := url.Values{"client_name": {"many"}}
	for i := range 17 {
		uris.Add("redirect_uris[]", fmt.Sprintf("https://app.example/cb%d", i))
	}
	apiForm(t, "POST", inst.URL+"/api/v1/apps", "", uris.Encode()).expectError(t, 422, "Validation failed: Redirect URI has too many entries (maximum is 16)")
}

// TestControlCharactersNeverStored posts text with NUL and other C0 control characters in
// every shape of body; what is stored keeps only tab, newline and carriage return.
func TestControlCharactersNeverStored(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	mpType, mpBody := multipartBody(t, multipartFile{}, "status", "multi\x00part\x07\ttab", "spoiler_text", "cw\x1b")
	cases := []struct {
		name, contentType, body string
		wantText, wantSpoiler   string
	}{
		{"JSON escapes", jsonType, `{"status":"a\u0000b\u0001c\bd\fe\tf\ng\\u0000","spoiler_text":"w\u001fx"}`, "a" + "bcde\tf\ng\\u0000", "wx"},
		{"form", formType, "status=a%00b%01c%0Ad%09e&spoiler_text=w%1Fx", "abc\nd\te", "wx"},
		{"multipart", mpType, mpBody, "multipart\ttab", "cw"},
		{"invalid UTF-8", formType, "status=a%FFb", "a\uFFFDb", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out struct{ ID string }
			apiDo(t, "POST", inst.URL+"/api/v1/statuses", alice.Token, c.contentType, c.body).ok(t, &out)
			st, err := inst.Store.Status(t.Context(), out.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Text != c.wantText || st.SpoilerText != c.wantSpoiler {
				t.Errorf("stored text %q, spoiler %q; want %q, %q", st.Text, st.SpoilerText, c.wantText, c.wantSpoiler)
			}
		})
	}

	// Names and titles go through the same decoder.
	apiForm(t, "PATCH", inst.URL+"/api/v1/accounts/update_credentials", alice.Token, "display_name=Al%00ice&note=hi%00there").ok(t, nil)
	a, err := inst.Store.Account(t.Context(), alice.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.DisplayName != "Alice" || a.NoteSource != "hithere" {
		t.Errorf("display name %q, note %q; want Alice, hithere", a.DisplayName, a.NoteSource)
	}
	var list struct{ Title string }
	apiJSON(t, "POST", inst.URL+"/api/v1/lists", alice.Token, `{"title":"team\u0000s"}`).ok(t, &list)
	if list.Title != "teams" {
		t.Errorf("list title %q, want teams", list.Title)
	}
}

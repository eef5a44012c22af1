package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/config"
	"watercooler/store"
	"watercooler/testrig"
)

// oaImage draws a w×h image with varied pixels, so encoders cannot compress it to nothing.
func oaImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), uint8((x * y) % 251), 0xff})
		}
	}
	return img
}

func oaPNG(t testing.TB, w, h int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, oaImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func oaJPEG(t testing.TB, w, h int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, oaImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func oaGIF(t testing.TB, w, h int) []byte {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	img.SetColorIndex(1, 1, 1)
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// oaWebP builds a lossless WebP header for a w×h image; the server checks WebP by header only.
func oaWebP(w, h int) []byte {
	chunk := []byte{0x2f}
	chunk = binary.LittleEndian.AppendUint32(chunk, uint32(w-1)|uint32(h-1)<<14)
	chunk = append(chunk, 0, 0, 0) // padding to an even length, as RIFF wants
	body := append([]byte("WEBPVP8L"), binary.LittleEndian.AppendUint32(nil, uint32(len(chunk)))...)
	body = append(body, chunk...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// oaPNGBomb is a valid PNG header claiming w×h pixels, with a correct IHDR CRC.
func oaPNGBomb(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		out = append(out, typ...)
		out = append(out, data...)
		return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, chunk("IEND", nil)...)
}

// oaUpload posts a multipart upload; fields are name, value pairs.
func oaUpload(t testing.TB, u, token, filename, contentType string, data []byte, fields ...string) oaResponse {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if filename != "" {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
		h.Set("Content-Type", contentType)
		part, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := part.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return oaDo(t, http.MethodPost, u, token, mw.FormDataContentType(), buf.Bytes())
}

// oaMediaFiles lists the files under the media directory, ignoring nothing.
func oaMediaFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMediaUploadAndServe(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	cases := []struct {
		name, path, filename, contentType string
		data                              []byte
		width, height                     int
	}{
		{"png", "/api/v2/media", "a.png", "image/png", oaPNG(t, 64, 48), 64, 48},
		{"jpeg", "/api/v2/media", "a.jpg", "image/jpeg", oaJPEG(t, 30, 20), 30, 20},
		{"gif", "/api/v1/media", "a.gif", "image/gif", oaGIF(t, 10, 12), 10, 12},
		{"webp", "/api/v2/media", "a.webp", "image/webp", oaWebP(33, 17), 33, 17},
		{"png named .txt", "/api/v2/media", "notes.txt", "text/plain", oaPNG(t, 5, 5), 5, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := oaUpload(t, inst.URL+tc.path, alice.Token, tc.filename, tc.contentType, tc.data, "description", "A chart", "focus", "0.5,-0.25")
			if r.Code != http.StatusOK {
				t.Fatalf("upload: %d %s", r.Code, r.Body)
			}
			var m map[string]any
			r.decode(t, &m)
			link, _ := m["url"].(string)
			if m["type"] != "image" || !strings.HasPrefix(link, inst.URL+"/media/") || m["preview_url"] != link || m["description"] != "A chart" {
				t.Fatalf("attachment %s", r.Body)
			}
			if oaPath(m, "meta", "original", "width") != float64(tc.width) || oaPath(m, "meta", "original", "height") != float64(tc.height) {
				t.Fatalf("meta %v, want %dx%d", m["meta"], tc.width, tc.height)
			}
			if oaPath(m, "meta", "focus", "x") != 0.5 || oaPath(m, "meta", "focus", "y") != -0.25 {
				t.Fatalf("focus %v", oaPath(m, "meta", "focus"))
			}

			served := oaGet(t, link, "")
			ext := map[string]string{"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "png named .txt": "image/png"}[tc.name]
			if served.Code != http.StatusOK || served.Header.Get("Content-Type") != ext || !bytes.Equal(served.Body, tc.data) {
				t.Fatalf("serving %s: %d %q, %d bytes", link, served.Code, served.Header.Get("Content-Type"), len(served.Body))
			}
			if served.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(served.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
				!strings.Contains(served.Header.Get("Cache-Control"), "max-age=") {
				t.Fatalf("media headers %v", served.Header)
			}

			// Only the uploader sees the unattached attachment.
			id := m["id"].(string)
			if r := oaGet(t, inst.URL+"/api/v1/media/"+id, alice.Token); r.Code != http.StatusOK {
				t.Fatalf("GET own media: %d %s", r.Code, r.Body)
			}
			oaGet(t, inst.URL+"/api/v1/media/"+id, bob.Token).expectError(t, http.StatusNotFound, "Record not found")
		})
	}

	// go-mastodon uploads through /api/v2/media.
	att, err := gomastodon.NewClient(&gomastodon.Config{Server: inst.URL, AccessToken: alice.Token}).UploadMediaFromBytes(context.Background(), oaPNG(t, 3, 2))
	if err != nil || att.Type != "image" || att.Meta.Original.Width != 3 || att.Meta.Original.Height != 2 {
		t.Fatalf("go-mastodon upload: %+v, %v", att, err)
	}
	if info, err := os.Stat(filepath.Join(inst.Config.MediaDir, string(att.ID)[:4], string(att.ID)+".png")); err != nil || info.Mode().Perm() != 0o644 {
		t.Fatalf("stored file: %v, %v", info, err)
	}
}

func TestMediaUpdate(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	r := oaUpload(t, inst.URL+"/api/v1/media", alice.Token, "a.png", "image/png", oaPNG(t, 4, 4))
	var m map[string]any
	r.decode(t, &m)
	id, _ := m["id"].(string)
	if r.Code != http.StatusOK || id == "" {
		t.Fatalf("upload: %d %s", r.Code, r.Body)
	}
	u := inst.URL + "/api/v1/media/" + id

	r = oaJSON(t, http.MethodPut, u, alice.Token, `{"description":"Described later","focus":"-1,1"}`)
	if r.Code != http.StatusOK {
		t.Fatalf("update: %d %s", r.Code, r.Body)
	}
	oaGet(t, u, alice.Token).decode(t, &m)
	if m["description"] != "Described later" || oaPath(m, "meta", "focus", "x") != -1.0 || oaPath(m, "meta", "focus", "y") != 1.0 {
		t.Fatalf("after update: %v", m)
	}
	// Absent fields stay as they were.
	if r := oaJSON(t, http.MethodPut, u, alice.Token, `{"focus":"0,0"}`); r.Code != http.StatusOK {
		t.Fatalf("focus-only update: %d %s", r.Code, r.Body)
	}
	oaGet(t, u, alice.Token).decode(t, &m)
	if m["description"] != "Described later" {
		t.Fatalf("description lost: %v", m["description"])
	}

	readOnly, _, err := inst.Store.CreateToken(context.Background(), "", alice.Account.ID, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, url, token, body string
		status                 int
		msg                    string
	}{
		{"long description", u, alice.Token, `{"description":"` + strings.Repeat("é", 1501) + `"}`, 422, "Validation failed: Description is too long (maximum is 1500 characters)"},
		{"bad focus", u, alice.Token, `{"focus":"2,0"}`, 422, "Validation failed: Focus must be two numbers between -1.0 and 1.0, like 0.5,-0.25"},
		{"not a focus", u, alice.Token, `{"focus":"left"}`, 422, "Validation failed: Focus must be two numbers between -1.0 and 1.0, like 0.5,-0.25"},
		{"someone else's", u, bob.Token, `{"description":"mine"}`, 404, "Record not found"},
		{"unknown", inst.URL + "/api/v1/media/123", alice.Token, `{"description":"x"}`, 404, "Record not found"},
		{"no token", u, "", `{"description":"x"}`, 401, "The access token is invalid"},
		{"read-only token", u, readOnly, `{"description":"x"}`, 403, "This action is outside the authorized scopes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oaJSON(t, http.MethodPut, tc.url, tc.token, tc.body).expectError(t, tc.status, tc.msg)
		})
	}
	if r := oaJSON(t, http.MethodPut, u, alice.Token, `{"description":`); r.Code != http.StatusBadRequest {
		t.Fatalf("malformed JSON: %d %s", r.Code, r.Body)
	}
	oaGet(t, u, alice.Token).decode(t, &m)
	if m["description"] != "Described later" {
		t.Fatalf("a refused update changed the description: %v", m["description"])
	}

	// Once attached to a status, the attachment leaves these routes, as on Mastodon.
	if _, err := inst.Store.CreateStatus(context.Background(), store.NewStatus{
		Status:  store.Status{AccountID: alice.Account.ID, Local: true, Content: "<p>pic</p>", Visibility: store.VisibilityPublic, MediaIDs: []string{id}},
		BaseURL: inst.URL,
	}); err != nil {
		t.Fatal(err)
	}
	oaGet(t, u, alice.Token).expectError(t, http.StatusNotFound, "Record not found")
}

func TestMediaRefusals(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	readOnly, _, err := inst.Store.CreateToken(context.Background(), "", alice.Account.ID, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	good := oaPNG(t, 8, 8)
	big := oaPNG(t, 300, 300)
	const (
		badType    = "Validation failed: File content type is invalid"
		corrupt    = "Validation failed: File could not be processed"
		tooLarge   = "Validation failed: File dimensions are too large"
		badFocus   = "Validation failed: Focus must be two numbers between -1.0 and 1.0, like 0.5,-0.25"
		longDesc   = "Validation failed: Description is too long (maximum is 1500 characters)"
		blank      = "Validation failed: File can't be blank"
		scopeError = "This action is outside the authorized scopes"
	)
	cases := []struct {
		name, token, filename, contentType string
		data                               []byte
		fields                             []string
		status                             int
		msg                                string
	}{
		{"text renamed .png", alice.Token, "a.png", "image/png", []byte("just some text, not an image at all"), nil, 422, badType},
		{"HTML claiming to be a GIF", alice.Token, "a.gif", "image/gif", []byte("<html><script>alert(1)</script></html>"), nil, 422, badType},
		{"empty file", alice.Token, "a.png", "image/png", nil, nil, 422, badType},
		{"PNG cut in its pixel data", alice.Token, "a.png", "image/png", big[:len(big)/2], nil, 422, corrupt},
		{"PNG cut in its header", alice.Token, "a.png", "image/png", good[:20], nil, 422, corrupt},
		{"PNG bomb 100000x100000", alice.Token, "a.png", "image/png", oaPNGBomb(100000, 100000), nil, 422, tooLarge},
		{"PNG just over the matrix limit", alice.Token, "a.png", "image/png", oaPNGBomb(7681, 4320), nil, 422, tooLarge},
		{"WebP bomb", alice.Token, "a.webp", "image/webp", oaWebP(16384, 16384), nil, 422, tooLarge},
		{"truncated WebP", alice.Token, "a.webp", "image/webp", oaWebP(10, 10)[:24], nil, 422, corrupt},
		{"no file", alice.Token, "", "", nil, []string{"description", "x"}, 422, blank},
		{"long description", alice.Token, "a.png", "image/png", good, []string{"description", strings.Repeat("d", 1501)}, 422, longDesc},
		{"bad focus", alice.Token, "a.png", "image/png", good, []string{"focus", "0.5"}, 422, badFocus},
		{"no token", "", "a.png", "image/png", good, nil, 401, "The access token is invalid"},
		{"read-only token", readOnly, "a.png", "image/png", good, nil, 403, scopeError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oaUpload(t, inst.URL+"/api/v2/media", tc.token, tc.filename, tc.contentType, tc.data, tc.fields...).expectError(t, tc.status, tc.msg)
		})
	}
	if files := oaMediaFiles(t, inst.Config.MediaDir); len(files) != 0 {
		t.Fatalf("refused uploads left files: %v", files)
	}
}

func TestMediaSizeLimit(t *testing.T) {
	tooBig := append(oaPNG(t, 8, 8), make([]byte, 16<<20)...) // a valid PNG with trailing bytes

	// With a body limit above the image limit, the upload reaches the handler and gets 422.
	roomy := testrig.StartInstance(t, func(c *config.Config) { c.BodyLimit = 40 << 20 })
	alice := roomy.CreateUser(t, "alice")
	oaUpload(t, roomy.URL+"/api/v2/media", alice.Token, "a.png", "image/png", tooBig).
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: File file size must be less than 16 MB")
	if files := oaMediaFiles(t, roomy.Config.MediaDir); len(files) != 0 {
		t.Fatalf("a refused upload left files: %v", files)
	}

	// With the default body limit, the server refuses the body itself; the client may see a
	// 413 or a closed connection, but never a stored file.
	inst := testrig.StartInstance(t)
	bob := inst.CreateUser(t, "bob")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, _ := mw.CreateFormFile("file", "a.png")
	part.Write(tooBig)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, inst.URL+"/api/v2/media", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+bob.Token)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized body: %d, want 413", resp.StatusCode)
		}
	}
	if files := oaMediaFiles(t, inst.Config.MediaDir); len(files) != 0 {
		t.Fatalf("an oversized upload left files: %v", files)
	}
}

func TestMediaFilePaths(t *testing.T) {
	inst := testrig.StartInstance(t)
	dir := inst.Config.MediaDir
	plant := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plant("evil.html", "<script>alert(1)</script>")
	plant("1234/1234567890.html", "<script>alert(1)</script>")
	plant("1234/1234567890.json", `{"type":"Note"}`)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "1234", "1234567891.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "1234", "1234567892.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	plant("1234/1234567893.png", "served") // a well-named file is served, as an image

	for _, path := range []string{
		"/media/../../etc/passwd",
		"/media/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
		"/media/1234/..%2f..%2f..%2fetc%2fpasswd",
		"/media/1234/%2e%2e/%2e%2e/etc/passwd",
		"/media/..%5c..%5cetc%5cpasswd",
		"/media/evil.html",
		"/media/1234/1234567890.html",
		"/media/1234/1234567890.json",
		"/media/1234/1234567891.png", // symlink
		"/media/1234/1234567892.png", // directory
		"/media/1234/9999999999.png", // missing
		"/media/",
		"/media/1234",
	} {
		t.Run(path, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, inst.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = path // sent exactly as written, dots and escapes included
			r := oaSend(t, nil, req)
			if r.Code != http.StatusNotFound {
				t.Fatalf("%s: %d %q", path, r.Code, r.Body)
			}
			if strings.Contains(string(r.Body), "root:") || strings.Contains(string(r.Body), "<script>") || strings.Contains(r.Header.Get("Content-Type"), "html") {
				t.Fatalf("%s leaked: %s %s", path, r.Header.Get("Content-Type"), r.Body)
			}
		})
	}
	r := oaGet(t, inst.URL+"/media/1234/1234567893.png", "")
	if r.Code != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("well-named file: %d %v", r.Code, r.Header)
	}
}

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
	"math"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"watercooler/config"
	"watercooler/store"
	"watercooler/testrig"
)

func medJPEG(t testing.TB, w, h int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func medGIF(t testing.TB, w, h int) []byte {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	img.SetColorIndex(1, 1, 1)
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// medWebP builds the header of a lossless w×h WebP, without pixel data: enough for a bomb.
func medWebP(w, h int) []byte {
	chunk := []byte{0x2f}
	chunk = binary.LittleEndian.AppendUint32(chunk, uint32(w-1)|uint32(h-1)<<14)
	chunk = append(chunk, 0, 0, 0) // padding to an even length, as RIFF wants
	body := append([]byte("WEBPVP8L"), binary.LittleEndian.AppendUint32(nil, uint32(len(chunk)))...)
	body = append(body, chunk...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// medPNGBomb is a valid PNG header claiming w×h pixels, with a correct IHDR CRC.
func medPNGBomb(w, h uint32) []byte {
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

// medUpload posts a media upload: the file part (left out when filename is "") and text fields
// given as name, value pairs.
func medUpload(t testing.TB, u, token, filename, contentType string, data []byte, fields ...string) apiResponse {
	t.Helper()
	file := multipartFile{Name: filename, ContentType: contentType, Data: data}
	if filename != "" {
		file.Field = "file"
	}
	ct, body := multipartBody(t, file, fields...)
	return apiDo(t, http.MethodPost, u, token, ct, body)
}

// medMediaFiles lists the files under the media directory, ignoring nothing.
func medMediaFiles(t testing.TB, dir string) []string {
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
	webp, err := os.ReadFile("../media/testdata/lossy.webp") // Go cannot encode WebP
	if err != nil {
		t.Fatal(err)
	}
	// Uploads are stored re-encoded: JPEG stays JPEG, PNG stays PNG, a still GIF becomes PNG and
	// lossy WebP becomes JPEG; previews of opaque images are JPEG.
	cases := []struct {
		name, path, filename, contentType string
		data                              []byte
		width, height                     int
		stored                            string
	}{
		{"png", "/api/v2/media", "a.png", "image/png", pngBytes(t, 64, 48), 64, 48, "image/png"},
		{"jpeg", "/api/v2/media", "a.jpg", "image/jpeg", medJPEG(t, 30, 20), 30, 20, "image/jpeg"},
		{"gif", "/api/v1/media", "a.gif", "image/gif", medGIF(t, 10, 12), 10, 12, "image/png"},
		{"webp", "/api/v2/media", "a.webp", "image/webp", webp, 48, 32, "image/jpeg"},
		{"png named .txt", "/api/v2/media", "notes.txt", "text/plain", pngBytes(t, 5, 5), 5, 5, "image/png"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := medUpload(t, inst.URL+tc.path, alice.Token, tc.filename, tc.contentType, tc.data, "description", "A chart", "focus", "0.5,-0.25")
			if r.Code != http.StatusOK {
				t.Fatalf("upload: %d %s", r.Code, r.Body)
			}
			var m map[string]any
			r.decode(t, &m)
			link, _ := m["url"].(string)
			preview, _ := m["preview_url"].(string)
			if m["type"] != "image" || !strings.HasPrefix(link, inst.URL+"/media/") || m["description"] != "A chart" || m["blurhash"] == nil {
				t.Fatalf("attachment %s", r.Body)
			}
			if !strings.HasPrefix(preview, strings.TrimSuffix(link, filepath.Ext(link))+"-small.") {
				t.Fatalf("preview_url %q for url %q", preview, link)
			}
			for _, size := range []string{"original", "small"} {
				if jsonPath(m, "meta", size, "width") != float64(tc.width) || jsonPath(m, "meta", size, "height") != float64(tc.height) {
					t.Fatalf("meta %v, want %s %dx%d", m["meta"], size, tc.width, tc.height)
				}
			}
			if jsonPath(m, "meta", "focus", "x") != 0.5 || jsonPath(m, "meta", "focus", "y") != -0.25 {
				t.Fatalf("focus %v", jsonPath(m, "meta", "focus"))
			}

			served := apiGet(t, link, "")
			if served.Code != http.StatusOK || served.Header.Get("Content-Type") != tc.stored {
				t.Fatalf("serving %s: %d %q", link, served.Code, served.Header.Get("Content-Type"))
			}
			medDecodes(t, served.Body, tc.stored, tc.width, tc.height)
			if served.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(served.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
				!strings.Contains(served.Header.Get("Cache-Control"), "max-age=") {
				t.Fatalf("media headers %v", served.Header)
			}
			if small := apiGet(t, preview, ""); small.Code != http.StatusOK || small.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("serving %s: %d %v", preview, small.Code, small.Header)
			}

			// Files are served to anyone who has the URL, so the URL must hold a secret (26 base32
			// characters, 130 bits) beyond the id, which is a clock: a guess from the id is 404.
			id := m["id"].(string)
			ext := filepath.Ext(link)
			name := strings.TrimSuffix(path.Base(link), ext)
			secret, ok := strings.CutPrefix(name, id+"-")
			if !ok || !medSecret.MatchString(secret) {
				t.Fatalf("url %q: the file name is not <id>-<secret>", link)
			}
			for _, guess := range []string{id + ext, id + "-small" + ext, id + ".png", id + ".jpg"} {
				u := inst.URL + "/media/" + id[:4] + "/" + guess
				if r := apiGet(t, u, ""); r.Code != http.StatusNotFound {
					t.Fatalf("guessed %s: %d, want 404", u, r.Code)
				}
			}

			// Only the uploader sees the unattached attachment.
			if r := apiGet(t, inst.URL+"/api/v1/media/"+id, alice.Token); r.Code != http.StatusOK {
				t.Fatalf("GET own media: %d %s", r.Code, r.Body)
			}
			apiGet(t, inst.URL+"/api/v1/media/"+id, bob.Token).expectError(t, http.StatusNotFound, "Record not found")
		})
	}

	// go-mastodon uploads through /api/v2/media.
	att, err := userClient(inst, alice).UploadMediaFromBytes(context.Background(), pngBytes(t, 3, 2))
	if err != nil || att.Type != "image" || att.Meta.Original.Width != 3 || att.Meta.Original.Height != 2 || att.Meta.Small.Width != 3 || att.BlurHash == "" {
		t.Fatalf("go-mastodon upload: %+v, %v", att, err)
	}
	if info, err := os.Stat(filepath.Join(inst.Config.MediaDir, filepath.FromSlash(strings.TrimPrefix(att.URL, inst.URL+"/media/")))); err != nil || info.Mode().Perm() != 0o644 {
		t.Fatalf("stored file: %v, %v", info, err)
	}
	// Two uploads get different secrets.
	other, err := userClient(inst, alice).UploadMediaFromBytes(context.Background(), pngBytes(t, 3, 2))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimPrefix(path.Base(other.URL), string(other.ID)) == strings.TrimPrefix(path.Base(att.URL), string(att.ID)) {
		t.Fatalf("two uploads share a secret: %s, %s", att.URL, other.URL)
	}
}

// medSecret is the shape of the secret part of a media file name: rand.Text's output.
var medSecret = regexp.MustCompile(`^[A-Z2-7]{26}$`)

func TestMediaUpdate(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	r := medUpload(t, inst.URL+"/api/v1/media", alice.Token, "a.png", "image/png", pngBytes(t, 4, 4))
	var m map[string]any
	r.decode(t, &m)
	id, _ := m["id"].(string)
	if r.Code != http.StatusOK || id == "" {
		t.Fatalf("upload: %d %s", r.Code, r.Body)
	}
	u := inst.URL + "/api/v1/media/" + id

	r = apiJSON(t, http.MethodPut, u, alice.Token, `{"description":"Described later","focus":"-1,1"}`)
	if r.Code != http.StatusOK {
		t.Fatalf("update: %d %s", r.Code, r.Body)
	}
	apiGet(t, u, alice.Token).decode(t, &m)
	if m["description"] != "Described later" || jsonPath(m, "meta", "focus", "x") != -1.0 || jsonPath(m, "meta", "focus", "y") != 1.0 {
		t.Fatalf("after update: %v", m)
	}
	// Absent fields stay as they were.
	if r := apiJSON(t, http.MethodPut, u, alice.Token, `{"focus":"0,0"}`); r.Code != http.StatusOK {
		t.Fatalf("focus-only update: %d %s", r.Code, r.Body)
	}
	apiGet(t, u, alice.Token).decode(t, &m)
	if m["description"] != "Described later" {
		t.Fatalf("description lost: %v", m["description"])
	}

	readOnly := userToken(t, inst, alice, "read")
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
			apiJSON(t, http.MethodPut, tc.url, tc.token, tc.body).expectError(t, tc.status, tc.msg)
		})
	}
	if r := apiJSON(t, http.MethodPut, u, alice.Token, `{"description":`); r.Code != http.StatusBadRequest {
		t.Fatalf("malformed JSON: %d %s", r.Code, r.Body)
	}
	apiGet(t, u, alice.Token).decode(t, &m)
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
	apiGet(t, u, alice.Token).expectError(t, http.StatusNotFound, "Record not found")
}

func TestMediaRefusals(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	readOnly := userToken(t, inst, alice, "read")
	good := pngBytes(t, 8, 8)
	big := pngBytes(t, 300, 300)
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
		{"PNG bomb 100000x100000", alice.Token, "a.png", "image/png", medPNGBomb(100000, 100000), nil, 422, tooLarge},
		{"PNG just over the matrix limit", alice.Token, "a.png", "image/png", medPNGBomb(7681, 4320), nil, 422, tooLarge},
		{"WebP bomb", alice.Token, "a.webp", "image/webp", medWebP(16384, 16384), nil, 422, tooLarge},
		{"truncated WebP", alice.Token, "a.webp", "image/webp", medWebP(10, 10)[:24], nil, 422, corrupt},
		{"JPEG cut in half", alice.Token, "a.jpg", "image/jpeg", medPhoto(t, 64, 64)[:1000], nil, 422, corrupt},
		{"GIF cut short", alice.Token, "a.gif", "image/gif", medGIF(t, 40, 40)[:30], nil, 422, corrupt},
		{"EXIF JPEG cut in its pixels", alice.Token, "a.jpg", "image/jpeg", medWithEXIF(medPhoto(t, 64, 64), 6)[:1200], nil, 422, corrupt},
		{"no file", alice.Token, "", "", nil, []string{"description", "x"}, 422, blank},
		{"long description", alice.Token, "a.png", "image/png", good, []string{"description", strings.Repeat("d", 1501)}, 422, longDesc},
		{"bad focus", alice.Token, "a.png", "image/png", good, []string{"focus", "0.5"}, 422, badFocus},
		{"no token", "", "a.png", "image/png", good, nil, 401, "The access token is invalid"},
		{"read-only token", readOnly, "a.png", "image/png", good, nil, 403, scopeError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			medUpload(t, inst.URL+"/api/v2/media", tc.token, tc.filename, tc.contentType, tc.data, tc.fields...).expectError(t, tc.status, tc.msg)
		})
	}
	if files := medMediaFiles(t, inst.Config.MediaDir); len(files) != 0 {
		t.Fatalf("refused uploads left files: %v", files)
	}
	if keys := medMediaKeys(t, inst, alice); len(keys) != 0 {
		t.Fatalf("refused uploads left records: %v", keys)
	}
	// The check above can see records: an accepted upload shows up.
	medUpload(t, inst.URL+"/api/v2/media", alice.Token, "a.png", "image/png", good)
	if keys := medMediaKeys(t, inst, alice); len(keys) != 1 {
		t.Fatalf("records after one upload: %v", keys)
	}
}

func TestMediaSizeLimit(t *testing.T) {
	tooBig := append(pngBytes(t, 8, 8), make([]byte, 16<<20)...) // a valid PNG with trailing bytes

	// With a body limit above the image limit, the upload reaches the handler and gets 422.
	roomy := testrig.StartInstance(t, func(c *config.Config) { c.BodyLimit = 40 << 20 })
	alice := roomy.CreateUser(t, "alice")
	medUpload(t, roomy.URL+"/api/v2/media", alice.Token, "a.png", "image/png", tooBig).
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: File file size must be less than 16 MB")
	if files := medMediaFiles(t, roomy.Config.MediaDir); len(files) != 0 {
		t.Fatalf("a refused upload left files: %v", files)
	}

	// With the default body limit, the server refuses the body itself; the client may see a
	// 413 or a closed connection, but never a stored file.
	inst := testrig.StartInstance(t)
	bob := inst.CreateUser(t, "bob")
	ct, body := multipartBody(t, multipartFile{Field: "file", Name: "a.png", Data: tooBig})
	if resp, err := http.DefaultClient.Do(newAPIRequest(t, http.MethodPost, inst.URL+"/api/v2/media", bob.Token, ct, body)); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized body: %d, want 413", resp.StatusCode)
		}
	}
	if files := medMediaFiles(t, inst.Config.MediaDir); len(files) != 0 {
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
			req := newAPIRequest(t, http.MethodGet, inst.URL+"/", "", "", "")
			req.URL.Opaque = path // sent exactly as written, dots and escapes included
			r := apiSend(t, nil, req)
			if r.Code != http.StatusNotFound {
				t.Fatalf("%s: %d %q", path, r.Code, r.Body)
			}
			if strings.Contains(string(r.Body), "root:") || strings.Contains(string(r.Body), "<script>") || strings.Contains(r.Header.Get("Content-Type"), "html") {
				t.Fatalf("%s leaked: %s %s", path, r.Header.Get("Content-Type"), r.Body)
			}
		})
	}
	r := apiGet(t, inst.URL+"/media/1234/1234567893.png", "")
	if r.Code != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("well-named file: %d %v", r.Code, r.Header)
	}
}

// medDecodes checks that data is a complete image of the given type and size.
func medDecodes(t testing.TB, data []byte, contentType string, w, h int) {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("does not decode: %v", err)
	}
	if "image/"+format != contentType || img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Fatalf("%s %v, want %s %dx%d", format, img.Bounds(), contentType, w, h)
	}
}

// medPhoto is a w×h photo-like JPEG: gradients with grain, which previews cannot shrink to nothing.
func medPhoto(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8((x*31 + y*17) % 23)
			img.Set(x, y, color.RGBA{uint8(x*200/w) + n, uint8(y*180/h) + n, 90 + n, 0xff})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// medLatitude is the GPS latitude written into test EXIF: 48° 51' 29.6".
var medLatitude = []byte{0, 0, 0, 48, 0, 0, 0, 1, 0, 0, 0, 51, 0, 0, 0, 1, 0, 0, 1, 40, 0, 0, 0, 10}

// medWithEXIF puts an EXIF APP1 segment right after a JPEG's SOI, as cameras do: IFD0 holds the
// orientation and a GPS IFD pointer, the GPS IFD a latitude.
func medWithEXIF(jpg []byte, orientation uint16) []byte {
	be := binary.BigEndian
	entry := func(b []byte, tag, typ uint16, count, value uint32) []byte {
		b = be.AppendUint16(be.AppendUint16(b, tag), typ)
		return be.AppendUint32(be.AppendUint32(b, count), value)
	}
	const gpsIFD, latitude = 8 + 2 + 2*12 + 4, 8 + 2 + 2*12 + 4 + 2 + 12 + 4
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x02")
	tiff = entry(tiff, 0x0112, 3, 1, uint32(orientation)<<16)
	tiff = entry(tiff, 0x8825, 4, 1, gpsIFD)
	tiff = append(tiff, 0, 0, 0, 0, 0, 1)
	tiff = entry(tiff, 0x0002, 5, 3, latitude)
	tiff = append(append(tiff, 0, 0, 0, 0), medLatitude...)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := be.AppendUint16([]byte{0xff, 0xe1}, uint16(len(payload)+2))
	return append(append(append([]byte{}, jpg[:2]...), append(seg, payload...)...), jpg[2:]...)
}

// medMediaKeys lists the instance's media records in Redis; its key prefix is read off the
// key of one of its accounts.
func medMediaKeys(t testing.TB, inst *testrig.Instance, user *testrig.User) []string {
	t.Helper()
	ctx := context.Background()
	rdb := inst.Store.Redis()
	record := ":acct:" + user.Account.ID + "}" // the account's record, in its slot
	keys, err := rdb.Keys(ctx, "{*"+record).Result()
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, k := range keys {
		if v, _ := rdb.Get(ctx, k).Result(); strings.Contains(v, `"username":"`+user.Account.Username+`"`) {
			prefixes = append(prefixes, strings.TrimSuffix(k, record)) // "{prefix"
		}
	}
	if len(prefixes) != 1 {
		t.Fatalf("cannot tell the instance's key prefix: %v", prefixes)
	}
	media, err := rdb.Keys(ctx, prefixes[0]+":media:*}").Result() // each upload in its slot
	if err != nil {
		t.Fatal(err)
	}
	return media
}

func TestMediaStripsMetadataAndMakesPreview(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	upload := medWithEXIF(medPhoto(t, 1600, 1200), 6) // taken with the camera turned: shown 1200×1600
	if !bytes.Contains(upload, []byte("Exif")) || !bytes.Contains(upload, medLatitude) {
		t.Fatal("the test upload lacks its EXIF")
	}
	r := medUpload(t, inst.URL+"/api/v2/media", alice.Token, "IMG_0001.JPG", "image/jpeg", upload, "focus", "0.1,0.2")
	if r.Code != http.StatusOK {
		t.Fatalf("upload: %d %s", r.Code, r.Body)
	}
	var m map[string]any
	r.decode(t, &m)
	want := map[string]map[string]any{
		"original": {"width": 1200.0, "height": 1600.0, "size": "1200x1600", "aspect": 0.75},
		"small":    {"width": 480.0, "height": 640.0, "size": "480x640", "aspect": 0.75},
	}
	for size, fields := range want {
		for k, v := range fields {
			if got := jsonPath(m, "meta", size, k); got != v {
				t.Errorf("meta.%s.%s = %v, want %v", size, k, got, v)
			}
		}
	}
	if hash, _ := m["blurhash"].(string); len(hash) != 28 {
		t.Errorf("blurhash %q", hash)
	}

	stored, err := os.ReadFile(filepath.Join(inst.Config.MediaDir, filepath.FromSlash(strings.TrimPrefix(m["url"].(string), inst.URL+"/media/"))))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("Exif")) || bytes.Contains(stored, medLatitude) {
		t.Fatal("the stored file keeps its EXIF")
	}
	medDecodes(t, stored, "image/jpeg", 1200, 1600)
	if served := apiGet(t, m["url"].(string), ""); !bytes.Equal(served.Body, stored) {
		t.Fatal("url does not serve the stored file")
	}
	small := apiGet(t, m["preview_url"].(string), "")
	if small.Code != http.StatusOK || small.Header.Get("Content-Type") != "image/jpeg" || len(small.Body) >= len(stored) {
		t.Fatalf("preview: %d %q, %d bytes for a %d-byte original", small.Code, small.Header.Get("Content-Type"), len(small.Body), len(stored))
	}
	medDecodes(t, small.Body, "image/jpeg", 480, 640)
	if bytes.Contains(small.Body, []byte("Exif")) {
		t.Fatal("the preview carries EXIF")
	}

	// The attachment keeps all of it once in a status.
	r = apiJSON(t, http.MethodPost, inst.URL+"/api/v1/statuses", alice.Token, `{"status":"a photo","media_ids":["`+m["id"].(string)+`"]}`)
	var st map[string]any
	r.decode(t, &st)
	atts, _ := st["media_attachments"].([]any)
	if r.Code != http.StatusOK || len(atts) != 1 || jsonPath(atts[0], "preview_url") != m["preview_url"] ||
		jsonPath(atts[0], "blurhash") != m["blurhash"] || jsonPath(atts[0], "meta", "small", "width") != 480.0 {
		t.Fatalf("status: %d %s", r.Code, r.Body)
	}
}

func TestMediaDeletedWithStatus(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	post := func() (statusID, mediaID string) {
		r := medUpload(t, inst.URL+"/api/v2/media", alice.Token, "a.jpg", "image/jpeg", medPhoto(t, 800, 600))
		var m map[string]any
		r.decode(t, &m)
		mediaID, _ = m["id"].(string)
		r = apiJSON(t, http.MethodPost, inst.URL+"/api/v1/statuses", alice.Token, `{"status":"pic","media_ids":["`+mediaID+`"]}`)
		var st map[string]any
		r.decode(t, &st)
		if statusID, _ = st["id"].(string); statusID == "" || mediaID == "" {
			t.Fatalf("posting: %d %s", r.Code, r.Body)
		}
		return statusID, mediaID
	}
	files := func(mediaID string) []string {
		var out []string
		for _, f := range medMediaFiles(t, inst.Config.MediaDir) {
			if strings.HasPrefix(filepath.Base(f), mediaID) {
				out = append(out, filepath.Base(f))
			}
		}
		return out
	}

	// Delete & redraft keeps the attachment, files included.
	redraft, kept := post()
	if got := files(kept); len(got) != 2 {
		t.Fatalf("files of an attachment: %v", got)
	}
	if r := apiDo(t, http.MethodDelete, inst.URL+"/api/v1/statuses/"+redraft, alice.Token, "", ""); r.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Code, r.Body)
	}
	if got := files(kept); len(got) != 2 {
		t.Fatalf("a redraft delete removed files: %v", got)
	}
	if r := apiGet(t, inst.URL+"/api/v1/media/"+kept, alice.Token); r.Code != http.StatusOK {
		t.Fatalf("the kept attachment: %d %s", r.Code, r.Body)
	}

	// delete_media=true removes records and files.
	gone, removed := post()
	if r := apiDo(t, http.MethodDelete, inst.URL+"/api/v1/statuses/"+gone+"?delete_media=true", alice.Token, "", ""); r.Code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Code, r.Body)
	}
	if got := files(removed); len(got) != 0 {
		t.Fatalf("files left after delete_media: %v", got)
	}
	apiGet(t, inst.URL+"/api/v1/media/"+removed, alice.Token).expectError(t, http.StatusNotFound, "Record not found")
	if got := files(kept); len(got) != 2 {
		t.Fatalf("another attachment's files went too: %v", got)
	}
}

// TestMediaLimitsAsPublished checks the upload limits against what /api/v2/instance publishes.
func TestMediaLimitsAsPublished(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	var doc map[string]any
	apiGet(t, inst.URL+"/api/v2/instance", "").decode(t, &doc)
	cfg, _ := jsonPath(doc, "configuration", "media_attachments").(map[string]any)
	matrix, _ := cfg["image_matrix_limit"].(float64)
	size, _ := cfg["image_size_limit"].(float64)
	descLimit, _ := cfg["description_limit"].(float64)
	types, _ := cfg["supported_mime_types"].([]any)
	if matrix != 7680*4320 || size != 16<<20 || descLimit != 1500 || len(types) != 4 {
		t.Fatalf("media_attachments %v", cfg)
	}
	webp, err := os.ReadFile("../media/testdata/lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string][]byte{"image/jpeg": medJPEG(t, 8, 8), "image/png": pngBytes(t, 8, 8), "image/gif": medGIF(t, 8, 8), "image/webp": webp}
	for _, typ := range types {
		if r := medUpload(t, inst.URL+"/api/v2/media", alice.Token, "f", typ.(string), samples[typ.(string)]); r.Code != http.StatusOK {
			t.Errorf("published type %v refused: %d %s", typ, r.Code, r.Body)
		}
	}
	side := uint32(math.Sqrt(matrix)) + 1
	medUpload(t, inst.URL+"/api/v2/media", alice.Token, "f.png", "image/png", medPNGBomb(side, side)).
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: File dimensions are too large")
	if r := medUpload(t, inst.URL+"/api/v2/media", alice.Token, "f.png", "image/png", pngBytes(t, 4, 4), "description", strings.Repeat("é", int(descLimit))); r.Code != http.StatusOK {
		t.Errorf("a description at the limit: %d %s", r.Code, r.Body)
	}
}

func TestProfileImagesProcessed(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	cases := []struct {
		field   string
		upload  []byte
		w, h    int
		stored  string
		errText string
	}{
		{"avatar", medWithEXIF(medPhoto(t, 1000, 800), 6), 320, 400, "image/jpeg", ""},
		{"avatar", pngBytes(t, 100, 60), 100, 60, "image/png", ""},
		{"header", medPhoto(t, 3000, 1000), 1500, 500, "image/jpeg", ""},
		{"header", medPhoto(t, 1200, 800), 750, 500, "image/jpeg", ""},
		{"avatar", medPNGBomb(100000, 100000), 0, 0, "", "Validation failed: Avatar dimensions are too large"},
		{"header", medJPEG(t, 40, 40)[:300], 0, 0, "", "Validation failed: Header could not be processed"},
		{"header", medGIF(t, 40, 40)[:30], 0, 0, "", "Validation failed: Header could not be processed"},
		{"avatar", []byte("#!/bin/sh"), 0, 0, "", "Validation failed: Avatar content type is invalid"},
	}
	for _, tc := range cases {
		ct, body := multipartBody(t, multipartFile{Field: tc.field, Name: "picture", Data: tc.upload})
		r := apiDo(t, http.MethodPatch, inst.URL+"/api/v1/accounts/update_credentials", alice.Token, ct, body)
		if tc.errText != "" {
			r.expectError(t, http.StatusUnprocessableEntity, tc.errText)
			continue
		}
		var acct map[string]any
		r.decode(t, &acct)
		link, _ := acct[tc.field].(string)
		served := apiGet(t, link, "")
		if r.Code != http.StatusOK || served.Code != http.StatusOK || served.Header.Get("Content-Type") != tc.stored {
			t.Fatalf("%s: %d %s; GET %s: %d", tc.field, r.Code, r.Body, link, served.Code)
		}
		medDecodes(t, served.Body, tc.stored, tc.w, tc.h)
		if bytes.Contains(served.Body, []byte("Exif")) || bytes.Contains(served.Body, medLatitude) {
			t.Fatalf("the stored %s keeps its EXIF", tc.field)
		}
	}
	// Each replaced picture was removed: one avatar and one header are left.
	if files := medMediaFiles(t, inst.Config.MediaDir); len(files) != 2 {
		t.Fatalf("files left: %v", files)
	}
}

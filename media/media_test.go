package media_test

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/gif"
	_ "image/jpeg" // registers the decoders used to check outputs
	_ "image/png"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/buckket/go-blurhash"

	"watercooler/media"
)

var update = flag.Bool("update", false, "rewrite the generated fixtures in testdata/")

// attach are the limits of status attachments; avatar and header those of profile pictures.
var (
	attach = media.Limits{MaxBytes: 16 << 20, MaxPixels: 7680 * 4320, PreviewSide: 640}
	avatar = media.Limits{MaxBytes: 8 << 20, MaxWidth: 400, MaxHeight: 400}
	header = media.Limits{MaxBytes: 8 << 20, MaxWidth: 1500, MaxHeight: 500}
)

// TestFixtures regenerates, with -update, the binary fixtures that Go can make. lossy.webp and
// lossy-alpha.webp were made once with cwebp, as Go has no WebP encoder.
func TestFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/")
	}
	for name, data := range map[string][]byte{
		"truncated.png": encPNG(t, photo(64, 64))[:3000],
		"bomb.png":      pngBomb(100000, 100000),
		"text.png":      []byte("Dear diary, this is not a picture.\n"),
	} {
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProcessFormats(t *testing.T) {
	cases := []struct {
		name           string
		in             []byte
		lim            media.Limits
		typ, smallType string // content types of the stored file and of the preview
		w, h, sw, sh   int
		animated       bool
	}{
		{"jpeg photo", encJPEG(t, photo(1280, 960)), attach, "image/jpeg", "image/jpeg", 1280, 960, 640, 480, false},
		{"small jpeg keeps its size", encJPEG(t, photo(100, 50)), attach, "image/jpeg", "image/jpeg", 100, 50, 100, 50, false},
		{"tall opaque png", encPNG(t, photo(200, 800)), attach, "image/png", "image/jpeg", 200, 800, 160, 640, false},
		{"png with alpha", encPNG(t, translucent(64, 48)), attach, "image/png", "image/png", 64, 48, 64, 48, false},
		{"still gif becomes png", stillGIF(t, 10, 12), attach, "image/png", "image/jpeg", 10, 12, 10, 12, false},
		{"animated gif stays gif", animatedGIF(t, 40, 30, 3, "hi"), attach, "image/gif", "image/jpeg", 40, 30, 40, 30, true},
		{"lossless webp", losslessWebP(33, 17, false), attach, "image/png", "image/jpeg", 33, 17, 33, 17, false},
		{"lossless webp with alpha", losslessWebP(33, 17, true), attach, "image/png", "image/png", 33, 17, 33, 17, false},
		{"lossy webp", fixture(t, "lossy.webp"), attach, "image/jpeg", "image/jpeg", 48, 32, 48, 32, false},
		{"lossy webp with alpha", fixture(t, "lossy-alpha.webp"), attach, "image/png", "image/png", 48, 32, 48, 32, false},
		{"avatar fits 400x400", encJPEG(t, photo(1000, 500)), avatar, "image/jpeg", "", 400, 200, 0, 0, false},
		{"small avatar untouched", encPNG(t, photo(120, 90)), avatar, "image/png", "", 120, 90, 0, 0, false},
		{"header fits 1500x500", encJPEG(t, photo(1560, 260)), header, "image/jpeg", "", 1500, 250, 0, 0, false},
		{"oversized animated avatar goes still", animatedGIF(t, 800, 600, 2, "hi"), avatar, "image/png", "", 400, 300, 0, 0, false},
		{"animated avatar within the box", animatedGIF(t, 200, 100, 2, "hi"), avatar, "image/gif", "", 200, 100, 0, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := media.Process(bytes.NewReader(tc.in), tc.lim)
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, "original", &p.Original, tc.typ, tc.w, tc.h)
			if p.Animated != tc.animated {
				t.Errorf("animated %v, want %v", p.Animated, tc.animated)
			}
			if tc.smallType == "" {
				if p.Small != nil {
					t.Errorf("a preview was made without PreviewSide")
				}
			} else {
				checkImage(t, "small", p.Small, tc.smallType, tc.sw, tc.sh)
			}
			if x, y, err := blurhash.Components(p.Blurhash); err != nil || x != 4 || y != 3 || len(p.Blurhash) != 28 {
				t.Errorf("blurhash %q: %dx%d components, %v", p.Blurhash, x, y, err)
			}
		})
	}
}

// checkImage decodes an output image completely and checks its type, extension and size.
func checkImage(t *testing.T, what string, img *media.Image, contentType string, w, h int) {
	t.Helper()
	if img == nil {
		t.Fatalf("%s: missing", what)
	}
	decoded, format, err := image.Decode(bytes.NewReader(img.Data))
	if err != nil {
		t.Fatalf("%s does not decode: %v", what, err)
	}
	ext := map[string]string{"jpeg": "jpg", "png": "png", "gif": "gif"}[format]
	if img.ContentType != contentType || "image/"+format != contentType || img.Ext != ext {
		t.Errorf("%s is %s (%s, .%s), want %s", what, format, img.ContentType, img.Ext, contentType)
	}
	if b := decoded.Bounds(); b.Dx() != w || b.Dy() != h || img.Width != w || img.Height != h {
		t.Errorf("%s is %v, says %dx%d, want %dx%d", what, b, img.Width, img.Height, w, h)
	}
	if img.Aspect() != float64(w)/float64(h) {
		t.Errorf("%s aspect %v", what, img.Aspect())
	}
}

func TestProcessStripsJPEGMetadata(t *testing.T) {
	const secret = "SecretCam 3000 serial 12345"
	in := withEXIF(encJPEG(t, photo(200, 100)), 1, secret)
	in = append(in[:2], append([]byte{0xff, 0xfe, 0, 10, 'c', 'o', 'm', 'm', 'e', 'n', 't', '!'}, in[2:]...)...) // COM segment
	if !bytes.Contains(in, []byte("Exif\x00\x00")) || !bytes.Contains(in, gpsLatitude) || !bytes.Contains(in, []byte(secret)) {
		t.Fatal("the test input lacks its EXIF")
	}
	p, err := media.Process(bytes.NewReader(in), attach)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range [][]byte{p.Original.Data, p.Small.Data} {
		if bytes.Contains(out, []byte("Exif")) || bytes.Contains(out, gpsLatitude) || bytes.Contains(out, []byte(secret)) || bytes.Contains(out, []byte("comment!")) {
			t.Fatal("metadata survived processing")
		}
		for _, m := range jpegMarkers(t, out) {
			if m >= 0xe0 && m <= 0xef || m == 0xfe { // APPn (EXIF, XMP, ICC, IPTC) or COM
				t.Fatalf("output keeps marker %#x: %x", m, jpegMarkers(t, out))
			}
		}
	}
}

func TestProcessStripsPNGAndGIFMetadata(t *testing.T) {
	const secret = "the-secret-location"
	p, err := media.Process(bytes.NewReader(withPNGMetadata(encPNG(t, translucent(20, 20)), secret)), attach)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range pngChunks(t, p.Original.Data) {
		if !slices.Contains([]string{"IHDR", "PLTE", "tRNS", "IDAT", "IEND"}, chunk) {
			t.Fatalf("output keeps chunk %s", chunk)
		}
	}
	if bytes.Contains(p.Original.Data, []byte(secret)) {
		t.Fatal("PNG metadata survived")
	}

	p, err = media.Process(bytes.NewReader(animatedGIF(t, 30, 20, 4, secret)), attach)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.Original.Data, []byte(secret)) || bytes.Contains(p.Original.Data, []byte("XMP DataXMP")) {
		t.Fatal("GIF comment or XMP survived")
	}
	g, err := gif.DecodeAll(bytes.NewReader(p.Original.Data))
	if err != nil || len(g.Image) != 4 || g.Delay[3] != 10 {
		t.Fatalf("animation not kept: %v", err)
	}
}

// TestProcessOrientation stores a 20×10 picture with a red top-left corner under each EXIF
// orientation and checks where the corner ends up once processed.
func TestProcessOrientation(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 20, 10))
	for y := 0; y < 10; y++ {
		for x := 0; x < 20; x++ {
			c := color.RGBA{0x10, 0x20, 0xe0, 0xff}
			if x < 8 && y < 8 {
				c = color.RGBA{0xf0, 0x10, 0x10, 0xff}
			}
			src.SetRGBA(x, y, c)
		}
	}
	plain := encJPEG(t, src)
	cases := []struct {
		orientation uint16
		w, h        int
		corner      image.Point // where the red corner is seen
	}{
		{1, 20, 10, image.Pt(1, 1)},
		{2, 20, 10, image.Pt(18, 1)},
		{3, 20, 10, image.Pt(18, 8)},
		{4, 20, 10, image.Pt(1, 8)},
		{5, 10, 20, image.Pt(1, 1)},
		{6, 10, 20, image.Pt(8, 1)},
		{7, 10, 20, image.Pt(8, 18)},
		{8, 10, 20, image.Pt(1, 18)},
	}
	for _, tc := range cases {
		p, err := media.Process(bytes.NewReader(withEXIF(plain, tc.orientation, "cam")), attach)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(bytes.NewReader(p.Original.Data))
		if err != nil {
			t.Fatal(err)
		}
		if p.Original.Width != tc.w || p.Original.Height != tc.h || img.Bounds().Dx() != tc.w || img.Bounds().Dy() != tc.h {
			t.Errorf("orientation %d: %dx%d (decoded %v), want %dx%d", tc.orientation, p.Original.Width, p.Original.Height, img.Bounds(), tc.w, tc.h)
			continue
		}
		opposite := image.Pt(tc.w-1-tc.corner.X, tc.h-1-tc.corner.Y)
		if !reddish(img.At(tc.corner.X, tc.corner.Y)) || reddish(img.At(opposite.X, opposite.Y)) {
			t.Errorf("orientation %d: corner %v is %v, opposite %v is %v", tc.orientation, tc.corner, img.At(tc.corner.X, tc.corner.Y), opposite, img.At(opposite.X, opposite.Y))
		}
	}
}

func reddish(c color.Color) bool {
	r, _, b, _ := c.RGBA()
	return r>>8 > 0xa0 && b>>8 < 0x80
}

func TestProcessRefusals(t *testing.T) {
	jpg := encJPEG(t, photo(64, 48))
	animated := animatedGIF(t, 40, 30, 3, "x")
	lossy := fixture(t, "lossy.webp")
	cases := []struct {
		name string
		in   []byte
		lim  media.Limits
		want error
	}{
		{"text file named .png", fixture(t, "text.png"), attach, media.ErrUnsupported},
		{"empty file", nil, attach, media.ErrUnsupported},
		{"HTML", []byte("<html><script>alert(1)</script></html>"), attach, media.ErrUnsupported},
		{"BMP", append([]byte("BM"), make([]byte, 60)...), attach, media.ErrUnsupported},
		{"truncated PNG", fixture(t, "truncated.png"), attach, media.ErrCorrupt},
		{"PNG cut in its header", encPNG(t, photo(8, 8))[:20], attach, media.ErrCorrupt},
		{"truncated JPEG", jpg[:len(jpg)/2], attach, media.ErrCorrupt},
		{"JPEG without its header", jpg[:3], attach, media.ErrCorrupt},
		{"truncated animated GIF", animated[:len(animated)-12], attach, media.ErrCorrupt},
		{"truncated still GIF", stillGIF(t, 30, 30)[:30], attach, media.ErrCorrupt},
		{"truncated WebP", lossy[:len(lossy)-16], attach, media.ErrCorrupt},
		{"WebP cut in its header", losslessWebP(10, 10, false)[:24], attach, media.ErrCorrupt},
		{"zero-size PNG", pngBomb(0, 10), attach, media.ErrCorrupt},
		{"PNG bomb 100000x100000", fixture(t, "bomb.png"), attach, media.ErrDimensions},
		{"PNG just over the matrix limit", pngBomb(7681, 4320), attach, media.ErrDimensions},
		{"WebP bomb", webpBomb(16384, 16384), attach, media.ErrDimensions},
		{"GIF frame bomb", gifFrameBomb(4000, 4000, 10), attach, media.ErrDimensions},
		{"PNG within the matrix limit but over the decode budget", pngBomb(5750, 5750), attach, media.ErrDimensions},
		{"GIF of 1,001 frames of one pixel", gifFrameBomb(1, 1, 1001), attach, media.ErrDimensions},
		{"GIF of 680,000 frames of one pixel", gifFrameBomb(1, 1, 680_000), attach, media.ErrDimensions},
		{"budget set lower", encPNG(t, photo(64, 64)), media.Limits{MaxDecodeBytes: 64 * 64 * 4}, media.ErrDimensions},
		{"file over the size limit", jpg, media.Limits{MaxBytes: 1024}, media.ErrFileSize},
	}
	sentinels := []error{media.ErrUnsupported, media.ErrCorrupt, media.ErrDimensions, media.ErrFileSize}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := media.Process(bytes.NewReader(tc.in), tc.lim)
			if p != nil || !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want %v", p, err, tc.want)
			}
			for _, other := range sentinels {
				if other != tc.want && errors.Is(err, other) {
					t.Fatalf("%v also matches %v", err, other)
				}
			}
		})
	}
}

// TestProcessBombIsCheap checks that an image bomb is refused from its header: refusing a
// 100000×100000 PNG must not allocate its pixels.
func TestProcessBombIsCheap(t *testing.T) {
	bomb := fixture(t, "bomb.png")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := media.Process(bytes.NewReader(bomb), attach)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, media.ErrDimensions) {
		t.Fatal(err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("refusing the bomb allocated %d bytes", n)
	}
}

func TestProcessDefaultLimits(t *testing.T) {
	// Zero limits fall back to the defaults rather than to no limit at all.
	if _, err := media.Process(bytes.NewReader(pngBomb(7681, 4320)), media.Limits{}); !errors.Is(err, media.ErrDimensions) {
		t.Fatalf("zero MaxPixels: %v", err)
	}
	big := bytes.NewReader(make([]byte, media.DefaultMaxBytes+1))
	if _, err := media.Process(big, media.Limits{}); !errors.Is(err, media.ErrFileSize) {
		t.Fatalf("zero MaxBytes: %v", err)
	}
}

// BenchmarkProcessJPEG processes a 2000×1500 photo as an attachment: decode, re-encode,
// preview and blurhash.
func BenchmarkProcessJPEG(b *testing.B) {
	in := encJPEG(b, photo(2000, 1500))
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := media.Process(bytes.NewReader(in), attach); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

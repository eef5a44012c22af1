// Package media validates uploaded images by their content and turns them into what the
// instance stores and serves: a copy re-encoded without metadata, a small preview and a
// blurhash. It knows nothing of HTTP or storage; callers write the bytes it returns.
//
// What is stored, by upload:
//   - JPEG: JPEG at quality 90, turned upright by its EXIF orientation first, since the tag
//     goes with the rest of the metadata.
//   - PNG: PNG, without ancillary chunks (text, EXIF, XMP, ICC profile).
//   - GIF: a still GIF becomes PNG; an animation stays a GIF, re-encoded frame by frame, which
//     keeps delays, disposal and looping but drops comments and application extensions (XMP).
//   - WebP: Go has no WebP encoder, so lossy WebP becomes JPEG and lossless or translucent WebP
//     becomes PNG. An EXIF orientation inside WebP is not applied (cameras do not write WebP).
//
// Previews are JPEG, or PNG when the image has transparency. Color profiles are dropped with
// the rest, so wide-gamut pictures are shown as sRGB.
package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// Sentinel errors of Process; each refused upload wraps exactly one of them.
var (
	// ErrUnsupported is a file that is not a JPEG, PNG, GIF or WebP image.
	ErrUnsupported = errors.New("media: unsupported file type")
	// ErrCorrupt is an image that is truncated or does not decode.
	ErrCorrupt = errors.New("media: image is truncated or corrupt")
	// ErrDimensions is an image with more pixels than the matrix limit.
	ErrDimensions = errors.New("media: image dimensions exceed the limit")
	// ErrFileSize is a file larger than the size limit.
	ErrFileSize = errors.New("media: file exceeds the size limit")
)

// Defaults that stand in for zero Limits fields, so a forgotten limit is never "unlimited".
const (
	DefaultMaxBytes  = 16 << 20
	DefaultMaxPixels = 7680 * 4320 // Mastodon's image matrix limit
	// DefaultMaxDecodeBytes admits an 8K JPEG (7680×4320) or a 12 MP phone photo that must be
	// turned upright, and refuses a 33 MP PNG with an alpha channel, which decodes to 133 MB
	// before any work is done on it.
	DefaultMaxDecodeBytes = 128 << 20
	// DefaultMaxFrames is ten seconds of animation at 100 frames a second.
	DefaultMaxFrames = 1000
)

// animatedPixelBudget bounds the summed frame area of an animated GIF, in multiples of
// MaxPixels: every frame is held in memory while the animation is re-encoded.
const animatedPixelBudget = 2

// Limits are what Process accepts and how it shapes its output.
type Limits struct {
	MaxBytes  int64 // largest accepted file; zero means DefaultMaxBytes
	MaxPixels int64 // largest accepted width×height; zero means DefaultMaxPixels
	// MaxWidth and MaxHeight, when both are set, box the stored image: larger ones are scaled
	// down to fit, keeping their aspect (avatars, headers).
	MaxWidth, MaxHeight int
	// PreviewSide is the longest side of the preview; zero makes no preview.
	PreviewSide int
	// MaxDecodeBytes bounds the memory one image may take while it is processed, as estimated
	// from its header before any pixel is decoded (see decodeCost); zero means
	// DefaultMaxDecodeBytes. Larger images are refused with ErrDimensions.
	MaxDecodeBytes int64
	// MaxFrames bounds the frames of an animation; zero means DefaultMaxFrames.
	MaxFrames int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxDecodeBytes <= 0 {
		l.MaxDecodeBytes = DefaultMaxDecodeBytes
	}
	if l.MaxFrames <= 0 {
		l.MaxFrames = DefaultMaxFrames
	}
	return l
}

// Image is one encoded file: the stored original or its preview.
type Image struct {
	Data          []byte
	ContentType   string // image/jpeg, image/png or image/gif
	Ext           string // jpg, png or gif, without the dot
	Width, Height int
}

// Aspect is the image's width divided by its height.
func (i *Image) Aspect() float64 {
	if i.Height == 0 {
		return 0
	}
	return float64(i.Width) / float64(i.Height)
}

// Processed is the outcome of a successful Process.
type Processed struct {
	Original Image  // the image to store, without metadata and upright
	Small    *Image // the preview; nil when Limits.PreviewSide is zero
	Blurhash string // 4×3 components
	Animated bool   // Original is an animated GIF
	Source   string // content type of the upload as found in its bytes
}

// Process reads an upload, identifies it by its content, refuses what it cannot safely accept
// and re-encodes the rest. Dimensions, frame counts and the memory decoding will take are
// checked from the headers before any pixel is decoded, so an image bomb costs a header read.
// Callers that may decode several uploads at once use a Gate's Process instead.
func Process(r io.Reader, lim Limits) (*Processed, error) {
	return process(context.Background(), r, lim, nil)
}

// Gate bounds how many images decode at once, so that together they take at most that many
// times Limits.MaxDecodeBytes. Refusals found from the header do not wait for a turn.
type Gate struct {
	turns chan struct{}
}

// NewGate returns a Gate letting n images (at least one) decode at once.
func NewGate(n int) *Gate {
	return &Gate{turns: make(chan struct{}, max(n, 1))}
}

// Process is the package's Process, decoding once a turn is free; it gives up with ctx's
// error when ctx ends first.
func (g *Gate) Process(ctx context.Context, r io.Reader, lim Limits) (*Processed, error) {
	return process(ctx, r, lim, g)
}

func (g *Gate) wait(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g.turns <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("media: waiting to decode: %w", ctx.Err())
	}
}

func (g *Gate) done() {
	if g != nil {
		<-g.turns
	}
}

// readUpload reads an upload of at most limit bytes. An upload whose size is known (a file, a
// multipart part) is read into one buffer of that size: growing a buffer by doubling would
// allocate about twice the upload again.
func readUpload(r io.Reader, limit int64) ([]byte, error) {
	if sk, ok := r.(io.Seeker); ok {
		size, err := sk.Seek(0, io.SeekEnd)
		if err == nil {
			_, err = sk.Seek(0, io.SeekStart)
		}
		if err == nil {
			if size > limit {
				return nil, ErrFileSize
			}
			data := make([]byte, size)
			if _, err := io.ReadFull(r, data); err != nil {
				return nil, fmt.Errorf("media: read upload: %w", err)
			}
			return data, nil
		}
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("media: read upload: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, ErrFileSize
	}
	return data, nil
}

func process(ctx context.Context, r io.Reader, lim Limits, g *Gate) (*Processed, error) {
	lim = lim.withDefaults()
	data, err := readUpload(r, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	f := sniff(data)
	if f == formatUnknown {
		return nil, ErrUnsupported
	}
	cfg, err := f.decodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := checkDimensions(cfg.Width, cfg.Height, lim.MaxPixels); err != nil {
		return nil, err
	}
	var frames gifShape
	if f == formatGIF {
		if frames, err = gifFrames(data); err != nil {
			return nil, err
		}
		if err := frames.check(lim); err != nil {
			return nil, err
		}
	}
	if cost := decodeCost(f, cfg, frames, data); cost > lim.MaxDecodeBytes {
		return nil, fmt.Errorf("%w: %dx%d would take %d MB to process (the limit is %d MB)",
			ErrDimensions, cfg.Width, cfg.Height, cost>>20, lim.MaxDecodeBytes>>20)
	}
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	defer g.done()
	if f == formatGIF {
		return processGIF(data, cfg, frames, lim)
	}
	img, err := f.decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if f == formatJPEG {
		img = orient(img, jpegOrientation(data))
	}
	out, err := finishStatic(img, f.outputFor(img), lim)
	if err != nil {
		return nil, err
	}
	out.Source = f.contentType()
	return out, nil
}

// decodeCost estimates from the header the bytes processing an image holds at its peak: the
// decoded pixels in the decoder's own layout, the upright RGBA copy of a JPEG with an EXIF
// rotation, and a half-size RGBA copy (a quarter of the full RGBA size) for resizing. Every
// frame of an animation is held at once, one byte a pixel, beside its first frame on the
// full canvas.
func decodeCost(f format, cfg image.Config, g gifShape, data []byte) int64 {
	pixels := int64(cfg.Width) * int64(cfg.Height)
	if f == formatGIF {
		return g.area + pixels*(4+1)
	}
	cost := pixels * (bytesPerPixel(cfg.ColorModel) + 1)
	if f == formatJPEG && jpegOrientation(data) > 1 {
		cost += pixels * 4
	}
	return cost
}

// bytesPerPixel is how many bytes the decoders keep a pixel of a color model in; unknown
// models count as the widest.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.YCbCrModel, color.NYCbCrAModel:
		return 4 // full-resolution chroma at worst, and alpha for WebP
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

func checkDimensions(w, h int, maxPixels int64) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: empty image", ErrCorrupt)
	}
	if int64(w)*int64(h) > maxPixels {
		return fmt.Errorf("%w: %dx%d", ErrDimensions, w, h)
	}
	return nil
}

// finishStatic fits a decoded image in the box, encodes it, and derives preview and blurhash.
func finishStatic(img image.Image, out outputFormat, lim Limits) (*Processed, error) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	if lim.MaxWidth > 0 && lim.MaxHeight > 0 {
		w, h = fitSize(w, h, lim.MaxWidth, lim.MaxHeight)
		img = scale(img, w, h)
	}
	data, err := out.encode(img)
	if err != nil {
		return nil, err
	}
	p := &Processed{Original: Image{Data: data, ContentType: out.contentType(), Ext: out.ext(), Width: w, Height: h}}
	return p, addPreview(p, img, lim)
}

// addPreview sets the preview and blurhash of p from its decoded (first) frame. The blurhash
// is taken from the preview when there is one: it is already small and well filtered.
func addPreview(p *Processed, img image.Image, lim Limits) error {
	src := img
	if lim.PreviewSide > 0 {
		w, h := fitSize(img.Bounds().Dx(), img.Bounds().Dy(), lim.PreviewSide, lim.PreviewSide)
		small := scale(img, w, h)
		out := outputJPEG
		if !opaque(img) {
			out = outputPNG
		}
		data, err := out.encodePreview(small)
		if err != nil {
			return err
		}
		p.Small = &Image{Data: data, ContentType: out.contentType(), Ext: out.ext(), Width: w, Height: h}
		src = small
	}
	var err error
	p.Blurhash, err = blurhashOf(src)
	return err
}

// encodeTo runs an encoder into a fresh buffer.
func encodeTo(enc func(io.Writer) error) ([]byte, error) {
	var buf bytes.Buffer
	if err := enc(&buf); err != nil {
		return nil, fmt.Errorf("media: encode: %w", err)
	}
	return buf.Bytes(), nil
}

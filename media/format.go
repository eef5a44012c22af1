package media

import (
	"bytes"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// format is an accepted input format, recognized by its magic bytes. The decoders are called
// directly rather than through image.Decode, so what is accepted does not depend on which
// packages some other import registered.
type format int

const (
	formatUnknown format = iota
	formatJPEG
	formatPNG
	formatGIF
	formatWebP
)

func sniff(b []byte) format {
	switch {
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return formatJPEG
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return formatGIF
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return formatWebP
	}
	return formatUnknown
}

func (f format) contentType() string {
	return [...]string{"", "image/jpeg", "image/png", "image/gif", "image/webp"}[f]
}

func (f format) decodeConfig(b []byte) (image.Config, error) {
	r := bytes.NewReader(b)
	switch f {
	case formatJPEG:
		return jpeg.DecodeConfig(r)
	case formatPNG:
		return png.DecodeConfig(r)
	case formatGIF:
		return gif.DecodeConfig(r)
	default:
		return webp.DecodeConfig(r)
	}
}

func (f format) decode(b []byte) (image.Image, error) {
	r := bytes.NewReader(b)
	switch f {
	case formatJPEG:
		return jpeg.Decode(r)
	case formatPNG:
		return png.Decode(r)
	case formatGIF:
		return gif.Decode(r)
	default:
		return webp.Decode(r)
	}
}

// outputFor chooses how a decoded still image is stored. Photos stay JPEG; everything else
// becomes PNG, losslessly. Go has no WebP encoder, so lossy WebP (decoded as YCbCr) is stored
// as JPEG and lossless or translucent WebP as PNG; a still GIF becomes PNG, as on Mastodon.
func (f format) outputFor(img image.Image) outputFormat {
	if f == formatJPEG {
		return outputJPEG
	}
	if _, lossy := img.(*image.YCbCr); f == formatWebP && lossy {
		return outputJPEG
	}
	return outputPNG
}

// outputFormat is a stored format. Re-encoding is what strips metadata: Go's encoders write
// pixels and the structure they need, never EXIF, XMP, ICC, comments or text chunks.
type outputFormat int

const (
	outputJPEG outputFormat = iota
	outputPNG
)

// JPEG qualities: the stored copy stays close to the upload, the preview is only looked at small.
const (
	jpegQuality    = 90
	previewQuality = 80
)

func (o outputFormat) contentType() string {
	return [...]string{"image/jpeg", "image/png"}[o]
}

func (o outputFormat) ext() string {
	return [...]string{"jpg", "png"}[o]
}

func (o outputFormat) encode(img image.Image) ([]byte, error) {
	return o.encodeQuality(img, jpegQuality)
}

func (o outputFormat) encodePreview(img image.Image) ([]byte, error) {
	return o.encodeQuality(img, previewQuality)
}

func (o outputFormat) encodeQuality(img image.Image, quality int) ([]byte, error) {
	return encodeTo(func(w io.Writer) error {
		if o == outputJPEG {
			return jpeg.Encode(w, img, &jpeg.Options{Quality: quality})
		}
		return png.Encode(w, img)
	})
}

// opaque reports whether every pixel of img is opaque; types that cannot tell count as not.
func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

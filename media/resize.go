package media

import (
	"fmt"
	"image"
	stddraw "image/draw"
	"math"

	"github.com/buckket/go-blurhash"
	"golang.org/x/image/draw"
)

// Blurhash shape: Mastodon's 4×3 components, computed on a copy at most this many pixels wide
// and high, which keeps it cheap and changes the hash imperceptibly.
const (
	blurhashX    = 4
	blurhashY    = 3
	blurhashSide = 64
)

// fitSize scales w×h down, keeping the aspect, to fit in maxW×maxH; smaller sizes are kept.
func fitSize(w, h, maxW, maxH int) (int, int) {
	if w <= maxW && h <= maxH {
		return w, h
	}
	f := math.Min(float64(maxW)/float64(w), float64(maxH)/float64(h))
	return max(1, int(math.Round(float64(w)*f))), max(1, int(math.Round(float64(h)*f)))
}

// scale resamples img to w×h. Large reductions first halve the image with a 2×2 box filter,
// cheaply, until less than a halving is left; Catmull-Rom, whose kernel widens with the
// reduction so nothing aliases, does the rest. An image already w×h is returned as it is.
func scale(img image.Image, w, h int) image.Image {
	b := img.Bounds()
	if b.Dx() == w && b.Dy() == h {
		return img
	}
	if b.Dx()/2 >= w && b.Dy()/2 >= h {
		half := halveImage(img)
		for half.Rect.Dx()/2 >= w && half.Rect.Dy()/2 >= h {
			half = halve(half)
		}
		img, b = half, half.Rect
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Rect, img, b, draw.Src, nil)
	return dst
}

// halveImage is halve(toRGBA(img)) without the full-size copy: it converts two source rows
// at a time, so the first halving of a decoded image costs a quarter of its RGBA size rather
// than all of it (see decodeCost).
func halveImage(img image.Image) *image.RGBA {
	if m, ok := img.(*image.RGBA); ok && m.Rect.Min == (image.Point{}) {
		return halve(m)
	}
	b := img.Bounds()
	w, h := b.Dx()/2, b.Dy()/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	strip := image.NewRGBA(image.Rect(0, 0, 2*w, 2))
	for y := 0; y < h; y++ {
		stddraw.Draw(strip, strip.Rect, img, image.Pt(b.Min.X, b.Min.Y+2*y), stddraw.Src)
		halveRow(dst.Pix[y*dst.Stride:], strip.Pix, strip.Pix[strip.Stride:], w)
	}
	return dst
}

// halve averages each 2×2 block of src, whose bounds start at the origin; an odd last row or
// column is dropped. Averaging premultiplied RGBA is right for translucent pixels too.
func halve(src *image.RGBA) *image.RGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		halveRow(dst.Pix[y*dst.Stride:], src.Pix[2*y*src.Stride:], src.Pix[(2*y+1)*src.Stride:], w)
	}
	return dst
}

// halveRow writes w pixels of out, each the average of a 2×2 block of the rows top and bottom.
func halveRow(out, top, bottom []uint8, w int) {
	for i := 0; i < 4*w; i++ {
		j := i + i&^3 // the same channel of source pixel 2x
		out[i] = uint8((uint32(top[j]) + uint32(top[j+4]) + uint32(bottom[j]) + uint32(bottom[j+4]) + 2) >> 2)
	}
}

// blurhashOf computes the placeholder hash clients paint before the image loads.
func blurhashOf(img image.Image) (string, error) {
	b := img.Bounds()
	w, h := fitSize(b.Dx(), b.Dy(), blurhashSide, blurhashSide)
	tiny := image.NewRGBA(image.Rect(0, 0, w, h)) // the encoder expects bounds at the origin
	draw.BiLinear.Scale(tiny, tiny.Rect, img, b, draw.Src, nil)
	hash, err := blurhash.Encode(blurhashX, blurhashY, tiny)
	if err != nil {
		return "", fmt.Errorf("media: blurhash: %w", err)
	}
	return hash, nil
}

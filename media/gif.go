package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"io"
)

// processGIF keeps animations animated and turns still GIFs into PNG. Either way the file is
// re-encoded, which drops comment, XMP and other application extensions: only frames, palettes,
// delays, disposal and the loop count survive.
func processGIF(data []byte, cfg image.Config, shape gifShape, lim Limits) (*Processed, error) {
	if shape.frames == 1 {
		img, err := gif.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return stillGIF(gifCanvas(img, cfg), lim)
	}
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	first := gifCanvas(g.Image[0], cfg)
	if lim.MaxWidth > 0 && lim.MaxHeight > 0 && (cfg.Width > lim.MaxWidth || cfg.Height > lim.MaxHeight) {
		// Rescaling every frame of a palette animation would need compositing and requantizing;
		// an animation too large for its box (a profile picture) is kept as its first frame.
		return stillGIF(first, lim)
	}
	enc, err := encodeTo(func(w io.Writer) error { return gif.EncodeAll(w, g) })
	if err != nil {
		return nil, err
	}
	p := &Processed{
		Original: Image{Data: enc, ContentType: "image/gif", Ext: "gif", Width: cfg.Width, Height: cfg.Height},
		Animated: true, Source: formatGIF.contentType(),
	}
	return p, addPreview(p, first, lim)
}

func stillGIF(img image.Image, lim Limits) (*Processed, error) {
	p, err := finishStatic(img, outputPNG, lim)
	if err != nil {
		return nil, err
	}
	p.Source = formatGIF.contentType()
	return p, nil
}

// gifCanvas places a frame on the GIF's logical screen, which the frame may not fill.
func gifCanvas(frame image.Image, cfg image.Config) image.Image {
	screen := image.Rect(0, 0, cfg.Width, cfg.Height)
	if frame.Bounds() == screen {
		return frame
	}
	canvas := image.NewRGBA(screen)
	draw.Draw(canvas, frame.Bounds(), frame, frame.Bounds().Min, draw.Src)
	return canvas
}

// gifShape is what gifFrames finds in a GIF: how many frames, and their summed area.
type gifShape struct {
	frames int
	area   int64
}

// check refuses animations with too many frames, or frames that add up to too many pixels:
// every frame is held in memory while an animation is re-encoded.
func (g gifShape) check(lim Limits) error {
	switch {
	case g.frames > lim.MaxFrames:
		return fmt.Errorf("%w: %d frames (the limit is %d)", ErrDimensions, g.frames, lim.MaxFrames)
	case g.area > animatedPixelBudget*lim.MaxPixels:
		return fmt.Errorf("%w: %d frames of %d pixels in all", ErrDimensions, g.frames, g.area)
	}
	return nil
}

// gifFrames walks a GIF's blocks without decoding any pixel, counting the frames and summing
// their areas, so an animation's decoded size is known before gif.DecodeAll allocates it: LZW
// lets a few megabytes expand to billions of pixels.
func gifFrames(b []byte) (gifShape, error) {
	corrupt := fmt.Errorf("%w: malformed GIF blocks", ErrCorrupt)
	var g gifShape
	if len(b) < 13 {
		return g, corrupt
	}
	var err error
	i := 13 + colorTableSize(b[10])
	for i < len(b) {
		switch b[i] {
		case 0x21: // extension: label, then data sub-blocks
			i, err = skipSubBlocks(b, i+2)
		case 0x2c: // image descriptor, optional local color table, LZW code size, sub-blocks
			if i+10 > len(b) {
				return g, corrupt
			}
			w, h := binary.LittleEndian.Uint16(b[i+5:]), binary.LittleEndian.Uint16(b[i+7:])
			g.frames, g.area = g.frames+1, g.area+int64(w)*int64(h)
			i, err = skipSubBlocks(b, i+10+colorTableSize(b[i+9])+1)
		case 0x3b: // trailer
			if g.frames == 0 {
				return g, corrupt
			}
			return g, nil
		default:
			return g, corrupt
		}
		if err != nil {
			return g, corrupt
		}
	}
	return g, corrupt // no trailer: the file was cut
}

// colorTableSize is the byte length of the color table a GIF packed-fields byte announces.
func colorTableSize(fields byte) int {
	if fields&0x80 == 0 {
		return 0
	}
	return 3 << (1 + fields&7)
}

// skipSubBlocks returns the offset after the data sub-blocks starting at i and their terminator.
func skipSubBlocks(b []byte, i int) (int, error) {
	for i < len(b) {
		n := int(b[i])
		i++
		if n == 0 {
			return i, nil
		}
		i += n
	}
	return 0, io.ErrUnexpectedEOF
}

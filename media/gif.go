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
func processGIF(data []byte, cfg image.Config, lim Limits) (*Processed, error) {
	frames, area, err := gifFrames(data)
	if err != nil {
		return nil, err
	}
	if area > animatedPixelBudget*lim.MaxPixels {
		return nil, fmt.Errorf("%w: %d frames of %d pixels in all", ErrDimensions, frames, area)
	}
	if frames == 1 {
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

// gifFrames walks a GIF's blocks without decoding any pixel, counting the frames and summing
// their areas, so an animation's decoded size is known before gif.DecodeAll allocates it: LZW
// lets a few megabytes expand to billions of pixels.
func gifFrames(b []byte) (frames int, area int64, err error) {
	corrupt := fmt.Errorf("%w: malformed GIF blocks", ErrCorrupt)
	if len(b) < 13 {
		return 0, 0, corrupt
	}
	i := 13 + colorTableSize(b[10])
	for i < len(b) {
		switch b[i] {
		case 0x21: // extension: label, then data sub-blocks
			i, err = skipSubBlocks(b, i+2)
		case 0x2c: // image descriptor, optional local color table, LZW code size, sub-blocks
			if i+10 > len(b) {
				return 0, 0, corrupt
			}
			w, h := binary.LittleEndian.Uint16(b[i+5:]), binary.LittleEndian.Uint16(b[i+7:])
			frames, area = frames+1, area+int64(w)*int64(h)
			i, err = skipSubBlocks(b, i+10+colorTableSize(b[i+9])+1)
		case 0x3b: // trailer
			if frames == 0 {
				return 0, 0, corrupt
			}
			return frames, area, nil
		default:
			return 0, 0, corrupt
		}
		if err != nil {
			return 0, 0, corrupt
		}
	}
	return 0, 0, corrupt // no trailer: the file was cut
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

package media_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// photo draws a deterministic photo-like image: smooth gradients with grain, which neither
// JPEG nor the scalers can reduce to nothing.
func photo(w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := rng.IntN(24)
			img.SetRGBA(x, y, color.RGBA{uint8(x*200/w + n), uint8(y*180/h + n), uint8((x+y)*90/(w+h) + 60 + n), 0xff})
		}
	}
	return img
}

// translucent is a w×h image whose right half is see-through.
func translucent(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			a := uint8(0xff)
			if x >= w/2 {
				a = 0x40
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 4), 0x80, uint8(y * 4), a})
		}
	}
	return img
}

func encJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var twoColors = color.Palette{color.RGBA{0x10, 0x20, 0x30, 0xff}, color.RGBA{0xf0, 0xe0, 0x10, 0xff}}

func stillGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, w, h), twoColors)
	img.SetColorIndex(1, 1, 1)
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// animatedGIF encodes frames of a moving bar and splices a comment extension and an XMP
// application extension after the global color table, as editors write them.
func animatedGIF(t testing.TB, w, h, frames int, comment string) []byte {
	t.Helper()
	g := &gif.GIF{Config: image.Config{ColorModel: twoColors, Width: w, Height: h}}
	for i := 0; i < frames; i++ {
		img := image.NewPaletted(image.Rect(0, 0, w, h), twoColors)
		for y := 0; y < h; y++ {
			img.SetColorIndex(i*w/frames, y, 1)
		}
		g.Image, g.Delay = append(g.Image, img), append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	at := 13 + 3<<(1+b[10]&7)
	ext := append([]byte{0x21, 0xfe, byte(len(comment))}, comment...)
	ext = append(ext, 0)
	xmp := []byte("XMP DataXMP")
	ext = append(append(append(ext, 0x21, 0xff, byte(len(xmp))), xmp...), 5, '<', 'x', ':', 'x', '>', 0)
	return append(append(append([]byte{}, b[:at]...), ext...), b[at:]...)
}

// gifFrameBomb is a structurally valid GIF of many full-screen frames whose pixel data is a
// few bytes each: cheap to send, huge to decode.
func gifFrameBomb(w, h uint16, frames int) []byte {
	out := []byte("GIF89a")
	out = binary.LittleEndian.AppendUint16(out, w)
	out = binary.LittleEndian.AppendUint16(out, h)
	out = append(out, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff) // two-entry global color table
	for i := 0; i < frames; i++ {
		out = append(out, 0x2c, 0, 0, 0, 0)
		out = binary.LittleEndian.AppendUint16(out, w)
		out = binary.LittleEndian.AppendUint16(out, h)
		out = append(out, 0, 2, 2, 0x4c, 0x01, 0)
	}
	return append(out, 0x3b)
}

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(append(out, typ...), data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngBomb is a PNG header claiming w×h pixels, with a valid IHDR CRC and almost no data.
func pngBomb(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, no interlace
	out := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

// withPNGMetadata splices text, EXIF and XMP chunks after a PNG's IHDR.
func withPNGMetadata(b []byte, secret string) []byte {
	at := 8 + 8 + 13 + 4
	meta := pngChunk("tEXt", []byte("Comment\x00"+secret))
	meta = append(meta, pngChunk("eXIf", tiff(1, secret))...)
	meta = append(meta, pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>"+secret+"</x:xmpmeta>"))...)
	return append(append(append([]byte{}, b[:at]...), meta...), b[at:]...)
}

// pngChunks lists a PNG's chunk types in order.
func pngChunks(t testing.TB, b []byte) []string {
	t.Helper()
	var out []string
	for i := 8; i+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		out = append(out, string(b[i+4:i+8]))
		i += 12 + n
	}
	return out
}

// gpsLatitude is the rational triple 48° 51' 29.6" written into the test GPS IFD.
var gpsLatitude = []byte{0, 0, 0, 48, 0, 0, 0, 1, 0, 0, 0, 51, 0, 0, 0, 1, 0, 0, 1, 40, 0, 0, 0, 10}

// tiff builds a big-endian TIFF structure as EXIF carries it: IFD0 with Orientation, Make (the
// secret) and a GPS IFD pointer; a GPS IFD with latitude reference and latitude.
func tiff(orientation uint16, secret string) []byte {
	be := binary.BigEndian
	entry := func(b []byte, tag, typ uint16, count uint32, value []byte) []byte {
		b = be.AppendUint16(be.AppendUint16(b, tag), typ)
		return append(be.AppendUint32(b, count), value...)
	}
	const ifd0 = 8
	const gpsIFD = ifd0 + 2 + 3*12 + 4
	const latitude = gpsIFD + 2 + 2*12 + 4
	const maker = latitude + 24
	b := []byte("MM\x00\x2a\x00\x00\x00\x08")
	b = be.AppendUint16(b, 3)
	b = entry(b, 0x010f, 2, uint32(len(secret)+1), be.AppendUint32(nil, maker)) // Make
	b = entry(b, 0x0112, 3, 1, []byte{byte(orientation >> 8), byte(orientation), 0, 0})
	b = entry(b, 0x8825, 4, 1, be.AppendUint32(nil, gpsIFD))
	b = be.AppendUint32(b, 0)
	b = be.AppendUint16(b, 2)
	b = entry(b, 0x0001, 2, 2, []byte{'N', 0, 0, 0})
	b = entry(b, 0x0002, 5, 3, be.AppendUint32(nil, latitude))
	b = be.AppendUint32(b, 0)
	b = append(b, gpsLatitude...)
	return append(append(b, secret...), 0)
}

// withEXIF inserts an APP1 EXIF segment right after a JPEG's SOI marker, where cameras put it.
func withEXIF(b []byte, orientation uint16, secret string) []byte {
	payload := append([]byte("Exif\x00\x00"), tiff(orientation, secret)...)
	seg := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(len(payload)+2))
	seg = append(seg, payload...)
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

// jpegMarkers lists the markers of a JPEG up to its first scan.
func jpegMarkers(t testing.TB, b []byte) []byte {
	t.Helper()
	var out []byte
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			t.Fatalf("no marker at %d", i)
		}
		out = append(out, b[i+1])
		if b[i+1] == 0xda {
			break
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return out
}

// losslessWebP writes a real VP8L bitstream without transforms or color cache, using "simple"
// prefix codes of one or two symbols per channel: a checkerboard of two greens, a left and a
// right red and, with alpha, opaque rows alternating with transparent ones.
func losslessWebP(w, h int, alpha bool) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(b2u(alpha), 1)
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no color cache
	bw.write(0, 1) // no meta prefix codes
	simple := func(symbols ...uint32) {
		bw.write(1, 1) // simple code
		bw.write(uint32(len(symbols)-1), 1)
		bw.write(1, 1) // 8-bit first symbol
		for _, s := range symbols {
			bw.write(s, 8)
		}
	}
	simple(0x30, 0xd0) // green
	simple(0x20, 0xe0) // red
	simple(0x90)       // blue
	if alpha {
		simple(0x00, 0xff)
	} else {
		simple(0xff)
	}
	simple(0) // distance, unused
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			bw.write(uint32((x/4+y/4)%2), 1)
			bw.write(b2u(x >= w/2), 1)
			if alpha {
				bw.write(b2u(y%2 == 0), 1)
			}
		}
	}
	return riffWebP("VP8L", bw.bytes())
}

// webpBomb is the header of a lossless w×h WebP without its pixels.
func webpBomb(w, h int) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 4)
	return riffWebP("VP8L", bw.bytes())
}

func riffWebP(fourcc string, chunk []byte) []byte {
	body := append([]byte("WEBP"+fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(chunk)))...)
	body = append(body, chunk...)
	if len(chunk)%2 == 1 {
		body = append(body, 0)
	}
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// bitWriter packs bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf   []byte
	acc   uint64
	nbits uint
}

func (bw *bitWriter) write(v uint32, n uint) {
	bw.acc |= uint64(v) << bw.nbits
	bw.nbits += n
	for bw.nbits >= 8 {
		bw.buf = append(bw.buf, byte(bw.acc))
		bw.acc >>= 8
		bw.nbits -= 8
	}
}

func (bw *bitWriter) bytes() []byte {
	if bw.nbits > 0 {
		return append(bw.buf, byte(bw.acc))
	}
	return bw.buf
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

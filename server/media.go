package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers GIF for image.DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// imageFormat is an accepted upload format: its file extension and content type.
type imageFormat struct{ ext, contentType string }

// imageFormats are the accepted formats by image.DecodeConfig's name for them. Uploads are
// identified by their content only: the client's file name and type are ignored.
var imageFormats = map[string]imageFormat{
	"png":  {"png", "image/png"},
	"jpeg": {"jpg", "image/jpeg"},
	"gif":  {"gif", "image/gif"},
	"webp": {"webp", "image/webp"},
}

// mediaFileName is the only shape of path /media/* serves: <id[:4]>/<id>.<ext>, as written by
// mediaCreate. Anything else, traversal attempts included, is not found.
var mediaFileName = regexp.MustCompile(`^[0-9]{4}/[0-9]{4,20}\.(png|jpg|gif|webp)$`)

// Validation errors of uploads, worded as Mastodon words them.
var (
	errMediaBlank    = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: File can't be blank"}
	errMediaTooBig   = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: File file size must be less than 16 MB"}
	errMediaType     = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: File content type is invalid"}
	errMediaCorrupt  = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: File could not be processed"}
	errMediaTooLarge = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: File dimensions are too large"}
)

// mediaCreate stores an uploaded image. Processing is synchronous, so v2 answers 200 with the
// final attachment as v1 does, rather than 202.
func (s *Server) mediaCreate(c *fiber.Ctx) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return errMediaBlank
	}
	if fh.Size > mediaImageSizeLimit {
		return errMediaTooBig
	}
	description := c.FormValue("description")
	if err := checkDescription(description); err != nil {
		return err
	}
	fx, fy, err := parseFocus(c.FormValue("focus"))
	if err != nil {
		return err
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, mediaImageSizeLimit+1))
	f.Close()
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	if len(data) > mediaImageSizeLimit {
		return errMediaTooBig
	}
	format, width, height, err := inspectImage(data)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	id := s.store.NewID(now)
	rel := id[:4] + "/" + id + "." + format.ext
	path := filepath.Join(s.cfg.MediaDir, filepath.FromSlash(rel))
	if err := writeFileAtomic(path, data); err != nil {
		return err
	}
	m := &store.Media{
		ID: id, AccountID: me(c).ID, Type: "image", URL: s.cfg.URL + "/media/" + rel,
		Width: width, Height: height, ContentType: format.contentType,
		Description: description, FocusX: fx, FocusY: fy, CreatedAt: now,
	}
	if err := s.store.CreateMedia(c.UserContext(), m); err != nil {
		_ = os.Remove(path) // an orphan file would never be served or cleaned up
		return err
	}
	return c.JSON(mastodon.MediaFrom(m))
}

// inspectImage identifies an image by its content and checks it decodes, refusing images whose
// pixel count exceeds the matrix limit before decoding them (decompression bombs).
func inspectImage(data []byte) (imageFormat, int, int, error) {
	var name string
	var width, height int
	if len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP" {
		w, h, err := webpSize(data)
		if err != nil {
			return imageFormat{}, 0, 0, errMediaCorrupt
		}
		name, width, height = "webp", w, h
	} else {
		cfg, n, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			if errors.Is(err, image.ErrFormat) {
				return imageFormat{}, 0, 0, errMediaType
			}
			return imageFormat{}, 0, 0, errMediaCorrupt
		}
		name, width, height = n, cfg.Width, cfg.Height
	}
	format, ok := imageFormats[name]
	if !ok {
		return imageFormat{}, 0, 0, errMediaType
	}
	if width <= 0 || height <= 0 {
		return imageFormat{}, 0, 0, errMediaCorrupt
	}
	if int64(width)*int64(height) > mediaImageMatrixLimit {
		return imageFormat{}, 0, 0, errMediaTooLarge
	}
	// The standard library has no WebP decoder; WebP is checked by its header only.
	if name != "webp" {
		if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
			return imageFormat{}, 0, 0, errMediaCorrupt
		}
	}
	return format, width, height, nil
}

// webpSize reads a WebP file's canvas size from its first chunk (lossy VP8, lossless VP8L or
// extended VP8X), after checking the RIFF length covers the data.
func webpSize(b []byte) (int, int, error) {
	if len(b) < 20 || int64(binary.LittleEndian.Uint32(b[4:8]))+8 > int64(len(b)) {
		return 0, 0, errors.New("truncated WebP")
	}
	switch chunk := string(b[12:16]); {
	case chunk == "VP8 " && len(b) >= 30:
		if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return 0, 0, errors.New("bad VP8 start code")
		}
		return int(binary.LittleEndian.Uint16(b[26:28]) & 0x3fff), int(binary.LittleEndian.Uint16(b[28:30]) & 0x3fff), nil
	case chunk == "VP8L" && len(b) >= 25:
		if b[20] != 0x2f {
			return 0, 0, errors.New("bad VP8L signature")
		}
		bits := binary.LittleEndian.Uint32(b[21:25])
		return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1, nil
	case chunk == "VP8X" && len(b) >= 30:
		w := int(b[24]) | int(b[25])<<8 | int(b[26])<<16
		h := int(b[27]) | int(b[28])<<8 | int(b[29])<<16
		return w + 1, h + 1, nil
	}
	return 0, 0, errors.New("unknown or truncated WebP chunk")
}

// writeFileAtomic writes data through a temporary file and a rename, so a crash never leaves
// a half-written file under the final name.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("media dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("media file: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write media: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("media file mode: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write media: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("store media: %w", err)
	}
	return nil
}

func checkDescription(d string) error {
	if utf8.RuneCountInString(d) > mediaDescriptionLimit {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Description is too long (maximum is %d characters)", mediaDescriptionLimit)
	}
	return nil
}

// parseFocus reads a focal point "x,y", each between -1 and 1; empty is the centre.
func parseFocus(v string) (float64, float64, error) {
	if strings.TrimSpace(v) == "" {
		return 0, 0, nil
	}
	xs, ys, ok := strings.Cut(v, ",")
	x, errX := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, errY := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if !ok || errX != nil || errY != nil || math.Abs(x) > 1 || math.Abs(y) > 1 || math.IsNaN(x) || math.IsNaN(y) {
		return 0, 0, errorf(fiber.StatusUnprocessableEntity, "Validation failed: Focus must be two numbers between -1.0 and 1.0, like 0.5,-0.25")
	}
	return x, y, nil
}

// ownMedia loads one of the caller's attachments that is not attached to a status yet, as
// Mastodon scopes these routes; everything else is not found.
func (s *Server) ownMedia(c *fiber.Ctx) (*store.Media, error) {
	id := cleanID(c.Params("id"))
	if id == "" {
		return nil, errNotFound
	}
	m, err := s.store.Media(c.UserContext(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	if m.AccountID != me(c).ID || m.StatusID != "" {
		return nil, errNotFound
	}
	return m, nil
}

// mediaGet returns one of the caller's unattached uploads.
func (s *Server) mediaGet(c *fiber.Ctx) error {
	m, err := s.ownMedia(c)
	if err != nil {
		return err
	}
	return c.JSON(mastodon.MediaFrom(m))
}

// mediaUpdateParams are PUT /api/v1/media/:id's parameters; absent ones stay unchanged.
type mediaUpdateParams struct {
	Description *string `json:"description" form:"description" query:"description"`
	Focus       *string `json:"focus" form:"focus" query:"focus"`
}

// mediaUpdate changes an unattached upload's description and focal point.
func (s *Server) mediaUpdate(c *fiber.Ctx) error {
	var p mediaUpdateParams
	if err := bind(c, &p); err != nil {
		return err
	}
	m, err := s.ownMedia(c)
	if err != nil {
		return err
	}
	if p.Description != nil {
		if err := checkDescription(*p.Description); err != nil {
			return err
		}
		m.Description = *p.Description
	}
	if p.Focus != nil {
		if m.FocusX, m.FocusY, err = parseFocus(*p.Focus); err != nil {
			return err
		}
	}
	if err := s.store.UpdateMedia(c.UserContext(), m); err != nil {
		return err
	}
	return c.JSON(mastodon.MediaFrom(m))
}

// mediaFile serves an uploaded file. Only names mediaCreate writes are served, with an image
// type from the extension and headers that stop browsers from running anything inside.
func (s *Server) mediaFile(c *fiber.Ctx) error {
	rel := c.Params("*")
	m := mediaFileName.FindStringSubmatch(rel)
	if m == nil {
		return errorf(fiber.StatusNotFound, "Not found")
	}
	base := filepath.Clean(s.cfg.MediaDir)
	full := filepath.Join(base, filepath.FromSlash(rel))
	if r, err := filepath.Rel(base, full); err != nil || strings.HasPrefix(r, "..") {
		return errorf(fiber.StatusNotFound, "Not found")
	}
	info, err := os.Lstat(full)
	if err != nil || !info.Mode().IsRegular() {
		return errorf(fiber.StatusNotFound, "Not found")
	}
	f, err := os.Open(full)
	if err != nil {
		return errorf(fiber.StatusNotFound, "Not found")
	}
	c.Set(fiber.HeaderContentType, imageFormats[formatOfExt(m[1])].contentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable") // ids are never reused
	return c.SendStream(f, int(info.Size()))
}

func formatOfExt(ext string) string {
	if ext == "jpg" {
		return "jpeg"
	}
	return ext
}

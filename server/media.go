package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
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

	"watercooler/media"
	"watercooler/server/mastodon"
	"watercooler/store"
)

// mediaContentTypes maps the extensions of stored files to the type they are served with.
// WebP is no longer written (Go cannot encode it) but files stored before are still served.
var mediaContentTypes = map[string]string{"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}

// mediaFileName is the only shape of path /media/* serves: <id[:4]>/<id>-<secret>.<ext> and the
// preview <id[:4]>/<id>-<secret>-small.<ext>, as mediaCreate writes them, where secret is
// rand.Text's 26 base32 characters (130 bits). Files are served without authentication, so the
// secret is what keeps an upload of a followers-only or direct post from being found by
// counting through ids, which are only a clock. Names without a secret are still served: older
// attachments, and avatars and headers, which are public. Anything else, traversal attempts
// included, is not found.
var mediaFileName = regexp.MustCompile(`^[0-9]{4}/[0-9]{4,20}(-[A-Z2-7]{26})?(-small)?\.(?P<ext>png|jpg|gif|webp)$`)

// attachmentLimits are the limits of status attachments, as /api/v2/instance publishes them.
var attachmentLimits = media.Limits{MaxBytes: mediaImageSizeLimit, MaxPixels: mediaImageMatrixLimit, PreviewSide: 640}

// Validation errors of uploads, worded as Mastodon words them.
var (
	errMediaBlank  = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: File can't be blank"}
	errMediaTooBig = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: File file size must be less than 16 MB"}
)

// mediaRefusal turns a refusal of media.Process into its 422 answer; label is "File",
// "Avatar" or "Header", and tooBig the answer for an oversized file. Other errors pass through.
func mediaRefusal(err error, label string, tooBig error) error {
	switch {
	case errors.Is(err, media.ErrFileSize):
		return tooBig
	case errors.Is(err, media.ErrUnsupported):
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: %s content type is invalid", label)
	case errors.Is(err, media.ErrDimensions):
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: %s dimensions are too large", label)
	case errors.Is(err, media.ErrCorrupt):
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: %s could not be processed", label)
	}
	return err
}

// mediaCreate stores an uploaded image: re-encoded without metadata, with a preview and a
// blurhash. Processing is synchronous, so v2 answers 200 with the final attachment as v1 does,
// rather than 202.
func (s *Server) mediaCreate(c *fiber.Ctx) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return errMediaBlank
	}
	if fh.Size > mediaImageSizeLimit {
		return errMediaTooBig
	}
	var params struct {
		Description string `json:"description"`
		Focus       string `json:"focus"`
	}
	if err := decodeParams(c, &params); err != nil {
		return err
	}
	description := params.Description
	if err := checkDescription(description); err != nil {
		return err
	}
	fx, fy, err := parseFocus(params.Focus)
	if err != nil {
		return err
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	p, err := s.processImage(c.UserContext(), f, attachmentLimits, "attachment")
	f.Close()
	if err != nil {
		return mediaRefusal(err, "File", errMediaTooBig)
	}
	now := time.Now().UTC()
	id := s.store.NewID(now)
	urls, err := s.writeMediaFiles(id, &p.Original, p.Small)
	if err != nil {
		return err
	}
	m := &store.Media{
		ID: id, AccountID: me(c).ID, Type: "image", URL: urls[0], PreviewURL: urls[1], Blurhash: p.Blurhash,
		Width: p.Original.Width, Height: p.Original.Height, SmallWidth: p.Small.Width, SmallHeight: p.Small.Height,
		ContentType: p.Original.ContentType, Description: description, FocusX: fx, FocusY: fy, CreatedAt: now,
	}
	if err := s.store.CreateMedia(c.UserContext(), m); err != nil {
		s.removeMediaFiles(urls...) // an orphan file would never be served or cleaned up
		return err
	}
	return c.JSON(mastodon.MediaFrom(m))
}

// processImage checks and re-encodes an uploaded image of kind (attachment, avatar, header)
// once a decode turn is free, and reports the time it took to the metrics.
func (s *Server) processImage(ctx context.Context, r io.Reader, lim media.Limits, kind string) (*media.Processed, error) {
	start := time.Now()
	p, err := s.decodes.Process(ctx, r, lim)
	if s.metrics != nil {
		s.metrics.MediaProcessed(kind, time.Since(start))
	}
	return p, err
}

// profileImageLimits box avatars and headers in the sizes Mastodon stores them at.
func profileImageLimits(name string) media.Limits {
	lim := media.Limits{MaxBytes: profileImageMax, MaxPixels: mediaImageMatrixLimit, MaxWidth: 400, MaxHeight: 400}
	if name == "header" {
		lim.MaxWidth, lim.MaxHeight = 1500, 500
	}
	return lim
}

// processProfileImage re-encodes an avatar or header without metadata, fitted in its box.
func (s *Server) processProfileImage(ctx context.Context, data []byte, name, label string, tooBig error) (*profileImage, error) {
	p, err := s.processImage(ctx, bytes.NewReader(data), profileImageLimits(name), name)
	if err != nil {
		return nil, mediaRefusal(err, label, tooBig)
	}
	return &profileImage{data: p.Original.Data, ext: p.Original.Ext}, nil
}

// writeMediaFiles stores an attachment's file and its preview under id and a fresh secret (see
// mediaFileName) and returns their URLs; when one write fails, nothing is left behind.
func (s *Server) writeMediaFiles(id string, original, small *media.Image) ([]string, error) {
	secret := rand.Text()
	var urls []string
	for _, f := range []struct {
		suffix string
		img    *media.Image
	}{{"", original}, {"-small", small}} {
		rel := id[:4] + "/" + id + "-" + secret + f.suffix + "." + f.img.Ext
		if err := writeFileAtomic(filepath.Join(s.cfg.MediaDir, filepath.FromSlash(rel)), f.img.Data); err != nil {
			s.removeMediaFiles(urls...)
			return nil, err
		}
		urls = append(urls, s.cfg.URL+"/media/"+rel)
	}
	return urls, nil
}

// removeMediaFiles deletes stored files by URL. URLs of other shapes (remote media, defaults)
// are left alone, and a file already gone is no error.
func (s *Server) removeMediaFiles(urls ...string) {
	for _, u := range urls {
		rel, ok := strings.CutPrefix(u, s.cfg.URL+"/media/")
		if !ok || !mediaFileName.MatchString(rel) {
			continue
		}
		path := filepath.Join(s.cfg.MediaDir, filepath.FromSlash(rel))
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("removing media file", "path", path, "err", err)
		}
	}
}

// deleteStatusWithMedia deletes a status with its attachments, records and files. The files go
// only once the records are gone, so a failed delete never leaves records without files.
func (s *Server) deleteStatusWithMedia(ctx context.Context, st *store.Status) error {
	var urls []string
	for _, id := range st.MediaIDs {
		if m, err := s.store.Media(ctx, id); err == nil {
			urls = append(urls, m.URL, m.PreviewURL)
		}
	}
	if err := s.store.DeleteStatus(ctx, st); err != nil {
		return err
	}
	s.removeMediaFiles(urls...)
	return nil
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
	if err := decodeParams(c, &p); err != nil {
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
	c.Set(fiber.HeaderContentType, mediaContentTypes[m[mediaFileName.SubexpIndex("ext")]])
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable") // names are never reused
	return c.SendStream(f, int(info.Size()))
}

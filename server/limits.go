package server

import (
	"bytes"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// What one request may cost. The body limit is chosen per route from the request line, before
// the body is read: routes that upload files (uploadRoutes) may send up to cfg.BodyLimit,
// every other route, the inbox included, cfg.RequestBodyLimit (at most cfg.BodyLimit). The
// parameters inside a body are bounded by the decoder (params.go); images by the decode
// budget of the media package and the Server's media Gate.

// defaultRequestBodyLimit stands in for a zero cfg.RequestBodyLimit (configs built by hand).
const defaultRequestBodyLimit = 1 << 20

// uploadRoutes are the routes that take files, as "METHOD /path" in lower case; routes.go
// gives each of them uploadRoute too.
var uploadRoutes = map[string]bool{
	"POST /api/v1/media":                        true,
	"POST /api/v2/media":                        true,
	"PATCH /api/v1/accounts/update_credentials": true,
}

// bodyLimits makes fasthttp apply each route's body limit once it has read the headers, so a
// body over it is refused with 413 before it is read.
func (s *Server) bodyLimits(srv *fasthttp.Server) {
	small := s.cfg.RequestBodyLimit
	if small <= 0 {
		small = defaultRequestBodyLimit
	}
	small = min(small, s.cfg.BodyLimit)
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		if isUploadRoute(h.Method(), h.RequestURI()) {
			return fasthttp.RequestConfig{MaxRequestBodySize: s.cfg.BodyLimit}
		}
		return fasthttp.RequestConfig{MaxRequestBodySize: small}
	}
}

// isUploadRoute reports whether a request line names one of uploadRoutes, matched the way
// Fiber routes by default: case-insensitively, with or without a trailing slash.
func isUploadRoute(method, uri []byte) bool {
	if string(method) == fiber.MethodGet || string(method) == fiber.MethodHead {
		return false // the reads, most requests: spared the allocations below
	}
	path, _, _ := bytes.Cut(uri, []byte("?"))
	if len(path) > 64 {
		return false
	}
	key := string(method) + " " + strings.ToLower(strings.TrimSuffix(string(path), "/"))
	return uploadRoutes[key]
}

// uploadRoute lets a route's parameters be as long as its body, for files sent as values
// (avatars as data: URIs).
func (s *Server) uploadRoute(c *fiber.Ctx) error {
	c.Locals(localValueLimit, s.cfg.BodyLimit)
	return c.Next()
}

// limitParams refuses a query string or url-encoded form with more than maxParams pairs before
// any handler parses it, whichever way it reads them (the decoder, c.FormValue, c.Query).
func limitParams(c *fiber.Ctx) error {
	if tooManyArgs(c.Request().URI().QueryString()) {
		return errTooManyParams
	}
	if bytes.HasPrefix(c.Request().Header.ContentType(), []byte(fiber.MIMEApplicationForm)) && tooManyArgs(c.Body()) {
		return errTooManyParams
	}
	return c.Next()
}

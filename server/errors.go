package server

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/requestid"
	"watercooler/server/mastodon"
	"watercooler/store"
)

// apiError carries an HTTP status and a client-safe message; everything else a handler returns
// is logged and reported as a 500 without details.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.status, e.msg) }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// Common client errors, worded as Mastodon words them.
var (
	errNotFound     = &apiError{fiber.StatusNotFound, "Record not found"}
	errUnauthorized = &apiError{fiber.StatusUnauthorized, "The access token is invalid"}
	errForbidden    = &apiError{fiber.StatusForbidden, "This action is not allowed"}
	errScope        = &apiError{fiber.StatusForbidden, "This action is outside the authorized scopes"}
)

// errorHandler is the one place that turns errors into statuses and Mastodon's error JSON.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, msg := fiber.StatusInternalServerError, "Internal server error"
		var api *apiError
		var fe *fiber.Error
		switch {
		case errors.As(err, &api):
			status, msg = api.status, api.msg
		case errors.Is(err, store.ErrNotFound):
			status, msg = fiber.StatusNotFound, "Record not found"
		case errors.Is(err, store.ErrForbidden):
			status, msg = fiber.StatusForbidden, "This action is not allowed"
		case errors.Is(err, store.ErrConflict):
			status, msg = fiber.StatusUnprocessableEntity, "Validation failed: "+err.Error()
		case errors.As(err, &fe):
			status, msg = fe.Code, fe.Message
			if status == fiber.StatusNotFound {
				msg = "Not found"
			}
		}
		if len(msg) > 200 {
			msg = msg[:200] + "…" // parse errors quote whole requests; a TLS probe fills pages
		}
		if status == fiber.StatusUnauthorized && len(c.Response().Header.Peek(fiber.HeaderWWWAuthenticate)) == 0 {
			c.Set(fiber.HeaderWWWAuthenticate, bearerChallenge(bearerToken(c))) // RFC 9110 §15.5.2
		}
		if why, ok := connectionNoise(fe, status); ok {
			log.Debug("connection closed without a request", "status", status, "reason", why)
		} else if status >= 500 {
			log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err, "request_id", requestid.From(c.UserContext()))
		} else {
			log.Info("request refused", "method", c.Method(), "path", c.Path(), "status", status, "reason", msg, "request_id", requestid.From(c.UserContext()))
		}
		return c.Status(status).JSON(mastodon.Error{Error: msg})
	}
}

// connectionNoise recognizes the refusals fasthttp reports for connections that never carried
// an HTTP request: a TLS handshake sent to this plain-HTTP listener (a peer trying https:// on
// a department that serves http, as every first WebFinger to a private-network peer does) and
// a connection that sent no complete request before the read timeout. Neither is anything an operator can
// act on, so they are logged at debug level instead of filling the log beside real refusals.
func connectionNoise(fe *fiber.Error, status int) (string, bool) {
	if fe == nil {
		return "", false
	}
	switch {
	case status == fiber.StatusRequestTimeout:
		return "no complete request before the read timeout", true
	case status == fiber.StatusBadRequest && strings.Contains(fe.Message, `"\x16\x03`):
		return "TLS handshake on the plain-HTTP listener", true
	}
	return "", false
}

// errNotImplemented answers routes whose handler is not written yet.
var errNotImplemented = &apiError{fiber.StatusNotImplemented, "Not implemented yet"}

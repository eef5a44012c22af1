package server

import "github.com/gofiber/fiber/v2"

// Stubs of the oauth routes; each is replaced by its real handler in oauth.go.

func (s *Server) oauthMetadata(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) oauthAuthorizeForm(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) oauthAuthorizeSubmit(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) oauthToken(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) oauthRevoke(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) appsCreate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) appsVerify(c *fiber.Ctx) error { return errNotImplemented }

package server

import "github.com/gofiber/fiber/v2"

// Stubs of the media routes; each is replaced by its real handler in media.go.

func (s *Server) mediaCreate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) mediaGet(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) mediaUpdate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) mediaFile(c *fiber.Ctx) error { return errNotImplemented }

package server

import "github.com/gofiber/fiber/v2"

// Stubs of the timelines routes; each is replaced by its real handler in timelines.go.

func (s *Server) timelineHome(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) timelinePublic(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) timelineTag(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) timelineList(c *fiber.Ctx) error { return errNotImplemented }

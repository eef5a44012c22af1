package server

import "github.com/gofiber/fiber/v2"

// Stubs of the markers routes; each is replaced by its real handler in markers.go.

func (s *Server) markersGet(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) markersSave(c *fiber.Ctx) error { return errNotImplemented }

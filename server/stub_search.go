package server

import "github.com/gofiber/fiber/v2"

// Stubs of the search routes; each is replaced by its real handler in search.go.

func (s *Server) searchV2(c *fiber.Ctx) error { return errNotImplemented }

package server

import "github.com/gofiber/fiber/v2"

// Stubs of the instance routes; each is replaced by its real handler in instance.go.

func (s *Server) instanceV1(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) instanceV2(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) instancePeers(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) instanceRules(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) customEmojis(c *fiber.Ctx) error { return errNotImplemented }

package server

import "github.com/gofiber/fiber/v2"

// Stubs of the filters routes; each is replaced by its real handler in filters.go.

func (s *Server) filtersList(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) filterCreate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) filterKeywordGet(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) filterKeywordUpdate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) filterKeywordDelete(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) filterGet(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) filterUpdate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) filterDelete(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) filterKeywordsList(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) filterKeywordAdd(c *fiber.Ctx) error { return errNotImplemented }

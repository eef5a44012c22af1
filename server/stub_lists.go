package server

import "github.com/gofiber/fiber/v2"

// Stubs of the lists routes; each is replaced by its real handler in lists.go.

func (s *Server) listsIndex(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) listCreate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) listGet(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) listUpdate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) listDelete(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) listAccounts(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) listAddAccounts(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) listRemoveAccounts(c *fiber.Ctx) error { return errNotImplemented }

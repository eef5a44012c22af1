package server

import "github.com/gofiber/fiber/v2"

// Stubs of the tags routes; each is replaced by its real handler in tags.go.

func (s *Server) followedTags(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) tagGet(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) tagFollow(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) tagUnfollow(c *fiber.Ctx) error { return errNotImplemented }

package server

import "github.com/gofiber/fiber/v2"

// Stubs of the notifications routes; each is replaced by its real handler in notifications.go.

func (s *Server) notificationsList(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) notificationsClear(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) notificationGet(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) notificationDismiss(c *fiber.Ctx) error { return errNotImplemented }

package server

import "github.com/gofiber/fiber/v2"

// Stubs of the statuses routes; each is replaced by its real handler in statuses.go.

func (s *Server) statusCreate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusGet(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusDelete(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusEdit(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusHistory(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusSource(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusContext(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusReblog(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusUnreblog(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusFavourite(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusUnfavourite(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusBookmark(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusUnbookmark(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusPin(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusUnpin(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusRebloggedBy(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) statusFavouritedBy(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) favouritesList(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) bookmarksList(c *fiber.Ctx) error { return errNotImplemented }

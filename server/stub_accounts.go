package server

import "github.com/gofiber/fiber/v2"

// Stubs of the accounts routes; each is replaced by its real handler in accounts.go.

func (s *Server) accountsCreate(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) verifyCredentials(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) updateCredentials(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) relationships(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountLookup(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountSearch(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountGet(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountStatuses(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountFollowers(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountFollowing(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountLists(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountFollow(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountUnfollow(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountBlock(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountUnblock(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountMute(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) accountUnmute(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) blocksList(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) mutesList(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) followRequestsList(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) followRequestAuthorize(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) followRequestReject(c *fiber.Ctx) error { return errNotImplemented }

func (s *Server) preferences(c *fiber.Ctx) error { return errNotImplemented }

package server

import (
	"context"
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"watercooler/store"
)

// Organization is the departments' member list (package org): its gossip route and the
// departments it knows.
type Organization interface {
	// Handler serves the gossip the departments send each other (POST /org/gossip).
	Handler() http.Handler
	// DirectoryHandler serves this department's people to the others (GET /org/directory).
	DirectoryHandler() http.Handler
	// Departments lists the organization's members, this department included.
	Departments(ctx context.Context) ([]store.OrgMember, error)
}

// WithOrganization connects the server to the organization's member list.
func WithOrganization(o Organization) Option { return func(s *Server) { s.org = o } }

func (s *Server) mountOrganization(app *fiber.App) {
	if s.org == nil {
		return
	}
	app.Post("/org/gossip", adaptor.HTTPHandler(detached(s.org.Handler())))
	app.Get("/org/directory", adaptor.HTTPHandler(detached(s.org.DirectoryHandler())))
}

// department is an entry of GET /api/v1/organization, a Watercooler extension.
type department struct {
	Domain      string `json:"domain"`
	URL         string `json:"url"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Self marks the department answering.
	Self bool `json:"self"`
}

// organization lists the departments of the organization this one belongs to; a department in
// none lists itself.
func (s *Server) organization(c *fiber.Ctx) error {
	out := []department{}
	if s.org == nil {
		return c.JSON([]department{{Domain: s.cfg.Domain(), URL: s.cfg.URL, Title: s.cfg.Title, Description: s.cfg.Description, Self: true}})
	}
	members, err := s.org.Departments(c.UserContext())
	if err != nil {
		return err
	}
	for _, m := range members {
		out = append(out, department{Domain: m.Host, URL: m.URL, Title: m.Title, Description: m.Description, Self: m.Host == s.cfg.Domain()})
	}
	return c.JSON(out)
}

// organizationPeers is the hosts of the organization's other departments.
func (s *Server) organizationPeers(ctx context.Context) ([]string, error) {
	if s.org == nil {
		return nil, nil
	}
	members, err := s.org.Departments(ctx)
	if err != nil {
		return nil, err
	}
	var hosts []string
	for _, m := range members {
		if m.Host != s.cfg.Domain() {
			hosts = append(hosts, m.Host)
		}
	}
	return hosts, nil
}

// mergeHosts is a and b sorted, without repeats.
func mergeHosts(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

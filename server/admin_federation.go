package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// DeliveryAdmin is what the admin page needs from the delivery side of federation. The
// instance's Federation implements it; the server finds it there rather than through an option
// of its own, since one cannot come without the other.
type DeliveryAdmin interface {
	// DeliveryHealth reports every peer's backlog and its delivery outcomes over the last hours.
	DeliveryHealth(ctx context.Context, hours int) ([]store.PeerHealth, error)
	// RecentDeadDeliveries lists up to count dead-lettered deliveries, newest first.
	RecentDeadDeliveries(ctx context.Context, count int64) ([]store.Job, error)
	// RetryDeadDelivery queues a dead letter again; store.ErrNotFound when it is gone.
	RetryDeadDelivery(ctx context.Context, id string) (store.Job, error)
}

// deliveryAdmin is the instance's DeliveryAdmin, nil when it does not federate.
func (s *Server) deliveryAdmin() DeliveryAdmin {
	d, _ := s.fed.(DeliveryAdmin)
	return d
}

// adminFederation is GET /api/v1/admin/federation, a Watercooler extension: for every peer
// department, deliveries queued and waiting to retry now, and each of the last hours (24, or
// hours=1..48) delivered, failed, retried and dead-lettered.
func (s *Server) adminFederation(c *fiber.Ctx) error {
	hours := 24
	if v := c.Query("hours"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 48 {
			return validationFailed("Hours must be a whole number from 1 to 48")
		}
		hours = n
	}
	out := []mastodon.FederationPeer{}
	d := s.deliveryAdmin()
	if d == nil {
		return c.JSON(out)
	}
	peers, err := d.DeliveryHealth(c.UserContext(), hours)
	if err != nil {
		return err
	}
	for _, p := range peers {
		out = append(out, mastodon.FederationPeerFrom(p))
	}
	return c.JSON(out)
}

// adminDeadLetters is GET /api/v1/admin/dead_letters, a Watercooler extension: the deliveries
// that ran out of chances, newest first (limit, default 100, at most 500).
func (s *Server) adminDeadLetters(c *fiber.Ctx) error {
	out := []mastodon.DeadLetter{}
	d := s.deliveryAdmin()
	if d == nil {
		return c.JSON(out)
	}
	ctx := c.UserContext()
	jobs, err := d.RecentDeadDeliveries(ctx, int64(pageFrom(c, 100, 500).Limit))
	if err != nil {
		return err
	}
	for _, j := range jobs {
		out = append(out, s.deadLetter(ctx, j))
	}
	return c.JSON(out)
}

// deadLetter renders a dead letter, naming its activity's type when the activity is still kept.
func (s *Server) deadLetter(ctx context.Context, j store.Job) mastodon.DeadLetter {
	out := mastodon.DeadLetter{ID: j.ID, Inbox: j.Fields["inbox"], ActivityID: j.Fields["payload"],
		Error: j.Fields["reason"], Attempts: j.Fields["attempt"], FailedAt: j.Fields["failed_at"]}
	if body, err := s.store.Payload(ctx, out.ActivityID); err == nil {
		var activity struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(body, &activity) == nil {
			out.ActivityType = activity.Type
		}
	}
	return out
}

// adminDeadLetterRetry is POST /api/v1/admin/dead_letters/:id/retry, a Watercooler extension:
// the delivery goes back on the delivery queue as a first attempt.
func (s *Server) adminDeadLetterRetry(c *fiber.Ctx) error {
	d := s.deliveryAdmin()
	if d == nil {
		return errNotFound
	}
	ctx := c.UserContext()
	j, err := d.RetryDeadDelivery(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	j.ID = c.Params("id")
	return c.JSON(s.deadLetter(ctx, j))
}

// domainPattern is a host name with an optional port, as departments on one machine use.
var domainPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$`)

// policyDomainParam reads the domain of a new block or allow (domainParam) and checks it is a
// host name, since the federation policy matches hosts and their subdomains.
func policyDomainParam(c *fiber.Ctx) (string, error) {
	domain, err := domainParam(c)
	if err != nil {
		return "", err
	}
	if len(domain) > 253 || !domainPattern.MatchString(domain) {
		return "", validationFailed("Domain is not a valid domain name")
	}
	return domain, nil
}

// domainPolicy serves Mastodon's admin domain_blocks or domain_allows over one list of the
// federation policy, changed with the functions `watercooler admin domain ...` uses.
type domainPolicy struct {
	list   func(store.FederationPolicy) []string
	add    func(*store.Store, context.Context, string) error
	remove func(*store.Store, context.Context, string) error
	render func(domain string) any
}

var (
	domainBlocks = domainPolicy{
		list: func(p store.FederationPolicy) []string { return p.Blocked },
		add:  (*store.Store).BlockDomain, remove: (*store.Store).UnblockDomain,
		render: func(d string) any {
			return mastodon.AdminDomainBlock{ID: d, Domain: d, Digest: sha256Hex(d), Severity: "suspend", RejectMedia: true, RejectReports: true}
		},
	}
	domainAllows = domainPolicy{
		list: func(p store.FederationPolicy) []string { return p.Allowed },
		add:  (*store.Store).AllowDomain, remove: (*store.Store).DisallowDomain,
		render: func(d string) any { return mastodon.AdminDomainAllow{ID: d, Domain: d} },
	}
)

func (s *Server) domains(c *fiber.Ctx, dp domainPolicy) ([]string, error) {
	p, err := s.store.FederationPolicy(c.UserContext())
	if err != nil {
		return nil, err
	}
	list := slices.Clone(dp.list(p))
	slices.Sort(list)
	return list, nil
}

// listDomains is GET /api/v1/admin/domain_blocks or domain_allows.
func (s *Server) listDomains(dp domainPolicy) fiber.Handler {
	return func(c *fiber.Ctx) error {
		list, err := s.domains(c, dp)
		if err != nil {
			return err
		}
		out := make([]any, len(list))
		for i, d := range list {
			out[i] = dp.render(d)
		}
		return c.JSON(out)
	}
}

// getDomain is GET /api/v1/admin/domain_blocks/:id or domain_allows/:id; the id is the domain.
func (s *Server) getDomain(dp domainPolicy) fiber.Handler {
	return func(c *fiber.Ctx) error {
		list, err := s.domains(c, dp)
		if err != nil {
			return err
		}
		if !slices.Contains(list, strings.ToLower(c.Params("id"))) {
			return errNotFound
		}
		return c.JSON(dp.render(strings.ToLower(c.Params("id"))))
	}
}

// addDomain is POST /api/v1/admin/domain_blocks or domain_allows.
func (s *Server) addDomain(dp domainPolicy) fiber.Handler {
	return func(c *fiber.Ctx) error {
		domain, err := policyDomainParam(c)
		if err != nil {
			return err
		}
		list, err := s.domains(c, dp)
		if err != nil {
			return err
		}
		if slices.Contains(list, domain) {
			return validationFailed("Domain has already been taken")
		}
		if err := dp.add(s.store, c.UserContext(), domain); err != nil {
			return err
		}
		return c.JSON(dp.render(domain))
	}
}

// removeDomain is DELETE /api/v1/admin/domain_blocks/:id or domain_allows/:id.
func (s *Server) removeDomain(dp domainPolicy) fiber.Handler {
	return func(c *fiber.Ctx) error {
		list, err := s.domains(c, dp)
		if err != nil {
			return err
		}
		domain := strings.ToLower(c.Params("id"))
		if !slices.Contains(list, domain) {
			return errNotFound
		}
		if err := dp.remove(s.store, c.UserContext(), domain); err != nil {
			return err
		}
		return c.JSON(fiber.Map{})
	}
}

// sha256Hex is a domain's digest as Mastodon publishes it beside a block.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

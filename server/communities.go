package server

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/config"
	"watercooler/server/mastodon"
	"watercooler/store"
)

// Communities is this department's communities of practice (package community): Group actors
// that announce what their members address to them.
type Communities interface {
	// Create makes a community on behalf of creator, who moderates it.
	Create(ctx context.Context, creator *store.Account, name, displayName string) (*store.Community, *store.Account, error)
	// StatusPosted announces a status posted here from the local communities it addresses.
	StatusPosted(ctx context.Context, st *store.Status) error
	// Remove takes a status out of a community; by must moderate it or be an admin.
	Remove(ctx context.Context, by *store.Account, groupID, statusID string) error
	// Listing reads another department's GET /api/v1/communities through the guarded fetcher.
	Listing(ctx context.Context, baseURL string) ([]byte, error)
}

// WithCommunities connects the server to the department's communities.
func WithCommunities(c Communities) Option { return func(s *Server) { s.comm = c } }

// communityListingTimeout bounds how long the organization-wide listing waits for the slowest
// department; one that is down is left out rather than holding the page.
const communityListingTimeout = 3 * time.Second

// communityEntity is an entry of GET /api/v1/communities, a Watercooler extension.
type communityEntity struct {
	// Acct is name@domain, what people anywhere search for and follow to join.
	Acct         string   `json:"acct"`
	Name         string   `json:"name"`
	Domain       string   `json:"domain"`
	DisplayName  string   `json:"display_name"`
	Note         string   `json:"note"`
	URL          string   `json:"url"`
	URI          string   `json:"uri"`
	MembersCount int64    `json:"members_count"`
	Moderators   []string `json:"moderators"`
	CreatedAt    string   `json:"created_at"`
	// Account is the group's account entity, on the department that hosts it only, since ids
	// are local: other departments resolve Acct.
	Account *mastodon.Account `json:"account,omitempty"`
}

// communitiesList is GET /api/v1/communities: this department's communities, and with
// scope=organization every department's, each asked through its own listing.
func (s *Server) communitiesList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	out, err := s.localCommunities(ctx)
	if err != nil {
		return err
	}
	if c.Query("scope") != "organization" || s.comm == nil || s.org == nil {
		return c.JSON(out)
	}
	members, err := s.org.Departments(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, communityListingTimeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range members {
		if m.Host == s.cfg.Domain() || m.Left {
			continue
		}
		wg.Go(func() {
			body, err := s.comm.Listing(ctx, m.URL)
			var theirs []communityEntity
			if err == nil {
				err = json.Unmarshal(body, &theirs)
			}
			if err != nil {
				s.log.Info("community listing of a department left out", "department", m.Host, "err", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, e := range theirs {
				// A department answers for its own communities only.
				if strings.HasSuffix(e.Acct, "@"+m.Host) && e.Domain == m.Host {
					e.Account = nil
					out = append(out, e)
				}
			}
		})
	}
	wg.Wait()
	slices.SortStableFunc(out, func(a, b communityEntity) int { return strings.Compare(a.Acct, b.Acct) })
	return c.JSON(out)
}

// localCommunities renders this department's communities, oldest first.
func (s *Server) localCommunities(ctx context.Context) ([]communityEntity, error) {
	comms, err := s.store.Communities(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(comms))
	for i, cm := range comms {
		ids[i] = cm.AccountID
	}
	accounts, err := s.store.AccountsInOrder(ctx, ids)
	if err != nil {
		return nil, err
	}
	rendered, err := s.renderAccounts(ctx, accounts)
	if err != nil {
		return nil, err
	}
	out := []communityEntity{}
	for i, a := range accounts {
		cm := comms[slices.IndexFunc(comms, func(cm *store.Community) bool { return cm.AccountID == a.ID })]
		mods, err := s.store.AccountsInOrder(ctx, cm.Moderators)
		if err != nil {
			return nil, err
		}
		e := communityEntity{
			Acct: a.Username + "@" + s.cfg.Domain(), Name: a.Username, Domain: s.cfg.Domain(), DisplayName: a.DisplayName,
			Note: a.Note, URL: a.URL, URI: a.URI, MembersCount: rendered[i].FollowersCount, Moderators: []string{},
			CreatedAt: cm.CreatedAt.UTC().Format(time.RFC3339), Account: &rendered[i],
		}
		for _, m := range mods {
			e.Moderators = append(e.Moderators, m.Username+"@"+s.cfg.Domain())
		}
		out = append(out, e)
	}
	return out, nil
}

// communitiesCreate is POST /api/v1/communities (name, display_name), open to the people
// WATERCOOLER_COMMUNITY_CREATION names.
func (s *Server) communitiesCreate(c *fiber.Ctx) error {
	if s.comm == nil {
		return errorf(fiber.StatusNotFound, "This department hosts no communities")
	}
	ctx := c.UserContext()
	creator := me(c)
	if s.cfg.CommunityCreation != config.CommunityCreationEveryone {
		u, err := s.store.User(ctx, creator.ID)
		if err != nil {
			return err
		}
		if !u.Admin {
			return errorf(fiber.StatusForbidden, "Only admins create communities on this department")
		}
	}
	var p struct {
		Name        string `json:"name" form:"name"`
		DisplayName string `json:"display_name" form:"display_name"`
	}
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	if _, _, err := s.comm.Create(ctx, creator, strings.TrimSpace(p.Name), p.DisplayName); err != nil {
		return communityError(err)
	}
	all, err := s.localCommunities(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(all, func(e communityEntity) bool { return strings.EqualFold(e.Name, strings.TrimSpace(p.Name)) })
	if i < 0 {
		return errNotFound
	}
	return c.JSON(all[i])
}

// communitiesRemove is DELETE /api/v1/communities/:id/statuses/:status_id: a moderator takes a
// post out of the community whose group account is :id.
func (s *Server) communitiesRemove(c *fiber.Ctx) error {
	if s.comm == nil {
		return errNotFound
	}
	if err := s.comm.Remove(c.UserContext(), me(c), c.Params("id"), c.Params("status_id")); err != nil {
		return communityError(err)
	}
	return c.JSON(fiber.Map{})
}

// communityPosted lets the local communities announce a status just posted here. A failure is
// logged: the post itself stands.
func (s *Server) communityPosted(ctx context.Context, st *store.Status) {
	if s.comm == nil {
		return
	}
	if err := s.comm.StatusPosted(ctx, st); err != nil {
		s.log.Error("community announce failed", "status", st.ID, "err", err)
	}
}

// communityError turns the community package's refusals, which carry their HTTP status, into
// client errors; anything else goes to the error handler as it is.
func communityError(err error) error {
	var refusal interface{ HTTPStatus() int }
	if errors.As(err, &refusal) {
		return errorf(refusal.HTTPStatus(), "%s", err.Error())
	}
	return err
}

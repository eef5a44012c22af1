// Package community hosts communities of practice: each is an ActivityPub Group actor of this
// department, following FEP-1b12. People anywhere join by following the group (accepted at
// once, since the group is not locked), and its followers are its members; a post that mentions
// or addresses the group, or replies in one of its threads, is announced by the group to all
// members; a moderator removes a post by withdrawing the group's announce. The group is a local
// account with Group set, so WebFinger, the actor document, followers, the Mastodon API
// (group: true), boosts and their delivery are the ones every account has.
package community

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"watercooler/actorkey"
	"watercooler/config"
	"watercooler/federation"
	"watercooler/signup"
	"watercooler/store"
	"watercooler/text"
)

// Errors of Create and Remove that name what is wrong with the request; each carries the HTTP
// status that reports it (HTTPStatus), so the API maps them without knowing this package.
var (
	ErrInvalidName   = &Refusal{422, "name must be 1–30 letters, digits or underscores (dots and dashes inside)"}
	ErrNameTaken     = &Refusal{422, "name is taken by a person or another community"}
	ErrNoModerator   = &Refusal{422, "moderator is no person of this department"}
	ErrDisplayLength = &Refusal{422, "display name must be at most 30 characters"}
	ErrNotModerator  = &Refusal{403, "only the community's moderators and the department's admins may remove posts"}
	ErrNotInGroup    = &Refusal{404, "the community did not share that post"}
)

// Refusal is a request this package turns down, with the HTTP status that says why.
type Refusal struct {
	status int
	msg    string
}

func (r *Refusal) Error() string { return r.msg }

// HTTPStatus is the status that reports the refusal to a client.
func (r *Refusal) HTTPStatus() int { return r.status }

// maxDisplayName is Mastodon's limit on display names.
const maxDisplayName = 30

// Params describe a new community.
type Params struct {
	Name, DisplayName string
	// Moderators are usernames of local people who may remove posts.
	Moderators []string
	// CreatedBy is the local account that asked for it, "" for the admin command.
	CreatedBy string
	// KeyPair makes the group actor's key pair; nil means actorkey.NewKeyPair.
	KeyPair func() (publicPEM, privatePEM string, err error)
}

// Create makes a community of the department at baseURL: its Group account and its record. It
// needs only the store, so the admin command and the demo run it without a running instance.
func Create(ctx context.Context, st *store.Store, baseURL string, p Params) (*store.Community, *store.Account, error) {
	if !text.ValidUsername(p.Name) {
		return nil, nil, fmt.Errorf("%q: %w", p.Name, ErrInvalidName)
	}
	if signup.Reserved(p.Name, baseURL) {
		return nil, nil, fmt.Errorf("%q: %w", p.Name, ErrNameTaken)
	}
	display := strings.TrimSpace(p.DisplayName)
	if display == "" {
		display = p.Name
	}
	if len([]rune(display)) > maxDisplayName {
		return nil, nil, ErrDisplayLength
	}
	c := &store.Community{CreatedBy: p.CreatedBy, CreatedAt: time.Now().UTC()}
	for _, name := range p.Moderators {
		m, err := st.AccountByAcct(ctx, strings.TrimPrefix(strings.TrimSpace(name), "@"))
		if errors.Is(err, store.ErrNotFound) || (err == nil && (!m.Local() || m.Group)) {
			return nil, nil, fmt.Errorf("%q: %w", name, ErrNoModerator)
		}
		if err != nil {
			return nil, nil, err
		}
		if !c.Moderates(m.ID) {
			c.Moderators = append(c.Moderators, m.ID)
		}
	}
	if p.CreatedBy != "" && !c.Moderates(p.CreatedBy) {
		c.Moderators = append(c.Moderators, p.CreatedBy) // whoever starts a community looks after it
	}
	keyPair := p.KeyPair
	if keyPair == nil {
		keyPair = actorkey.NewKeyPair
	}
	pub, priv, err := keyPair()
	if err != nil {
		return nil, nil, err
	}
	// No password and no e-mail: nobody signs in as a group, it only acts on its members' posts.
	acct, err := st.CreateLocalAccount(ctx, store.NewLocalAccount{
		Username: p.Name, DisplayName: display, BaseURL: baseURL, PublicKeyPEM: pub, PrivateKeyPEM: priv,
		Group: true, CreatedAt: c.CreatedAt,
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, nil, fmt.Errorf("%q: %w", p.Name, ErrNameTaken)
	}
	if err != nil {
		return nil, nil, err
	}
	c.AccountID = acct.ID
	if err := st.SaveCommunity(ctx, c); err != nil {
		return nil, nil, err
	}
	return c, acct, nil
}

// Service announces what members address to this department's communities and carries out
// moderators' removals, through the federation's delivery queue.
type Service struct {
	cfg     config.Config
	st      *store.Store
	fed     *federation.Federator
	log     *slog.Logger
	keyPair func() (string, string, error)
}

// Options tune a Service; zero values take the defaults.
type Options struct {
	// KeyPair makes new groups' key pairs; nil means actorkey.NewKeyPair.
	KeyPair func() (publicPEM, privatePEM string, err error)
}

// New builds the Service and connects it to fed's inbox; call it before fed.Run.
func New(cfg config.Config, st *store.Store, fed *federation.Federator, log *slog.Logger, opts Options) *Service {
	s := &Service{cfg: cfg, st: st, fed: fed, log: log, keyPair: opts.KeyPair}
	if fed != nil {
		fed.SetCommunities(s)
	}
	return s
}

var _ federation.Communities = (*Service)(nil)

// Create makes a community on behalf of a person of this department, who becomes a moderator.
// Whether that person may is the caller's decision (WATERCOOLER_COMMUNITY_CREATION).
func (s *Service) Create(ctx context.Context, creator *store.Account, name, displayName string) (*store.Community, *store.Account, error) {
	p := Params{Name: name, DisplayName: displayName, KeyPair: s.keyPair}
	if creator != nil {
		p.CreatedBy = creator.ID
	}
	return Create(ctx, s.st, s.cfg.URL, p)
}

// StatusPosted announces a status posted here from every local community it is addressed to.
func (s *Service) StatusPosted(ctx context.Context, st *store.Status) error {
	return s.StatusArrived(ctx, st, nil)
}

// StatusArrived announces st from every local community it mentions, that addressed names, or
// whose thread it replies in. Only public and unlisted posts are announced (store.MayReblog):
// the group's boost must not widen a narrower audience.
func (s *Service) StatusArrived(ctx context.Context, st *store.Status, addressed []string) error {
	if st.ReblogOfID != "" {
		return nil
	}
	groups, err := s.groupsFor(ctx, st, addressed)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := s.announce(ctx, g, st); err != nil {
			return fmt.Errorf("announce %s in %s: %w", st.URI, g.Username, err)
		}
	}
	return nil
}

// groupsFor finds the local groups st concerns.
func (s *Service) groupsFor(ctx context.Context, st *store.Status, addressed []string) ([]*store.Account, error) {
	ids := slices.Clone(st.Mentions)
	usersPrefix := s.cfg.URL + "/users/"
	for _, uri := range addressed {
		if !strings.HasPrefix(uri, usersPrefix) {
			continue // not one of our actors, nor any collection of theirs
		}
		a, err := s.st.AccountByURI(ctx, uri)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, a.ID)
	}
	accounts, err := s.st.AccountsInOrder(ctx, ids)
	if err != nil {
		return nil, err
	}
	if st.InReplyToID != "" {
		threads, err := s.st.GroupsThatBoosted(ctx, st.InReplyToID)
		if err != nil {
			return nil, err
		}
		accounts = append(accounts, threads...)
	}
	var out []*store.Account
	for _, a := range accounts {
		if a.Local() && a.Group && !a.Suspended && a.ID != st.AccountID &&
			!slices.ContainsFunc(out, func(b *store.Account) bool { return b.ID == a.ID }) {
			out = append(out, a)
		}
	}
	return out, nil
}

// announce boosts st as the group: the boost fills local members' home timelines and the
// Announce goes to every remote member's inbox through the durable delivery queue.
func (s *Service) announce(ctx context.Context, group *store.Account, st *store.Status) error {
	if _, err := s.st.ReblogOf(ctx, group.ID, st.ID); err == nil {
		return nil // announced already: a redelivered Create, or a thread's second reply path
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if removed, err := s.st.RemovedFromCommunity(ctx, group.ID, st.ID); err != nil || removed {
		return err
	}
	if allowed, err := s.st.MayReblog(ctx, group, st); err != nil || !allowed {
		return err // a group that blocks the author announces nothing of theirs
	}
	author, err := s.st.Account(ctx, st.AccountID)
	if err != nil {
		return err
	}
	boost, err := s.st.Reblog(ctx, group, st, store.VisibilityPublic, s.cfg.URL, author.Local())
	if err != nil {
		return err
	}
	s.log.Debug("community announced a post", "community", group.Username, "status", st.URI)
	if s.fed == nil {
		return nil
	}
	return s.fed.Reblogged(ctx, boost, st)
}

// Remove takes a post out of a community: the group withdraws its announce (Undo{Announce},
// which Mastodon, GoToSocial and Watercooler apply by removing the boost from every home and
// from the group's timeline), and the post is never announced again. by must moderate the
// community or administer the department.
func (s *Service) Remove(ctx context.Context, by *store.Account, groupID, statusID string) error {
	c, err := s.st.Community(ctx, groupID)
	if err != nil {
		return err
	}
	if !c.Moderates(by.ID) {
		u, err := s.st.User(ctx, by.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if u == nil || !u.Admin {
			return ErrNotModerator
		}
	}
	if err := s.st.MarkRemovedFromCommunity(ctx, groupID, statusID); err != nil {
		return err
	}
	boost, err := s.st.ReblogOf(ctx, groupID, statusID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotInGroup
	}
	if err != nil {
		return err
	}
	if err := s.st.DeleteStatus(ctx, boost); err != nil {
		return err
	}
	if s.fed == nil {
		return nil
	}
	if err := s.fed.StatusDeleted(ctx, boost); err != nil {
		return err
	}
	return s.announceRemoval(ctx, groupID, by, statusID)
}

// announceRemoval sends the members' servers the removal as FEP-1b12 words it: the moderator's
// Delete of the post, announced by the group. Servers that know groups (Lemmy) take the post
// out of the community; the others ignore it and apply the Undo{Announce} sent before.
func (s *Service) announceRemoval(ctx context.Context, groupID string, by *store.Account, statusID string) error {
	group, err := s.st.Account(ctx, groupID)
	if err != nil {
		return err
	}
	st, err := s.st.Status(ctx, statusID)
	if err != nil {
		return err
	}
	inboxes, err := s.st.RemoteFollowerInboxes(ctx, groupID)
	if err != nil || len(inboxes) == 0 {
		return err
	}
	id := group.URI + "#removals/" + statusID
	body, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       id, "type": "Announce", "actor": group.URI,
		"to": []string{federation.PublicAudience}, "cc": []string{group.FollowersURI},
		"object": map[string]any{
			"id": id + "/delete", "type": "Delete", "actor": by.URI, "object": st.URI,
			"audience": group.URI, "to": []string{federation.PublicAudience}, "cc": []string{group.URI},
		},
	})
	if err != nil {
		return err
	}
	return s.fed.Deliver(ctx, id, body, groupID, inboxes)
}

// Listing reads another department's GET /api/v1/communities through the federation's guarded
// fetcher (address guard, size cap, timeouts), for the organization-wide listing.
func (s *Service) Listing(ctx context.Context, baseURL string) ([]byte, error) {
	if s.fed == nil {
		return nil, errors.New("community listing: this department does not federate")
	}
	return s.fed.Fetcher().GetJSON(ctx, strings.TrimSuffix(baseURL, "/")+"/api/v1/communities", "application/json")
}

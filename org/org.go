// Package org lets departments form one organization by naming one another. Each department
// keeps its own copy of the member list; members tell each other what they know with requests
// signed by their instance actors (gossip), so there is no central list and no department the
// others need to keep working. See docs in README "Setting up an organization".
//
// Protocol: every Period, a department POSTs {"from": its URL, "members": [...]} to /org/gossip
// of every member it knows and of every department it asked to join (a seed). The receiver
// checks the signature (the signer must be the sender's instance actor), admits the sender if it
// is a member, or its address is in the peer networks, or an admin approved it, and otherwise
// records it as pending (202). An admitted sender's entries are merged (the newer version of each
// host's entry wins; at equal versions a departure wins) and the receiver answers with its own
// list, which the sender merges: one exchange is a push and a pull. A department that leaves
// writes a tombstone for itself, which spreads as any entry does.
package org

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"watercooler/config"
	"watercooler/federation"
	"watercooler/store"
)

// GossipPath is where departments send each other their member lists.
const GossipPath = "/org/gossip"

// maxMessage caps a gossip body: a member list of some thousand departments.
const maxMessage = 1 << 20

// Options tune the gossip; zero values take production's.
type Options struct {
	// Period is how often a department sends its list to the others; 10 s by default.
	Period time.Duration
	// DirectoryPeriod is how often a department reads the others' directory changes; 2 s by
	// default, so that a profile change is seen everywhere within the 10 s the organization
	// promises even when a read is slow.
	DirectoryPeriod time.Duration
}

// Service is one department's side of the organization.
type Service struct {
	cfg  config.Config
	st   *store.Store
	fed  *federation.Federator
	log  *slog.Logger
	opts Options
	host string
	// acked holds the members that answered with this department's own tombstone, so a
	// department that left stops telling them.
	acked sync.Map
	// pulling holds the members whose directory is being read.
	pulling sync.Map
}

// New builds the service; Start records this department, Run gossips.
func New(cfg config.Config, st *store.Store, fed *federation.Federator, log *slog.Logger, opts Options) *Service {
	if opts.Period <= 0 {
		opts.Period = 10 * time.Second
	}
	if opts.DirectoryPeriod <= 0 {
		opts.DirectoryPeriod = 2 * time.Second
	}
	return &Service{cfg: cfg, st: st, fed: fed, log: log, opts: opts, host: cfg.Domain()}
}

// Message is the body of a gossip request and of its answer.
type Message struct {
	From    string            `json:"from"`
	Members []store.OrgMember `json:"members"`
	Pending bool              `json:"pending,omitempty"`
}

func now() int64 { return time.Now().UnixMilli() }

// Start writes this department's own entry (its name and description may have changed since
// it last ran) and, unless it left, asks the department named by WATERCOOLER_ORG_JOIN to join.
func (s *Service) Start(ctx context.Context) error {
	self, ok, err := s.self(ctx)
	if err != nil {
		return err
	}
	if !ok || (!self.Left && (self.Title != s.cfg.Title || self.Description != s.cfg.Description || self.URL != s.cfg.URL)) {
		if _, err := s.st.MergeOrgMembers(ctx, []store.OrgMember{s.entry(false)}); err != nil {
			return err
		}
	}
	if s.cfg.OrgJoin != "" && (!ok || !self.Left) {
		return s.st.AddOrgSeed(ctx, s.cfg.OrgJoin)
	}
	return nil
}

func (s *Service) entry(left bool) store.OrgMember {
	return store.OrgMember{Host: s.host, URL: s.cfg.URL, Title: s.cfg.Title, Description: s.cfg.Description, Version: now(), Left: left}
}

func (s *Service) self(ctx context.Context) (store.OrgMember, bool, error) {
	all, err := s.st.OrgMembers(ctx)
	if err != nil {
		return store.OrgMember{}, false, err
	}
	for _, m := range all {
		if m.Host == s.host {
			return m, true, nil
		}
	}
	return store.OrgMember{}, false, nil
}

// Departments lists the organization's current members, this department included; a
// department that left lists only itself.
func (s *Service) Departments(ctx context.Context) ([]store.OrgMember, error) {
	all, err := s.st.OrgMembers(ctx)
	if err != nil {
		return nil, err
	}
	self, ok, err := s.self(ctx)
	if err != nil {
		return nil, err
	}
	if ok && self.Left {
		self.Left = false
		return []store.OrgMember{self}, nil
	}
	blocks, err := s.blocks(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, m := range all {
		if !m.Left && blocks.Permits(m.Host) {
			out = append(out, m)
		}
	}
	return out, nil
}

// blocks is the instance's domain blocks alone: an admin may block a member locally, which
// hides it here and stops gossip with it, while the others keep it.
func (s *Service) blocks(ctx context.Context) (store.FederationPolicy, error) {
	p, err := s.st.FederationPolicy(ctx)
	p.Allowlist = false
	return p, err
}

// Run gossips every Period and reads the others' directories every DirectoryPeriod until ctx
// ends.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); s.runDirectory(ctx) }()
	t := time.NewTicker(s.opts.Period)
	defer t.Stop()
	for {
		s.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round sends this department's list to every member and seed once, and merges their answers.
func (s *Service) Round(ctx context.Context) {
	all, err := s.st.OrgMembers(ctx)
	if err != nil {
		s.log.Warn("organization gossip", "err", err)
		return
	}
	seeds, err := s.st.OrgSeeds(ctx)
	if err != nil {
		s.log.Warn("organization gossip", "err", err)
		return
	}
	blocks, err := s.blocks(ctx)
	if err != nil {
		s.log.Warn("organization gossip", "err", err)
		return
	}
	left := false
	for _, m := range all {
		if m.Host == s.host {
			left = m.Left
		}
	}
	targets := map[string]bool{} // base URL → is a seed
	for _, m := range all {
		if m.Host == s.host || m.Left || !blocks.Permits(m.Host) {
			continue
		}
		if _, done := s.acked.Load(m.Host); left && done {
			continue
		}
		targets[m.URL] = false
	}
	for _, u := range seeds {
		targets[u] = true
	}
	body, err := json.Marshal(Message{From: s.cfg.URL, Members: all})
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for target, seed := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.exchange(ctx, target, seed, left, body); err != nil {
				s.log.Debug("organization gossip", "to", target, "err", err)
			}
		}()
	}
	wg.Wait()
}

// exchange sends one gossip message and merges the answer.
func (s *Service) exchange(ctx context.Context, target string, seed, left bool, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(target, "/")+GossipPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := s.fed.SignAsInstance(req, body); err != nil {
		return err
	}
	resp, err := s.fed.Fetcher().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxMessage))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var answer Message
	if err := json.Unmarshal(b, &answer); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if answer.Pending {
		return nil // waits for an admin there; asked again next round
	}
	if err := s.merge(ctx, answer.Members); err != nil {
		return err
	}
	if seed {
		_ = s.st.RemoveOrgSeed(ctx, target)
	}
	if left {
		for _, m := range answer.Members {
			if m.Host == s.host && m.Left {
				s.acked.Store(federation.HostOf(target), true)
			}
		}
	}
	return nil
}

// merge keeps the newer entries, never any about this department (only it says whether it is
// in), and keeps the allowlist equal to the members.
func (s *Service) merge(ctx context.Context, members []store.OrgMember) error {
	keep := members[:0:0]
	for _, m := range members {
		if m.Host == "" || m.Host == s.host || federation.HostOf(m.URL) != m.Host {
			continue
		}
		keep = append(keep, m)
	}
	changed, err := s.st.MergeOrgMembers(ctx, keep)
	if err != nil {
		return err
	}
	for _, m := range changed {
		if m.Left {
			err = s.st.DisallowDomain(ctx, m.Host)
		} else {
			err = s.st.AllowDomain(ctx, m.Host)
		}
		if err != nil {
			return err
		}
		s.log.Debug("organization member", "host", m.Host, "left", m.Left)
	}
	return nil
}

// Handler serves GossipPath.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, msg, err := s.receive(r)
		if err != nil {
			http.Error(w, err.Error(), status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(msg)
	})
}

func (s *Service) receive(r *http.Request) (int, Message, error) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, Message{}, errors.New("POST only")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMessage+1))
	if err != nil || len(body) > maxMessage {
		return http.StatusRequestEntityTooLarge, Message{}, errors.New("message too large")
	}
	var in Message
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, Message{}, fmt.Errorf("message: %v", err)
	}
	if err := config.CheckBaseURL(in.From); err != nil {
		return http.StatusBadRequest, Message{}, fmt.Errorf("from: %v", err)
	}
	in.From = strings.TrimSuffix(in.From, "/")
	from := federation.HostOf(in.From)
	signer, err := s.fed.VerifySigned(ctx, r, body)
	if err != nil {
		var se *federation.SignatureError
		if errors.As(err, &se) {
			return se.Status, Message{}, errors.New(se.Reason)
		}
		return http.StatusInternalServerError, Message{}, err
	}
	if signer != in.From+"/actor" {
		return http.StatusForbidden, Message{}, errors.New("signed by another actor than the sender's instance actor")
	}
	if from == s.host {
		return http.StatusBadRequest, Message{}, errors.New("a department does not gossip with itself")
	}
	admitted, err := s.admits(ctx, from, in)
	if err != nil {
		return http.StatusInternalServerError, Message{}, err
	}
	if !admitted {
		return http.StatusAccepted, Message{From: s.cfg.URL, Pending: true}, nil
	}
	if err := s.merge(ctx, in.Members); err != nil {
		return http.StatusInternalServerError, Message{}, err
	}
	all, err := s.st.OrgMembers(ctx)
	if err != nil {
		return http.StatusInternalServerError, Message{}, err
	}
	return http.StatusOK, Message{From: s.cfg.URL, Members: all}, nil
}

// admits decides whether a sender's list is merged: a member (or one whose departure this
// department knows and who says it left) always; a newcomer or a department coming back when
// its address is in the peer networks, an admin approved it, or this department asked it to
// let it in (its answer to the request); anyone else is recorded as pending.
func (s *Service) admits(ctx context.Context, from string, in Message) (bool, error) {
	var claim *store.OrgMember
	for i, m := range in.Members {
		if m.Host == from {
			claim = &in.Members[i]
		}
	}
	all, err := s.st.OrgMembers(ctx)
	if err != nil {
		return false, err
	}
	for _, m := range all {
		if m.Host != from {
			continue
		}
		if !m.Left {
			return true, nil // a member
		}
		if claim == nil || claim.Left || claim.Version <= m.Version {
			return true, nil // its departure, or old news: merging changes nothing about it
		}
	}
	if claim == nil || claim.Left {
		return false, nil
	}
	seeds, err := s.st.OrgSeeds(ctx)
	if err != nil {
		return false, err
	}
	if slices.Contains(seeds, in.From) || s.inPeerNetworks(ctx, in.From) {
		return true, nil
	}
	claim.URL = in.From
	return false, s.st.AddOrgPending(ctx, *claim)
}

// inPeerNetworks reports whether every address of baseURL's host lies in the peer networks.
func (s *Service) inPeerNetworks(ctx context.Context, baseURL string) bool {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" || len(s.cfg.PeerNetworks) == 0 {
		return false
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, u.Hostname())
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		in := false
		for _, n := range s.cfg.PeerNetworks {
			if n.Contains(a.IP) {
				in = true
			}
		}
		if !in {
			return false
		}
	}
	return true
}

// Approve admits a pending department: it becomes a member here, and the gossip spreads it.
func Approve(ctx context.Context, st *store.Store, host string) (store.OrgMember, error) {
	m, err := st.OrgPendingHost(ctx, strings.ToLower(host))
	if err != nil {
		return store.OrgMember{}, err
	}
	m.Version, m.Left = now(), false
	if _, err := st.MergeOrgMembers(ctx, []store.OrgMember{m}); err != nil {
		return store.OrgMember{}, err
	}
	return m, st.AllowDomain(ctx, m.Host)
}

// Join makes cfg's department (back) a member and asks the department at baseURL to let it in;
// the running instance's gossip sends the request.
func Join(ctx context.Context, cfg config.Config, st *store.Store, baseURL string) error {
	if err := config.CheckBaseURL(baseURL); err != nil {
		return err
	}
	self := store.OrgMember{Host: cfg.Domain(), URL: cfg.URL, Title: cfg.Title, Description: cfg.Description, Version: now()}
	if _, err := st.MergeOrgMembers(ctx, []store.OrgMember{self}); err != nil {
		return err
	}
	return st.AddOrgSeed(ctx, strings.TrimSuffix(baseURL, "/"))
}

// Leave writes this department's tombstone; the running instance's gossip spreads it.
func Leave(ctx context.Context, cfg config.Config, st *store.Store) error {
	self := store.OrgMember{Host: cfg.Domain(), URL: cfg.URL, Title: cfg.Title, Description: cfg.Description, Version: now(), Left: true}
	if _, err := st.MergeOrgMembers(ctx, []store.OrgMember{self}); err != nil {
		return err
	}
	return st.ClearOrgSeeds(ctx)
}

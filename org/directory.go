package org

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"watercooler/federation"
	"watercooler/store"
)

// DirectoryPath is where a department serves its people to the other departments.
//
// Protocol: a member GETs DirectoryPath?epoch=E&since=N, signed by its instance actor, and gets
// the people of this department whose profiles changed after N in the change log named E (from
// the start when E is not the current log): for each, their actor document when they are
// discoverable, else {"removed": actor id}. It asks again from the answer's "next" while "more"
// is set, and every DirectoryPeriod after that, so a change reaches every department within a
// period and a department that was down catches up from where it stopped.
const DirectoryPath = "/org/directory"

const (
	directoryPage    = 200
	maxDirectoryPage = 500
	// maxDirectoryAnswer caps an answer: a page of actor documents of a few KB each.
	maxDirectoryAnswer = 8 << 20
)

// DirectoryAnswer is one page of a department's directory changes.
type DirectoryAnswer struct {
	From    string           `json:"from"`
	Epoch   string           `json:"epoch"`
	Next    int64            `json:"next"`
	More    bool             `json:"more,omitempty"`
	Entries []DirectoryEntry `json:"entries"`
}

// DirectoryEntry is one person: listed with their actor document, or removed from the directory.
type DirectoryEntry struct {
	Actor   map[string]any `json:"actor,omitempty"`
	Removed string         `json:"removed,omitempty"`
}

// DirectoryHandler serves DirectoryPath to the organization's members.
func (s *Service) DirectoryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, answer, err := s.serveDirectory(r)
		if err != nil {
			s.log.Info("organization directory refused", "status", status, "err", err)
			http.Error(w, err.Error(), status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
}

func (s *Service) serveDirectory(r *http.Request) (int, DirectoryAnswer, error) {
	ctx := r.Context()
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, DirectoryAnswer{}, errors.New("GET only")
	}
	signer, err := s.fed.VerifySigned(ctx, r, nil)
	if err != nil {
		var se *federation.SignatureError
		if errors.As(err, &se) {
			return se.Status, DirectoryAnswer{}, errors.New(se.Reason)
		}
		return http.StatusInternalServerError, DirectoryAnswer{}, err
	}
	member, err := s.memberSigning(ctx, signer)
	if err != nil {
		return http.StatusInternalServerError, DirectoryAnswer{}, err
	}
	if !member {
		return http.StatusForbidden, DirectoryAnswer{}, errors.New("the directory is for the organization's departments, signed by their instance actors")
	}
	q := r.URL.Query()
	since, _ := strconv.ParseInt(q.Get("since"), 10, 64)
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = directoryPage
	}
	page, err := s.st.DirectoryChanges(ctx, q.Get("epoch"), max(since, 0), min(limit, maxDirectoryPage))
	if err != nil {
		return http.StatusInternalServerError, DirectoryAnswer{}, err
	}
	answer := DirectoryAnswer{From: s.cfg.URL, Epoch: page.Epoch, Next: page.Next, More: page.More, Entries: []DirectoryEntry{}}
	for _, a := range page.Accounts {
		if !a.Discoverable || a.Suspended {
			answer.Entries = append(answer.Entries, DirectoryEntry{Removed: a.URI})
			continue
		}
		doc, err := s.fed.ActorDocument(a)
		if err != nil {
			return http.StatusInternalServerError, DirectoryAnswer{}, fmt.Errorf("directory entry %s: %w", a.Username, err)
		}
		answer.Entries = append(answer.Entries, DirectoryEntry{Actor: doc})
	}
	return http.StatusOK, answer, nil
}

// memberSigning reports whether signer is the instance actor of a current member.
func (s *Service) memberSigning(ctx context.Context, signer string) (bool, error) {
	members, err := s.Departments(ctx)
	if err != nil {
		return false, err
	}
	for _, m := range members {
		if m.Host != s.host && signer == strings.TrimSuffix(m.URL, "/")+"/actor" {
			return true, nil
		}
	}
	return false, nil
}

// runDirectory reads every other member's directory changes each DirectoryPeriod.
func (s *Service) runDirectory(ctx context.Context) {
	t := time.NewTicker(s.opts.DirectoryPeriod)
	defer t.Stop()
	var reads sync.WaitGroup
	defer reads.Wait()
	for {
		members, err := s.Departments(ctx)
		if err != nil {
			s.log.Warn("organization directory", "err", err)
		}
		for _, m := range members {
			if m.Host == s.host {
				continue
			}
			// One read per member at a time: a slow or down member holds only its own.
			if _, busy := s.pulling.LoadOrStore(m.Host, true); busy {
				continue
			}
			reads.Add(1)
			go func() {
				defer reads.Done()
				defer s.pulling.Delete(m.Host)
				if err := s.pullDirectory(ctx, m); err != nil && ctx.Err() == nil {
					s.log.Debug("organization directory", "from", m.URL, "err", err)
				}
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pullDirectory applies a member's directory changes since the last read.
func (s *Service) pullDirectory(ctx context.Context, m store.OrgMember) error {
	for {
		epoch, since, err := s.st.DirectoryCursor(ctx, m.Host)
		if err != nil {
			return err
		}
		answer, err := s.readDirectory(ctx, m, epoch, since)
		if err != nil {
			return err
		}
		for _, e := range answer.Entries {
			if err := s.applyDirectoryEntry(ctx, m.Host, e); err != nil {
				// One bad entry must not stop the department's others; it comes again
				// only when that person changes their profile.
				s.log.Info("organization directory entry refused", "from", m.URL, "err", err)
			}
		}
		if err := s.st.SetDirectoryCursor(ctx, m.Host, answer.Epoch, answer.Next); err != nil {
			return err
		}
		if !answer.More {
			return nil
		}
	}
}

func (s *Service) readDirectory(ctx context.Context, m store.OrgMember, epoch string, since int64) (DirectoryAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	q := url.Values{"epoch": {epoch}, "since": {strconv.FormatInt(since, 10)}, "limit": {strconv.Itoa(directoryPage)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(m.URL, "/")+DirectoryPath+"?"+q.Encode(), nil)
	if err != nil {
		return DirectoryAnswer{}, err
	}
	req.Header.Set("Accept", "application/json")
	if err := s.fed.SignAsInstance(req, nil); err != nil {
		return DirectoryAnswer{}, err
	}
	resp, err := s.fed.Fetcher().Do(req)
	if err != nil {
		return DirectoryAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDirectoryAnswer))
	if err != nil {
		return DirectoryAnswer{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return DirectoryAnswer{}, fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var answer DirectoryAnswer
	if err := json.Unmarshal(b, &answer); err != nil {
		return DirectoryAnswer{}, fmt.Errorf("answer: %w", err)
	}
	if answer.Next < 0 || (answer.Epoch == epoch && answer.Next < since) {
		return DirectoryAnswer{}, fmt.Errorf("answer goes back from %d to %d", since, answer.Next)
	}
	return answer, nil
}

// applyDirectoryEntry stores a listed person's profile and lists them, or unlists a removed one.
func (s *Service) applyDirectoryEntry(ctx context.Context, host string, e DirectoryEntry) error {
	if e.Actor != nil {
		a, err := s.fed.StoreDirectoryActor(ctx, host, e.Actor)
		if err != nil {
			return err
		}
		return s.st.ListInDirectory(ctx, a.ID, a.Discoverable && !a.Suspended)
	}
	if federation.HostOf(e.Removed) != host {
		return fmt.Errorf("the directory of %s removes %q, an actor of another host", host, e.Removed)
	}
	a, err := s.st.AccountByURI(ctx, e.Removed)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.Discoverable {
		// Their bio and fields stop being searchable here as they are at home.
		a.Discoverable = false
		if err := s.st.UpdateAccount(ctx, a); err != nil {
			return err
		}
	}
	return s.st.ListInDirectory(ctx, a.ID, false)
}

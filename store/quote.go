package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Quote states, as Mastodon 4.5's Quote entity names them. Only the first five are stored; the
// rest are what a viewer sees of an accepted quote (see the server's rendering).
const (
	QuotePending  = "pending"
	QuoteAccepted = "accepted"
	QuoteRejected = "rejected"
	QuoteRevoked  = "revoked"
	QuoteDeleted  = "deleted"
)

// Quote policies of a status (Mastodon's quote_approval_policy), and QuoteUnknown for a remote
// status whose server said nothing about quoting.
const (
	QuotePublic    = "public"
	QuoteFollowers = "followers"
	QuoteNobody    = "nobody"
	QuoteUnknown   = "unknown"
)

// Approvals of one account's quote of one status (the QuoteApproval entity's current_user).
const (
	ApprovalAutomatic = "automatic"
	ApprovalManual    = "manual"
	ApprovalDenied    = "denied"
	ApprovalUnknown   = "unknown"
)

// Notification types of quotes, as in Mastodon 4.5.
const (
	NotifyQuote        = "quote"
	NotifyQuotedUpdate = "quoted_update"
)

// QuoteRef is what a quote post says about the post it quotes.
type QuoteRef struct {
	// StatusID is the quoted status's id here, "" while it is unknown here.
	StatusID string `json:"status_id,omitempty"`
	// URI is the quoted status's ActivityPub id.
	URI string `json:"uri"`
	// AccountID is the quoted author's account, "" while unknown.
	AccountID string `json:"account_id,omitempty"`
	// State is one of the stored Quote states.
	State string `json:"state"`
	// Authorization is the QuoteAuthorization (FEP-044f stamp) URI a remote quoted author issued;
	// a local quoted author's stamps are derived from the quote's id instead (see
	// QuoteAuthorizationURI), so none is stored for them.
	Authorization string `json:"authorization,omitempty"`
}

// ValidQuotePolicy reports whether p is a policy a client may set.
func ValidQuotePolicy(p string) bool {
	return p == QuotePublic || p == QuoteFollowers || p == QuoteNobody
}

// EffectiveQuotePolicy is who may quote st with automatic approval: followers-only and direct
// statuses only their author, as Mastodon forces; a local status without a policy anybody
// (Mastodon's default); a remote status without one QuoteUnknown.
func EffectiveQuotePolicy(st *Status) string {
	switch {
	case st.Visibility == VisibilityPrivate || st.Visibility == VisibilityDirect:
		return QuoteNobody
	case st.QuotePolicy != "":
		return st.QuotePolicy
	case st.Local:
		return QuotePublic
	}
	return QuoteUnknown
}

// QuoteApproval decides how a quote of st by quoterID would be approved, as Mastodon's
// StatusPolicy#quote? does: its author may always quote it unless it is a direct message;
// accounts its author blocks never; otherwise the automatic policy, then the manual one.
// follows says whether quoterID follows st's author, blockedBy whether the author blocks them.
func QuoteApproval(st *Status, quoterID string, follows, blockedBy bool) string {
	switch {
	case quoterID == "" || st.ReblogOfID != "":
		return ApprovalDenied
	case quoterID == st.AccountID:
		if st.Visibility == VisibilityDirect {
			return ApprovalDenied
		}
		return ApprovalAutomatic
	case blockedBy || st.Visibility == VisibilityPrivate || st.Visibility == VisibilityDirect:
		return ApprovalDenied
	}
	grants := func(p string) bool { return p == QuotePublic || (p == QuoteFollowers && follows) }
	switch policy := EffectiveQuotePolicy(st); {
	case grants(policy):
		return ApprovalAutomatic
	case grants(st.QuoteManual):
		return ApprovalManual
	case policy == QuoteUnknown:
		return ApprovalUnknown
	}
	return ApprovalDenied
}

// QuotePolicyLists are the automatic and manual lists of the QuoteApproval entity of st.
func QuotePolicyLists(st *Status) (automatic, manual []string) {
	automatic, manual = []string{}, []string{}
	if p := EffectiveQuotePolicy(st); p == QuotePublic || p == QuoteFollowers {
		automatic = append(automatic, p)
	}
	if p := st.QuoteManual; p == QuotePublic || p == QuoteFollowers {
		manual = append(manual, p)
	}
	return automatic, manual
}

// QuoteAuthorizationURI is the stamp a local author issues for the quote quotingID of one of
// their statuses: served at this URI while the quote stays accepted.
func QuoteAuthorizationURI(quotedAuthorURI, quotingID string) string {
	return quotedAuthorURI + "/quote_authorizations/" + quotingID
}

// quoteTargets adds to f the local account a new quote post notifies.
func (s *Store) quoteTargets(ctx context.Context, st *Status, f *fanOut) error {
	q := st.Quote
	if q == nil || q.State != QuoteAccepted || q.AccountID == "" || q.AccountID == st.AccountID {
		return nil
	}
	author, err := s.Account(ctx, q.AccountID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if author.Local() {
		f.notifyQuote = author.ID
	}
	return nil
}

// writeQuote queues the indexes of a new quote post: an accepted quote counts on the quoted status
// and lists among its quotes; a remote stamp finds the quote again when it is revoked.
func (s *Store) writeQuote(ctx context.Context, p redis.Pipeliner, st *Status, f *fanOut) {
	q := st.Quote
	if q == nil {
		return
	}
	if q.State == QuoteAccepted && q.StatusID != "" {
		spreadOf(p).enter(q.StatusID, quotesSet, st.ID, st.ID)
	}
	if q.Authorization != "" {
		spreadOf(p).index(uriEntry{URI: q.Authorization, ID: st.ID, Quote: true})
	}
	if f != nil && f.notifyQuote != "" {
		s.addNotification(ctx, p, &Notification{Type: NotifyQuote, AccountID: f.notifyQuote, FromAccountID: st.AccountID, StatusID: st.ID, CreatedAt: st.CreatedAt})
	}
}

// unwriteQuote queues the removal of what writeQuote wrote for a deleted quote post.
func (s *Store) unwriteQuote(ctx context.Context, p redis.Pipeliner, st *Status) {
	q := st.Quote
	if q == nil {
		return
	}
	if q.State == QuoteAccepted && q.StatusID != "" {
		spreadOf(p).leave(q.StatusID, quotesSet, st.ID)
	}
	if q.Authorization != "" {
		spreadOf(p).index(uriEntry{URI: q.Authorization, ID: st.ID, Quote: true, Leave: true})
	}
}

// ErrQuoteState is returned by SetQuoteState for a change the quote's state does not allow.
var ErrQuoteState = errors.New("quote is not in a state that allows this")

// SetQuoteState moves the quote of status quotingID to state (with the stamp authorization of
// a remote quoted author when accepted), keeping the quoted status's count and list of quotes in
// step and notifying a local quoted author of a newly accepted quote, all in one transaction. A
// revoked or rejected quote stays so (ErrQuoteState): only its author could undo that, by
// posting again. It returns the updated status.
func (s *Store) SetQuoteState(ctx context.Context, quotingID, state, authorization string) (*Status, error) {
	var out *Status
	var quotedAuthor *Account
	err := s.rewriteStatus(ctx, quotingID, func(tx *watchedTx, version int64) error {
		st, err := s.statusAt(ctx, quotingID, version)
		if err != nil {
			return err
		}
		q := st.Quote
		if q == nil {
			return fmt.Errorf("status %s quotes nothing: %w", quotingID, ErrNotFound)
		}
		if q.State == QuoteRevoked || q.State == QuoteRejected || (q.State == state && q.Authorization == authorization) {
			if q.State == state {
				out = st
				return nil
			}
			return fmt.Errorf("%s quote %s to %s: %w", q.State, quotingID, state, ErrQuoteState)
		}
		if state == QuoteAccepted && quotedAuthor == nil && q.AccountID != "" && q.AccountID != st.AccountID {
			if a, err := s.Account(ctx, q.AccountID); err == nil {
				quotedAuthor = a
			}
		}
		wasAccepted := q.State == QuoteAccepted && q.StatusID != ""
		previousAuth := q.Authorization
		q.State = state
		if authorization != "" || state != QuoteAccepted {
			q.Authorization = authorization
		}
		// Readers of the quote post see it change as they see an edit.
		targets, err := s.fanOutTargets(ctx, st)
		if err != nil {
			return err
		}
		err = s.spreadMulti(ctx, tx, func(p redis.Pipeliner) error {
			s.queueRewrite(ctx, p, st, version, nil, nil)
			if previousAuth != "" && previousAuth != q.Authorization {
				spreadOf(p).index(uriEntry{URI: previousAuth, ID: st.ID, Quote: true, Leave: true})
			}
			if q.Authorization != "" {
				spreadOf(p).index(uriEntry{URI: q.Authorization, ID: st.ID, Quote: true})
			}
			nowAccepted := state == QuoteAccepted && q.StatusID != ""
			switch {
			case nowAccepted && !wasAccepted:
				spreadOf(p).enter(q.StatusID, quotesSet, st.ID, st.ID)
				if quotedAuthor != nil && quotedAuthor.Local() {
					s.addNotification(ctx, p, &Notification{Type: NotifyQuote, AccountID: quotedAuthor.ID, FromAccountID: st.AccountID, StatusID: st.ID})
				}
			case wasAccepted && !nowAccepted:
				spreadOf(p).leave(q.StatusID, quotesSet, st.ID)
			}
			s.announceStatus(p, EventStatusUpdate, st, targets)
			return nil
		})
		if err == nil {
			out = st
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set quote state of %s: %w", quotingID, err)
	}
	return out, nil
}

// SetQuotePolicy changes who may quote a status from now on; past quotes stay, as in Mastodon.
func (s *Store) SetQuotePolicy(ctx context.Context, statusID, policy string) (*Status, error) {
	var out *Status
	err := s.rewriteStatus(ctx, statusID, func(tx *watchedTx, version int64) error {
		st, err := s.statusAt(ctx, statusID, version)
		if err != nil {
			return err
		}
		st.QuotePolicy = policy
		targets, err := s.fanOutTargets(ctx, st)
		if err != nil {
			return err
		}
		out = st
		return s.spreadMulti(ctx, tx, func(p redis.Pipeliner) error {
			s.queueRewrite(ctx, p, st, version, nil, nil)
			s.announceStatus(p, EventStatusUpdate, st, targets)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("set quote policy of %s: %w", statusID, err)
	}
	return out, nil
}

// Quotes pages through the accepted quotes of a status, newest first.
func (s *Store) Quotes(ctx context.Context, statusID string, p Page) ([]Entry, error) {
	return pageZSet(ctx, s.rdb, s.k.statusQuotes(statusID), p)
}

// QuoteByAuthorization finds the quote post a remote stamp authorized.
func (s *Store) QuoteByAuthorization(ctx context.Context, authorization string) (*Status, error) {
	id, err := s.rdb.HGet(ctx, s.k.quoteAuthorization(authorization), authorization).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("quote authorized by %s: %w", authorization, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return s.Status(ctx, id)
}

// NotifyQuotedUpdate tells the local authors of accepted quotes of st that it was edited
// (Mastodon 4.5's quoted_update notification, whose status is the quote post).
func (s *Store) NotifyQuotedUpdate(ctx context.Context, st *Status) error {
	ids, err := s.rdb.ZRange(ctx, s.k.statusQuotes(st.ID), 0, -1).Result()
	if err != nil || len(ids) == 0 {
		return err
	}
	quotes, err := s.Statuses(ctx, ids)
	if err != nil {
		return err
	}
	authorIDs := make([]string, 0, len(quotes))
	for _, q := range quotes {
		authorIDs = append(authorIDs, q.AccountID)
	}
	authors, err := s.Accounts(ctx, authorIDs)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	var notified []string
	err = s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		for _, q := range quotes {
			a, ok := authors[q.AccountID]
			if !ok || !a.Local() || q.AccountID == st.AccountID || slices.Contains(notified, q.AccountID) {
				continue
			}
			notified = append(notified, q.AccountID)
			s.addNotification(ctx, p, &Notification{Type: NotifyQuotedUpdate, AccountID: q.AccountID, FromAccountID: st.AccountID, StatusID: q.ID, CreatedAt: now})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("notify quoted update of %s: %w", st.ID, err)
	}
	return nil
}

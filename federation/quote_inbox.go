package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"watercooler/store"
)

// FEP-044f quote authorization. The quoting side sends QuoteRequest{object: quoted post,
// instrument: quote post} to the quoted author, whose server answers Accept{result: stamp} or
// Reject under the quoted post's policy. The stamp, a QuoteAuthorization naming the quoted author
// (attributedTo), the quote post (interactingObject) and the quoted post (interactionTarget), is
// served at its id for as long as the authorization holds; anyone shown the quote post checks it
// there. Revoking is a Delete of the stamp.

// attachQuote fills st.Quote for a remote note that quotes something: the quoted status (fetched
// like a missing parent when unknown), and its state. The quote is accepted when it quotes its
// own author or its stamp verifies; otherwise it stays pending, shown without the quoted post.
func (f *Federator) attachQuote(ctx context.Context, st *store.Status, pn *ParsedNote, author *store.Account, depth int) error {
	if pn.QuoteURI == "" {
		return nil
	}
	ref := &store.QuoteRef{URI: pn.QuoteURI, State: store.QuotePending}
	st.Quote = ref
	quoted, err := f.store.StatusByURI(ctx, pn.QuoteURI)
	if errors.Is(err, store.ErrNotFound) && depth < f.opts.MaxThreadDepth && !f.isLocalURI(pn.QuoteURI) {
		if obj, ferr := f.fetchObject(ctx, pn.QuoteURI); ferr == nil && noteTypes[rawID(obj["type"])] {
			quoted, err = f.storeNote(ctx, obj, depth+1)
			var rej *rejection
			if err != nil && !errors.As(err, &rej) {
				// Most often another worker storing the same quoted note: retrying the activity
				// finds it stored, where going on would leave the quote without its status.
				return err
			}
		}
	}
	if err != nil || quoted == nil || quoted.ReblogOfID != "" {
		return nil // unknown here: the quote keeps its URI and waits
	}
	ref.StatusID, ref.AccountID = quoted.ID, quoted.AccountID
	switch {
	case quoted.AccountID == author.ID:
		ref.State = store.QuoteAccepted // quoting oneself needs no stamp
	case pn.QuoteAuthorization != "" && !quoted.Local:
		// A local quoted author's stamps are issued on QuoteRequest, for a note stored by then.
		if f.verifyStamp(ctx, pn.QuoteAuthorization, quoted, st.URI) == nil {
			ref.State, ref.Authorization = store.QuoteAccepted, pn.QuoteAuthorization
		}
	}
	return nil
}

// verifyStamp checks a QuoteAuthorization at its origin: served by the quoted author's server,
// attributed to the quoted author, for this quote post of this quoted post.
func (f *Federator) verifyStamp(ctx context.Context, stamp string, quoted *store.Status, quotingURI string) error {
	author, err := f.store.Account(ctx, quoted.AccountID)
	if err != nil {
		return err
	}
	if HostOf(stamp) != HostOf(author.URI) {
		return reject("stamp %s is not on the quoted author's server", stamp)
	}
	if f.isLocalURI(stamp) {
		quoting, localQuoted, ok := f.localStamp(ctx, stamp)
		if !ok || quoting.URI != quotingURI || localQuoted.ID != quoted.ID {
			return reject("stamp %s does not authorize %s", stamp, quotingURI)
		}
		return nil
	}
	obj, err := f.fetchObject(ctx, stamp)
	if err != nil {
		return err
	}
	if rawType(obj) != "QuoteAuthorization" || rawID(obj["attributedTo"]) != author.URI ||
		rawID(obj["interactingObject"]) != quotingURI || rawID(obj["interactionTarget"]) != quoted.URI {
		return reject("stamp %s does not authorize %s quoting %s", stamp, quotingURI, quoted.URI)
	}
	return nil
}

// localStamp finds what a stamp of ours authorizes: the quote post (whose id ends the stamp's
// path) and the local status it quotes, while the quote stays accepted.
func (f *Federator) localStamp(ctx context.Context, stamp string) (quoting, quoted *store.Status, ok bool) {
	base, id, found := strings.Cut(stamp, "/quote_authorizations/")
	if !found || id == "" || strings.Contains(id, "/") {
		return nil, nil, false
	}
	quoting, err := f.store.Status(ctx, id)
	if err != nil || quoting.Quote == nil || quoting.Quote.State != store.QuoteAccepted || quoting.Quote.StatusID == "" {
		return nil, nil, false
	}
	quoted, err = f.store.Status(ctx, quoting.Quote.StatusID)
	if err != nil || !quoted.Local {
		return nil, nil, false
	}
	author, err := f.store.Account(ctx, quoted.AccountID)
	if err != nil || author.URI != base {
		return nil, nil, false
	}
	return quoting, quoted, true
}

// serveQuoteAuthorization answers a local author's stamp while the quote it authorizes stands,
// and 404 once it is revoked, as FEP-044f asks.
func (f *Federator) serveQuoteAuthorization(w http.ResponseWriter, r *http.Request) {
	acct, ok := f.localAccount(r.Context(), r.PathValue("name"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	stamp := store.QuoteAuthorizationURI(acct.URI, r.PathValue("id"))
	quoting, quoted, ok := f.localStamp(r.Context(), stamp)
	if !ok || quoted.AccountID != acct.ID {
		http.NotFound(w, r)
		return
	}
	if !f.authorizeFetch(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, ContentType+"; charset=utf-8", quoteAuthorizationDoc(stamp, acct.URI, quoting.URI, quoted.URI))
}

// onQuoteRequest answers a request to quote a local status under its policy: Accept with a stamp
// when the policy approves the requester automatically, Reject when it refuses them. The quote
// post comes embedded or is fetched from the requester's server, and is stored like any note.
func (f *Federator) onQuoteRequest(ctx context.Context, a *activity) error {
	_, quotedURI := a.object()
	quoted, err := f.store.StatusByURI(ctx, quotedURI)
	if err != nil || !quoted.Local {
		return ignore("QuoteRequest of %s, not a status hosted here", quotedURI)
	}
	inner := &activity{raw: map[string]any{"object": a.raw["instrument"]}}
	obj, id := inner.object()
	if id == "" || HostOf(id) != HostOf(a.actor.URI) {
		return reject("QuoteRequest by %s with a quote post %q not on its host", a.actor.URI, id)
	}
	if obj == nil {
		if obj, err = f.fetchObject(ctx, id); err != nil {
			return err
		}
	}
	if !noteTypes[rawID(obj["type"])] || rawID(obj["attributedTo"]) != a.actor.URI {
		return reject("QuoteRequest by %s with a quote post it did not write", a.actor.URI)
	}
	quoting, err := f.storeNote(ctx, obj, 0)
	if err != nil {
		return err
	}
	if quoting.Quote == nil || quoting.Quote.StatusID != quoted.ID {
		return reject("QuoteRequest by %s: %s does not quote %s", a.actor.URI, quoting.URI, quoted.URI)
	}
	author, err := f.store.Account(ctx, quoted.AccountID)
	if err != nil {
		return err
	}
	rels, err := f.store.Relationships(ctx, author.ID, []string{a.actor.ID})
	if err != nil {
		return err
	}
	approval := store.QuoteApproval(quoted, a.actor.ID, rels[0].FollowedBy, rels[0].Blocking)
	answerID := author.URI + "#quote_requests/" + quoting.ID
	switch approval {
	case store.ApprovalAutomatic:
		if _, err := f.store.SetQuoteState(ctx, quoting.ID, store.QuoteAccepted, ""); err != nil {
			if errors.Is(err, store.ErrQuoteState) {
				return ignore("QuoteRequest of a quote revoked or rejected before")
			}
			return err
		}
		stamp := store.QuoteAuthorizationURI(author.URI, quoting.ID)
		doc := quoteAnswerDoc("Accept", answerID+"/accept", author.URI, a.actor.URI, a.id, quoted.URI, quoting.URI, stamp)
		return f.deliverDoc(ctx, doc, author, []*store.Account{a.actor})
	case store.ApprovalManual:
		return ignore("QuoteRequest waits for manual approval") // no local policy asks for it yet
	}
	if _, err := f.store.SetQuoteState(ctx, quoting.ID, store.QuoteRejected, ""); err != nil && !errors.Is(err, store.ErrQuoteState) {
		return err
	}
	doc := quoteAnswerDoc("Reject", answerID+"/reject", author.URI, a.actor.URI, a.id, quoted.URI, quoting.URI, "")
	return f.deliverDoc(ctx, doc, author, []*store.Account{a.actor})
}

// onQuoteAnswer applies an Accept or Reject of one of our QuoteRequests; handled is false for
// answers to something else (a follow). An Accept's stamp is verified at its origin before the
// quote counts as accepted; the quote post's followers then learn of it by an Update.
func (f *Federator) onQuoteAnswer(ctx context.Context, a *activity) (handled bool, err error) {
	obj, id := a.object()
	if !strings.HasSuffix(id, quoteRequestSuffix) || !f.isLocalURI(id) {
		if obj != nil && rawType(obj) == "QuoteRequest" {
			return true, ignore("%s of a QuoteRequest that is not ours", a.typ)
		}
		return false, nil
	}
	quoting, err := f.store.StatusByURI(ctx, strings.TrimSuffix(id, quoteRequestSuffix))
	if err != nil || quoting.Quote == nil {
		return true, ignore("%s of a QuoteRequest whose quote post is gone", a.typ)
	}
	if !f.isQuotedAuthor(ctx, quoting.Quote, a.actor) {
		return true, reject("%s by %s of a QuoteRequest to someone else", a.typ, a.actor.URI)
	}
	if a.typ == "Reject" {
		_, err := f.store.SetQuoteState(ctx, quoting.ID, store.QuoteRejected, "")
		if errors.Is(err, store.ErrQuoteState) {
			return true, ignore("Reject of a quote already revoked or rejected")
		}
		return true, err
	}
	stamp := httpURL(rawID(a.raw["result"]))
	if stamp == "" {
		return true, reject("Accept of a QuoteRequest without a stamp")
	}
	quoted, err := f.store.Status(ctx, quoting.Quote.StatusID)
	if err != nil {
		return true, ignore("Accept of a quote of a status gone meanwhile")
	}
	if err := f.verifyStamp(ctx, stamp, quoted, quoting.URI); err != nil {
		return true, err
	}
	updated, err := f.store.SetQuoteState(ctx, quoting.ID, store.QuoteAccepted, stamp)
	if errors.Is(err, store.ErrQuoteState) {
		return true, ignore("Accept of a quote already revoked or rejected")
	}
	if err != nil {
		return true, err
	}
	return true, f.quoteChanged(ctx, updated, "quote")
}

// onStampDeleted applies a Delete of a QuoteAuthorization: the quote it authorized is revoked.
// handled is false when id names no stamp we know.
func (f *Federator) onStampDeleted(ctx context.Context, a *activity, id string) (handled bool, err error) {
	quoting, err := f.store.QuoteByAuthorization(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if !f.isQuotedAuthor(ctx, quoting.Quote, a.actor) {
		return true, reject("Delete of stamp %s by someone else than the quoted author", id)
	}
	updated, err := f.store.SetQuoteState(ctx, quoting.ID, store.QuoteRevoked, "")
	if err != nil {
		return true, err
	}
	if quoting.Local {
		return true, f.quoteChanged(ctx, updated, "quote")
	}
	return true, nil
}

// isQuotedAuthor reports whether actor wrote the status q quotes. It compares actor URIs, not
// account ids: two workers resolving a new actor at once can each store an account for it
// (store.PutRemoteAccount checks, then writes), and the quote may name the other one.
func (f *Federator) isQuotedAuthor(ctx context.Context, q *store.QuoteRef, actor *store.Account) bool {
	if q.AccountID == actor.ID {
		return true
	}
	author, err := f.store.Account(ctx, q.AccountID)
	return err == nil && author.URI == actor.URI
}

// updateQuote applies what an Update of a stored remote note says about quoting, which changes
// without an edit: its canQuote, and its quote's stamp (added once the quote is authorized,
// removed once revoked). It returns the status as stored now.
func (f *Federator) updateQuote(ctx context.Context, existing *store.Status, pn *ParsedNote, author *store.Account) (*store.Status, error) {
	st := existing
	if automatic, _ := quotePolicyOf(pn, author); pn.HasQuotePolicy && automatic != st.QuotePolicy {
		updated, err := f.store.SetQuotePolicy(ctx, st.ID, automatic)
		if err != nil {
			return nil, err
		}
		st = updated
	}
	q := st.Quote
	if q == nil || q.StatusID == "" || q.AccountID == st.AccountID {
		return st, nil
	}
	var state, stamp string
	switch {
	case q.State == store.QuotePending && pn.QuoteAuthorization != "":
		quoted, err := f.store.Status(ctx, q.StatusID)
		if err != nil || quoted.Local || f.verifyStamp(ctx, pn.QuoteAuthorization, quoted, st.URI) != nil {
			return st, nil
		}
		state, stamp = store.QuoteAccepted, pn.QuoteAuthorization
	case q.State == store.QuoteAccepted && q.Authorization != "" && pn.QuoteAuthorization != q.Authorization:
		state = store.QuoteRevoked // the author's server took the stamp away
	default:
		return st, nil
	}
	updated, err := f.store.SetQuoteState(ctx, st.ID, state, stamp)
	if errors.Is(err, store.ErrQuoteState) {
		return st, nil
	}
	return updated, err
}

// noteQuoteAuthorization is the stamp a local quote post carries: the remote quoted author's, or
// for a local quoted author the one we serve; none while not accepted, or when quoting oneself.
func (f *Federator) noteQuoteAuthorization(ctx context.Context, st *store.Status) string {
	q := st.Quote
	if q == nil || q.State != store.QuoteAccepted || q.AccountID == st.AccountID {
		return ""
	}
	if q.Authorization != "" {
		return q.Authorization
	}
	author, err := f.store.Account(ctx, q.AccountID)
	if err != nil || !author.Local() {
		return ""
	}
	return store.QuoteAuthorizationURI(author.URI, st.ID)
}

// deliverDoc serializes an activity built as a map once and queues it for recipients' inboxes.
func (f *Federator) deliverDoc(ctx context.Context, doc map[string]any, signer *store.Account, recipients []*store.Account) error {
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("serialize %v: %w", doc["id"], err)
	}
	return f.Deliver(ctx, rawID(doc["id"]), body, signer.ID, store.InboxesOf(recipients))
}

// QuoteRequested asks the remote author of the status a local post quotes to authorize it.
func (f *Federator) QuoteRequested(ctx context.Context, quoting *store.Status) error {
	q := quoting.Quote
	if q == nil || q.AccountID == "" {
		return nil
	}
	quotedAuthor, err := f.store.Account(ctx, q.AccountID)
	if err != nil || quotedAuthor.Local() {
		return err
	}
	n, author, _, err := f.note(ctx, quoting)
	if err != nil {
		return err
	}
	embedded, err := serializeMap(n)
	if err != nil {
		return err
	}
	return f.deliverDoc(ctx, quoteRequestDoc(author.URI, q.URI, embedded), author, []*store.Account{quotedAuthor})
}

// QuoteRevoked withdraws the stamp of a quote of a local status: a Delete of the stamp goes to
// the quote's author, or, for a local quote post, to its remote audience.
func (f *Federator) QuoteRevoked(ctx context.Context, quoted, quoting *store.Status) error {
	author, err := f.store.Account(ctx, quoted.AccountID)
	if err != nil {
		return err
	}
	stamp := store.QuoteAuthorizationURI(author.URI, quoting.ID)
	if err := f.store.AddTombstone(ctx, stamp); err != nil {
		return err
	}
	quotingAuthor, err := f.store.Account(ctx, quoting.AccountID)
	if err != nil {
		return err
	}
	var inboxes []string
	if quotingAuthor.Local() {
		mentions, err := f.store.AccountsInOrder(ctx, quoting.Mentions)
		if err != nil {
			return err
		}
		if inboxes, err = f.audienceInboxes(ctx, quoting, mentions); err != nil {
			return err
		}
	} else {
		inboxes = store.InboxesOf([]*store.Account{quotingAuthor})
	}
	body, err := json.Marshal(deleteStampDoc(stamp+"#delete", author.URI, stamp, []string{quotingAuthor.URI}))
	if err != nil {
		return err
	}
	return f.Deliver(ctx, stamp+"#delete", body, author.ID, inboxes)
}

// QuotePolicyChanged sends an Update of a local status whose quote policy changed.
func (f *Federator) QuotePolicyChanged(ctx context.Context, st *store.Status) error {
	return f.quoteChanged(ctx, st, "quote_policy")
}

// quoteChanged sends an Update of a local status for a change that is no edit (a quote accepted
// or revoked, a new policy), under an id of its own, since the edit time did not move.
func (f *Federator) quoteChanged(ctx context.Context, st *store.Status, what string) error {
	n, author, mentions, err := f.note(ctx, st)
	if err != nil {
		return err
	}
	inboxes, err := f.audienceInboxes(ctx, st, mentions)
	if err != nil {
		return err
	}
	id := st.URI + "#updates/" + what + "/" + strconv.FormatInt(time.Now().UnixNano(), 10)
	to, cc := noteAudience(n)
	return f.publish(ctx, id, UpdateActivity(id, author.URI, n, to, cc), author, inboxes)
}

// parseQuoteRequest decodes a QuoteRequest, a type go-fed's vocabulary lacks, to its raw map.
func parseQuoteRequest(body []byte) (map[string]any, error) {
	if err := checkDepth(body); err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if rawType(m) != "QuoteRequest" {
		return nil, fmt.Errorf("type %q is not one we read", rawType(m))
	}
	return m, nil
}

// unchangedText reports whether a remote note's Update leaves what an edit changes as it was:
// Mastodon records an edit only for a significant change, and an Update that only brings a
// quote's stamp or a new quote policy (quoteChanged sends those) must not show as one.
func unchangedText(st *store.Status, pn *ParsedNote) bool {
	return st.Content == pn.Content && st.SpoilerText == pn.Summary && st.Sensitive == pn.Sensitive &&
		st.Language == pn.Language && slices.Equal(st.Tags, pn.Hashtags)
}

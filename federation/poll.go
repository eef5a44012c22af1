package federation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"watercooler/store"
)

// Polls as Mastodon federates them. A status with a poll is a Question whose oneOf (single
// choice) or anyOf (multiple) lists the options as {type: Note, name, replies: {type:
// Collection, totalItems}}, with endTime, closed once ended, and votersCount. A vote is a
// Create{Note} per chosen option, named as the option, inReplyTo the Question and addressed to
// its author alone; the author's server counts it and sends Update{Question} with the new
// counts to whoever has the poll.

// Bounds on a remote Question, which no one else checks for us.
const (
	maxRemotePollOptions = 20
	maxRemoteOptionChars = 500
)

// question is a Note that serializes as a Question. go-fed's properties hold a Note through
// its interface and serialize it by calling its Serialize, so wrapping the Note of a status
// with a poll makes every document built from it (Create, Update, the status itself, the
// outbox, the featured collection) carry the poll without each knowing about polls.
type question struct {
	vocab.ActivityStreamsNote
	poll *store.Poll
}

// GetTypeName is "Question".
func (q question) GetTypeName() string { return "Question" }

// Serialize writes the Note as a Question with the poll's options, end and counts. Hidden
// totals go out as zero until the poll ends, as Mastodon sends none before then.
func (q question) Serialize() (map[string]any, error) {
	m, err := q.ActivityStreamsNote.Serialize()
	if err != nil {
		return nil, err
	}
	p := q.poll
	now := time.Now()
	show := p.Expired(now) || !p.HideTotals
	options := make([]any, len(p.Options))
	for i, title := range p.Options {
		var n int64
		if show && i < len(p.Votes) {
			n = p.Votes[i]
		}
		options[i] = map[string]any{"type": "Note", "name": title, "replies": map[string]any{"type": "Collection", "totalItems": n}}
	}
	m["type"] = "Question"
	if p.Multiple {
		m["anyOf"] = options
	} else {
		m["oneOf"] = options
	}
	if !p.ExpiresAt.IsZero() {
		end := p.ExpiresAt.UTC().Format(time.RFC3339)
		m["endTime"] = end
		if p.Expired(now) {
			m["closed"] = end
		}
	}
	m["votersCount"] = p.Voters
	return m, nil
}

// withPoll wraps the Note of a status with a poll as a Question.
func (f *Federator) withPoll(ctx context.Context, st *store.Status, n vocab.ActivityStreamsNote) (vocab.ActivityStreamsNote, error) {
	if !st.HasPoll || n == nil {
		return n, nil
	}
	poll, err := f.store.Poll(ctx, st.ID)
	if errors.Is(err, store.ErrNotFound) {
		return n, nil
	}
	if err != nil {
		return nil, err
	}
	return question{ActivityStreamsNote: n, poll: poll}, nil
}

// parseQuestion reads the poll of a Question as Mastodon's ActivityPub::Activity::Create
// does: anyOf makes it multiple-choice; the end is closed when it is a time, now when it is
// some other value than a boolean, endTime otherwise (and now for closed: true without one,
// where Mastodon would leave the poll open forever); each option counts replies.totalItems.
// It is nil when the Question has no options to show.
func parseQuestion(raw map[string]any) *store.Poll {
	items, multiple := rawList(raw["anyOf"]), true
	if _, ok := raw["anyOf"].([]any); !ok {
		items, multiple = rawList(raw["oneOf"]), false
	}
	p := &store.Poll{Multiple: multiple}
	for _, e := range items {
		o, ok := e.(map[string]any)
		if !ok {
			continue
		}
		name := strings.TrimSpace(rawText(o, "name"))
		if name == "" {
			name = strings.TrimSpace(rawText(o, "content"))
		}
		if name == "" || utf8.RuneCountInString(name) > maxRemoteOptionChars {
			continue
		}
		var votes int64
		if replies, ok := o["replies"].(map[string]any); ok {
			if n, ok := replies["totalItems"].(float64); ok && n > 0 {
				votes = int64(n)
			}
		}
		p.Options, p.Votes = append(p.Options, name), append(p.Votes, votes)
		if len(p.Options) == maxRemotePollOptions {
			break
		}
	}
	if len(p.Options) == 0 {
		return nil
	}
	switch closed := raw["closed"].(type) {
	case string:
		p.ExpiresAt = rawTime(closed)
	case nil, bool:
		p.ExpiresAt = rawTime(raw["endTime"])
	default:
		p.ExpiresAt = time.Now().UTC()
	}
	if b, ok := raw["closed"].(bool); ok && b && p.ExpiresAt.IsZero() {
		p.ExpiresAt = time.Now().UTC()
	}
	if n, ok := raw["votersCount"].(float64); ok && n > 0 {
		p.Voters = int64(n)
	}
	return p
}

// onVote counts a remote vote in a local poll: a Note named as one of the poll's options, in
// reply to it. It reports false when the Note is no such vote, which is then stored as any
// other Note; a vote is never stored as a reply.
func (f *Federator) onVote(ctx context.Context, a *activity, obj map[string]any) (bool, error) {
	name := rawString(obj["name"])
	parentURI := rawID(obj["inReplyTo"])
	if rawType(obj) != "Note" || name == "" || parentURI == "" || !f.isLocalURI(parentURI) {
		return false, nil
	}
	st, err := f.store.StatusByURI(ctx, parentURI)
	if err != nil || !st.HasPoll || !st.Local {
		return false, nil
	}
	poll, err := f.store.Poll(ctx, st.ID)
	if err != nil {
		return false, nil
	}
	choice := slices.Index(poll.Options, name)
	if choice < 0 {
		return false, nil
	}
	if !f.mayView(ctx, a.actor, st) {
		return true, reject("vote by %s in a poll it may not see", a.actor.URI)
	}
	poll, err = f.store.AddRemoteVote(ctx, st.ID, a.actor.ID, choice)
	switch {
	case errors.Is(err, store.ErrPollExpired):
		return true, ignore("vote in %s after it ended", st.URI)
	case errors.Is(err, store.ErrPollVoted), errors.Is(err, store.ErrPollOwn), errors.Is(err, store.ErrPollChoice):
		return true, ignore("vote in %s refused: %v", st.URI, err)
	case err != nil:
		return true, err
	}
	if poll.HideTotals {
		return true, nil // the totals go out when the poll ends
	}
	return true, f.PollCountsChanged(ctx, st)
}

// mayView reports whether a remote account may see a local status, for votes: anyone may vote
// in a public or unlisted poll, followers in a followers-only one, the addressed in a direct one.
func (f *Federator) mayView(ctx context.Context, acct *store.Account, st *store.Status) bool {
	switch st.Visibility {
	case store.VisibilityPublic, store.VisibilityUnlisted:
		return true
	case store.VisibilityPrivate:
		rels, err := f.store.Relationships(ctx, st.AccountID, []string{acct.ID})
		if err == nil && len(rels) == 1 && rels[0].FollowedBy {
			return true
		}
	}
	return slices.Contains(st.Mentions, acct.ID)
}

// PollVoted sends a local account's vote in a remote poll to the poll's author, one Create{Note}
// per choice as Mastodon's VoteService does.
func (f *Federator) PollVoted(ctx context.Context, voter *store.Account, st *store.Status, poll *store.Poll, choices []int) error {
	if st.Local {
		return nil
	}
	author, err := f.store.Account(ctx, st.AccountID)
	if err != nil {
		return err
	}
	inboxes := store.InboxesOf([]*store.Account{author})
	// Each vote has an id of its own, as Mastodon's votes have: a vote cast again after an edit
	// reset the poll must not look like the old one, which receivers would drop as seen.
	ballot := voter.URI + "#votes/" + st.ID + "-" + store.RandomToken(6)
	for _, c := range choices {
		if c < 0 || c >= len(poll.Options) {
			continue
		}
		noteID := ballot + "/" + strconv.Itoa(c)
		n := streams.NewActivityStreamsNote()
		setID(n, noteID)
		name := streams.NewActivityStreamsNameProperty()
		name.AppendXMLSchemaString(poll.Options[c])
		n.SetActivityStreamsName(name)
		at := streams.NewActivityStreamsAttributedToProperty()
		at.AppendIRI(iri(voter.URI))
		n.SetActivityStreamsAttributedTo(at)
		r := streams.NewActivityStreamsInReplyToProperty()
		r.AppendIRI(iri(st.URI))
		n.SetActivityStreamsInReplyTo(r)
		setAudience(n, []string{author.URI}, nil)
		id := noteID + "/activity"
		if err := f.publish(ctx, id, CreateActivity(id, voter.URI, n), voter, inboxes); err != nil {
			return fmt.Errorf("vote in %s: %w", st.URI, err)
		}
	}
	return nil
}

// PollCountsChanged sends a local poll's new counts at once, or with the other votes of the
// same window when some went out lately (Options.PollUpdateDelay): Mastodon sends the votes of
// a multiple-choice ballot one by one, and each would otherwise reach every follower's server.
func (f *Federator) PollCountsChanged(ctx context.Context, st *store.Status) error {
	if !st.Local || !st.HasPoll {
		return nil
	}
	now, err := f.store.DebouncePollUpdate(ctx, st.ID, f.opts.PollUpdateDelay)
	if err != nil || !now {
		return err
	}
	return f.sendPollCounts(ctx, st)
}

// sendPollCounts sends Update{Question} with a local poll's counts to the servers of the
// status's audience and of the poll's remote voters.
func (f *Federator) sendPollCounts(ctx context.Context, st *store.Status) error {
	if !st.Local || !st.HasPoll {
		return nil
	}
	n, author, mentions, err := f.note(ctx, st)
	if err != nil {
		return err
	}
	inboxes, err := f.audienceInboxes(ctx, st, mentions)
	if err != nil {
		return err
	}
	voterIDs, err := f.store.PollVoters(ctx, st.ID)
	if err != nil {
		return err
	}
	voters, err := f.store.AccountsInOrder(ctx, voterIDs)
	if err != nil {
		return err
	}
	inboxes = append(inboxes, store.InboxesOf(voters)...)
	id := st.URI + "#updates/poll/" + strconv.FormatInt(time.Now().UnixMilli(), 10) + "-" + store.RandomToken(4)
	to, cc := noteAudience(n)
	return f.publish(ctx, id, UpdateActivity(id, author.URI, n, to, cc), author, inboxes)
}

// applyRemotePoll brings a stored remote status's poll in line with an Update of its Question.
// Counts and the end change without an edit; new options replace the poll and drop the votes
// cast here, and a poll added or taken away changes the status: changed reports those, which
// the caller stores as an edit.
func (f *Federator) applyRemotePoll(ctx context.Context, existing *store.Status, pn *ParsedNote) (changed bool, err error) {
	switch {
	case pn.Poll == nil && !existing.HasPoll:
		return false, nil
	case pn.Poll == nil:
		return true, f.store.RemovePoll(ctx, existing)
	}
	incoming := *pn.Poll
	incoming.ID, incoming.AccountID, incoming.Local = existing.ID, existing.AccountID, false
	if !existing.HasPoll {
		return true, f.store.ReplacePoll(ctx, &incoming, true)
	}
	old, err := f.store.Poll(ctx, existing.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, f.store.ReplacePoll(ctx, &incoming, true)
	}
	if err != nil {
		return false, err
	}
	if !slices.Equal(old.Options, incoming.Options) || old.Multiple != incoming.Multiple {
		return true, f.store.ReplacePoll(ctx, &incoming, true)
	}
	incoming.HideTotals = old.HideTotals
	return false, f.store.SetPollCounts(ctx, &incoming)
}

// expirePolls ends polls as they come due, in every process: each due end is leased by one
// process (store.ClaimDuePolls), which notifies the poll's author, when local, and its local
// voters, and sends a local poll's final counts. An end whose process died is leased again
// once the lease lapses.
func (f *Federator) expirePolls(ctx context.Context) {
	every(ctx, f.opts.Poll, func(ctx context.Context) {
		claims, err := f.store.ClaimDuePolls(ctx, time.Now(), f.opts.Lease, 100)
		if err != nil && ctx.Err() == nil {
			f.log.Warn("reading due polls failed", "err", err)
		}
		for _, c := range claims {
			if err := f.endPoll(ctx, c); err != nil && ctx.Err() == nil {
				f.log.Warn("ending a poll failed; it is tried again when its lease lapses", "poll", c.PollID, "err", err)
			}
		}
		f.sendDuePollCounts(ctx)
	})
}

// sendDuePollCounts sends the counts PollCountsChanged held back, once their window ended.
func (f *Federator) sendDuePollCounts(ctx context.Context) {
	ids, err := f.store.TakeDuePollUpdates(ctx, time.Now(), f.opts.PollUpdateDelay, 100)
	if err != nil && ctx.Err() == nil {
		f.log.Warn("reading due poll counts failed", "err", err)
	}
	for _, id := range ids {
		st, err := f.store.Status(ctx, id)
		if err == nil {
			err = f.sendPollCounts(ctx, st)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			f.log.Warn("sending a poll's counts failed; its next vote or its end sends them", "poll", id, "err", err)
		}
	}
}

// endPoll notifies the people of one ended poll and, for a local poll, sends its final counts.
func (f *Federator) endPoll(ctx context.Context, c store.PollClaim) error {
	st, err := f.store.Status(ctx, c.PollID)
	if errors.Is(err, store.ErrNotFound) {
		_, err = f.store.FinishPoll(ctx, c, nil, "")
		return err
	}
	if err != nil {
		return err
	}
	voterIDs, err := f.store.PollVoters(ctx, st.ID)
	if err != nil {
		return err
	}
	voters, err := f.store.AccountsInOrder(ctx, voterIDs)
	if err != nil {
		return err
	}
	var notify []string
	if st.Local {
		notify = append(notify, st.AccountID)
	}
	for _, v := range voters {
		if v.Local() && v.ID != st.AccountID {
			notify = append(notify, v.ID)
		}
	}
	done, err := f.store.FinishPoll(ctx, c, notify, st.AccountID)
	if err != nil || !done || !st.Local {
		return err
	}
	return f.sendPollCounts(ctx, st) // the final counts, whatever the window
}

package server

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Polls as Mastodon has them: a status posted with poll[...] carries a poll under its own id,
// GET /api/v1/polls/:id reads it and POST /api/v1/polls/:id/votes votes. A poll goes out as
// an ActivityPub Question; votes in remote polls go to their origin, which reports the counts
// back with Update{Question} (federation/poll.go). The limits are configuration.polls of
// /api/v2/instance (instance.go).

// pollFederation is what polls need from the ActivityPub side beyond Federation.
type pollFederation interface {
	// PollVoted sends a local account's vote in a remote poll to the poll's origin.
	PollVoted(ctx context.Context, voter *store.Account, st *store.Status, poll *store.Poll, choices []int) error
	// PollCountsChanged tells the servers that have a local poll its new counts.
	PollCountsChanged(ctx context.Context, st *store.Status) error
}

// federatePoll runs notify when the ActivityPub side federates polls.
func (s *Server) federatePoll(what string, notify func(pollFederation) error) {
	s.federate(what, func(f Federation) error {
		if pf, ok := f.(pollFederation); ok {
			return notify(pf)
		}
		return nil
	})
}

// pollParams is the poll parameter of a status: poll[options][], poll[expires_in],
// poll[multiple] and poll[hide_totals], as a form or as JSON.
type pollParams struct {
	Options    stringList `json:"options"`
	ExpiresIn  optString  `json:"expires_in"`
	Multiple   optBool    `json:"multiple"`
	HideTotals optBool    `json:"hide_totals"`
}

// Refusals of a poll, worded as Mastodon's validations of a status's poll are.
var (
	errPollFewOptions  = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: Poll options must have more than one item"}
	errPollManyOptions = errorf(fiber.StatusUnprocessableEntity, "Validation failed: Poll options can't contain more than %d items", instancePollMaxOptions)
	errPollOptionLong  = errorf(fiber.StatusUnprocessableEntity, "Validation failed: Poll options cannot be longer than %d characters each", instancePollCharsPerOption)
	errPollDuplicates  = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: Poll options contain duplicate items"}
	errPollTooLong     = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: Poll expires at is too far into the future"}
	errPollTooShort    = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: Poll expires at is too soon"}
	// Mastodon answers "Cannot attach more than 4 files" here, which misleads; the status and
	// the refusal are the same.
	errPollMedia     = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: A post with a poll cannot have media attachments"}
	errPollMalformed = &apiError{fiber.StatusBadRequest, "Malformed request body: poll must be an object with options and expires_in"}
)

// Refusals of a vote: Mastodon's messages.
var (
	errVoteExpired = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: The poll has already ended"}
	errVoteOwn     = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: You cannot vote in your own polls"}
	errVoteAgain   = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: You have already voted on this poll"}
	errVoteChoice  = &apiError{fiber.StatusUnprocessableEntity, "Validation failed: The chosen vote option does not exist"}
	errVoteNone    = &apiError{fiber.StatusBadRequest, "param is missing or the value is empty: choices"}
)

// parsePoll reads the poll parameter the decoder left as it came (a form's poll[...] fields
// arrive as an object too). Like Rails' blank?, an empty value is no poll: nil, nil.
func parsePoll(v any) (*pollParams, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
		return nil, errPollMalformed
	case map[string]any:
		if len(x) == 0 {
			return nil, nil
		}
	default:
		return nil, errPollMalformed
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errPollMalformed
	}
	var p pollParams
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, errPollMalformed
	}
	return &p, nil
}

// newPoll validates a poll as Mastodon's PollValidator does and builds it, ending expires_in
// seconds after now. Blank options are dropped first, as Mastodon strips them.
func newPoll(p *pollParams, now time.Time) (*store.Poll, error) {
	var options []string
	for _, o := range p.Options {
		if o = strings.TrimSpace(o); o != "" {
			options = append(options, o)
		}
	}
	switch {
	case len(options) < 2:
		return nil, errPollFewOptions
	case len(options) > instancePollMaxOptions:
		return nil, errPollManyOptions
	}
	for i, o := range options {
		if utf8.RuneCountInString(o) > instancePollCharsPerOption {
			return nil, errPollOptionLong
		}
		if slices.Contains(options[:i], o) {
			return nil, errPollDuplicates
		}
	}
	// A missing or unreadable expires_in is no end at all, which Mastodon refuses as too far
	// off; a number with a fraction counts its whole seconds, as Ruby's to_i.
	raw := strings.TrimSpace(p.ExpiresIn.val)
	if raw == "" {
		return nil, errPollTooLong
	}
	secs, err := strconv.ParseFloat(raw, 64)
	switch {
	case err != nil || secs < instancePollMinExpiration:
		return nil, errPollTooShort
	case secs > instancePollMaxExpiration:
		return nil, errPollTooLong
	}
	return &store.Poll{
		Options: options, Multiple: p.Multiple.Value, HideTotals: p.HideTotals.Value,
		ExpiresAt: now.Add(time.Duration(secs) * time.Second).UTC().Truncate(time.Millisecond),
	}, nil
}

// composePoll checks a new status's poll parameter and sets the poll to create with it.
func composePoll(st *store.Status, p *statusParams) error {
	pp, err := parsePoll(p.Poll)
	if err != nil {
		return err
	}
	if pp == nil {
		p.Poll = nil // blank: the quote check must not see a poll
		return nil
	}
	if len(st.MediaIDs) > 0 {
		return errPollMedia
	}
	poll, err := newPoll(pp, time.Now())
	if err != nil {
		return err
	}
	st.NewPoll, st.HasPoll = poll, true
	return nil
}

// editPoll works out what an edit does to a status's poll, as Mastodon's UpdateStatusService:
// an edit without a poll removes it; new options, or a change between single and multiple
// choice, drop the votes cast so far; the end moves to expires_in from now. It returns a
// function that writes the change, to run once every check of the edit passed.
func (s *Server) editPoll(ctx context.Context, updated, previous *store.Status, p *statusParams) (func() error, error) {
	pp, err := parsePoll(p.Poll)
	if err != nil {
		return nil, err
	}
	if pp == nil {
		updated.HasPoll = false
		if !previous.HasPoll {
			return func() error { return nil }, nil
		}
		return func() error { return s.store.RemovePoll(ctx, previous) }, nil
	}
	if len(updated.MediaIDs) > 0 {
		return nil, errPollMedia
	}
	poll, err := newPoll(pp, time.Now())
	if err != nil {
		return nil, err
	}
	poll.ID, poll.AccountID, poll.Local = previous.ID, previous.AccountID, previous.Local
	reset := true
	if previous.HasPoll {
		old, err := s.store.Poll(ctx, previous.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		reset = old == nil || !slices.Equal(old.Options, poll.Options) || old.Multiple != poll.Multiple
	}
	updated.HasPoll = true
	return func() error { return s.store.ReplacePoll(ctx, poll, reset) }, nil
}

// pollStatus loads the status of a poll the viewer may see.
func (s *Server) pollStatus(ctx context.Context, v *store.Account, id string) (*store.Status, error) {
	st, err := s.visibleStatus(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if !st.HasPoll {
		return nil, errNotFound
	}
	return st, nil
}

// renderPoll builds the Poll entity of poll for viewer.
func (s *Server) renderPoll(ctx context.Context, v *store.Account, poll *store.Poll) (*mastodon.Poll, error) {
	d := &mastodon.PollData{Poll: poll}
	if v != nil {
		own, voted, err := s.store.PollVotes(ctx, poll.ID, v.ID)
		if err != nil {
			return nil, err
		}
		d.ViewerID, d.Voted, d.OwnVotes = v.ID, voted, own
	}
	return mastodon.PollFrom(d, time.Now()), nil
}

// pollGet is GET /api/v1/polls/:id.
func (s *Server) pollGet(c *fiber.Ctx) error {
	ctx := c.UserContext()
	st, err := s.pollStatus(ctx, viewer(c), c.Params("id"))
	if err != nil {
		return err
	}
	poll, err := s.store.Poll(ctx, st.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	out, err := s.renderPoll(ctx, viewer(c), poll)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// voteParams are the parameters of POST /api/v1/polls/:id/votes.
type voteParams struct {
	Choices stringList `json:"choices"`
}

// pollVote is POST /api/v1/polls/:id/votes. A vote in a local poll is counted and its new
// counts go to the servers that have it; one in a remote poll goes to the poll's origin.
func (s *Server) pollVote(c *fiber.Ctx) error {
	ctx := c.UserContext()
	voter := me(c)
	st, err := s.pollStatus(ctx, voter, c.Params("id"))
	if err != nil {
		return err
	}
	var p voteParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	var choices []int
	for _, raw := range p.Choices {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			return errVoteChoice
		}
		choices = append(choices, n)
	}
	if len(choices) == 0 {
		return errVoteNone
	}
	poll, err := s.store.Vote(ctx, st.ID, voter.ID, choices)
	switch {
	case errors.Is(err, store.ErrPollExpired):
		return errVoteExpired
	case errors.Is(err, store.ErrPollOwn):
		return errVoteOwn
	case errors.Is(err, store.ErrPollVoted):
		return errVoteAgain
	case errors.Is(err, store.ErrPollChoice):
		return errVoteChoice
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case err != nil:
		return err
	}
	if st.Local {
		if !poll.HideTotals {
			// As Mastodon, hidden totals are not sent out before the poll ends.
			s.federatePoll("poll counts", func(f pollFederation) error { return f.PollCountsChanged(ctx, st) })
		}
	} else {
		s.federatePoll("poll vote", func(f pollFederation) error { return f.PollVoted(ctx, voter, st, poll, choices) })
	}
	out, err := s.renderPoll(ctx, voter, poll)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NotifyPoll tells a poll's author and its local voters that the poll ended, as Mastodon's
// "poll" notification does.
const NotifyPoll = "poll"

// Refusals of a vote, which the API answers with Mastodon's messages.
var (
	ErrPollExpired = errors.New("poll has ended")
	ErrPollOwn     = errors.New("vote in one's own poll")
	ErrPollVoted   = errors.New("already voted")
	ErrPollChoice  = errors.New("no such poll option")
)

// Poll is the poll of a status, under the status's id. Its definition is one JSON record; the
// counts (Votes, Voters) live beside it, counted here for local polls and as their origin last
// reported them for remote ones.
type Poll struct {
	ID         string    `json:"id"`         // the status's id
	AccountID  string    `json:"account_id"` // the status's author
	Local      bool      `json:"local,omitempty"`
	Options    []string  `json:"options"`
	Multiple   bool      `json:"multiple,omitempty"`
	HideTotals bool      `json:"hide_totals,omitempty"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"` // zero: never (some remote polls)

	Votes  []int64 `json:"-"` // per option, in the order of Options
	Voters int64   `json:"-"`
}

// Expired reports whether the poll has ended at now.
func (p *Poll) Expired(now time.Time) bool {
	return !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt)
}

// VotesCount is the sum of the options' votes.
func (p *Poll) VotesCount() int64 {
	var n int64
	for _, v := range p.Votes {
		n += v
	}
	return n
}

// writePoll gathers on p, a spreadTx, the writes of a new or replaced poll definition with its
// counts; the votes cast so far are dropped, since they were cast for other options.
func (s *Store) writePoll(ctx context.Context, p redis.Pipeliner, poll *Poll) {
	spreadOf(p).poll(pollWrite{ID: poll.ID, Def: string(mustJSON(poll)), Counts: pollCountsOf(poll), Reset: true})
	s.schedulePollEnd(ctx, p, poll, false)
}

// pollCountsOf gives the counts of a poll as pollWrite keeps them, as a remote origin reports
// them or zero: each option's votes, then the voters.
func pollCountsOf(poll *Poll) []int64 {
	counts := make([]int64, len(poll.Options)+1)
	copy(counts, poll.Votes)
	counts[len(poll.Options)] = poll.Voters
	return counts
}

// A pollWrite is a poll's definition (and, when Counts is set, its counts, after dropping the
// votes cast so far when Reset is set) written in its slot, or the poll deleted (Drop).
type pollWrite struct {
	ID     string  `json:"i"`
	Def    string  `json:"d,omitempty"`
	Counts []int64 `json:"c,omitempty"` // each option's votes, then the voters
	Reset  bool    `json:"r,omitempty"`
	Drop   bool    `json:"x,omitempty"`
}

func (w pollWrite) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	if w.Drop {
		p.Del(ctx, k.poll(w.ID), k.pollCounts(w.ID), k.pollVoters(w.ID))
		return
	}
	p.Set(ctx, k.poll(w.ID), w.Def, 0)
	if w.Reset {
		p.Del(ctx, k.pollCounts(w.ID), k.pollVoters(w.ID))
	}
	if len(w.Counts) == 0 {
		return
	}
	fields := make([]any, 0, 2*len(w.Counts))
	for i, n := range w.Counts[:len(w.Counts)-1] {
		fields = append(fields, strconv.Itoa(i), n)
	}
	fields = append(fields, "voters", w.Counts[len(w.Counts)-1])
	p.HSet(ctx, k.pollCounts(w.ID), fields...)
}

// schedulePollEnd puts a poll's end in the set the expiry worker reads, an end already past
// included: the worker then ends it at once. With pending, only an end still waiting moves, so
// that the counts a remote origin keeps sending after its poll ended notify no one twice.
func (s *Store) schedulePollEnd(ctx context.Context, p redis.Pipeliner, poll *Poll, pending bool) {
	if poll.ExpiresAt.IsZero() {
		p.ZRem(ctx, s.k.pollEnds(), poll.ID)
		return
	}
	z := redis.Z{Score: float64(poll.ExpiresAt.UnixMilli()), Member: poll.ID}
	if pending {
		p.ZAddXX(ctx, s.k.pollEnds(), z)
		return
	}
	p.ZAdd(ctx, s.k.pollEnds(), z)
}

// unwritePoll queues the removal of a status's poll.
func (s *Store) unwritePoll(ctx context.Context, p redis.Pipeliner, st *Status) {
	if !st.HasPoll {
		return
	}
	spreadOf(p).poll(pollWrite{ID: st.ID, Drop: true})
	p.Del(ctx, s.k.pollClaim(st.ID), s.k.pollUpdated(st.ID))
	p.ZRem(ctx, s.k.pollEnds(), st.ID)
	p.ZRem(ctx, s.k.pollUpdates(), st.ID)
}

// Poll reads a poll with its counts.
func (s *Store) Poll(ctx context.Context, id string) (*Poll, error) {
	p := s.rdb.Pipeline()
	def := p.Get(ctx, s.k.poll(id))
	counts := p.HGetAll(ctx, s.k.pollCounts(id))
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("poll %s: %w", id, err)
	}
	return decodePoll(id, def, counts)
}

func decodePoll(id string, def *redis.StringCmd, counts *redis.MapStringStringCmd) (*Poll, error) {
	raw, err := def.Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("poll %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("poll %s: %w", id, err)
	}
	var poll Poll
	if err := unmarshalString(raw, &poll); err != nil {
		return nil, err
	}
	c := counts.Val()
	poll.Votes = make([]int64, len(poll.Options))
	for i := range poll.Options {
		poll.Votes[i] = toInt(c[strconv.Itoa(i)])
	}
	poll.Voters = toInt(c["voters"])
	return &poll, nil
}

// PollVotes returns the options accountID chose in a poll; voted is false when it has not voted.
func (s *Store) PollVotes(ctx context.Context, pollID, accountID string) (choices []int, voted bool, err error) {
	v, err := s.rdb.HGet(ctx, s.k.pollVoters(pollID), accountID).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("votes in poll %s: %w", pollID, err)
	}
	return parseChoices(v), true, nil
}

// PollVoters lists the accounts that voted in a poll.
func (s *Store) PollVoters(ctx context.Context, pollID string) ([]string, error) {
	ids, err := s.rdb.HKeys(ctx, s.k.pollVoters(pollID)).Result()
	if err != nil {
		return nil, fmt.Errorf("voters of poll %s: %w", pollID, err)
	}
	return ids, nil
}

func parseChoices(v string) []int {
	out := []int{}
	for _, c := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(c); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// voteScript records a vote set, or one more choice of a remote voter, when the poll's
// definition is still the one the caller checked the vote against (an edit may have replaced
// the options meanwhile). KEYS: definition, counts, voters. ARGV: the definition as read, the
// voter, "1" to count the vote here (local polls), "1" to add one choice to an earlier vote,
// "1" for a multiple-choice poll, then the choices. It answers -1 when the definition changed,
// 0 when the vote is refused as a repeat, 1 when it was recorded.
var voteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local prev = redis.call('HGET', KEYS[3], ARGV[2])
local count = ARGV[3] == '1'
if prev then
  if ARGV[4] ~= '1' or ARGV[5] ~= '1' then return 0 end
  for c in string.gmatch(prev, '[^,]+') do
    if c == ARGV[6] then return 0 end
  end
  redis.call('HSET', KEYS[3], ARGV[2], prev .. ',' .. ARGV[6])
  if count then redis.call('HINCRBY', KEYS[2], ARGV[6], 1) end
  return 1
end
local choices = {}
for i = 6, #ARGV do choices[#choices + 1] = ARGV[i] end
redis.call('HSET', KEYS[3], ARGV[2], table.concat(choices, ','))
if count then
  for _, c in ipairs(choices) do redis.call('HINCRBY', KEYS[2], c, 1) end
  redis.call('HINCRBY', KEYS[2], 'voters', 1)
end
return 1
`)

// maxVoteTries bounds the retries of a vote that raced an edit of the poll.
const maxVoteTries = 5

// Vote records accountID's one vote set in a poll: the choices are option indexes, at most one
// unless the poll is multiple-choice. Refusals are ErrPollExpired, ErrPollOwn, ErrPollVoted
// and ErrPollChoice, with nothing written. Votes in a remote poll are recorded as the voter's
// own but not counted: the counts are what the poll's origin reports.
func (s *Store) Vote(ctx context.Context, pollID, accountID string, choices []int) (*Poll, error) {
	return s.vote(ctx, pollID, accountID, choices, false)
}

// AddRemoteVote counts one choice of a remote voter in a local poll. Mastodon sends a vote in a
// multiple-choice poll as one activity per choice, so each adds to the voter's set; a choice
// already made, or a second one in a single-choice poll, is refused with ErrPollVoted.
func (s *Store) AddRemoteVote(ctx context.Context, pollID, accountID string, choice int) (*Poll, error) {
	return s.vote(ctx, pollID, accountID, []int{choice}, true)
}

func (s *Store) vote(ctx context.Context, pollID, accountID string, choices []int, add bool) (*Poll, error) {
	for try := 0; try < maxVoteTries; try++ {
		raw, err := s.rdb.Get(ctx, s.k.poll(pollID)).Result()
		if errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("poll %s: %w", pollID, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("poll %s: %w", pollID, err)
		}
		var poll Poll
		if err := unmarshalString(raw, &poll); err != nil {
			return nil, err
		}
		switch {
		case poll.Expired(time.Now()):
			return nil, ErrPollExpired
		case poll.AccountID == accountID:
			return nil, ErrPollOwn
		}
		for i, c := range choices {
			if c < 0 || c >= len(poll.Options) {
				return nil, ErrPollChoice
			}
			if slices.Contains(choices[:i], c) || (!poll.Multiple && i > 0) {
				return nil, ErrPollVoted // what Mastodon answers for a second vote of the set
			}
		}
		args := []any{raw, accountID, boolArg(poll.Local), boolArg(add), boolArg(poll.Multiple)}
		for _, c := range choices {
			args = append(args, strconv.Itoa(c))
		}
		keys := []string{s.k.poll(pollID), s.k.pollCounts(pollID), s.k.pollVoters(pollID)}
		res, err := voteScript.Run(ctx, s.rdb, keys, args...).Int()
		if err != nil {
			return nil, fmt.Errorf("vote in poll %s: %w", pollID, err)
		}
		switch res {
		case 0:
			return nil, ErrPollVoted
		case 1:
			return s.Poll(ctx, pollID)
		}
	}
	return nil, fmt.Errorf("vote in poll %s: the poll kept changing: %w", pollID, ErrConflict)
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// ReplacePoll stores an edited poll. With reset, as when its options changed, the votes cast so
// far are dropped; without, only the definition (end, hide_totals) changes.
func (s *Store) ReplacePoll(ctx context.Context, poll *Poll, reset bool) error {
	err := s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		if reset {
			s.writePoll(ctx, p, poll)
			return nil
		}
		spreadOf(p).poll(pollWrite{ID: poll.ID, Def: string(mustJSON(poll))})
		s.schedulePollEnd(ctx, p, poll, false)
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace poll %s: %w", poll.ID, err)
	}
	return nil
}

// SetPollCounts stores the counts and end of a remote poll as its origin reports them.
func (s *Store) SetPollCounts(ctx context.Context, poll *Poll) error {
	err := s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		spreadOf(p).poll(pollWrite{ID: poll.ID, Def: string(mustJSON(poll)), Counts: pollCountsOf(poll)})
		s.schedulePollEnd(ctx, p, poll, true)
		return nil
	})
	if err != nil {
		return fmt.Errorf("poll counts %s: %w", poll.ID, err)
	}
	return nil
}

// SetPollEnd moves a poll's end to at, scheduling its expiry as any other: an administrator's
// way to close a poll early, and the tests' way to end one without waiting.
func (s *Store) SetPollEnd(ctx context.Context, pollID string, at time.Time) error {
	poll, err := s.Poll(ctx, pollID)
	if err != nil {
		return err
	}
	poll.ExpiresAt = at.UTC()
	err = s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		spreadOf(p).poll(pollWrite{ID: poll.ID, Def: string(mustJSON(poll))})
		p.ZAdd(ctx, s.k.pollEnds(), redis.Z{Score: float64(at.UnixMilli()), Member: poll.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("end poll %s: %w", pollID, err)
	}
	return nil
}

// RemovePoll deletes a status's poll, as an edit that drops it does.
func (s *Store) RemovePoll(ctx context.Context, st *Status) error {
	err := s.spreadMulti(ctx, s.rdb, func(p redis.Pipeliner) error {
		s.unwritePoll(ctx, p, st)
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove poll %s: %w", st.ID, err)
	}
	return nil
}

// PollClaim is a due poll end one process has leased: it has until the lease ends to notify
// and finish it (FinishPoll), after which another process may claim it again.
type PollClaim struct {
	PollID string
	score  float64 // the lease's end, which the poll's end became
	token  string  // what the claim key holds while the claim is this one
}

// claimPollScript leases a poll end that is due: its score becomes the lease's end, so the
// other processes skip it until then, and the claim key holds the claim's token for as long.
// KEYS: the ends, the poll's claim key. ARGV: poll id, now, lease end (ms), token, lease (ms).
var claimPollScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
return 1
`)

// unschedulePollScript takes a poll out of the ends unless its end moved meanwhile (an Update
// of a remote poll): then the new end stays for the worker. KEYS: the ends. ARGV: id, score.
var unschedulePollScript = redis.NewScript(`
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 1
`)

// ClaimDuePolls leases up to limit poll ends that are due at now, for lease.
func (s *Store) ClaimDuePolls(ctx context.Context, now time.Time, lease time.Duration, limit int64) ([]PollClaim, error) {
	nowMS := now.UnixMilli()
	ids, err := s.rdb.ZRangeByScore(ctx, s.k.pollEnds(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(nowMS, 10), Count: limit}).Result()
	if err != nil {
		return nil, fmt.Errorf("due polls: %w", err)
	}
	var out []PollClaim
	for _, id := range ids {
		c := PollClaim{PollID: id, score: float64(nowMS + lease.Milliseconds()), token: RandomToken(8)}
		keys := []string{s.k.pollEnds(), s.k.pollClaim(id)}
		ok, err := claimPollScript.Run(ctx, s.rdb, keys, id, nowMS, int64(c.score), c.token, lease.Milliseconds()).Int()
		if err != nil {
			return out, fmt.Errorf("claim poll %s: %w", id, err)
		}
		if ok == 1 {
			out = append(out, c)
		}
	}
	return out, nil
}

// FinishPoll writes the "poll" notifications of an ended poll and takes it out of the ends, in
// one transaction, provided the claim is still this process's: a claim whose lease lapsed, and
// that another process may have taken over, is left to be claimed again, so that each end
// notifies once. It reports whether it finished the poll.
func (s *Store) FinishPoll(ctx context.Context, c PollClaim, notify []string, from string) (bool, error) {
	claim := s.k.pollClaim(c.PollID)
	done := false
	err := s.watch(ctx, func(tx *watchedTx) error {
		token, err := tx.Get(ctx, claim).Result()
		if errors.Is(err, redis.Nil) || (err == nil && token != c.token) {
			return nil
		}
		if err != nil {
			return err
		}
		err = s.spreadMulti(ctx, tx, func(p redis.Pipeliner) error {
			now := time.Now().UTC()
			for _, id := range notify {
				s.addNotification(ctx, p, &Notification{Type: NotifyPoll, AccountID: id, FromAccountID: from, StatusID: c.PollID, CreatedAt: now})
			}
			unschedulePollScript.Eval(ctx, p, []string{s.k.pollEnds()}, c.PollID, int64(c.score))
			p.Del(ctx, claim)
			return nil
		})
		done = err == nil
		return err
	}, claim)
	if errors.Is(err, redis.TxFailedErr) {
		return false, nil // claimed again meanwhile: that claim finishes it
	}
	if err != nil {
		return false, fmt.Errorf("finish poll %s: %w", c.PollID, err)
	}
	return done, nil
}

// queuePolls queues the reads of polls and of viewerID's votes in them on p; the returned
// function, called after p runs, decodes them.
func (s *Store) queuePolls(ctx context.Context, p *lazyPipeline, ids []string, viewerID string) func() (map[string]*Poll, map[string][]int) {
	if len(ids) == 0 {
		return func() (map[string]*Poll, map[string][]int) { return nil, nil }
	}
	defs := make([]*redis.StringCmd, len(ids))
	counts := make([]*redis.MapStringStringCmd, len(ids))
	votes := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		defs[i] = p.get().Get(ctx, s.k.poll(id))
		counts[i] = p.get().HGetAll(ctx, s.k.pollCounts(id))
		if viewerID != "" {
			votes[i] = p.get().HGet(ctx, s.k.pollVoters(id), viewerID)
		}
	}
	return func() (map[string]*Poll, map[string][]int) {
		polls, own := make(map[string]*Poll, len(ids)), map[string][]int{}
		for i, id := range ids {
			poll, err := decodePoll(id, defs[i], counts[i])
			if err != nil {
				continue // gone with its status meanwhile
			}
			polls[id] = poll
			if votes[i] != nil {
				if v, err := votes[i].Result(); err == nil {
					own[id] = parseChoices(v)
				}
			}
		}
		return polls, own
	}
}

// debouncePollScript decides whether a poll's new counts go out now: yes when none went out
// within the window, which starts again; otherwise once, when the window ends. KEYS: the
// poll's window key, the due updates. ARGV: window (ms), now (ms), poll id.
var debouncePollScript = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = 0 end
redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[2]) + ttl, ARGV[3])
return 0
`)

// DebouncePollUpdate reports whether a local poll's changed counts should go out now; when
// not, they are due once the window since the last ones ends (TakeDuePollUpdates).
func (s *Store) DebouncePollUpdate(ctx context.Context, pollID string, window time.Duration) (bool, error) {
	keys := []string{s.k.pollUpdated(pollID), s.k.pollUpdates()}
	n, err := debouncePollScript.Run(ctx, s.rdb, keys, window.Milliseconds(), time.Now().UnixMilli(), pollID).Int()
	if err != nil {
		return false, fmt.Errorf("debounce poll %s: %w", pollID, err)
	}
	return n == 1, nil
}

// TakeDuePollUpdates takes the polls whose counts are due to go out at now, each given to one
// caller only, and starts their next window. A process that dies before sending loses the
// update, which the next vote, or the poll's end, sends.
func (s *Store) TakeDuePollUpdates(ctx context.Context, now time.Time, window time.Duration, limit int64) ([]string, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.k.pollUpdates(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: limit}).Result()
	if err != nil {
		return nil, fmt.Errorf("due poll updates: %w", err)
	}
	var out []string
	for _, id := range ids {
		taken, err := s.rdb.ZRem(ctx, s.k.pollUpdates(), id).Result()
		if err != nil {
			return out, fmt.Errorf("take poll update %s: %w", id, err)
		}
		if taken == 1 {
			out = append(out, id)
			if err := s.rdb.Set(ctx, s.k.pollUpdated(id), "1", window).Err(); err != nil {
				return out, fmt.Errorf("window of poll %s: %w", id, err)
			}
		}
	}
	return out, nil
}

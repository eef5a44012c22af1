package mastodon

import (
	"time"

	"watercooler/store"
)

// Poll is Mastodon's Poll entity.
type Poll struct {
	ID          string        `json:"id"`
	ExpiresAt   *string       `json:"expires_at"`
	Expired     bool          `json:"expired"`
	Multiple    bool          `json:"multiple"`
	VotesCount  int64         `json:"votes_count"`
	VotersCount *int64        `json:"voters_count"`
	Options     []PollOption  `json:"options"`
	Emojis      []CustomEmoji `json:"emojis"`
	Voted       *bool         `json:"voted,omitempty"`
	OwnVotes    *[]int        `json:"own_votes,omitempty"`
}

// PollOption is one answer of a Poll; VotesCount is null while the totals are hidden.
type PollOption struct {
	Title      string `json:"title"`
	VotesCount *int64 `json:"votes_count"`
}

// PollData is what rendering a poll for one viewer needs.
type PollData struct {
	Poll *store.Poll
	// ViewerID is the reader, "" when anonymous: then voted and own_votes are left out.
	ViewerID string
	Voted    bool
	OwnVotes []int
}

// PollFrom builds a Poll entity as it is at now. As in Mastodon, a poll whose totals are hidden
// shows its options' counts only once it has ended, and its author counts as having voted, so
// that their client shows the results rather than a ballot.
func PollFrom(d *PollData, now time.Time) *Poll {
	p := d.Poll
	out := &Poll{
		ID: p.ID, Expired: p.Expired(now), Multiple: p.Multiple, VotesCount: p.VotesCount(),
		Options: make([]PollOption, len(p.Options)), Emojis: []CustomEmoji{},
	}
	voters := p.Voters
	out.VotersCount = &voters
	if !p.ExpiresAt.IsZero() {
		ts := Timestamp(p.ExpiresAt)
		out.ExpiresAt = &ts
	}
	showTotals := out.Expired || !p.HideTotals
	for i, title := range p.Options {
		out.Options[i].Title = title
		if showTotals && i < len(p.Votes) {
			n := p.Votes[i]
			out.Options[i].VotesCount = &n
		}
	}
	if d.ViewerID != "" {
		voted := d.Voted || d.ViewerID == p.AccountID
		own := d.OwnVotes
		if own == nil {
			own = []int{}
		}
		out.Voted, out.OwnVotes = &voted, &own
	}
	return out
}

package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// pollCounts lists a poll's options' votes.
func pollCounts(p *gomastodon.Poll) []int64 {
	out := make([]int64, len(p.Options))
	for i, o := range p.Options {
		out[i] = o.VotesCount
	}
	return out
}

// waitPoll polls d's view of a poll until ok accepts it.
func (d *dept) waitPoll(t *testing.T, what string, id gomastodon.ID, ok func(*gomastodon.Poll) bool) *gomastodon.Poll {
	t.Helper()
	var last *gomastodon.Poll
	testrig.Eventually(t, deadline, what, func() bool {
		p, err := d.client.GetPoll(context.Background(), id)
		if err != nil {
			return false
		}
		last = p
		return ok(p)
	})
	return last
}

func TestFederationPoll(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	carol := eng.addUser(t, "carol")
	sales.follow(t, eng)

	post := eng.post(t, &gomastodon.Toot{Status: "Offsite location?", Visibility: "public",
		Poll: &gomastodon.TootPoll{Options: []string{"Lake", "Mountains"}, ExpiresInSeconds: 3600}})

	// The poll goes out as Mastodon's Question.
	status, _, body := fetch(t, http.DefaultClient, post.URI, "Accept", "application/activity+json")
	var q struct {
		Type    string `json:"type"`
		EndTime string `json:"endTime"`
		OneOf   []struct {
			Type    string `json:"type"`
			Name    string `json:"name"`
			Replies struct {
				Type       string `json:"type"`
				TotalItems int    `json:"totalItems"`
			} `json:"replies"`
		} `json:"oneOf"`
		VotersCount *int `json:"votersCount"`
	}
	if err := json.Unmarshal(body, &q); err != nil || status != http.StatusOK {
		t.Fatalf("GET %s = %d %s (%v)", post.URI, status, body, err)
	}
	if q.Type != "Question" || len(q.OneOf) != 2 || q.OneOf[1].Name != "Mountains" || q.OneOf[0].Type != "Note" ||
		q.OneOf[0].Replies.Type != "Collection" || q.EndTime == "" || q.VotersCount == nil {
		t.Errorf("served Question = %s", body)
	}

	// bob's instance stores it as a status with the poll.
	seen := sales.waitHome(t, "alice's poll on bob's instance", contains("Offsite location"))
	if seen.Poll == nil || len(seen.Poll.Options) != 2 || seen.Poll.Options[0].Title != "Lake" || seen.Poll.Multiple || seen.Poll.Expired {
		t.Fatalf("federated poll = %+v", seen.Poll)
	}
	if d := seen.Poll.ExpiresAt.Sub(post.Poll.ExpiresAt); d < -time.Second || d > time.Second {
		t.Errorf("federated end %v, want %v", seen.Poll.ExpiresAt, post.Poll.ExpiresAt)
	}

	// A local vote on alice's instance: the counts reach bob's copy by Update{Question}.
	if _, err := carol.client.PollVote(ctx, post.Poll.ID, 0); err != nil {
		t.Fatal(err)
	}
	sales.waitPoll(t, "carol's vote counted on bob's copy", seen.Poll.ID, func(p *gomastodon.Poll) bool {
		return slices.Equal(pollCounts(p), []int64{1, 0}) && p.VotersCount == 1
	})

	// bob votes on his copy: it is his at once, counted by alice's instance, and the new counts
	// come back to his copy.
	mine, err := sales.client.PollVote(ctx, seen.Poll.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !mine.Voted || !slices.Equal(mine.OwnVotes, []int{1}) {
		t.Errorf("bob's vote = voted %v own_votes %v", mine.Voted, mine.OwnVotes)
	}
	eng.waitPoll(t, "bob's vote counted on alice's instance", post.Poll.ID, func(p *gomastodon.Poll) bool {
		return slices.Equal(pollCounts(p), []int64{1, 1}) && p.VotersCount == 2 && p.VotesCount == 2
	})
	sales.waitPoll(t, "bob's copy updated", seen.Poll.ID, func(p *gomastodon.Poll) bool {
		return slices.Equal(pollCounts(p), []int64{1, 1}) && p.VotersCount == 2 && p.Voted && slices.Equal(p.OwnVotes, []int{1})
	})
	// New counts are no edit, and the vote is no reply.
	copyNow, err := sales.client.GetStatus(ctx, seen.ID)
	if err != nil {
		t.Fatal(err)
	}
	var edited struct {
		EditedAt *string `json:"edited_at"`
	}
	sales.getJSON(t, "/api/v1/statuses/"+string(seen.ID), &edited)
	if edited.EditedAt != nil || copyNow.Content != seen.Content {
		t.Errorf("counts arrived as an edit: edited_at %v, content %q", *edited.EditedAt, copyNow.Content)
	}
	original, err := eng.client.GetStatus(ctx, post.ID)
	if err != nil {
		t.Fatal(err)
	}
	if original.RepliesCount != 0 {
		t.Errorf("bob's vote was stored as a reply: replies_count %d", original.RepliesCount)
	}
	// A second vote by bob is refused on his side and never sent.
	if _, err := sales.client.PollVote(ctx, seen.Poll.ID, 0); err == nil {
		t.Error("bob voted twice")
	}

	// The poll ends (ended through the store: Mastodon's shortest poll lasts five minutes). Its
	// author and its local voter are notified, the closed Question reaches bob's instance, and
	// bob, a voter there, is notified too.
	if err := eng.inst.Store.SetPollEnd(ctx, string(post.ID), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	n := eng.waitNotification(t, "poll", "alice")
	if n.Status == nil || n.Status.ID != post.ID {
		t.Errorf("alice's poll notification is about %+v", n.Status)
	}
	carol.waitNotification(t, "poll", "alice")
	sales.waitPoll(t, "bob's copy closed", seen.Poll.ID, func(p *gomastodon.Poll) bool { return p.Expired })
	sales.waitNotification(t, "poll", eng.acct())
	if _, err := sales.client.PollVote(ctx, seen.Poll.ID, 0); err == nil {
		t.Error("a vote in an ended poll was taken")
	}
}

func TestFederationPollEdit(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	sales.follow(t, eng)
	post := eng.post(t, &gomastodon.Toot{Status: "Team colour?", Visibility: "public",
		Poll: &gomastodon.TootPoll{Options: []string{"red", "blue"}, ExpiresInSeconds: 3600, Multiple: true}})
	seen := sales.waitHome(t, "alice's poll on bob's instance", contains("Team colour"))
	if seen.Poll == nil || !seen.Poll.Multiple {
		t.Fatalf("federated poll = %+v, want multiple choice", seen.Poll)
	}
	if _, err := sales.client.PollVote(ctx, seen.Poll.ID, 0, 1); err != nil {
		t.Fatal(err)
	}
	eng.waitPoll(t, "both of bob's choices counted", post.Poll.ID, func(p *gomastodon.Poll) bool {
		return slices.Equal(pollCounts(p), []int64{1, 1}) && p.VotersCount == 1
	})

	// New options: an edit, and the votes cast for the old ones are gone on both sides.
	if _, err := eng.client.UpdateStatus(ctx, &gomastodon.Toot{Status: "Team colour, third try?",
		Poll: &gomastodon.TootPoll{Options: []string{"red", "blue", "green"}, ExpiresInSeconds: 3600, Multiple: true}}, post.ID); err != nil {
		t.Fatal(err)
	}
	p := sales.waitPoll(t, "bob's copy has the new options", seen.Poll.ID, func(p *gomastodon.Poll) bool { return len(p.Options) == 3 })
	if p.VotesCount != 0 || p.Voted || len(p.OwnVotes) != 0 {
		t.Errorf("bob's copy after new options: %+v, want the votes reset", p)
	}
	// bob votes again, as he did before the reset: a new vote, counted again.
	if _, err := sales.client.PollVote(ctx, seen.Poll.ID, 0); err != nil {
		t.Fatal(err)
	}
	eng.waitPoll(t, "bob's vote after the reset counted", post.Poll.ID, func(p *gomastodon.Poll) bool {
		return slices.Equal(pollCounts(p), []int64{1, 0, 0}) && p.VotersCount == 1
	})
	var history []json.RawMessage
	sales.getJSON(t, "/api/v1/statuses/"+string(seen.ID)+"/history", &history)
	if len(history) != 2 {
		t.Errorf("history of the edited poll has %d versions, want 2", len(history))
	}

	// An edit without a poll takes it away there too. Edits are told apart by their time in
	// whole seconds (the Update's id and updated, as Mastodon's), so this one waits for the next.
	edited, err := eng.client.GetStatus(ctx, post.ID)
	if err != nil || edited.EditedAt.IsZero() {
		t.Fatalf("edited status: %v %v", edited, err)
	}
	testrig.Eventually(t, deadline, "the second after the first edit", func() bool { return time.Now().Unix() > edited.EditedAt.Unix() })
	if _, err := eng.client.UpdateStatus(ctx, &gomastodon.Toot{Status: "Never mind the colour"}, post.ID); err != nil {
		t.Fatal(err)
	}
	sales.waitHome(t, "the edit without a poll", func(s *gomastodon.Status) bool { return s.ID == seen.ID && s.Poll == nil })
}

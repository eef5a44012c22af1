package federation_test

import (
	"context"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

func TestFederationFollowPostReplyBoostFavourite(t *testing.T) {
	ctx := context.Background()
	eng, sales := newDept(t, "alice"), newDept(t, "bob")

	bobOnEng := eng.follow(t, sales)
	if bobOnEng.Acct != sales.acct() {
		t.Fatalf("remote acct = %q, want %q", bobOnEng.Acct, sales.acct())
	}
	sales.waitNotification(t, "follow", eng.acct())

	post, err := sales.client.PostStatus(ctx, &gomastodon.Toot{Status: "Pipeline review notes are up #sales", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	seen := eng.waitHome(t, "bob's post in alice's home", contains("Pipeline review notes"))
	if seen.Account.Acct != sales.acct() || len(seen.Tags) != 1 || seen.Tags[0].Name != "sales" {
		t.Fatalf("federated status = account %q tags %+v, want %s with #sales", seen.Account.Acct, seen.Tags, sales.acct())
	}

	// Reply with a mention: bob is notified on his own instance and sees the reply in context.
	reply, err := eng.client.PostStatus(ctx, &gomastodon.Toot{Status: "@" + sales.acct() + " thanks, very useful", InReplyToID: seen.ID, Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Mentions) != 1 {
		t.Fatalf("reply mentions = %+v, want bob", reply.Mentions)
	}
	n := sales.waitNotification(t, "mention", eng.acct())
	if n.Status == nil || n.Status.InReplyToID != string(post.ID) {
		t.Fatalf("mention notification status = %+v, want a reply to %s", n.Status, post.ID)
	}

	// Boost and favourite travel back to the author.
	if _, err := eng.client.Reblog(ctx, seen.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.client.Favourite(ctx, seen.ID); err != nil {
		t.Fatal(err)
	}
	sales.waitNotification(t, "reblog", eng.acct())
	sales.waitNotification(t, "favourite", eng.acct())
	testrig.Eventually(t, deadline, "counts on the author's instance", func() bool {
		st, err := sales.client.GetStatus(ctx, post.ID)
		return err == nil && st.ReblogsCount == 1 && st.FavouritesCount == 1 && st.RepliesCount == 1
	})

	// An edit reaches the follower; a delete removes the status there.
	if _, err := sales.client.UpdateStatus(ctx, &gomastodon.Toot{Status: "Pipeline review notes are up, now with Q3 #sales"}, post.ID); err != nil {
		t.Fatal(err)
	}
	eng.waitHome(t, "edit reaches alice", contains("now with Q3"))
	// The edit is one as Mastodon shows it: edited_at, two versions in the history, and an
	// update notification for alice, who boosted it.
	var edited struct {
		EditedAt *string `json:"edited_at"`
	}
	eng.getJSON(t, "/api/v1/statuses/"+string(seen.ID), &edited)
	var history []struct {
		Content string `json:"content"`
	}
	eng.getJSON(t, "/api/v1/statuses/"+string(seen.ID)+"/history", &history)
	if edited.EditedAt == nil || len(history) != 2 || strings.Contains(history[0].Content, "Q3") || !strings.Contains(history[1].Content, "Q3") {
		t.Errorf("edited copy: edited_at %v, history %+v; want edited_at and the original then the edit", edited.EditedAt, history)
	}
	eng.waitNotification(t, "update", sales.acct())
	if err := sales.client.DeleteStatus(ctx, post.ID); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, deadline, "deleted status gone from alice's instance", func() bool {
		_, err := eng.client.GetStatus(ctx, seen.ID)
		return err != nil
	})
}

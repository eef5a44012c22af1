package federation_test

import (
	"context"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

// TestDirectMessagesAcrossDepartmentsMakeConversations sends a DM from one department to
// another and a reply back: each side has one conversation holding the thread.
func TestDirectMessagesAcrossDepartmentsMakeConversations(t *testing.T) {
	eng, sales := newDept(t, "alice"), newDept(t, "bob")
	bobAtEng := eng.resolve(t, sales.acct())
	sales.resolve(t, eng.acct())
	dm := eng.post(t, &gomastodon.Toot{Status: "@" + sales.acct() + " can you share the pricing deck?", Visibility: "direct"})

	conversations := func(d *dept) []*gomastodon.Conversation {
		list, err := d.client.GetConversations(context.Background(), nil)
		if err != nil {
			t.Fatalf("conversations of %s: %v", d.acct(), err)
		}
		return list
	}
	var bobs []*gomastodon.Conversation
	testrig.Eventually(t, deadline, "bob's conversation with alice", func() bool {
		bobs = conversations(sales)
		return len(bobs) == 1 && bobs[0].LastStatus != nil && strings.Contains(bobs[0].LastStatus.Content, "pricing deck")
	})
	if !bobs[0].Unread || len(bobs[0].Accounts) != 1 || bobs[0].Accounts[0].Acct != eng.acct() {
		t.Errorf("bob's conversation = %+v, want unread, with alice", bobs[0])
	}
	sales.post(t, &gomastodon.Toot{Status: "@" + eng.acct() + " here it is", Visibility: "direct", InReplyToID: bobs[0].LastStatus.ID})
	var alices []*gomastodon.Conversation
	testrig.Eventually(t, deadline, "bob's reply in alice's conversation", func() bool {
		alices = conversations(eng)
		return len(alices) == 1 && alices[0].LastStatus != nil && strings.Contains(alices[0].LastStatus.Content, "here it is")
	})
	if alices[0].ID != gomastodon.ID(dm.ID) || !alices[0].Unread || alices[0].Accounts[0].ID != bobAtEng.ID {
		t.Errorf("alice's conversation = %+v, want the thread of her DM %s, unread, with bob", alices[0], dm.ID)
	}
}

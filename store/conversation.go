package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// Conversations are Mastodon's direct-message threads as each participant sees them: one per
// thread root and local participant, ordered by its last status, unread for a participant
// until they read it, and with every account that wrote or was addressed in the thread. They are
// written in the same transaction as the direct status, so a DM never lacks its conversation.

// Conversation is one account's view of a direct-message thread; ID is the thread's root.
type Conversation struct {
	ID           string
	LastStatusID string
	Unread       bool
	AccountIDs   []string // the other participants
}

// conversationTargets finds the thread a direct status belongs to: its parent's, else its own.
func (s *Store) conversationTargets(ctx context.Context, st *Status, f *fanOut) error {
	if st.Visibility != VisibilityDirect || st.ReblogOfID != "" {
		return nil
	}
	if st.InReplyToID != "" {
		parent, err := s.Status(ctx, st.InReplyToID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		default:
			f.conversation = parent.ConversationID
			if f.conversation == "" {
				f.conversation = parent.ID
			}
		}
	}
	// Stored with the status, so that replies to it find the thread.
	st.ConversationID = f.conversation
	return nil
}

// writeConversation queues the conversation writes of a new direct status for every local
// participant: its author when local and the local accounts it reaches.
func (s *Store) writeConversation(ctx context.Context, p redis.Pipeliner, st *Status, f *fanOut) {
	if st.Visibility != VisibilityDirect || st.ReblogOfID != "" {
		return
	}
	root := f.conversation
	if root == "" {
		root = st.ID
	}
	spreadOf(p).thread(threadWrite{Homes: f.homes, Root: root, Status: st.ID, Author: st.AccountID,
		Participants: append([]string{st.AccountID}, st.Mentions...)})
}

// A threadWrite is a direct status entering its thread in the conversations of the local accounts
// it reaches. Adding the thread with its score, setting its fields and adding its participants
// change nothing the second time.
type threadWrite struct {
	Homes        []string `json:"h"`
	Root         string   `json:"r"`
	Status       string   `json:"s"`
	Author       string   `json:"a"` // who wrote it, and has read it
	Participants []string `json:"p"`
}

func (w threadWrite) queue(ctx context.Context, p redis.Pipeliner, k keys) {
	for _, home := range w.Homes {
		unread := "1"
		if home == w.Author {
			unread = "0"
		}
		p.ZAdd(ctx, k.conversations(home), redis.Z{Score: idScore(w.Status), Member: w.Root})
		p.HSet(ctx, k.conversation(home, w.Root), "last_status_id", w.Status, "unread", unread)
		p.SAdd(ctx, k.conversationAccounts(home, w.Root), toAny(w.Participants)...)
	}
}

// Conversations pages through an account's conversations, the most recently active first.
func (s *Store) Conversations(ctx context.Context, accountID string, p Page) ([]Entry, []*Conversation, error) {
	entries, err := pageZSet(ctx, s.rdb, s.k.conversations(accountID), p)
	if err != nil {
		return nil, nil, err
	}
	list, err := s.conversationsByRoot(ctx, accountID, Members(entries))
	return entries, list, err
}

// ConversationOf reads one of an account's conversations.
func (s *Store) ConversationOf(ctx context.Context, accountID, id string) (*Conversation, error) {
	list, err := s.conversationsByRoot(ctx, accountID, []string{id})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("conversation %s: %w", id, ErrNotFound)
	}
	return list[0], nil
}

func (s *Store) conversationsByRoot(ctx context.Context, accountID string, roots []string) ([]*Conversation, error) {
	p := s.rdb.Pipeline()
	hashes := make([]*redis.MapStringStringCmd, len(roots))
	members := make([]*redis.StringSliceCmd, len(roots))
	for i, root := range roots {
		hashes[i] = p.HGetAll(ctx, s.k.conversation(accountID, root))
		members[i] = p.SMembers(ctx, s.k.conversationAccounts(accountID, root))
	}
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("conversations: %w", err)
	}
	out := make([]*Conversation, 0, len(roots))
	for i, root := range roots {
		h := hashes[i].Val()
		if h["last_status_id"] == "" {
			continue
		}
		others := slices.DeleteFunc(members[i].Val(), func(id string) bool { return id == accountID })
		slices.Sort(others)
		out = append(out, &Conversation{ID: root, LastStatusID: h["last_status_id"], Unread: h["unread"] == "1", AccountIDs: others})
	}
	return out, nil
}

// MarkConversationRead marks one of an account's conversations read.
func (s *Store) MarkConversationRead(ctx context.Context, accountID, id string) error {
	n, err := s.rdb.Exists(ctx, s.k.conversation(accountID, id)).Result()
	if err != nil {
		return fmt.Errorf("read conversation: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("conversation %s: %w", id, ErrNotFound)
	}
	return s.rdb.HSet(ctx, s.k.conversation(accountID, id), "unread", "0").Err()
}

// RemoveConversation takes a conversation off one account's list; the statuses stay, and a new
// message in the thread brings it back.
func (s *Store) RemoveConversation(ctx context.Context, accountID, id string) error {
	removed, err := s.rdb.ZRem(ctx, s.k.conversations(accountID), id).Result()
	if err != nil {
		return fmt.Errorf("remove conversation: %w", err)
	}
	if removed == 0 {
		return fmt.Errorf("conversation %s: %w", id, ErrNotFound)
	}
	return s.rdb.Del(ctx, s.k.conversation(accountID, id), s.k.conversationAccounts(accountID, id)).Err()
}

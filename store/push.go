package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// PushQueue is the queue of Web Push sends: one job per notification and subscription.
const PushQueue = "push"

// PushAlerts are the notification types a Web Push subscription can ask for, in Mastodon's
// order.
var PushAlerts = []string{
	NotifyMention, NotifyStatus, NotifyReblog, NotifyFollow, NotifyFollowRequest, NotifyFavourite,
	"poll", NotifyUpdate, "admin.sign_up", "admin.report", NotifyQuote, NotifyQuotedUpdate,
}

// Push policies: whose notifications are pushed.
const (
	PushPolicyAll      = "all"
	PushPolicyFollowed = "followed"
	PushPolicyFollower = "follower"
	PushPolicyNone     = "none"
)

// PushSubscription is a Web Push subscription: Mastodon keeps one per access token, and
// revoking the token ends it.
type PushSubscription struct {
	ID        string `json:"id"`
	TokenHash string `json:"token_hash"`
	// AccessToken goes into every payload, as Mastodon sends it, so that the app knows which of
	// its sign-ins the notification is for and can fetch it. Only the token's hash is kept
	// elsewhere; this copy lives exactly as long as the token (RevokeToken deletes it).
	AccessToken string          `json:"access_token"`
	AccountID   string          `json:"account_id"`
	Endpoint    string          `json:"endpoint"`
	P256dh      string          `json:"p256dh"`
	Auth        string          `json:"auth"`
	Standard    bool            `json:"standard"`
	Alerts      map[string]bool `json:"alerts"`
	Policy      string          `json:"policy"`
	CreatedAt   time.Time       `json:"created_at"`
}

// queuePushLua queues one push job per subscription of the notified account, in the
// notification's own transaction, so that a notification written is a push queued, and an
// account without subscriptions costs one SMEMBERS. KEYS: the account's subscriptions, the
// push stream; ARGV: notification id.
const queuePushLua = `
local subs = redis.call('SMEMBERS', KEYS[1])
for _, h in ipairs(subs) do
  redis.call('XADD', KEYS[2], '*', 'subscription', h, 'notification', ARGV[1], 'attempt', '0')
end
return #subs
`

// queuePush queues n's push jobs on p (see queuePushLua).
func (s *Store) queuePush(ctx context.Context, p redis.Pipeliner, n *Notification) {
	// EVAL rather than EVALSHA: inside MULTI a missing script would fail at EXEC, after the
	// notification's other writes were already applied.
	p.Eval(ctx, queuePushLua, []string{s.k.accountPushSubscriptions(n.AccountID), s.k.queue(PushQueue)}, n.ID)
}

// VAPIDKeys are the instance's Web Push signing keys, base64url as webpush libraries take them.
type VAPIDKeys struct {
	Public  string `json:"public"`
	Private string `json:"private"`
}

// VAPIDKeys returns the instance's VAPID key pair, making it with generate the first time. The
// first writer wins (SET NX), so processes that start together all use the same pair, and a
// push service that saw the public key keeps accepting the instance's signatures.
func (s *Store) VAPIDKeys(ctx context.Context, generate func() (VAPIDKeys, error)) (VAPIDKeys, error) {
	var k VAPIDKeys
	err := s.getJSON(ctx, s.k.vapidKey(), &k)
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return k, fmt.Errorf("vapid key: %w", err)
	}
	fresh, err := generate()
	if err != nil {
		return k, fmt.Errorf("generate vapid key: %w", err)
	}
	if err := s.rdb.SetNX(ctx, s.k.vapidKey(), mustJSON(fresh), 0).Err(); err != nil {
		return k, fmt.Errorf("vapid key: %w", err)
	}
	if err := s.getJSON(ctx, s.k.vapidKey(), &k); err != nil {
		return k, fmt.Errorf("vapid key: %w", err)
	}
	return k, nil
}

// savePushScript replaces the subscription of a token, only while the token exists, so that a
// subscription racing the token's revocation never outlives it. KEYS: token, subscription (one
// slot); ARGV: JSON.
var savePushScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
return 1
`)

// SavePushSubscription creates or replaces the subscription of sub.TokenHash; it assigns the
// id. It returns ErrNotFound when the token was revoked meanwhile.
func (s *Store) SavePushSubscription(ctx context.Context, sub *PushSubscription) error {
	now := time.Now().UTC()
	sub.ID, sub.CreatedAt = s.NewID(now), now
	// Listed under its account first (the list is in the department's slot, the subscription
	// in its token's): a revocation between the two drops the listing after deleting the
	// token, and the script then finds no token. A hash listed without a subscription queues
	// pushes that find nothing to send.
	listed := s.k.accountPushSubscriptions(sub.AccountID)
	if err := s.rdb.SAdd(ctx, listed, sub.TokenHash).Err(); err != nil {
		return fmt.Errorf("save push subscription: %w", err)
	}
	n, err := savePushScript.Run(ctx, s.rdb, []string{s.k.token(sub.TokenHash), s.k.pushSubscription(sub.TokenHash)}, mustJSON(sub)).Int()
	if err != nil {
		return fmt.Errorf("save push subscription: %w", err)
	}
	if n == 0 {
		if err := s.rdb.SRem(ctx, listed, sub.TokenHash).Err(); err != nil {
			return fmt.Errorf("save push subscription: %w", err)
		}
		return fmt.Errorf("token of push subscription: %w", ErrNotFound)
	}
	return nil
}

// updatePushScript rewrites a subscription only if it still exists with the same id, so that
// an update racing a delete or a new subscription does not bring back the old one. KEYS:
// subscription; ARGV: id, JSON.
var updatePushScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur or cjson.decode(cur)['id'] ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`)

// UpdatePushSubscription stores changed alerts and policy of an existing subscription.
func (s *Store) UpdatePushSubscription(ctx context.Context, sub *PushSubscription) error {
	n, err := updatePushScript.Run(ctx, s.rdb, []string{s.k.pushSubscription(sub.TokenHash)}, sub.ID, mustJSON(sub)).Int()
	if err != nil {
		return fmt.Errorf("update push subscription: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("push subscription %s: %w", sub.ID, ErrNotFound)
	}
	return nil
}

// PushSubscription reads the subscription of a token, by the token's hash.
func (s *Store) PushSubscription(ctx context.Context, tokenHash string) (*PushSubscription, error) {
	var sub PushSubscription
	if err := s.getJSON(ctx, s.k.pushSubscription(tokenHash), &sub); err != nil {
		return nil, fmt.Errorf("push subscription: %w", err)
	}
	return &sub, nil
}

// deletePushScript deletes a subscription, only the one with the given id when one is given:
// a push service's 410 for an old endpoint must not end the subscription that replaced it.
// KEYS: subscription; ARGV: id or "".
var deletePushScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if ARGV[1] ~= '' and cjson.decode(cur)['id'] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

// DeletePushSubscription ends the subscription of a token; id, when not "", names the
// subscription meant, and a newer one is left alone. Deleting none is not an error.
func (s *Store) DeletePushSubscription(ctx context.Context, accountID, tokenHash, id string) error {
	if err := s.deletePushSubscription(ctx, accountID, tokenHash, id); err != nil {
		return fmt.Errorf("delete push subscription: %w", err)
	}
	return nil
}

func (s *Store) deletePushSubscription(ctx context.Context, accountID, tokenHash, id string) error {
	deleted, err := deletePushScript.Run(ctx, s.rdb, []string{s.k.pushSubscription(tokenHash)}, id).Int()
	if err != nil || deleted == 0 {
		return err
	}
	// The listing goes after the subscription; a subscription saved again meanwhile (listed
	// before it is set) is listed again.
	listed := s.k.accountPushSubscriptions(accountID)
	if err := s.rdb.SRem(ctx, listed, tokenHash).Err(); err != nil {
		return err
	}
	if n, err := s.rdb.Exists(ctx, s.k.pushSubscription(tokenHash)).Result(); err != nil || n == 0 {
		return err
	}
	return s.rdb.SAdd(ctx, listed, tokenHash).Err()
}

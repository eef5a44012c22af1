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

// activityMemory is how long inbound activity ids and tombstones are remembered: longer than
// any peer's retry schedule (Mastodon retries for about a week).
const activityMemory = 8 * 24 * time.Hour

// acceptInboxScript clears the sending host's failure record (as HostAlive does) and brings
// deliveries waiting for it forward (as ReviveSoon does), then remembers an activity id and
// queues the activity in one step: a duplicate delivery is dropped, and an accepted one is never
// remembered without being queued. Reviving the host here rather than in calls of its own saves
// the inbox round trips per request; deleting an absent field and reading an empty index range
// change nothing, so a healthy host costs Redis next to nothing and the AOF nothing.
// KEYS: retry, by-host index, revive cooldown (as reviveSoonLua), seen id, inbox stream, host
// failures; ARGV: now, index range min, max, cooldown, seen TTL, host, fields...
var acceptInboxScript = redis.NewScript(reviveSoonLua + `
redis.call('HDEL', KEYS[6], ARGV[6])
if redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[5]) == false then return {0, revived} end
local values = {}
for i = 7, #ARGV do table.insert(values, ARGV[i]) end
redis.call('XADD', KEYS[5], '*', unpack(values))
return {1, revived}
`)

// AcceptInbound records that fromHost is up, since it just delivered to us, bringing forward
// the retries of deliveries queue holds for it (at most once per cooldown: see ReviveSoon), and
// queues an inbound activity on q unless its id was seen before. It reports whether the activity
// was new and how many retries it brought forward.
func (s *Store) AcceptInbound(ctx context.Context, q, deliveries *Queue, cooldown time.Duration, activityID, fromHost string, fields map[string]string) (accepted bool, revived int, err error) {
	lo, hi := hostRange(fromHost)
	args := []any{time.Now().UnixMilli(), lo, hi, max(cooldown.Milliseconds(), 1), int64(activityMemory / time.Second), fromHost}
	for k, v := range fields {
		args = append(args, k, v)
	}
	keys := []string{deliveries.retry, deliveries.byHost, s.k.queueRevived(deliveries.name, fromHost),
		s.k.seenActivity(activityID), q.stream, s.k.hostFailures()}
	res, err := acceptInboxScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("accept activity %s: %w", activityID, err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("accept activity %s: script answered %v", activityID, res)
	}
	return res[0] == 1, int(res[1]), nil
}

// ForgetInbound lets an activity id be accepted again, for activities whose processing failed
// for good before they changed anything.
func (s *Store) ForgetInbound(ctx context.Context, activityID string) error {
	return s.rdb.Del(ctx, s.k.seenActivity(activityID)).Err()
}

// AddTombstone remembers that an object or activity was deleted or undone, so that a copy
// arriving late (a Create after its Delete, an Announce after its Undo) is ignored.
func (s *Store) AddTombstone(ctx context.Context, uri string) error {
	return s.rdb.Set(ctx, s.k.tombstone(uri), "1", activityMemory).Err()
}

// IsTombstoned reports whether AddTombstone was called for uri recently.
func (s *Store) IsTombstoned(ctx context.Context, uri string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.k.tombstone(uri)).Result()
	return n == 1, err
}

// SetFollowActivity remembers the id of the Follow activity behind a follow or request, which an
// Accept, Reject or Undo must reference.
func (s *Store) SetFollowActivity(ctx context.Context, followerID, targetID, activityID string) error {
	// Found by its id first: a process that dies before the follower's entry leaves an id that
	// an Accept or Undo still resolves, and a later SetFollowActivity writes both again.
	return s.inOrder(ctx, func(p redis.Pipeliner) {
		p.HSet(ctx, s.k.followActivityByID(activityID), activityID, followerID+"/"+targetID)
	}, func(p redis.Pipeliner) {
		p.HSet(ctx, s.k.followActivities(followerID), targetID, activityID)
	})
}

// FollowByActivity finds the follower and target of a recorded Follow activity.
func (s *Store) FollowByActivity(ctx context.Context, activityID string) (followerID, targetID string, err error) {
	pair, err := s.rdb.HGet(ctx, s.k.followActivityByID(activityID), activityID).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", fmt.Errorf("follow activity %s: %w", activityID, ErrNotFound)
	}
	if err != nil {
		return "", "", err
	}
	followerID, targetID, _ = strings.Cut(pair, "/")
	return followerID, targetID, nil
}

// ClaimURI takes a short lock on a remote object's URI, so that two workers storing the same
// object (a Create and an Announce of it, say) do not both create it.
func (s *Store) ClaimURI(ctx context.Context, uri string) (bool, error) {
	return s.rdb.SetNX(ctx, s.k.uriClaim(uri), "1", time.Minute).Result()
}

// ReleaseURI drops the lock taken by ClaimURI.
func (s *Store) ReleaseURI(ctx context.Context, uri string) error {
	return s.rdb.Del(ctx, s.k.uriClaim(uri)).Err()
}

// FollowActivity returns the id recorded by SetFollowActivity, or "".
func (s *Store) FollowActivity(ctx context.Context, followerID, targetID string) (string, error) {
	id, err := s.rdb.HGet(ctx, s.k.followActivities(followerID), targetID).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return id, err
}

// RemoteFollowerInboxes lists the inboxes that reach every remote follower of an account, one
// shared inbox per server that offers one, so a post to 500 followers on one server is one POST.
func (s *Store) RemoteFollowerInboxes(ctx context.Context, accountID string) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.followers(accountID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("followers of %s: %w", accountID, err)
	}
	local, err := s.rdb.ZRange(ctx, s.k.localFollowers(accountID), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("local followers of %s: %w", accountID, err)
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(local, id) })
	accounts, err := s.AccountsInOrder(ctx, ids)
	if err != nil {
		return nil, err
	}
	return InboxesOf(accounts), nil
}

// InboxesOf lists the distinct inboxes of remote accounts, preferring shared inboxes.
func InboxesOf(accounts []*Account) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range accounts {
		if a.Local() {
			continue
		}
		inbox := a.SharedInboxURI
		if inbox == "" {
			inbox = a.InboxURI
		}
		if inbox != "" && !seen[inbox] {
			seen[inbox] = true
			out = append(out, inbox)
		}
	}
	return out
}

// HostFailed records a failed contact with host and returns since when it has been failing.
func (s *Store) HostFailed(ctx context.Context, host string, now time.Time) (time.Time, error) {
	if err := s.rdb.HSetNX(ctx, s.k.hostFailures(), host, now.UnixMilli()).Err(); err != nil {
		return now, fmt.Errorf("record failure of %s: %w", host, err)
	}
	ms, err := s.rdb.HGet(ctx, s.k.hostFailures(), host).Int64()
	if err != nil {
		return now, fmt.Errorf("record failure of %s: %w", host, err)
	}
	return time.UnixMilli(ms), nil
}

// hostAliveScript clears a host's failure record (KEYS[3], field ARGV[4]) and revives its
// retries (reviveLua).
var hostAliveScript = redis.NewScript("local revived = 0" + reviveLua + `
redis.call('HDEL', KEYS[3], ARGV[4])
return revived
`)

// HostAlive records that a delivery to host succeeded: it clears the host's failure record and
// brings every retry deliveries holds for it forward, in one step. It returns how many.
func (s *Store) HostAlive(ctx context.Context, deliveries *Queue, host string, now time.Time) (int, error) {
	lo, hi := hostRange(host)
	n, err := hostAliveScript.Run(ctx, s.rdb, []string{deliveries.retry, deliveries.byHost, s.k.hostFailures()}, now.UnixMilli(), lo, hi, host).Int()
	if err != nil {
		return 0, fmt.Errorf("revive %s: %w", host, err)
	}
	return n, nil
}

// HostFailingSince returns since when host has been failing, or the zero time.
func (s *Store) HostFailingSince(ctx context.Context, host string) (time.Time, error) {
	ms, err := s.rdb.HGet(ctx, s.k.hostFailures(), host).Int64()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}

// HostsFailingSince returns since when each host has been failing, or the zero time, in one
// round trip.
func (s *Store) HostsFailingSince(ctx context.Context, hosts []string) ([]time.Time, error) {
	vals, err := s.rdb.HMGet(ctx, s.k.hostFailures(), hosts...).Result()
	if err != nil {
		return nil, fmt.Errorf("hosts failing since: %w", err)
	}
	out := make([]time.Time, len(hosts))
	for i, v := range vals {
		if str, ok := v.(string); ok {
			if ms, err := strconv.ParseInt(str, 10, 64); err == nil {
				out[i] = time.UnixMilli(ms)
			}
		}
	}
	return out, nil
}

// FederationPolicy is who an instance federates with.
type FederationPolicy struct {
	// Allowlist restricts federation to Allowed hosts.
	Allowlist bool
	Allowed   []string
	Blocked   []string
}

// Permits reports whether the policy lets the instance federate with host.
func (p FederationPolicy) Permits(host string) bool {
	host = strings.ToLower(host)
	for _, b := range p.Blocked {
		if host == b || strings.HasSuffix(host, "."+b) {
			return false
		}
	}
	if !p.Allowlist {
		return true
	}
	for _, a := range p.Allowed {
		if host == a || strings.HasSuffix(host, "."+a) {
			return true
		}
	}
	return false
}

// FederationPolicy reads the domain blocks, the allowlist and the mode.
func (s *Store) FederationPolicy(ctx context.Context) (FederationPolicy, error) {
	p := s.rdb.Pipeline()
	mode := p.Get(ctx, s.k.federationMode())
	allowed := p.SMembers(ctx, s.k.domainAllows())
	blocked := p.SMembers(ctx, s.k.domainBlocks())
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return FederationPolicy{}, fmt.Errorf("federation policy: %w", err)
	}
	return FederationPolicy{Allowlist: mode.Val() == "allowlist", Allowed: allowed.Val(), Blocked: blocked.Val()}, nil
}

// SetAllowlistMode switches between federating with everyone not blocked and only with allowed hosts.
func (s *Store) SetAllowlistMode(ctx context.Context, on bool) error {
	mode := "open"
	if on {
		mode = "allowlist"
	}
	return s.rdb.Set(ctx, s.k.federationMode(), mode, 0).Err()
}

// BlockDomain stops federation with a host (and its subdomains).
func (s *Store) BlockDomain(ctx context.Context, host string) error {
	return s.rdb.SAdd(ctx, s.k.domainBlocks(), strings.ToLower(host)).Err()
}

// UnblockDomain lifts a domain block.
func (s *Store) UnblockDomain(ctx context.Context, host string) error {
	return s.rdb.SRem(ctx, s.k.domainBlocks(), strings.ToLower(host)).Err()
}

// AllowDomain adds a host to the allowlist.
func (s *Store) AllowDomain(ctx context.Context, host string) error {
	return s.rdb.SAdd(ctx, s.k.domainAllows(), strings.ToLower(host)).Err()
}

// DisallowDomain removes a host from the allowlist.
func (s *Store) DisallowDomain(ctx context.Context, host string) error {
	return s.rdb.SRem(ctx, s.k.domainAllows(), strings.ToLower(host)).Err()
}

// InstanceKey returns the instance actor's private key, creating it with generate on first use;
// concurrent first uses agree on one key.
func (s *Store) InstanceKey(ctx context.Context, generate func() (string, error)) (string, error) {
	pem, err := s.rdb.Get(ctx, s.k.instanceKey()).Result()
	if err == nil {
		return pem, nil
	}
	if !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("instance key: %w", err)
	}
	fresh, err := generate()
	if err != nil {
		return "", err
	}
	if err := s.rdb.SetNX(ctx, s.k.instanceKey(), fresh, 0).Err(); err != nil {
		return "", fmt.Errorf("instance key: %w", err)
	}
	return s.rdb.Get(ctx, s.k.instanceKey()).Result()
}

// SavePayload stores a serialized outgoing activity for its delivery jobs to share.
func (s *Store) SavePayload(ctx context.Context, id string, body []byte, ttl time.Duration) error {
	return s.rdb.Set(ctx, s.k.payload(id), body, ttl).Err()
}

// Payload reads a stored outgoing activity.
func (s *Store) Payload(ctx context.Context, id string) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.k.payload(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("payload %s: %w", id, ErrNotFound)
	}
	return b, err
}

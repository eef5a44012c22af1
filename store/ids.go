package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash/fnv"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Ids are ms<<10 | low. They fit in 53 bits, so a Redis sorted-set score holds them exactly and
// score ranges paginate precisely; they stay 16 decimal digits long until the 23rd century, so
// their string order is their numeric order too.
//
// Local ids are unique by construction across every process on one Redis: each process leases a
// node number from Redis, and the low bits are a per-millisecond sequence (high part) above the
// node number XORed with a mask derived from the millisecond and an instance secret (low part).
// The sequence keeps one process's ids in order; the XOR keeps node numbers apart within each
// millisecond while making them unpredictable; and the sequence starts at a random value in each
// millisecond, so an id, and the URI made from it, cannot be guessed from the time a post was
// written (about 9 bits of it are unknown for a given millisecond).
const (
	idLowBits = 10
	nodeBits  = 5
	seqBits   = idLowBits - nodeBits
	idLowMask = 1<<idLowBits - 1
	nodeCount = 1 << nodeBits
	seqCount  = 1 << seqBits
)

// A node lease outlives a process by nodeLeaseTTL at most, and the generator renews it long
// before then, so a live process never mints with a lease another process could take over.
const (
	nodeLeaseTTL   = 90 * time.Second
	nodeRenewAfter = nodeLeaseTTL / 3
	// nodeClaimTimeout bounds the Redis call a mint may make; NewID has no caller context
	// because minting an id is part of building a record, before any write.
	nodeClaimTimeout = 5 * time.Second
)

// claimNodeScript creates the instance's id secret if there is none yet, then leases the
// first free node number to the caller (or renews the caller's own lease on its preferred one).
// KEYS[1] is the secret, KEYS[2..] the node leases; ARGV: candidate secret, lease token, TTL in
// ms, preferred node index (0-based, or -1). Returns {node index or -1, secret}.
var claimNodeScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'NX')
local secret = redis.call('GET', KEYS[1])
local preferred = tonumber(ARGV[4])
if preferred >= 0 then
  local k = KEYS[preferred + 2]
  local holder = redis.call('GET', k)
  if holder == ARGV[2] or not holder then
    redis.call('SET', k, ARGV[2], 'PX', ARGV[3])
    return {preferred, secret}
  end
end
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[2], 'NX', 'PX', ARGV[3]) then
    return {i - 2, secret}
  end
end
return {-1, secret}
`)

// idGenerator mints this process's local ids.
type idGenerator struct {
	rdb redis.UniversalClient
	k   keys

	mu       sync.Mutex
	token    string    // this generator's lease token
	node     int64     // leased node number, -1 before the first lease
	leasedAt time.Time // when the lease was last set or renewed
	secret   []byte
	lastMS   int64
	seq      int64
	mask     int64 // mask of lastMS
}

func newIDGenerator(rdb redis.UniversalClient, k keys) *idGenerator {
	return &idGenerator{rdb: rdb, k: k, token: RandomToken(16), node: -1}
}

// next mints an id for a record created at t. Times in the future are taken as now, so a remote
// clock cannot push every later id ahead of its time; ids of one process never go backwards.
func (g *idGenerator) next(t time.Time) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	g.lease(now)
	ms := min(t.UnixMilli(), now.UnixMilli())
	switch {
	case ms > g.lastMS:
		g.startMillisecond(ms)
	case g.seq+1 < seqCount:
		g.seq++
	default:
		// This millisecond's sequence is spent: borrow the next one, as a sequence counter would.
		g.startMillisecond(g.lastMS + 1)
	}
	low := g.seq<<nodeBits | (g.node^g.mask)&(nodeCount-1)
	return strconv.FormatInt(g.lastMS<<idLowBits|low, 10)
}

// lease makes sure the generator holds a node lease with most of its TTL left. If Redis cannot
// be reached the generator keeps minting with the node it had (or a random one before the first
// lease): the record's own write will fail on the same Redis, and status writes check for a
// taken id anyway.
func (g *idGenerator) lease(now time.Time) {
	if g.node >= 0 && now.Sub(g.leasedAt) < nodeRenewAfter {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), nodeClaimTimeout)
	defer cancel()
	nodeKeys := make([]string, 0, nodeCount+1)
	nodeKeys = append(nodeKeys, g.k.idSecret())
	for i := range nodeCount {
		nodeKeys = append(nodeKeys, g.k.idNode(i))
	}
	res, err := claimNodeScript.Run(ctx, g.rdb, nodeKeys, RandomToken(32), g.token, nodeLeaseTTL.Milliseconds(), g.node).Slice()
	if err == nil && len(res) == 2 {
		node, _ := res[0].(int64)
		secret, _ := res[1].(string)
		if node >= 0 && secret != "" {
			if node != g.node || string(g.secret) != secret {
				g.lastMS = 0 // masks and sequences start afresh under a new node or secret
			}
			g.node, g.secret, g.leasedAt = node, []byte(secret), now
			return
		}
	}
	if g.node < 0 {
		g.node = int64(mrand.IntN(nodeCount))
		g.secret = []byte(RandomToken(32))
	}
}

// startMillisecond starts the sequence of ms at a random point of its lower half, leaving at
// least half of the sequence for ids of the same millisecond.
func (g *idGenerator) startMillisecond(ms int64) {
	g.lastMS, g.seq = ms, mrand.Int64N(seqCount/2)
	g.mask = g.maskOf(ms)
}

func (g *idGenerator) maskOf(ms int64) int64 {
	mac := hmac.New(sha256.New, g.secret)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(ms))
	mac.Write(b[:])
	return int64(binary.BigEndian.Uint16(mac.Sum(nil))) & idLowMask
}

// IDForTime is the smallest id minted at t, for score ranges by time.
func IDForTime(t time.Time, low uint32) string {
	return strconv.FormatInt(t.UnixMilli()<<idLowBits|int64(low&idLowMask), 10)
}

// RemoteID is the preferred id of a remote record published at t. Mastodon and most servers
// publish whole seconds, so a record published on a whole second is spread over that second by
// a hash of its URI: 20 bits of place instead of 10 make a taken id rare even for thousands of
// posts of one second. The id may still be taken: status writes check and move to the next free
// one (see nextCandidateID).
func RemoteID(t time.Time, uri string) string {
	h := fnv.New64a()
	h.Write([]byte(uri))
	sum := h.Sum64()
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		ms += int64(sum>>idLowBits) % 1000
	}
	return strconv.FormatInt(ms<<idLowBits|int64(sum&idLowMask), 10)
}

// nextCandidateID is the id to try after id was found taken: the next one in time order.
func nextCandidateID(id string) string {
	n, _ := strconv.ParseInt(id, 10, 64)
	return strconv.FormatInt(n+1, 10)
}

// TimeOfID recovers the creation time encoded in an id.
func TimeOfID(id string) time.Time {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n >> idLowBits).UTC()
}

func idScore(id string) float64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return float64(n)
}

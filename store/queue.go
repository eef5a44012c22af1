package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// queueGroup is the consumer group every worker of every process joins, so each job goes to
// exactly one worker and a crashed worker's jobs can be claimed by another.
const queueGroup = "workers"

// Queue is a durable job queue: a Redis Stream read through a consumer group, a sorted set of
// jobs waiting for a retry, and a dead-letter stream. A job leaves the stream only when it is
// acknowledged, rescheduled or dead-lettered, each in one MULTI/EXEC, so a kill -9 at any point
// loses nothing.
type Queue struct {
	rdb                 redis.UniversalClient
	k                   keys
	name                string
	stream, retry, dead string
	// byHost indexes the retries that a sign of life from their host may bring forward; see
	// RetryForHost.
	byHost string
}

// Job is one queued job.
type Job struct {
	// ID is the stream entry id while the job is queued.
	ID     string
	Fields map[string]string
	// Deliveries counts how many times the stream handed this entry to a worker.
	Deliveries int64
}

// Queue returns the named queue.
func (s *Store) Queue(name string) *Queue {
	return &Queue{
		rdb: s.rdb, k: s.k, name: name,
		stream: s.k.queue(name), retry: s.k.queueRetry(name), dead: s.k.queueDead(name),
		byHost: s.k.queueRetryByHost(name),
	}
}

// Ensure creates the stream and its consumer group when missing.
func (q *Queue) Ensure(ctx context.Context) error {
	err := q.rdb.XGroupCreateMkStream(ctx, q.stream, queueGroup, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create queue %s: %w", q.stream, err)
	}
	return nil
}

// Add queues a job.
func (q *Queue) Add(ctx context.Context, fields map[string]string) error {
	return q.AddTo(ctx, q.rdb, fields)
}

// AddTo queues a job on a pipeline or transaction of the caller's, so a job can be queued in the
// same MULTI/EXEC as the write it follows from.
func (q *Queue) AddTo(ctx context.Context, c redis.Cmdable, fields map[string]string) error {
	values := make([]string, 0, 2*len(fields))
	for k, v := range fields {
		values = append(values, k, v)
	}
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: q.stream, Values: values}).Err(); err != nil {
		return fmt.Errorf("queue job on %s: %w", q.stream, err)
	}
	return nil
}

// Read hands up to count new jobs to consumer, waiting up to block for the first one.
func (q *Queue) Read(ctx context.Context, consumer string, count int, block time.Duration) ([]Job, error) {
	res, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: queueGroup, Consumer: consumer, Streams: []string{q.stream, ">"}, Count: int64(count), Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", q.stream, err)
	}
	var out []Job
	for _, st := range res {
		for _, m := range st.Messages {
			out = append(out, jobOf(m, 1))
		}
	}
	return out, nil
}

// Resume hands consumer its own pending jobs with ids after after ("0" for all): the jobs a
// previous process with the same consumer name held when it died, resumed at once by its
// successor. It returns the id to pass next time; a short page means none are left.
func (q *Queue) Resume(ctx context.Context, consumer, after string, count int) ([]Job, string, error) {
	res, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: queueGroup, Consumer: consumer, Streams: []string{q.stream, after}, Count: int64(count), Block: -1,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, after, nil
	}
	if err != nil {
		return nil, after, fmt.Errorf("resume %s: %w", q.stream, err)
	}
	var out []Job
	for _, st := range res {
		for _, m := range st.Messages {
			out = append(out, jobOf(m, 2))
			after = m.ID
		}
	}
	return out, after, nil
}

// claimLapsedScript moves a consumer's pending jobs to another consumer, unless the first one's
// lease is alive: checked in the same step, so a process that comes back and renews its lease
// never finds its jobs taken while it resumes them, and a live worker, however slow, keeps its
// jobs. A consumer with no lease and nothing pending is removed, so names of dead processes do
// not pile up. KEYS: stream, the victim's lease; ARGV: group, victim, claimer, count.
var claimLapsedScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 1 then return {} end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', tonumber(ARGV[4]), ARGV[2])
if #pending == 0 then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
  return {}
end
local ids = {}
for i, p in ipairs(pending) do ids[i] = p[1] end
return redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, unpack(ids))
`)

// ClaimLapsed takes over, for consumer, up to count jobs held by consumers whose lease
// (TakeLease) has lapsed: processes that died and did not come back.
func (q *Queue) ClaimLapsed(ctx context.Context, consumer string, count int) ([]Job, error) {
	consumers, err := q.rdb.XInfoConsumers(ctx, q.stream, queueGroup).Result()
	if err != nil {
		return nil, fmt.Errorf("consumers of %s: %w", q.stream, err)
	}
	var out []Job
	for _, c := range consumers {
		if c.Name == consumer || len(out) >= count {
			continue
		}
		keys := []string{q.stream, q.k.consumerLease(c.Name)}
		res, err := claimLapsedScript.Run(ctx, q.rdb, keys, queueGroup, c.Name, consumer, count-len(out)).Slice()
		if err != nil && !errors.Is(err, redis.Nil) {
			return out, fmt.Errorf("claim jobs of %s on %s: %w", c.Name, q.stream, err)
		}
		for _, entry := range res {
			if m, ok := messageOf(entry); ok {
				out = append(out, jobOf(m, 2))
			}
		}
	}
	return out, nil
}

// messageOf reads one stream entry as a script returns it: {id, {field, value, ...}}. Entries
// deleted while pending come back empty and are skipped.
func messageOf(v any) (redis.XMessage, bool) {
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		return redis.XMessage{}, false
	}
	id, _ := pair[0].(string)
	flat, _ := pair[1].([]any)
	if id == "" {
		return redis.XMessage{}, false
	}
	values := make(map[string]any, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		if k, ok := flat[i].(string); ok {
			values[k] = flat[i+1]
		}
	}
	return redis.XMessage{ID: id, Values: values}, true
}

// renewLeaseScript extends a lease its holder still has; a lapsed one is taken again. It
// returns 1 when the lease was held, 2 when it had lapsed, 0 when another process holds it.
var renewLeaseScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0
`)

// releaseLeaseScript drops a lease only if the caller still holds it.
var releaseLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// ErrLeaseLost reports that a consumer's lease lapsed or passed to another process, whose
// workers may then have taken the jobs this process holds.
var ErrLeaseLost = errors.New("lease lost")

// TakeLease makes the calling process, identified by token, the live holder of consumer's
// name for ttl: a process that restarts under the same name takes the lease over from its dead
// predecessor and resumes its jobs (Resume); other processes leave them alone meanwhile.
func (s *Store) TakeLease(ctx context.Context, consumer, token string, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.k.consumerLease(consumer), token, ttl).Err(); err != nil {
		return fmt.Errorf("lease %s: %w", consumer, err)
	}
	return nil
}

// RenewLease extends the caller's lease for ttl; it returns ErrLeaseLost when the lease had
// lapsed (it is taken again) or another process holds it (it is left to that process).
func (s *Store) RenewLease(ctx context.Context, consumer, token string, ttl time.Duration) error {
	n, err := renewLeaseScript.Run(ctx, s.rdb, []string{s.k.consumerLease(consumer)}, token, ttl.Milliseconds()).Int()
	switch {
	case err != nil:
		return fmt.Errorf("renew lease %s: %w", consumer, err)
	case n == 2:
		return fmt.Errorf("lease %s had lapsed: %w", consumer, ErrLeaseLost)
	case n == 0:
		return fmt.Errorf("lease %s is held by another process: %w", consumer, ErrLeaseLost)
	}
	return nil
}

// ReleaseLease gives the lease up on a clean shutdown, so that other processes take over the
// jobs left pending at once.
func (s *Store) ReleaseLease(ctx context.Context, consumer, token string) error {
	return releaseLeaseScript.Run(ctx, s.rdb, []string{s.k.consumerLease(consumer)}, token).Err()
}

func jobOf(m redis.XMessage, deliveries int64) Job {
	fields := make(map[string]string, len(m.Values))
	for k, v := range m.Values {
		if s, ok := v.(string); ok {
			fields[k] = s
		}
	}
	return Job{ID: m.ID, Fields: fields, Deliveries: deliveries}
}

// Ack settles a finished job.
func (q *Queue) Ack(ctx context.Context, j Job) error {
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, q.stream, queueGroup, j.ID)
		p.XDel(ctx, q.stream, j.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack %s: %w", j.ID, err)
	}
	return nil
}

// RetryAt moves a job out of the stream into the retry schedule with changed fields; the
// job comes back to the stream when PromoteDue runs after at.
func (q *Queue) RetryAt(ctx context.Context, j Job, fields map[string]string, at time.Time) error {
	return q.retryAt(ctx, j, fields, at, "")
}

// RetryForHost is RetryAt for a job that waits for host to come back: a sign of life from host
// (Revive) or a probe (Probe) brings it forward. The job's fields get RetryDueField, its time in
// the schedule, so that an attempt made early can go back to it when it fails.
func (q *Queue) RetryForHost(ctx context.Context, j Job, fields map[string]string, at time.Time, host string) error {
	return q.retryAt(ctx, j, fields, at, host)
}

// RetryDueField holds, in a job scheduled by RetryForHost, the unix milliseconds it was due at.
const RetryDueField = "retry_due"

// retryMember is a retry's sorted-set member: the job's fields, the stream id it came from
// (which keeps members unique even when two jobs carry equal fields), and the host whose sign
// of life brings it forward, if any.
type retryMember struct {
	From   string            `json:"from"`
	Fields map[string]string `json:"fields"`
	Host   string            `json:"host,omitempty"`
}

// hostIndexMember is a retry's member in the by-host index: the host, NUL, the retry member,
// so that one ZRANGEBYLEX finds every retry of a host.
func hostIndexMember(host, member string) string { return host + "\x00" + member }

// hostRange is the ZRANGEBYLEX range holding every index member of host.
func hostRange(host string) (lo, hi string) { return "[" + host + "\x00", "(" + host + "\x01" }

func (q *Queue) retryAt(ctx context.Context, j Job, fields map[string]string, at time.Time, host string) error {
	if host != "" {
		with := make(map[string]string, len(fields)+1)
		for k, v := range fields {
			with[k] = v
		}
		with[RetryDueField] = strconv.FormatInt(at.UnixMilli(), 10)
		fields = with
	}
	member, err := json.Marshal(retryMember{From: j.ID, Fields: fields, Host: host})
	if err != nil {
		return err
	}
	_, err = q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, q.retry, redis.Z{Score: float64(at.UnixMilli()), Member: string(member)})
		if host != "" {
			p.ZAdd(ctx, q.byHost, redis.Z{Score: 0, Member: hostIndexMember(host, string(member))})
		}
		p.XAck(ctx, q.stream, queueGroup, j.ID)
		p.XDel(ctx, q.stream, j.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule retry of %s: %w", j.ID, err)
	}
	return nil
}

// promoteScript moves due retries back into the stream atomically, so a crash between the two
// steps can neither lose nor duplicate a job. KEYS: retry, stream, by-host index.
var promoteScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local job = cjson.decode(member)
  local values = {}
  for k, v in pairs(job['fields']) do
    table.insert(values, k)
    table.insert(values, v)
  end
  redis.call('XADD', KEYS[2], '*', unpack(values))
  redis.call('ZREM', KEYS[1], member)
  if job['host'] then redis.call('ZREM', KEYS[3], job['host'] .. '\0' .. member) end
end
return #due
`)

// PromoteDue returns up to limit retries whose time has come to the stream.
func (q *Queue) PromoteDue(ctx context.Context, now time.Time, limit int) (int, error) {
	n, err := promoteScript.Run(ctx, q.rdb, []string{q.retry, q.stream, q.byHost}, now.UnixMilli(), limit).Int()
	if err != nil {
		return 0, fmt.Errorf("promote retries of %s: %w", q.stream, err)
	}
	return n, nil
}

// reviveLua makes every indexed retry of a host due at ARGV[1] and drops them from the index,
// so a second sign of life finds nothing left to do; retries already promoted are skipped.
// KEYS: retry, by-host index; ARGV: now (ms), index range min, max. The scripts below share
// it; it adds the number revived to their local "revived".
const reviveLua = `
for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[2], ARGV[2], ARGV[3])) do
  local member = string.sub(m, string.find(m, '\0', 1, true) + 1)
  if redis.call('ZSCORE', KEYS[1], member) then
    redis.call('ZADD', KEYS[1], ARGV[1], member)
    revived = revived + 1
  end
end
redis.call('ZREMRANGEBYLEX', KEYS[2], ARGV[2], ARGV[3])
`

var reviveScript = redis.NewScript("local revived = 0" + reviveLua + "return revived")

// Revive brings every retry scheduled for host with RetryForHost forward to now, in one atomic
// step: host has shown a sign of life. It returns how many retries it moved; PromoteDue then
// hands them to the workers, whose per-host limits still apply.
func (q *Queue) Revive(ctx context.Context, host string, now time.Time) (int, error) {
	lo, hi := hostRange(host)
	n, err := reviveScript.Run(ctx, q.rdb, []string{q.retry, q.byHost}, now.UnixMilli(), lo, hi).Int()
	if err != nil {
		return 0, fmt.Errorf("revive retries to %s: %w", host, err)
	}
	return n, nil
}

// reviveSoonLua is reviveLua behind a per-host cooldown key (KEYS[3], PX ARGV[4]), taken only
// when the host has retries to revive, so that a host which keeps sending while its own inbox
// fails costs one round of early attempts per cooldown, and a host with none costs no write.
const reviveSoonLua = `
local revived = 0
if #redis.call('ZRANGEBYLEX', KEYS[2], ARGV[2], ARGV[3], 'LIMIT', 0, 1) > 0 and
   redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[4]) then
` + reviveLua + `
end
`

var reviveSoonScript = redis.NewScript(reviveSoonLua + "return revived")

// ReviveSoon is Revive for a sign of life that does not prove host's inbox works (a request
// from host rather than a delivery to it): it revives at most once per cooldown.
func (q *Queue) ReviveSoon(ctx context.Context, host string, now time.Time, cooldown time.Duration) (int, error) {
	lo, hi := hostRange(host)
	keys := []string{q.retry, q.byHost, q.k.queueRevived(q.name, host)}
	n, err := reviveSoonScript.Run(ctx, q.rdb, keys, now.UnixMilli(), lo, hi, max(cooldown.Milliseconds(), 1)).Int()
	if err != nil {
		return 0, fmt.Errorf("revive retries to %s: %w", host, err)
	}
	return n, nil
}

// retryHostsScript lists up to ARGV[1] distinct hosts that have indexed retries, skipping from
// one host to the next through the lex index.
var retryHostsScript = redis.NewScript(`
local hosts, from = {}, '-'
while #hosts < tonumber(ARGV[1]) do
  local m = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, 1)[1]
  if not m then break end
  local host = string.sub(m, 1, string.find(m, '\0', 1, true) - 1)
  table.insert(hosts, host)
  from = '[' .. host .. '\1'
end
return hosts
`)

// RetryHosts lists up to limit hosts that have retries waiting for a sign of life.
func (q *Queue) RetryHosts(ctx context.Context, limit int) ([]string, error) {
	hosts, err := retryHostsScript.Run(ctx, q.rdb, []string{q.byHost}, limit).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("hosts with retries on %s: %w", q.stream, err)
	}
	return hosts, nil
}

// probeScript brings one indexed retry of a host forward to now, unless one was brought
// forward within the last ARGV[4] ms. KEYS: retry, by-host index, probe key; ARGV: now, index
// range min, max, interval (ms). Index members whose retry was promoted meanwhile are dropped.
var probeScript = redis.NewScript(`
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[4]) then return 0 end
while true do
  local m = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[2], ARGV[3], 'LIMIT', 0, 1)[1]
  if not m then return 0 end
  redis.call('ZREM', KEYS[2], m)
  local member = string.sub(m, string.find(m, '\0', 1, true) + 1)
  if redis.call('ZSCORE', KEYS[1], member) then
    redis.call('ZADD', KEYS[1], ARGV[1], member)
    return 1
  end
end
`)

// Probe brings one retry scheduled for host forward to now, at most once per interval: a host
// that came back says nothing to a sender it has no business with, so the first early attempt
// that succeeds is the sign of life that revives the rest. It reports whether it moved one.
func (q *Queue) Probe(ctx context.Context, host string, now time.Time, interval time.Duration) (bool, error) {
	lo, hi := hostRange(host)
	keys := []string{q.retry, q.byHost, q.k.queueProbe(q.name, host)}
	n, err := probeScript.Run(ctx, q.rdb, keys, now.UnixMilli(), lo, hi, max(interval.Milliseconds(), 1)).Int()
	if err != nil {
		return false, fmt.Errorf("probe %s: %w", host, err)
	}
	return n == 1, nil
}

// DeadLetter moves a job that will never succeed to the dead-letter stream, with the reason.
func (q *Queue) DeadLetter(ctx context.Context, j Job, reason string) error {
	values := []string{"reason", reason, "failed_at", time.Now().UTC().Format(time.RFC3339)}
	for k, v := range j.Fields {
		values = append(values, k, v)
	}
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: q.dead, MaxLen: 100000, Approx: true, Values: values})
		p.XAck(ctx, q.stream, queueGroup, j.ID)
		p.XDel(ctx, q.stream, j.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", j.ID, err)
	}
	return nil
}

// DeadLetters lists up to count dead-lettered jobs, oldest first.
func (q *Queue) DeadLetters(ctx context.Context, count int64) ([]Job, error) {
	msgs, err := q.rdb.XRangeN(ctx, q.dead, "-", "+", count).Result()
	if err != nil {
		return nil, fmt.Errorf("dead letters of %s: %w", q.stream, err)
	}
	out := make([]Job, len(msgs))
	for i, m := range msgs {
		out[i] = jobOf(m, 0)
	}
	return out, nil
}

// QueueStats counts a queue's jobs by state.
type QueueStats struct {
	Queued, Pending, Retrying, Dead int64
}

// Stats reads the queue's counters.
func (q *Queue) Stats(ctx context.Context) (QueueStats, error) {
	p := q.rdb.Pipeline()
	length := p.XLen(ctx, q.stream)
	pending := p.XPending(ctx, q.stream, queueGroup)
	retrying := p.ZCard(ctx, q.retry)
	dead := p.XLen(ctx, q.dead)
	_, err := p.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) && !strings.Contains(err.Error(), "NOGROUP") {
		return QueueStats{}, fmt.Errorf("queue stats: %w", err)
	}
	st := QueueStats{Queued: length.Val(), Retrying: retrying.Val(), Dead: dead.Val()}
	if pending.Err() == nil {
		st.Pending = pending.Val().Count
	}
	return st, nil
}

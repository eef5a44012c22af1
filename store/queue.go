package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	stream, retry, dead string
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
	return &Queue{rdb: s.rdb, stream: s.k.queue(name), retry: s.k.queueRetry(name), dead: s.k.queueDead(name)}
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

// Claim takes over jobs another consumer has held for longer than minIdle without settling
// them: the worker crashed or was killed mid-job.
func (q *Queue) Claim(ctx context.Context, consumer string, minIdle time.Duration, count int) ([]Job, error) {
	msgs, _, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: q.stream, Group: queueGroup, Consumer: consumer, MinIdle: minIdle, Start: "0-0", Count: int64(count),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", q.stream, err)
	}
	out := make([]Job, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, jobOf(m, 2))
	}
	return out, nil
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
	// The stream id keeps members unique even when two jobs carry equal fields.
	member, err := json.Marshal(struct {
		From   string            `json:"from"`
		Fields map[string]string `json:"fields"`
	}{j.ID, fields})
	if err != nil {
		return err
	}
	_, err = q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, q.retry, redis.Z{Score: float64(at.UnixMilli()), Member: string(member)})
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
// steps can neither lose nor duplicate a job.
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
end
return #due
`)

// PromoteDue returns up to limit retries whose time has come to the stream.
func (q *Queue) PromoteDue(ctx context.Context, now time.Time, limit int) (int, error) {
	n, err := promoteScript.Run(ctx, q.rdb, []string{q.retry, q.stream}, now.UnixMilli(), limit).Int()
	if err != nil {
		return 0, fmt.Errorf("promote retries of %s: %w", q.stream, err)
	}
	return n, nil
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

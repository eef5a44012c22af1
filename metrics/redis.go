package metrics

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisHook times every Redis command and pipeline and counts their errors; the composition
// root adds it to the client (AddHook) so every part of the instance is measured.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil && ctx.Err() == nil {
			h.m.redisErrors.WithLabelValues("dial").Inc()
		}
		return conn, err
	}
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.m.redisDone(cmd.Name(), blocking(cmd), time.Since(start), err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.m.redisDone("pipeline", false, time.Since(start), err)
		return err
	}
}

func (m *Metrics) redisDone(command string, blocked bool, took time.Duration, err error) {
	command = strings.ToLower(command)
	if failed(err) {
		m.redisErrors.WithLabelValues(command).Inc()
	}
	if !blocked {
		m.redisDuration.WithLabelValues(command).Observe(took.Seconds())
	}
}

// failed tells a Redis failure from the answers that are not one: a missing key (redis.Nil)
// and a caller that gave up (a request that ended, a shutdown).
func failed(err error) bool {
	return err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, context.Canceled)
}

// blocking reports whether cmd may wait on the server for data (a worker's XREADGROUP BLOCK):
// its time says how long the queue was idle, not how fast Redis is.
func blocking(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "xread", "xreadgroup":
		for _, a := range cmd.Args() {
			if s, ok := a.(string); ok && strings.EqualFold(s, "block") {
				return true
			}
		}
	case "blpop", "brpop", "blmove", "brpoplpush", "blmpop", "bzpopmin", "bzpopmax", "bzmpop", "wait", "waitaof":
		return true
	}
	return false
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"watercooler/config"
)

// clusterStateReload is how stale the cluster client's map of slots to masters may get: a
// failover is seen this long after the replica is promoted at most.
const clusterStateReload = 2 * time.Second

// redisLogger hands go-redis's own messages (a pool that cannot dial) to slog's default
// logger, so that they come out in the configured log format; main installs it.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().WarnContext(ctx, fmt.Sprintf(format, v...), "part", "redis")
}

// openRedis connects to url, or starts an embedded in-process Redis when url is empty. The
// returned function releases both. A nil log keeps the embedded Redis quiet: the demo says so
// once in its banner instead of once per department.
func openRedis(ctx context.Context, url string, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if url == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return nil, nil, fmt.Errorf("start embedded Redis: %w", err)
		}
		if log != nil {
			log.Warn("REDIS_URL is not set: running on an embedded in-memory Redis; ALL DATA IS LOST WHEN THE PROCESS EXITS", "addr", mr.Addr())
		}
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		return rdb, func() { rdb.Close(); mr.Close() }, nil
	}
	if clusterURL, ok, err := config.ClusterURL(url); ok {
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		opts, err := redis.ParseClusterURL(clusterURL)
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		if opts.ClusterStateReloadInterval == 0 {
			// go-redis learns of a failover from a MOVED reply or from this periodic reload of
			// the slot map (60 s by default); commands to a dead master fail with a connection
			// error instead, and pipelines, most of our reads and writes, do not trigger a
			// reload: without this a department was down for a minute after each failover.
			// The reload is one CLUSTER SLOTS at most this often, and only while commands run.
			opts.ClusterStateReloadInterval = clusterStateReload
		}
		rdb := redis.NewClusterClient(opts)
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return nil, nil, fmt.Errorf("connect to Redis Cluster at %s: %w", strings.Join(opts.Addrs, ","), err)
		}
		return rdb, func() { rdb.Close() }, nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("connect to Redis at %s: %w", opts.Addr, err)
	}
	return rdb, func() { rdb.Close() }, nil
}

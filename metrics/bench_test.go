package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkRequestServed is what every HTTP request pays for its metrics.
func BenchmarkRequestServed(b *testing.B) {
	m := New(nil)
	b.ReportAllocs()
	for b.Loop() {
		m.RequestServed("GET", "/api/v1/timelines/home", 200, 3*time.Millisecond)
	}
}

// BenchmarkRedisHook is what the hook adds to each Redis command, without the round trip.
func BenchmarkRedisHook(b *testing.B) {
	process := New(nil).RedisHook().ProcessHook(func(context.Context, redis.Cmder) error { return nil })
	ctx := context.Background()
	cmd := redis.NewStringCmd(ctx, "get", "k")
	b.ReportAllocs()
	for b.Loop() {
		_ = process(ctx, cmd)
	}
}

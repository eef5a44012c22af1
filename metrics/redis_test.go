package metrics

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestBlockingAndFailed(t *testing.T) {
	ctx := context.Background()
	blockingCases := []struct {
		cmd  redis.Cmder
		want bool
	}{
		{redis.NewXStreamSliceCmd(ctx, "xreadgroup", "group", "g", "c", "count", 1, "block", 1000, "streams", "s", ">"), true},
		{redis.NewXStreamSliceCmd(ctx, "xreadgroup", "group", "g", "c", "count", 1, "streams", "s", "0"), false},
		{redis.NewKeyValuesCmd(ctx, "blpop", "k", 1), true},
		{redis.NewStringCmd(ctx, "get", "k"), false},
	}
	for _, c := range blockingCases {
		if got := blocking(c.cmd); got != c.want {
			t.Errorf("blocking(%v) = %v, want %v", c.cmd.Args(), got, c.want)
		}
	}
	failedCases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{redis.Nil, false},
		{fmt.Errorf("get x: %w", context.Canceled), false},
		{errors.New("dial tcp 127.0.0.1:6379: connect: connection refused"), true},
		{context.DeadlineExceeded, true},
	}
	for _, c := range failedCases {
		if got := failed(c.err); got != c.want {
			t.Errorf("failed(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestRedisHookCounts sends a command to a closed port through the hook: the failure is
// counted under the command's name.
func TestRedisHookCounts(t *testing.T) {
	m := New(nil)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	rdb.AddHook(m.RedisHook())
	if err := rdb.Get(context.Background(), "k").Err(); err == nil {
		t.Fatal("GET on a closed port succeeded")
	}
	if got := counterValue(t, m, "watercooler_redis_errors_total", "get"); got != 1 {
		t.Fatalf("errors_total{command=get} = %v, want 1", got)
	}
}

// counterValue is the value of the counter name whose only label is value, or 0.
func counterValue(t *testing.T, m *Metrics, name, value string) float64 {
	t.Helper()
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if len(s.GetLabel()) == 1 && s.GetLabel()[0].GetValue() == value {
				return s.GetCounter().GetValue()
			}
		}
	}
	return 0
}

package federation

import (
	"context"
	"time"
)

// fanOutJobBatch is how many orphaned fan-out jobs one pass takes up.
const fanOutJobBatch = 100

// resumeFanOutJobs takes up the fan-out jobs of writers that died between a write and its
// fan-out (store.ResumeFanOutJobs), as often as it looks for ended polls.
func (f *Federator) resumeFanOutJobs(ctx context.Context) {
	every(ctx, f.opts.Poll, func(ctx context.Context) {
		for {
			n, err := f.store.ResumeFanOutJobs(ctx, time.Now(), f.opts.Lease, fanOutJobBatch)
			if n > 0 {
				f.log.Info("applied fan-out jobs their writers left", "jobs", n)
			}
			if err != nil && ctx.Err() == nil {
				f.log.Warn("resuming fan-out jobs failed; they are tried again when their lease lapses", "err", err)
			}
			if err != nil || n < fanOutJobBatch {
				return
			}
		}
	})
}

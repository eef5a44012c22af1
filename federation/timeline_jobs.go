package federation

import (
	"context"
	"time"
)

// timelineJobBatch is how many orphaned timeline jobs one pass takes up.
const timelineJobBatch = 100

// resumeTimelineJobs takes up the timeline jobs of writers that died between a write and its
// fan-out (store.ResumeTimelineJobs), as often as it looks for ended polls.
func (f *Federator) resumeTimelineJobs(ctx context.Context) {
	tick := time.NewTicker(f.opts.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for {
			n, err := f.store.ResumeTimelineJobs(ctx, time.Now(), f.opts.Lease, timelineJobBatch)
			if n > 0 {
				f.log.Info("applied timeline jobs their writers left", "jobs", n)
			}
			if err != nil && ctx.Err() == nil {
				f.log.Warn("resuming timeline jobs failed; they are tried again when their lease lapses", "err", err)
			}
			if err != nil || n < timelineJobBatch {
				break
			}
		}
	}
}

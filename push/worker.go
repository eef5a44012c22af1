package push

import (
	"context"
	"errors"
	"sync"
	"time"

	"watercooler/store"
)

// batch bounds the jobs taken per read, resume or takeover.
const batch = 100

// Run works the push queue until ctx ends. Like the federation workers, the process holds a
// lease on its consumer name: on start it resumes the jobs its predecessor under that name
// held, and the jobs of a process whose lease lapsed are taken over by the others. A job leaves
// the queue only when it is sent, dropped, retried or dead-lettered, so a kill -9 loses none.
func (s *Service) Run(ctx context.Context) {
	consumer := s.opts.Consumer
	if err := s.store.TakeLease(ctx, consumer, s.leaseToken, s.opts.Lease); err != nil && ctx.Err() == nil {
		s.log.Error("taking the push consumer lease failed; renewing it will retry", "err", err)
	}
	jobs := make(chan store.Job)
	var wg sync.WaitGroup
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-jobs:
					s.handle(ctx, j)
				}
			}
		}()
	}
	wg.Add(2)
	go func() { defer wg.Done(); s.keepLease(ctx) }()
	go func() { defer wg.Done(); s.maintain(ctx, jobs) }()
	s.resume(ctx, jobs)
	for ctx.Err() == nil {
		got, err := s.queue.Read(ctx, consumer, s.opts.Workers, s.opts.Poll)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("push queue read failed", "err", err)
			wait(ctx, s.opts.Poll)
		}
		if !dispatch(ctx, jobs, got) {
			break
		}
	}
	wg.Wait()
	// Jobs read but not started stay pending: hand them to the other processes at once.
	release, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.store.ReleaseLease(release, consumer, s.leaseToken); err != nil {
		s.log.Warn("releasing the push consumer lease failed; it lapses by itself", "err", err)
	}
}

// dispatch hands jobs to the workers; it reports false once ctx ended.
func dispatch(ctx context.Context, jobs chan<- store.Job, got []store.Job) bool {
	for _, j := range got {
		select {
		case jobs <- j:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// resume hands the workers the jobs pending under this consumer's name: those a killed
// predecessor held.
func (s *Service) resume(ctx context.Context, jobs chan<- store.Job) {
	for after := "0"; ctx.Err() == nil; {
		got, next, err := s.queue.Resume(ctx, s.opts.Consumer, after, batch)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("resuming pending push jobs failed; they wait for the next start", "err", err)
			}
			return
		}
		if !dispatch(ctx, jobs, got) || len(got) < batch {
			return
		}
		after = next
	}
}

// maintain promotes due retries and takes over the jobs of processes whose lease lapsed.
func (s *Service) maintain(ctx context.Context, jobs chan<- store.Job) {
	tick := time.NewTicker(s.opts.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.queue.PromoteDue(ctx, time.Now(), batch); err != nil && ctx.Err() == nil {
			s.log.Warn("promoting push retries failed", "err", err)
		}
		got, err := s.queue.ClaimLapsed(ctx, s.opts.Consumer, batch)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("taking over push jobs failed", "err", err)
		}
		if !dispatch(ctx, jobs, got) {
			return
		}
	}
}

// keepLease renews the consumer lease well before it lapses.
func (s *Service) keepLease(ctx context.Context) {
	tick := time.NewTicker(s.opts.Lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := s.store.RenewLease(ctx, s.opts.Consumer, s.leaseToken, s.opts.Lease)
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, store.ErrLeaseLost):
			// Another process may send some of this one's jobs too: a push twice, never none.
			s.log.Error("push consumer lease lost", "err", err)
		default:
			s.log.Warn("renewing the push consumer lease failed", "err", err)
		}
	}
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

package federation

import (
	"context"
	"errors"
	"sync"
	"time"

	"watercooler/store"
)

// maxProbeInterval bounds how rarely a host that deliveries wait for is probed, however long
// it has been down: a department back after a long outage gets its backlog within minutes.
const maxProbeInterval = 10 * time.Minute

// maxProbedHosts bounds the hosts probed per tick.
const maxProbedHosts = 1000

// claimBatch bounds the jobs taken over from a lapsed consumer per queue and tick.
const claimBatch = 100

// Run starts the inbox and delivery workers and blocks until ctx ends.
//
// Each process is one consumer of the queues under a stable name (Options.Consumer) and holds
// a lease on that name in Redis while it runs. On start it takes the lease over and resumes the
// jobs its predecessor under that name held, at once; jobs of a consumer whose lease lapsed
// (its process died and did not come back) are taken over by the others at once. A live
// process keeps its jobs however slow they are, since its lease does not depend on them.
func (f *Federator) Run(ctx context.Context) {
	if err := f.store.TakeLease(ctx, f.consumer, f.leaseToken, f.opts.Lease); err != nil && ctx.Err() == nil {
		f.log.Error("taking the consumer lease failed; renewing it will retry", "consumer", f.consumer, "err", err)
	}
	inbox := f.newWorkers(f.inbox, f.opts.InboxWorkers, f.processJob)
	delivery := f.newWorkers(f.delivery, f.opts.DeliveryWorkers, f.deliverJob)
	var wg sync.WaitGroup
	start := func(fn func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); fn(ctx) }()
	}
	start(inbox.run)
	start(delivery.run)
	start(func(ctx context.Context) { f.maintain(ctx, inbox, delivery) })
	start(f.keepLease)
	start(f.expirePolls)
	start(f.resumeFanOutJobs)
	wg.Wait()
	// Every worker has stopped: hand what is left pending to the other processes at once.
	release, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := f.store.ReleaseLease(release, f.consumer, f.leaseToken); err != nil {
		f.log.Warn("releasing the consumer lease failed; it lapses by itself", "err", err)
	}
}

// Consumer is the name this process works the queues under (Options.Consumer).
func (f *Federator) Consumer() string { return f.consumer }

// Fetcher is the guarded client of remote requests, for other parts of the instance that
// reach other servers (Web Push) under the same address rules.
func (f *Federator) Fetcher() *Fetcher { return f.fetcher }

// every runs fn each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		fn(ctx)
	}
}

// keepLease renews the consumer lease well before it lapses.
func (f *Federator) keepLease(ctx context.Context) {
	every(ctx, f.opts.Lease/3, func(ctx context.Context) {
		err := f.store.RenewLease(ctx, f.consumer, f.leaseToken, f.opts.Lease)
		switch {
		case err == nil || ctx.Err() != nil:
		case errors.Is(err, store.ErrLeaseLost):
			// Another process may have taken jobs this one is working on: they may be done
			// twice (receivers drop repeated activity ids), never lost.
			f.log.Error("consumer lease lost", "consumer", f.consumer, "err", err)
		default:
			f.log.Warn("renewing the consumer lease failed", "consumer", f.consumer, "err", err)
		}
	})
}

// workers runs one queue's jobs, at most n at a time.
type workers struct {
	f       *Federator
	q       *store.Queue
	n       int
	handle  func(context.Context, *store.Queue, store.Job)
	slots   chan struct{}
	claimed chan []store.Job // jobs maintain took over from lapsed consumers
	running sync.WaitGroup
}

func (f *Federator) newWorkers(q *store.Queue, n int, handle func(context.Context, *store.Queue, store.Job)) *workers {
	return &workers{f: f, q: q, n: n, handle: handle, slots: make(chan struct{}, n), claimed: make(chan []store.Job, 4)}
}

// start runs j in its own goroutine once a slot is free; it reports false if ctx ended first.
func (w *workers) start(ctx context.Context, j store.Job) bool {
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	w.running.Add(1)
	go func() {
		defer func() { <-w.slots; w.running.Done() }()
		w.handle(ctx, w.q, j)
	}()
	return true
}

// run works the queue: first the jobs this consumer's predecessor left pending, then a single
// reader blocks on Redis for new jobs and runs each in its own goroutine, so idle workers hold
// one Redis connection per queue instead of one each (and never starve the client API of
// connections). Handlers settle their job (ack, retry or dead-letter); a job left unsettled by a
// crash is resumed by this consumer's successor or taken over by another process.
func (w *workers) run(ctx context.Context) {
	defer w.running.Wait()
	w.resume(ctx)
	w.running.Add(1)
	go func() {
		defer w.running.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case jobs := <-w.claimed:
				for _, j := range jobs {
					if !w.start(ctx, j) {
						return
					}
				}
			}
		}
	}()
	f := w.f
	for ctx.Err() == nil {
		// Wait for one free slot, then take every other free one: read only as many jobs as
		// can start at once, so none waits unclaimed in this process.
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
		for taking := true; taking && free < w.n; {
			select {
			case w.slots <- struct{}{}:
				free++
			default:
				taking = false
			}
		}
		batch, err := w.q.Read(ctx, f.consumer, free, f.opts.Poll)
		if err != nil && ctx.Err() == nil {
			f.log.Warn("queue read failed", "err", err)
			waitOrDone(ctx, f.opts.Poll)
		}
		for range free - len(batch) {
			<-w.slots
		}
		for _, j := range batch {
			w.running.Add(1)
			go func() {
				defer func() { <-w.slots; w.running.Done() }()
				w.handle(ctx, w.q, j)
			}()
		}
	}
}

// resume runs the jobs pending under this consumer's name: those a killed predecessor held.
func (w *workers) resume(ctx context.Context) {
	f := w.f
	for after := "0"; ctx.Err() == nil; {
		jobs, next, err := w.q.Resume(ctx, f.consumer, after, claimBatch)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Warn("resuming pending jobs failed; they wait for the next start", "err", err)
			}
			return
		}
		for _, j := range jobs {
			if len(j.Fields) == 0 {
				// Deleted while pending: nothing left to do but forget it.
				_ = w.q.Ack(ctx, j)
				continue
			}
			f.log.Info("resuming a job this consumer held before a restart", "id", j.ID)
			if !w.start(ctx, j) {
				return
			}
		}
		if len(jobs) < claimBatch {
			return
		}
		after = next
	}
}

// maintain promotes due retries, probes hosts that deliveries wait for, and takes over the jobs
// of consumers whose lease lapsed. A sign of life that brought retries forward wakes it early.
func (f *Federator) maintain(ctx context.Context, pools ...*workers) {
	tick := time.NewTicker(f.opts.Poll)
	defer tick.Stop()
	for {
		ticked := false
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			ticked = true
			f.probe(ctx)
		case <-f.promoteNow:
		}
		for _, w := range pools {
			if _, err := w.q.PromoteDue(ctx, time.Now(), 500); err != nil && ctx.Err() == nil {
				f.log.Warn("promote retries failed", "err", err)
			}
		}
		if !ticked {
			continue
		}
		for _, w := range pools {
			jobs, err := w.q.ClaimLapsed(ctx, f.consumer, claimBatch)
			if err != nil && ctx.Err() == nil {
				f.log.Warn("claiming jobs of lapsed consumers failed", "err", err)
			}
			if len(jobs) == 0 {
				continue
			}
			f.log.Info("took over jobs of a process that is gone", "jobs", len(jobs))
			select {
			case w.claimed <- jobs:
			case <-ctx.Done():
				return
			}
		}
	}
}

// wakeMaintain asks maintain to promote retries now rather than at its next tick.
func (f *Federator) wakeMaintain() {
	select {
	case f.promoteNow <- struct{}{}:
	default:
	}
}

// probe brings one waiting delivery forward for each host that deliveries wait for, at most once
// per probe interval: a department that comes back sends us nothing by itself, so an early
// attempt is how we notice. When it succeeds, the rest follow (deliverJob); when it fails, it
// keeps its place in the schedule.
func (f *Federator) probe(ctx context.Context) {
	hosts, err := f.delivery.RetryHosts(ctx, maxProbedHosts)
	if err != nil || len(hosts) == 0 {
		if err != nil && ctx.Err() == nil {
			f.log.Warn("listing hosts to probe failed", "err", err)
		}
		return
	}
	since, err := f.store.HostsFailingSince(ctx, hosts)
	if err != nil {
		return
	}
	now := time.Now()
	for i, host := range hosts {
		interval := f.opts.ProbeEvery
		if !since[i].IsZero() {
			interval = min(max(now.Sub(since[i])/8, f.opts.ProbeEvery), maxProbeInterval)
		}
		if _, err := f.delivery.Probe(ctx, host, now, interval); err != nil && ctx.Err() == nil {
			f.log.Warn("probe failed", "host", host, "err", err)
		}
	}
}

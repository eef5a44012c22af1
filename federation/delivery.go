package federation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"watercooler/requestid"
	"watercooler/store"
)

// payloadTTL keeps an outgoing activity as long as its deliveries may be retried.
const payloadTTL = 8 * 24 * time.Hour

// requestIDField carries, in a job, the id of the request that queued it (or of the request
// whose inbound activity did), so that the job's log lines can be found with the request's.
const requestIDField = "request_id"

// maxHostWait bounds how long a job waits in a worker for one of its host's delivery slots;
// then it waits in Redis instead, leaving the worker to jobs for other hosts.
const maxHostWait = 10 * time.Second

// Deliver queues one serialized activity for each inbox, signed by signerID's key ("" for the
// instance actor). The activity is stored once; each job refers to it, so a post to 500
// followers on one server is one stored payload and one POST.
func (f *Federator) Deliver(ctx context.Context, activityID string, body []byte, signerID string, inboxes []string) error {
	if len(inboxes) == 0 {
		return nil
	}
	if err := f.store.SavePayload(ctx, activityID, body, payloadTTL); err != nil {
		return fmt.Errorf("save activity %s: %w", activityID, err)
	}
	policy, err := f.policy.get(ctx)
	if err != nil {
		return err
	}
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	requestID := requestid.From(ctx)
	seen := map[string]bool{}
	for _, inbox := range inboxes {
		if seen[inbox] || !policy.Permits(HostOf(inbox)) {
			continue
		}
		seen[inbox] = true
		job := map[string]string{"payload": activityID, "inbox": inbox, "signer": signerID, "attempt": "0", "queued_at": now}
		if requestID != "" {
			job[requestIDField] = requestID
		}
		if err := f.delivery.Add(ctx, job); err != nil {
			return err
		}
	}
	return nil
}

// deliverJob makes one delivery attempt and settles the job: ack on success, a scheduled retry
// on a temporary failure, dead letter when it can never succeed or retries ran out.
func (f *Federator) deliverJob(ctx context.Context, q *store.Queue, j store.Job) {
	inbox, host := j.Fields["inbox"], HostOf(j.Fields["inbox"])
	attempt, _ := strconv.Atoi(j.Fields["attempt"])
	log := f.log.With("inbox", inbox, "activity", j.Fields["payload"], "attempt", attempt)
	if id := j.Fields[requestIDField]; id != "" {
		log = log.With("request_id", id)
	}
	settle := func(err error) {
		if err != nil && ctx.Err() == nil {
			log.Error("settling delivery failed", "err", err)
		}
	}
	// deadLetter gives the job up; attemptFailed also counts the attempt that led to it.
	deadLetter := func(reason string, attemptFailed bool) {
		outcomes := []string{store.DeliveryDead}
		if attemptFailed {
			outcomes = append(outcomes, store.DeliveryFailed)
		}
		f.countDelivery(ctx, host, outcomes...)
		settle(q.DeadLetter(ctx, j, reason))
		f.opts.Observer.DeliveryDeadLettered(host)
	}
	since, err := f.store.HostFailingSince(ctx, host)
	if err != nil {
		log.Warn("host state unknown", "err", err)
	}
	if !since.IsZero() && time.Since(since) > f.opts.UnavailableAfter {
		deadLetter("host unavailable since "+since.UTC().Format(time.RFC3339), false)
		return
	}
	body, err := f.store.Payload(ctx, j.Fields["payload"])
	if errors.Is(err, store.ErrNotFound) {
		deadLetter("activity payload expired", false)
		return
	}
	if err != nil {
		return // Redis trouble: leave the job pending; it is claimed again later
	}
	key, keyID, err := f.signerKey(ctx, j.Fields["signer"])
	if err != nil {
		deadLetter("no signing key: "+err.Error(), false)
		return
	}
	slotCtx, cancel := context.WithTimeout(ctx, maxHostWait)
	release, err := f.acquireHost(slotCtx, host)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			settle(q.RetryAt(ctx, j, j.Fields, time.Now().Add(f.opts.Poll)))
		}
		return
	}
	start := time.Now()
	status, retryAfter, err := f.fetcher.Post(ctx, inbox, body, func(r *http.Request, body []byte) error {
		if id := j.Fields[requestIDField]; id != "" {
			// A receiving Watercooler takes the id for its inbox request and the job it
			// queues, so one id follows a post into every department it reaches.
			r.Header.Set(requestid.Header, id)
		}
		return SignRequest(r, body, keyID, key)
	})
	took := time.Since(start)
	release()
	if ctx.Err() != nil {
		return // shutting down mid-request: the job stays pending and is claimed again
	}
	switch {
	case err == nil && status >= 200 && status < 300:
		f.opts.Observer.DeliveryAttempted(host, took, OutcomeDelivered)
		f.hostAlive(ctx, host)
		f.countDelivery(ctx, host, store.DeliveryDone)
		settle(q.Ack(ctx, j))
		return
	case err == nil && !retryable(status):
		f.opts.Observer.DeliveryAttempted(host, took, OutcomeRefused)
		f.hostAlive(ctx, host) // the host answered; it is up
		log.Warn("delivery refused", "status", status)
		deadLetter("refused with HTTP "+strconv.Itoa(status), true)
		return
	}
	f.opts.Observer.DeliveryAttempted(host, took, OutcomeFailed)
	reason := fmt.Sprintf("HTTP %d", status)
	if err != nil {
		reason = err.Error()
		if errors.Is(err, ErrForbiddenAddress) {
			deadLetter(reason, true)
			return
		}
	}
	if _, ferr := f.store.HostFailed(ctx, host, time.Now()); ferr != nil {
		log.Warn("recording host failure failed", "err", ferr)
	}
	now := time.Now()
	next := map[string]string{}
	for k, v := range j.Fields {
		next[k] = v
	}
	next["last_error"] = reason
	var at time.Time
	if due, ok := retryDue(j); ok && due.After(now) {
		// A probe or a revival tried this job before its time and it failed: the early attempt
		// costs it nothing, it keeps its place in the schedule.
		at = due
		log.Debug("early delivery attempt failed; back to its schedule", "reason", reason, "due", due)
	} else {
		if attempt >= len(f.opts.RetrySchedule) {
			log.Warn("delivery failed for good", "reason", reason)
			deadLetter("retries exhausted: "+reason, true)
			return
		}
		at = now.Add(jitter(f.opts.RetrySchedule[attempt]))
		next["attempt"] = strconv.Itoa(attempt + 1)
		log.Info("delivery failed; will retry", "reason", reason, "in", at.Sub(now))
	}
	f.opts.Observer.DeliveryRetried(host)
	f.countDelivery(ctx, host, store.DeliveryFailed, store.DeliveryRetried)
	if retryAfter > 0 && now.Add(retryAfter).After(at) {
		// The host asked for a pause: no sign of life from it cuts that short.
		settle(q.RetryAt(ctx, j, next, now.Add(retryAfter)))
		return
	}
	settle(q.RetryForHost(ctx, j, next, at, host))
}

// retryDue is when a job scheduled by RetryForHost was due, had it not been brought forward.
func retryDue(j store.Job) (time.Time, bool) {
	ms, err := strconv.ParseInt(j.Fields[store.RetryDueField], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// hostAlive records that a delivery to host got an answer: the host is up, so every delivery
// waiting for it is brought forward now (per-host limits still apply when they run).
func (f *Federator) hostAlive(ctx context.Context, host string) {
	n, err := f.store.HostAlive(ctx, f.delivery, host, time.Now())
	f.broughtForward(ctx, host, "a delivery got an answer", n, err)
}

// signOfLife records a verified request from host (a signed fetch, say): deliveries waiting for
// it are brought forward, at most once per Options.ReviveCooldown since a host that sends may
// still fail to receive. The inbox does the same inside AcceptInbound.
func (f *Federator) signOfLife(ctx context.Context, host string) {
	n, err := f.delivery.ReviveSoon(ctx, host, time.Now(), f.opts.ReviveCooldown)
	f.broughtForward(ctx, host, "a request came from it", n, err)
}

// broughtForward logs what a sign of life from host did and wakes the retry scheduler when it
// moved deliveries.
func (f *Federator) broughtForward(ctx context.Context, host, sign string, n int, err error) {
	switch {
	case err != nil && ctx.Err() == nil:
		f.log.Warn("recording a sign of life failed", "host", host, "sign", sign, "err", err)
	case err == nil && n > 0:
		f.log.Info("host is alive; deliveries waiting for it brought forward", "host", host, "sign", sign, "deliveries", n)
		f.wakeMaintain()
	}
}

// retryable reports whether a status may succeed later: server errors, and the client errors
// that mean "not now" (401 can be a key the peer has yet to refetch).
func retryable(status int) bool {
	return status >= 500 || status == http.StatusUnauthorized || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}

// jitter spreads retries ±20% so a host coming back is not hit by every queue at once.
func jitter(d time.Duration) time.Duration {
	spread := int64(d) / 5
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread) + time.Duration(rand.Int64N(2*spread+1))
}

// DeadDeliveries lists dead-lettered deliveries, for the admin command.
func (f *Federator) DeadDeliveries(ctx context.Context, count int64) ([]store.Job, error) {
	return f.delivery.DeadLetters(ctx, count)
}

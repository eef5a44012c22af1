package federation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"watercooler/requestid"
	"watercooler/store"
)

// maxActivityBytes caps inbox bodies and fetched documents, as Mastodon does.
const maxActivityBytes = 1 << 20

// maxInboxAttempts bounds how often a failing inbound activity is retried.
const maxInboxAttempts = 6

// ServeInbox accepts an activity POSTed to the shared inbox or a user's inbox: it caps the body,
// verifies the HTTP signature and Digest, checks the activity's actor is the signer, and queues
// it in Redis before answering 202. Processing happens in the inbox workers. With the policy and
// the signer's key in memory, a request costs one Redis round trip: AcceptInbound.
func (f *Federator) ServeInbox(w http.ResponseWriter, r *http.Request, recipient string) {
	ctx := r.Context()
	refuse := func(status int, reason string, args ...any) {
		f.log.Info("inbox refused", append([]any{"status", status, "reason", reason, "remote", r.RemoteAddr}, args...)...)
		http.Error(w, reason, status)
	}
	if ct := r.Header.Get("Content-Type"); !IsActivityPubType(ct) && !strings.HasPrefix(ct, "application/json") {
		refuse(http.StatusUnsupportedMediaType, "Content-Type must be application/activity+json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxActivityBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			refuse(http.StatusRequestEntityTooLarge, "activity larger than 1 MiB")
			return
		}
		refuse(http.StatusBadRequest, "could not read body")
		return
	}
	env, err := ParseEnvelope(body)
	if err != nil {
		refuse(http.StatusBadRequest, "malformed activity: "+err.Error())
		return
	}
	policy, err := f.policy.get(ctx)
	if err != nil {
		refuse(http.StatusServiceUnavailable, "try again later")
		return
	}
	if !policy.Permits(HostOf(env.Actor)) {
		refuse(http.StatusForbidden, "federation with this host is not allowed", "actor", env.Actor)
		return
	}
	signer, err := VerifyRequest(ctx, r, body, f.keys, time.Now())
	if err != nil {
		if env.Type == "Delete" && env.ObjectID == env.Actor {
			// A deleted actor's key is gone with it; Mastodon sends these by the thousand.
			w.WriteHeader(http.StatusAccepted)
			return
		}
		status, reason := signatureRefusal(err)
		refuse(status, "signature verification failed: "+reason, "actor", env.Actor, "err", err)
		return
	}
	if signer != env.Actor {
		refuse(http.StatusUnauthorized, "activity actor does not match the signing key's owner", "actor", env.Actor, "signer", signer)
		return
	}
	// Accepting is also a sign of life from the signer's host: deliveries waiting for it are
	// brought forward (as signOfLife does), in the same round trip.
	job := map[string]string{"body": string(body), "signer": signer, "recipient": recipient, "attempt": "0"}
	if id := requestid.From(ctx); id != "" {
		job[requestIDField] = id
	}
	_, revived, err := f.store.AcceptInbound(ctx, f.inbox, f.delivery, f.opts.ReviveCooldown, env.ID, HostOf(signer), job)
	if err != nil {
		refuse(http.StatusServiceUnavailable, "could not queue the activity")
		return
	}
	if revived > 0 {
		f.log.Info("request from a host that deliveries wait for; brought them forward", "host", HostOf(signer), "deliveries", revived)
		f.wakeMaintain()
	}
	w.WriteHeader(http.StatusAccepted)
}

// rejection marks a processing error that retrying cannot fix: bad data, a forbidden origin.
type rejection struct{ reason string }

func (r *rejection) Error() string { return r.reason }

func reject(format string, args ...any) error { return &rejection{fmt.Sprintf(format, args...)} }

// processJob applies one queued inbound activity and settles its job.
func (f *Federator) processJob(ctx context.Context, q *store.Queue, j store.Job) {
	attempt, _ := strconv.Atoi(j.Fields["attempt"])
	// Deliveries the activity causes (an Accept of a Follow) carry the id of the request that
	// brought it in.
	ctx = requestid.With(ctx, j.Fields[requestIDField])
	err := f.process(ctx, []byte(j.Fields["body"]), j.Fields["signer"])
	if ctx.Err() != nil {
		return // shutting down: leave the job pending for the next worker
	}
	var rej *rejection
	var skip *ignored
	switch {
	case err == nil:
		err = q.Ack(ctx, j)
	case errors.As(err, &skip):
		f.log.Info("inbound activity stored nothing", append(jobAttrs(j), "reason", skip.reason)...)
		err = q.Ack(ctx, j)
	case errors.As(err, &rej):
		f.log.Info("inbound activity rejected", append(jobAttrs(j), "reason", rej.reason)...)
		err = q.DeadLetter(ctx, j, rej.reason)
	case attempt+1 >= maxInboxAttempts:
		f.log.Warn("inbound activity failed for good", append(jobAttrs(j), "reason", err.Error())...)
		err = q.DeadLetter(ctx, j, "retries exhausted: "+err.Error())
	default:
		f.log.Info("inbound activity failed; will retry", append(jobAttrs(j), "reason", err.Error(), "attempt", attempt)...)
		next := map[string]string{}
		for k, v := range j.Fields {
			next[k] = v
		}
		next["attempt"] = strconv.Itoa(attempt + 1)
		wait := jitter(f.opts.RetrySchedule[min(attempt, len(f.opts.RetrySchedule)-1)])
		err = q.RetryAt(ctx, j, next, time.Now().Add(wait))
	}
	if err != nil && ctx.Err() == nil {
		f.log.Error("settling inbound job failed", "err", err)
	}
}

// jobAttrs names an inbound job in the log: the activity's id, type and actor, read again from
// the queued body (it was checked at intake, so only a garbled queue entry lacks them).
func jobAttrs(j store.Job) []any {
	env, _ := ParseEnvelope([]byte(j.Fields["body"]))
	attrs := []any{"activity", env.ID, "type", env.Type, "actor", env.Actor, "job", j.ID}
	if id := j.Fields[requestIDField]; id != "" {
		attrs = append(attrs, "request_id", id)
	}
	return attrs
}

package federation

import (
	"context"
	"slices"
	"time"

	"watercooler/store"
)

// backlogScan bounds how many queued and how many retrying deliveries one health view reads.
const backlogScan = 20000

// countDelivery records outcomes of a delivery attempt to host for the admin's federation
// health (store.CountDeliveries); a failure to count is logged, never a failed delivery.
func (f *Federator) countDelivery(ctx context.Context, host string, outcomes ...string) {
	if err := f.store.CountDeliveries(ctx, host, time.Now(), outcomes...); err != nil && ctx.Err() == nil {
		f.log.Warn("counting delivery outcome failed", "host", host, "err", err)
	}
}

// DeliveryHealth reports, for every peer with deliveries queued, retrying or attempted in the
// last hours, its backlog now and its outcomes hour by hour, sorted by host.
func (f *Federator) DeliveryHealth(ctx context.Context, hours int) ([]store.PeerHealth, error) {
	now := time.Now()
	history, err := f.store.DeliveryHistory(ctx, now, hours)
	if err != nil {
		return nil, err
	}
	byInbox := func(fields map[string]string) string { return HostOf(fields["inbox"]) }
	queued, retrying, err := f.delivery.Backlog(ctx, byInbox, backlogScan)
	if err != nil {
		return nil, err
	}
	hosts := make([]string, 0, len(history))
	for h := range history {
		hosts = append(hosts, h)
	}
	for _, m := range []map[string]int64{queued, retrying} {
		for h := range m {
			if _, ok := history[h]; !ok && h != "" {
				hosts = append(hosts, h)
				history[h] = emptyHours(now, hours)
			}
		}
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	out := make([]store.PeerHealth, len(hosts))
	if len(hosts) == 0 {
		return out, nil
	}
	since, err := f.store.HostsFailingSince(ctx, hosts)
	if err != nil {
		return nil, err
	}
	for i, h := range hosts {
		out[i] = store.PeerHealth{Host: h, Queued: queued[h], Retrying: retrying[h], FailingSince: since[i], Hours: history[h]}
	}
	return out, nil
}

// emptyHours is a series of hours with nothing counted, for a peer with a backlog but no
// attempt lately.
func emptyHours(now time.Time, hours int) []store.DeliveryCounts {
	out := make([]store.DeliveryCounts, hours)
	last := now.UTC().Truncate(time.Hour)
	for i := range out {
		out[i].Hour = last.Add(-time.Duration(hours-1-i) * time.Hour)
	}
	return out
}

// RetryDeadDelivery queues a dead-lettered delivery again as a first attempt, and forgets that
// its host was failing, so the attempt is made rather than dead-lettered at once as
// "unavailable": an admin who retries by hand has reason to think the peer is back. It returns
// the dead letter; store.ErrNotFound when there is none by that id.
func (f *Federator) RetryDeadDelivery(ctx context.Context, id string) (store.Job, error) {
	dead, err := f.delivery.DeadLetterByID(ctx, id)
	if err != nil {
		return dead, err
	}
	// First forget the failures, so the worker that takes the job cannot find them.
	if host := HostOf(dead.Fields["inbox"]); host != "" {
		if err := f.store.ClearHostFailure(ctx, host); err != nil {
			return dead, err
		}
	}
	return f.delivery.RetryDead(ctx, id, map[string]string{"attempt": "0", "last_error": "", store.RetryDueField: ""})
}

// RecentDeadDeliveries lists up to count dead-lettered deliveries, newest first, for the admin
// page.
func (f *Federator) RecentDeadDeliveries(ctx context.Context, count int64) ([]store.Job, error) {
	return f.delivery.RecentDeadLetters(ctx, count)
}

package federation

import "time"

// Outcomes of a delivery attempt, as Observer.DeliveryAttempted reports them.
const (
	OutcomeDelivered = "delivered" // the peer answered 2xx
	OutcomeRefused   = "refused"   // the peer answered with a status that never succeeds later
	OutcomeFailed    = "failed"    // no answer, or one worth retrying
)

// Observer learns how deliveries go, for the instance's metrics (Options.Observer). Its
// methods are called from the delivery workers and must not block.
type Observer interface {
	// DeliveryAttempted reports one POST to peer's inbox: how long it took and its outcome.
	DeliveryAttempted(peer string, took time.Duration, outcome string)
	// DeliveryRetried reports a failed delivery to peer put back to be retried later.
	DeliveryRetried(peer string)
	// DeliveryDeadLettered reports a delivery to peer given up for good.
	DeliveryDeadLettered(peer string)
}

// nopObserver is the Observer of a Federator that reports to nothing.
type nopObserver struct{}

func (nopObserver) DeliveryAttempted(string, time.Duration, string) {}
func (nopObserver) DeliveryRetried(string)                          {}
func (nopObserver) DeliveryDeadLettered(string)                     {}

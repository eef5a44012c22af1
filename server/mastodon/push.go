package mastodon

import "watercooler/store"

// WebPushSubscription is Mastodon's WebPushSubscription entity: every alert appears, true or
// false, and server_key is the instance's VAPID public key.
type WebPushSubscription struct {
	ID        string          `json:"id"`
	Endpoint  string          `json:"endpoint"`
	Standard  bool            `json:"standard"`
	Alerts    map[string]bool `json:"alerts"`
	Policy    string          `json:"policy"`
	ServerKey string          `json:"server_key"`
}

// WebPushSubscriptionOf builds the entity of a stored subscription.
func WebPushSubscriptionOf(sub *store.PushSubscription, serverKey string) WebPushSubscription {
	alerts := make(map[string]bool, len(store.PushAlerts))
	for _, a := range store.PushAlerts {
		alerts[a] = sub.Alerts[a]
	}
	return WebPushSubscription{
		ID: sub.ID, Endpoint: sub.Endpoint, Standard: sub.Standard, Alerts: alerts, Policy: sub.Policy, ServerKey: serverKey,
	}
}

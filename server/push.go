package server

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// Push is what the client API needs from the Web Push side: the key apps subscribe with, and
// the check that a new subscription can ever be sent to (every error it returns is a refusal,
// its text a client-safe validation message).
type Push interface {
	PublicKey() string
	CheckSubscription(ctx context.Context, endpoint, p256dh, auth string) error
}

// WithPush connects the server to the instance's Web Push side.
func WithPush(p Push) Option { return func(s *Server) { s.push = p } }

// vapidKey is the instance's VAPID public key, "" when Web Push is off.
func (s *Server) vapidKey() string {
	if s.push == nil {
		return ""
	}
	return s.push.PublicKey()
}

// pushParams are the parameters of POST and PUT /api/v1/push/subscription.
type pushParams struct {
	Subscription struct {
		Endpoint string `json:"endpoint"`
		Keys     struct {
			P256dh string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
		Standard optString `json:"standard"`
	} `json:"subscription"`
	Data struct {
		Alerts map[string]optString `json:"alerts"`
		Policy string               `json:"policy"`
	} `json:"data"`
}

// applyData sets the alerts and policy a request asks for; as in Mastodon, what it leaves out
// is off, and the policy defaults to all.
func (p *pushParams) applyData(sub *store.PushSubscription) error {
	sub.Alerts = map[string]bool{}
	for name, v := range p.Data.Alerts {
		if on, _ := railsBool(v.val); on && slices.Contains(store.PushAlerts, name) {
			sub.Alerts[name] = true
		}
	}
	sub.Policy = strings.TrimSpace(p.Data.Policy)
	switch sub.Policy {
	case "":
		sub.Policy = store.PushPolicyAll
	case store.PushPolicyAll, store.PushPolicyFollowed, store.PushPolicyFollower, store.PushPolicyNone:
	default:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Policy is not included in the list")
	}
	return nil
}

// pushEnabled refuses the push API on an instance built without Web Push (some tests).
func (s *Server) pushEnabled() error {
	if s.push == nil {
		return errNotFound
	}
	return nil
}

// pushSubscribe is POST /api/v1/push/subscription: it replaces the token's subscription.
func (s *Server) pushSubscribe(c *fiber.Ctx) error {
	if err := s.pushEnabled(); err != nil {
		return err
	}
	var p pushParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	endpoint := strings.TrimSpace(p.Subscription.Endpoint)
	switch {
	case endpoint == "":
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Endpoint can't be blank")
	case p.Subscription.Keys.P256dh == "":
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Key p256dh can't be blank")
	case p.Subscription.Keys.Auth == "":
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Key auth can't be blank")
	case len(endpoint) > 2048:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Endpoint is too long")
	}
	tok := token(c)
	sub := &store.PushSubscription{
		TokenHash: tok.Hash, AccessToken: bearerToken(c), AccountID: me(c).ID,
		Endpoint: endpoint, P256dh: strings.TrimSpace(p.Subscription.Keys.P256dh), Auth: strings.TrimSpace(p.Subscription.Keys.Auth),
	}
	sub.Standard, _ = railsBool(p.Subscription.Standard.val)
	if err := p.applyData(sub); err != nil {
		return err
	}
	if err := s.push.CheckSubscription(c.UserContext(), sub.Endpoint, sub.P256dh, sub.Auth); err != nil {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: %s", err.Error())
	}
	if err := s.store.SavePushSubscription(c.UserContext(), sub); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errUnauthorized // the token was revoked meanwhile
		}
		return err
	}
	return c.JSON(mastodon.WebPushSubscriptionOf(sub, s.push.PublicKey()))
}

// pushSubscription is GET /api/v1/push/subscription.
func (s *Server) pushSubscription(c *fiber.Ctx) error {
	if err := s.pushEnabled(); err != nil {
		return err
	}
	sub, err := s.store.PushSubscription(c.UserContext(), token(c).Hash)
	if err != nil {
		return err
	}
	return c.JSON(mastodon.WebPushSubscriptionOf(sub, s.push.PublicKey()))
}

// pushUpdate is PUT /api/v1/push/subscription: it changes alerts and policy only.
func (s *Server) pushUpdate(c *fiber.Ctx) error {
	if err := s.pushEnabled(); err != nil {
		return err
	}
	var p pushParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	sub, err := s.store.PushSubscription(c.UserContext(), token(c).Hash)
	if err != nil {
		return err
	}
	if err := p.applyData(sub); err != nil {
		return err
	}
	if err := s.store.UpdatePushSubscription(c.UserContext(), sub); err != nil {
		return err
	}
	return c.JSON(mastodon.WebPushSubscriptionOf(sub, s.push.PublicKey()))
}

// pushUnsubscribe is DELETE /api/v1/push/subscription; deleting none is not an error.
func (s *Server) pushUnsubscribe(c *fiber.Ctx) error {
	if err := s.pushEnabled(); err != nil {
		return err
	}
	if err := s.store.DeletePushSubscription(c.UserContext(), me(c).ID, token(c).Hash, ""); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

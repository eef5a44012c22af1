package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	webpush "github.com/SherClockHolmes/webpush-go"

	"watercooler/federation"
	"watercooler/server/mastodon"
	"watercooler/store"
	"watercooler/text"
)

// Payload is the JSON Mastodon encrypts into each push message; apps show title and body and
// fetch the notification with the access token.
type Payload struct {
	AccessToken      string `json:"access_token"`
	PreferredLocale  string `json:"preferred_locale"`
	NotificationID   string `json:"notification_id"`
	NotificationType string `json:"notification_type"`
	Icon             string `json:"icon"`
	Title            string `json:"title"`
	Body             string `json:"body"`
}

// titles are Mastodon's notification subjects (its notification_mailer strings, in English).
var titles = map[string]string{
	store.NotifyMention:       "%s mentioned you",
	store.NotifyStatus:        "%s just posted",
	store.NotifyReblog:        "%s boosted your post",
	store.NotifyFollow:        "%s is now following you",
	store.NotifyFollowRequest: "Pending follower: %s",
	store.NotifyFavourite:     "%s favorited your post",
	"poll":                    "A poll by %s has ended",
	store.NotifyUpdate:        "%s edited a post",
	"admin.sign_up":           "%s signed up",
	"admin.report":            "%s filed a report",
	store.NotifyQuote:         "%s quoted your post",
	store.NotifyQuotedUpdate:  "%s edited a post you have quoted",
}

// bodyLimit is Mastodon's: a body is cut to 140 characters.
const bodyLimit = 140

// handle makes one send attempt and settles the job: ack when sent or no longer wanted, a
// retry when the push service may take it later, the subscription dropped when the push
// service says it is gone, a dead letter when it can never succeed.
func (s *Service) handle(ctx context.Context, j store.Job) {
	log := s.log.With("job", j.ID, "subscription", j.Fields["subscription"], "notification", j.Fields["notification"])
	settle := func(err error) {
		if err != nil && ctx.Err() == nil {
			log.Error("settling push job failed", "err", err)
		}
	}
	if len(j.Fields) == 0 {
		settle(s.queue.Ack(ctx, j)) // deleted while pending: nothing to do
		return
	}
	sub, n, payload, err := s.prepare(ctx, j)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("reading push job data failed; retrying", "err", err)
			s.retry(ctx, j, "store: "+err.Error(), 0)
		}
		return
	}
	if payload == nil {
		settle(s.queue.Ack(ctx, j)) // not wanted, or the subscription or notification is gone
		return
	}
	status, retryAfter, err := s.send(ctx, sub, payload)
	if ctx.Err() != nil {
		return // shutting down mid-send: the job stays pending and is resumed
	}
	switch {
	case err == nil && status >= 200 && status < 300:
		log.Debug("push sent", "type", n.Type, "status", status)
		settle(s.queue.Ack(ctx, j))
	case err == nil && (status == http.StatusNotFound || status == http.StatusGone):
		// The push service forgot the subscription (the app was uninstalled, the browser
		// unsubscribed): Mastodon drops it, and so do we.
		log.Info("push subscription expired", "status", status)
		settle(s.store.DeletePushSubscription(ctx, sub.AccountID, sub.TokenHash, sub.ID))
		settle(s.queue.Ack(ctx, j))
	case err == nil && status != http.StatusTooManyRequests && status < 500:
		log.Warn("push refused", "status", status)
		settle(s.queue.DeadLetter(ctx, j, "refused with HTTP "+strconv.Itoa(status)))
	case err != nil && !isNetwork(err):
		log.Warn("push cannot be sent", "err", err)
		settle(s.queue.DeadLetter(ctx, j, err.Error()))
	default:
		reason := "HTTP " + strconv.Itoa(status)
		if err != nil {
			reason = err.Error()
		}
		s.retry(ctx, j, reason, retryAfter)
	}
}

// retry schedules the job's next attempt, or dead-letters it when the schedule has run out.
// A push service's Retry-After is honoured when it asks for longer than the schedule.
func (s *Service) retry(ctx context.Context, j store.Job, reason string, retryAfter time.Duration) {
	attempt, _ := strconv.Atoi(j.Fields["attempt"])
	if attempt >= len(s.opts.RetrySchedule) {
		s.log.Warn("push failed for good", "job", j.ID, "reason", reason)
		if err := s.queue.DeadLetter(ctx, j, "retries exhausted: "+reason); err != nil && ctx.Err() == nil {
			s.log.Error("dead-lettering push job failed", "err", err)
		}
		return
	}
	wait := s.opts.RetrySchedule[attempt]
	wait += rand.N(wait/10 + 1) // spread retries of many jobs that failed together
	wait = max(wait, min(retryAfter, 24*time.Hour))
	next := make(map[string]string, len(j.Fields)+1)
	for k, v := range j.Fields {
		next[k] = v
	}
	next["attempt"] = strconv.Itoa(attempt + 1)
	next["last_error"] = reason
	if err := s.queue.RetryAt(ctx, j, next, time.Now().Add(wait)); err != nil && ctx.Err() == nil {
		s.log.Error("scheduling push retry failed", "err", err)
	}
}

// isNetwork tells a failure to reach the push service, which may pass, from one that never
// will: an address the guard refuses, or a message that cannot be built.
func isNetwork(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) && !errors.Is(err, federation.ErrForbiddenAddress)
}

// prepare reads what job j needs and builds its payload; a nil payload with a nil error means
// there is nothing to send: the subscription or the notification is gone, or the
// subscription's alerts or policy do not want this notification.
func (s *Service) prepare(ctx context.Context, j store.Job) (*store.PushSubscription, *store.Notification, []byte, error) {
	sub, err := s.store.PushSubscription(ctx, j.Fields["subscription"])
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	n, err := s.store.Notification(ctx, sub.AccountID, j.Fields["notification"])
	if errors.Is(err, store.ErrNotFound) {
		return sub, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if !sub.Alerts[n.Type] {
		return sub, n, nil, nil
	}
	wanted, err := s.policyWants(ctx, sub, n)
	if err != nil || !wanted {
		return sub, n, nil, err
	}
	// A notification the person's notification policy filters (a private mention from a
	// stranger, by default) waits among the notification requests, unannounced, as in Mastodon.
	verdicts, err := s.store.NotificationVerdicts(ctx, sub.AccountID, []*store.Notification{n})
	if err != nil {
		return nil, nil, nil, err
	}
	if verdicts[n.ID] != store.PolicyAccept {
		return sub, n, nil, nil
	}
	from, err := s.store.Account(ctx, n.FromAccountID)
	if err != nil {
		return nil, nil, nil, err
	}
	p := Payload{
		AccessToken: sub.AccessToken, PreferredLocale: "en",
		NotificationID: n.ID, NotificationType: n.Type,
		Icon: from.AvatarURL,
	}
	if p.Icon == "" {
		p.Icon = mastodon.Site{BaseURL: s.cfg.URL}.DefaultAvatar()
	}
	name := from.DisplayName
	if strings.TrimSpace(name) == "" {
		name = from.Username
	}
	title, ok := titles[n.Type]
	if !ok {
		title = "%s sent you a notification"
	}
	p.Title = fmt.Sprintf(title, name)
	body := from.Note
	if n.StatusID != "" {
		if st, err := s.store.Status(ctx, n.StatusID); err == nil {
			body = st.SpoilerText
			if strings.TrimSpace(body) == "" {
				body = st.Content
			}
		}
	}
	p.Body = truncate(text.PlainText(body), bodyLimit)
	b, err := json.Marshal(p)
	if err != nil {
		return nil, nil, nil, err
	}
	return sub, n, b, nil
}

// policyWants applies the subscription's policy, as Mastodon does: followed pushes only what
// accounts the person follows did, follower only what their followers did.
func (s *Service) policyWants(ctx context.Context, sub *store.PushSubscription, n *store.Notification) (bool, error) {
	switch sub.Policy {
	case store.PushPolicyNone:
		return false, nil
	case store.PushPolicyFollowed:
		return s.store.Follows(ctx, sub.AccountID, n.FromAccountID)
	case store.PushPolicyFollower:
		return s.store.Follows(ctx, n.FromAccountID, sub.AccountID)
	}
	return true, nil
}

// truncate cuts s to at most limit characters, the cut marked with "...", as Rails' truncate.
func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:limit-3])) + "..."
}

// send encrypts and posts one message. It returns the push service's status and the wait it
// asked for with Retry-After; only failures to send are errors.
func (s *Service) send(ctx context.Context, sub *store.PushSubscription, payload []byte) (int, time.Duration, error) {
	var resp *http.Response
	var err error
	if sub.Standard {
		resp, err = webpush.SendNotificationWithContext(ctx, payload, &webpush.Subscription{
			Endpoint: sub.Endpoint, Keys: webpush.Keys{Auth: sub.Auth, P256dh: sub.P256dh},
		}, &webpush.Options{
			HTTPClient:      s.fetcher,
			Subscriber:      s.subscriber(),
			TTL:             int(s.opts.TTL / time.Second),
			Urgency:         webpush.UrgencyNormal,
			VAPIDPublicKey:  s.keys.Public,
			VAPIDPrivateKey: s.keys.Private,
		})
	} else {
		resp, err = s.sendLegacy(ctx, sub, payload)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("push to %s: %w", endpointHost(sub.Endpoint), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	var after time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && secs > 0 {
		after = time.Duration(secs) * time.Second
	}
	return resp.StatusCode, after, nil
}

// subscriber is the VAPID "sub" claim: how the push service's operator reaches ours. The
// contact e-mail when one is configured, else the instance's https URL.
func (s *Service) subscriber() string {
	if s.cfg.ContactEmail != "" {
		return s.cfg.ContactEmail
	}
	if strings.HasPrefix(s.cfg.URL, "https:") {
		return s.cfg.URL
	}
	return "admin@" + s.cfg.Domain()
}

// endpointHost names a push service in logs and dead letters without the endpoint's path,
// which identifies the device.
func endpointHost(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil {
		return u.Host
	}
	return "push service"
}

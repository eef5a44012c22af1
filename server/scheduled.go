package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/config"
	"watercooler/server/mastodon"
	"watercooler/store"
)

const (
	// scheduleMinOffset is how far ahead a post must be scheduled, as Mastodon's
	// PostStatusService::MIN_SCHEDULE_OFFSET; a time already past posts at once.
	scheduleMinOffset = 5 * time.Minute
	// scheduledPoll bounds how long the worker sleeps, so a post scheduled through another
	// process is seen within it.
	scheduledPoll = time.Second
	// scheduledLease is how long a claimed post stays with the worker that claimed it; one that
	// died meanwhile leaves it to another worker after that. Posting takes milliseconds.
	scheduledLease = 2 * time.Minute
	scheduledBatch = 20
	// Page sizes of GET /api/v1/scheduled_statuses, as in Mastodon.
	scheduledPageDefault = 20
	scheduledPageMax     = 40
)

var errScheduleTooSoon = errorf(fiber.StatusUnprocessableEntity, "Validation failed: Scheduled at The scheduled date must be in the future")

// scheduledStatus is Mastodon's ScheduledStatus entity.
type scheduledStatus struct {
	ID               string                     `json:"id"`
	ScheduledAt      string                     `json:"scheduled_at"`
	Params           scheduledParams            `json:"params"`
	MediaAttachments []mastodon.MediaAttachment `json:"media_attachments"`
}

// scheduledParams are the parameters a scheduled post will be made with, as Mastodon shows them.
type scheduledParams struct {
	Text          string   `json:"text"`
	Poll          any      `json:"poll"`
	MediaIDs      []string `json:"media_ids"`
	Sensitive     *bool    `json:"sensitive"`
	SpoilerText   *string  `json:"spoiler_text"`
	Visibility    string   `json:"visibility"`
	ScheduledAt   *string  `json:"scheduled_at"`
	InReplyToID   *string  `json:"in_reply_to_id"`
	Language      *string  `json:"language"`
	ApplicationID *string  `json:"application_id"`
	Idempotency   *string  `json:"idempotency"`
	WithRateLimit bool     `json:"with_rate_limit"`
}

// parseScheduledAt reads scheduled_at; the zero time means "post now" (absent or already past).
func parseScheduledAt(raw string, now time.Time) (time.Time, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, errorf(fiber.StatusUnprocessableEntity, "Validation failed: Scheduled at is not a valid ISO 8601 time")
	}
	if !at.After(now) {
		return time.Time{}, nil
	}
	if at.Before(now.Add(scheduleMinOffset)) {
		return time.Time{}, errScheduleTooSoon
	}
	return at, nil
}

// scheduleStatus keeps a checked post to be published at at.
func (s *Server) scheduleStatus(c *fiber.Ctx, p *statusParams, st *store.Status, clientID string, at time.Time) error {
	ctx := c.UserContext()
	p.Visibility = st.Visibility // the poster's default when none was sent, as when posting now
	if idem := c.Get("Idempotency-Key"); idem != "" {
		p.Idempotency = idem
	}
	params, err := json.Marshal(p)
	if err != nil {
		return err
	}
	sch := &store.ScheduledStatus{AccountID: st.AccountID, ScheduledAt: at, Params: string(params), MediaIDs: st.MediaIDs, ClientID: clientID}
	switch err := s.store.ScheduleStatus(ctx, sch); {
	case errors.Is(err, store.ErrScheduledTotal):
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: You have exceeded the limit of %d scheduled posts", store.ScheduledTotalLimit)
	case errors.Is(err, store.ErrScheduledDaily):
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: You have exceeded the limit of %d scheduled posts for that day", store.ScheduledDailyLimit)
	case errors.Is(err, store.ErrMediaTaken):
		return errorf(fiber.StatusUnprocessableEntity, "Media not found or already attached to another post")
	case err != nil:
		return err
	}
	out, err := s.renderScheduled(ctx, []*store.ScheduledStatus{sch})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// renderScheduled builds ScheduledStatus entities with their media in one read.
func (s *Server) renderScheduled(ctx context.Context, list []*store.ScheduledStatus) ([]scheduledStatus, error) {
	var mediaIDs []string
	for _, sch := range list {
		mediaIDs = append(mediaIDs, sch.MediaIDs...)
	}
	media, err := s.store.MediaByIDs(ctx, mediaIDs)
	if err != nil {
		return nil, err
	}
	out := make([]scheduledStatus, 0, len(list))
	for _, sch := range list {
		var p statusParams
		if err := json.Unmarshal([]byte(sch.Params), &p); err != nil {
			return nil, fmt.Errorf("scheduled status %s: %w", sch.ID, err)
		}
		e := scheduledStatus{
			ID: sch.ID, ScheduledAt: mastodon.Timestamp(sch.ScheduledAt), MediaAttachments: []mastodon.MediaAttachment{},
			Params: scheduledParams{
				Text: p.Status, Poll: p.Poll, MediaIDs: cleanIDs(p.MediaIDs), Visibility: p.Visibility,
				SpoilerText: optional(p.SpoilerText), InReplyToID: optional(p.InReplyToID), Language: optional(p.Language),
				ApplicationID: optional(sch.ClientID), Idempotency: optional(p.Idempotency),
			},
		}
		if e.Params.MediaIDs == nil {
			e.Params.MediaIDs = []string{}
		}
		if p.Sensitive.Set {
			e.Params.Sensitive = &p.Sensitive.Value
		}
		for _, id := range sch.MediaIDs {
			if m, ok := media[id]; ok {
				e.MediaAttachments = append(e.MediaAttachments, mastodon.MediaFrom(m))
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// optional is nil for an empty string, as Mastodon shows parameters that were not sent.
func optional(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// scheduledList is GET /api/v1/scheduled_statuses.
func (s *Server) scheduledList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	entries, list, err := s.store.ScheduledStatuses(ctx, me(c).ID, pageFrom(c, scheduledPageDefault, scheduledPageMax))
	if err != nil {
		return err
	}
	out, err := s.renderScheduled(ctx, list)
	if err != nil {
		return err
	}
	s.setLinkHeader(c, entries)
	return c.JSON(out)
}

// scheduledGet is GET /api/v1/scheduled_statuses/:id.
func (s *Server) scheduledGet(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sch, err := s.store.ScheduledStatus(ctx, me(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	out, err := s.renderScheduled(ctx, []*store.ScheduledStatus{sch})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// scheduledUpdate is PUT /api/v1/scheduled_statuses/:id: a new time, under the same rules.
func (s *Server) scheduledUpdate(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var p struct {
		ScheduledAt string `json:"scheduled_at"`
	}
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	if strings.TrimSpace(p.ScheduledAt) == "" {
		return errScheduleTooSoon
	}
	at, err := parseScheduledAt(p.ScheduledAt, time.Now())
	if err != nil {
		return err
	}
	if at.IsZero() {
		return errScheduleTooSoon
	}
	sch, err := s.store.RescheduleStatus(ctx, me(c).ID, c.Params("id"), at)
	if errors.Is(err, store.ErrScheduledDaily) {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: You have exceeded the limit of %d scheduled posts for that day", store.ScheduledDailyLimit)
	}
	if err != nil {
		return err
	}
	out, err := s.renderScheduled(ctx, []*store.ScheduledStatus{sch})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// scheduledDelete is DELETE /api/v1/scheduled_statuses/:id; its media are free again.
func (s *Server) scheduledDelete(c *fiber.Ctx) error {
	deleted, err := s.store.UnscheduleStatus(c.UserContext(), me(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	if !deleted {
		return errNotFound
	}
	return c.JSON(fiber.Map{})
}

// RunScheduled publishes scheduled posts when they are due, until ctx ends. Any number of
// processes of one instance may run it: each due post is leased to one of them, and a post
// whose worker died is taken up by another when the lease ends, posted under an idempotency
// key of its own so that it is never posted twice.
func RunScheduled(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger, options ...Option) {
	newServer(cfg, st, log, options...).runScheduled(ctx, scheduledLease)
}

func (s *Server) runScheduled(ctx context.Context, lease time.Duration) {
	for {
		claimed, next, err := s.store.ClaimDueScheduled(ctx, time.Now(), lease, scheduledBatch)
		if err != nil && ctx.Err() == nil {
			s.log.Error("scheduled posts", "err", err)
		}
		for _, sch := range claimed {
			s.postScheduled(ctx, sch)
		}
		if len(claimed) == scheduledBatch {
			continue
		}
		wait := scheduledPoll
		if !next.IsZero() {
			wait = max(min(wait, time.Until(next)), 0)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// postScheduled publishes one claimed post. A post that can no longer be made (its author gone,
// the post it answers deleted, its text now refused) is dropped with a log line, as Mastodon
// drops it; a failure of Redis leaves it to the next lease.
func (s *Server) postScheduled(ctx context.Context, sch *store.ScheduledStatus) {
	log := s.log.With("scheduled_status", sch.ID, "account", sch.AccountID)
	drop := func(reason error) {
		log.Warn("scheduled post dropped", "reason", reason)
		if _, err := s.store.UnscheduleStatus(ctx, sch.AccountID, sch.ID); err != nil {
			log.Error("scheduled post", "err", err)
		}
	}
	author, err := s.store.Account(ctx, sch.AccountID)
	if errors.Is(err, store.ErrNotFound) {
		drop(err)
		return
	}
	if err != nil {
		log.Error("scheduled post", "err", err)
		return
	}
	var p statusParams
	if err := json.Unmarshal([]byte(sch.Params), &p); err != nil {
		drop(err)
		return
	}
	p.scheduledID = sch.ID
	st, err := s.composeStatus(ctx, author, &p, sch.ClientID)
	var refused *apiError
	if errors.As(err, &refused) || errors.Is(err, store.ErrNotFound) {
		drop(err)
		return
	}
	if err != nil {
		log.Error("scheduled post", "err", err)
		return
	}
	created, err := s.publishStatus(ctx, st, "scheduled:"+sch.ID)
	if err != nil {
		log.Error("scheduled post", "err", err) // a Redis failure, or the same post under way elsewhere
		return
	}
	if _, err := s.store.UnscheduleStatus(ctx, sch.AccountID, sch.ID); err != nil {
		log.Error("scheduled post", "err", err)
		return
	}
	log.Info("scheduled post published", "status", created.ID)
}

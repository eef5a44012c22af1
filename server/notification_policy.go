package server

import (
	"context"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// notificationRequestsScan bounds how many of the newest notifications requests are read from.
const notificationRequestsScan = 400

// notificationVerdicts applies the viewer's notification policy (Mastodon 4.3) to ns; see
// store.NotificationVerdicts, which Web Push shares.
func (s *Server) notificationVerdicts(ctx context.Context, viewer *store.Account, ns []*store.Notification) (map[string]string, error) {
	return s.store.NotificationVerdicts(ctx, viewer.ID, ns)
}

// notificationPolicyV2 is Mastodon's NotificationPolicy entity (API v2).
type notificationPolicyV2 struct {
	ForNotFollowing    string                    `json:"for_not_following"`
	ForNotFollowers    string                    `json:"for_not_followers"`
	ForNewAccounts     string                    `json:"for_new_accounts"`
	ForPrivateMentions string                    `json:"for_private_mentions"`
	ForLimitedAccounts string                    `json:"for_limited_accounts"`
	Summary            notificationPolicySummary `json:"summary"`
}

// notificationPolicyV1 is the API v1 shape of the same policy, in booleans.
type notificationPolicyV1 struct {
	FilterNotFollowing    bool                      `json:"filter_not_following"`
	FilterNotFollowers    bool                      `json:"filter_not_followers"`
	FilterNewAccounts     bool                      `json:"filter_new_accounts"`
	FilterPrivateMentions bool                      `json:"filter_private_mentions"`
	Summary               notificationPolicySummary `json:"summary"`
}

type notificationPolicySummary struct {
	PendingRequestsCount      int `json:"pending_requests_count"`
	PendingNotificationsCount int `json:"pending_notifications_count"`
}

// notificationPolicyParams are PATCH /api/v2/notifications/policy's and PUT v1's parameters.
type notificationPolicyParams struct {
	ForNotFollowing       string  `json:"for_not_following" form:"for_not_following"`
	ForNotFollowers       string  `json:"for_not_followers" form:"for_not_followers"`
	ForNewAccounts        string  `json:"for_new_accounts" form:"for_new_accounts"`
	ForPrivateMentions    string  `json:"for_private_mentions" form:"for_private_mentions"`
	ForLimitedAccounts    string  `json:"for_limited_accounts" form:"for_limited_accounts"`
	FilterNotFollowing    optBool `json:"filter_not_following" form:"filter_not_following"`
	FilterNotFollowers    optBool `json:"filter_not_followers" form:"filter_not_followers"`
	FilterNewAccounts     optBool `json:"filter_new_accounts" form:"filter_new_accounts"`
	FilterPrivateMentions optBool `json:"filter_private_mentions" form:"filter_private_mentions"`
}

// notificationRequest is Mastodon's NotificationRequest entity: the filtered notifications of
// one sender. Its id is the sender's account id, which stays the same while the request lasts.
type notificationRequest struct {
	ID                 string           `json:"id"`
	CreatedAt          string           `json:"created_at"`
	UpdatedAt          string           `json:"updated_at"`
	Account            mastodon.Account `json:"account"`
	NotificationsCount string           `json:"notifications_count"`
	LastStatus         *mastodon.Status `json:"last_status,omitempty"`
	notificationIDs    []string
}

// notificationRequests gathers the viewer's filtered notifications by sender, newest request
// first.
func (s *Server) notificationRequests(ctx context.Context, viewer *store.Account) ([]notificationRequest, error) {
	ns, err := s.store.RecentNotifications(ctx, viewer.ID, notificationRequestsScan)
	if err != nil {
		return nil, err
	}
	rendered, err := s.renderNotificationsWhere(ctx, viewer, ns, func(v string) bool { return v == store.PolicyFilter })
	if err != nil {
		return nil, err
	}
	var out []notificationRequest
	index := map[string]int{}
	for _, n := range rendered {
		i, ok := index[n.Account.ID]
		if !ok {
			i = len(out)
			index[n.Account.ID] = i
			out = append(out, notificationRequest{ID: n.Account.ID, UpdatedAt: n.CreatedAt, Account: n.Account, LastStatus: n.Status})
		}
		r := &out[i]
		r.CreatedAt = n.CreatedAt // the oldest, as rendered is newest first
		r.notificationIDs = append(r.notificationIDs, n.ID)
		r.NotificationsCount = strconv.Itoa(len(r.notificationIDs))
	}
	return out, nil
}

func (s *Server) policySummary(ctx context.Context, viewer *store.Account) (notificationPolicySummary, error) {
	reqs, err := s.notificationRequests(ctx, viewer)
	if err != nil {
		return notificationPolicySummary{}, err
	}
	sum := notificationPolicySummary{PendingRequestsCount: len(reqs)}
	for _, r := range reqs {
		sum.PendingNotificationsCount += len(r.notificationIDs)
	}
	return sum, nil
}

// notificationPolicyGetV2 is GET /api/v2/notifications/policy.
func (s *Server) notificationPolicyGetV2(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := s.store.NotificationPolicyOf(ctx, me(c).ID)
	if err != nil {
		return err
	}
	sum, err := s.policySummary(ctx, me(c))
	if err != nil {
		return err
	}
	return c.JSON(notificationPolicyV2{p.ForNotFollowing, p.ForNotFollowers, p.ForNewAccounts, p.ForPrivateMentions, p.ForLimitedAccounts, sum})
}

// notificationPolicyGetV1 is GET /api/v1/notifications/policy.
func (s *Server) notificationPolicyGetV1(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := s.store.NotificationPolicyOf(ctx, me(c).ID)
	if err != nil {
		return err
	}
	sum, err := s.policySummary(ctx, me(c))
	if err != nil {
		return err
	}
	filters := func(v string) bool { return v != store.PolicyAccept }
	return c.JSON(notificationPolicyV1{filters(p.ForNotFollowing), filters(p.ForNotFollowers), filters(p.ForNewAccounts), filters(p.ForPrivateMentions), sum})
}

// notificationPolicyUpdate is PATCH /api/v2/notifications/policy and PUT /api/v1/...: the
// fields sent change, the others stay.
func (s *Server) notificationPolicyUpdate(v1 bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		var params notificationPolicyParams
		if err := decodeParams(c, &params); err != nil {
			return err
		}
		p, err := s.store.NotificationPolicyOf(ctx, me(c).ID)
		if err != nil {
			return err
		}
		for _, f := range []struct {
			name string
			dst  *string
			v    string
			b    optBool
		}{
			{"for_not_following", &p.ForNotFollowing, params.ForNotFollowing, params.FilterNotFollowing},
			{"for_not_followers", &p.ForNotFollowers, params.ForNotFollowers, params.FilterNotFollowers},
			{"for_new_accounts", &p.ForNewAccounts, params.ForNewAccounts, params.FilterNewAccounts},
			{"for_private_mentions", &p.ForPrivateMentions, params.ForPrivateMentions, params.FilterPrivateMentions},
			{"for_limited_accounts", &p.ForLimitedAccounts, params.ForLimitedAccounts, optBool{}},
		} {
			switch {
			case f.v != "" && !store.ValidPolicy(f.v):
				return errorf(fiber.StatusUnprocessableEntity, "Validation failed: %s is not included in the list", f.name)
			case f.v != "":
				*f.dst = f.v
			case f.b.Set && f.b.Value:
				*f.dst = store.PolicyFilter
			case f.b.Set:
				*f.dst = store.PolicyAccept
			}
		}
		if err := s.store.SetNotificationPolicy(ctx, me(c).ID, p); err != nil {
			return err
		}
		if v1 {
			return s.notificationPolicyGetV1(c)
		}
		return s.notificationPolicyGetV2(c)
	}
}

// notificationRequestsList is GET /api/v1/notifications/requests.
func (s *Server) notificationRequestsList(c *fiber.Ctx) error {
	reqs, err := s.notificationRequests(c.UserContext(), me(c))
	if err != nil {
		return err
	}
	if reqs == nil {
		reqs = []notificationRequest{}
	}
	return c.JSON(reqs)
}

// notificationRequestGet is GET /api/v1/notifications/requests/:id.
func (s *Server) notificationRequestGet(c *fiber.Ctx) error {
	reqs, err := s.notificationRequests(c.UserContext(), me(c))
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if r.ID == c.Params("id") {
			return c.JSON(r)
		}
	}
	return errNotFound
}

// notificationRequestsAnswer accepts (lets the sender's notifications through from now on,
// the filtered ones included) or dismisses (deletes the filtered notifications) the requests
// named by :id or by id[].
func (s *Server) notificationRequestsAnswer(accept, single bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		ids := queryList(c, "id")
		if single {
			ids = []string{c.Params("id")}
		} else if len(ids) == 0 {
			var params struct {
				ID stringList `json:"id" form:"id"`
			}
			if err := decodeParams(c, &params); err != nil {
				return err
			}
			ids = params.ID
		}
		reqs, err := s.notificationRequests(ctx, me(c))
		if err != nil {
			return err
		}
		found := false
		for _, r := range reqs {
			if !slices.Contains(ids, r.ID) {
				continue
			}
			found = true
			if accept {
				err = s.store.PermitNotifications(ctx, me(c).ID, r.ID)
			} else {
				err = s.store.DismissNotifications(ctx, me(c).ID, r.notificationIDs)
			}
			if err != nil {
				return err
			}
		}
		if single && !found {
			return errNotFound
		}
		return c.JSON(fiber.Map{})
	}
}

// notificationRequestsMerged is GET /api/v1/notifications/requests/merged: accepting takes
// effect at once here, so requests are always merged.
func (s *Server) notificationRequestsMerged(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"merged": true})
}

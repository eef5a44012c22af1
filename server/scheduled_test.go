package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"watercooler/server"
	"watercooler/store"
	"watercooler/testrig"
)

// scheduledWait bounds the wait for a due post: the worker looks at least once a second, and
// a loaded machine may take a few more to post.
const scheduledWait = 20 * time.Second

type scheduledJSON struct {
	ID          string `json:"id"`
	ScheduledAt string `json:"scheduled_at"`
	Params      struct {
		Text        string   `json:"text"`
		Visibility  string   `json:"visibility"`
		SpoilerText *string  `json:"spoiler_text"`
		MediaIDs    []string `json:"media_ids"`
		Sensitive   *bool    `json:"sensitive"`
		Language    *string  `json:"language"`
	} `json:"params"`
	MediaAttachments []struct {
		ID string `json:"id"`
	} `json:"media_attachments"`
}

func scheduleForm(text string, at time.Time, extra ...string) string {
	v := url.Values{"status": {text}, "scheduled_at": {at.UTC().Format(time.RFC3339)}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Add(extra[i], extra[i+1])
	}
	return v.Encode()
}

// accountTexts lists the text of an account's newest statuses, as its author sees them.
func accountTexts(t *testing.T, inst *testrig.Instance, u *testrig.User) []string {
	t.Helper()
	var sts []struct {
		Content string `json:"content"`
	}
	apiGet(t, inst.API("/api/v1/accounts/%s/statuses?limit=40", u.Account.ID), u.Token).ok(t, &sts)
	out := make([]string, len(sts))
	for i, s := range sts {
		out[i] = s.Content
	}
	return out
}

func countContaining(texts []string, s string) int {
	n := 0
	for _, t := range texts {
		if strings.Contains(t, s) {
			n++
		}
	}
	return n
}

func TestScheduledStatusesAPI(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, bob := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob")
	now := time.Now()
	statuses := inst.URL + "/api/v1/statuses"

	refusals := []struct {
		name, form, msg string
	}{
		{"too soon", scheduleForm("soon", now.Add(time.Minute)), "Validation failed: Scheduled at The scheduled date must be in the future"},
		{"not a time", url.Values{"status": {"x"}, "scheduled_at": {"next tuesday"}}.Encode(), "Validation failed: Scheduled at is not a valid ISO 8601 time"},
		{"empty post", scheduleForm("", now.Add(time.Hour)), "*"},
		{"bad visibility", scheduleForm("x", now.Add(time.Hour), "visibility", "everyone"), "Validation failed: Visibility is not included in the list"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			apiForm(t, http.MethodPost, statuses, alice.Token, r.form).expectError(t, http.StatusUnprocessableEntity, r.msg)
		})
	}
	var none []scheduledJSON
	apiGet(t, inst.URL+"/api/v1/scheduled_statuses", alice.Token).ok(t, &none)
	if len(none) != 0 {
		t.Fatalf("refused posts were scheduled: %+v", none)
	}

	// A time already past posts at once.
	var now_ struct {
		ID      string `json:"id"`
		Content string `json:"content"`
	}
	apiForm(t, http.MethodPost, statuses, alice.Token, scheduleForm("posted now", now.Add(-time.Minute))).ok(t, &now_)
	if now_.ID == "" || !strings.Contains(now_.Content, "posted now") {
		t.Fatalf("a past scheduled_at did not post: %+v", now_)
	}

	// A scheduled post with media reserves them.
	r := medUpload(t, inst.URL+"/api/v2/media", alice.Token, "a.png", "image/png", pngBytes(t, 8, 8))
	var upload struct {
		ID string `json:"id"`
	}
	r.ok(t, &upload)
	at := now.Add(2 * time.Hour).UTC().Truncate(time.Second)
	var sch scheduledJSON
	apiForm(t, http.MethodPost, statuses, alice.Token, scheduleForm("later, with a chart", at, "visibility", "unlisted", "spoiler_text", "numbers", "media_ids[]", upload.ID, "language", "sv"), "Idempotency-Key", "k1").ok(t, &sch)
	if sch.ID == "" || sch.ScheduledAt != at.Format("2006-01-02T15:04:05.000Z") || sch.Params.Text != "later, with a chart" || sch.Params.Visibility != "unlisted" ||
		sch.Params.SpoilerText == nil || *sch.Params.SpoilerText != "numbers" || len(sch.Params.MediaIDs) != 1 || len(sch.MediaAttachments) != 1 ||
		sch.Params.Language == nil || *sch.Params.Language != "sv" {
		t.Fatalf("scheduled status = %+v", sch)
	}
	apiForm(t, http.MethodPost, statuses, alice.Token, url.Values{"status": {"steal"}, "media_ids[]": {upload.ID}}.Encode()).
		expectError(t, http.StatusUnprocessableEntity, "Media "+upload.ID+" not found or already attached to another post")

	var list []scheduledJSON
	apiGet(t, inst.URL+"/api/v1/scheduled_statuses", alice.Token).ok(t, &list)
	if len(list) != 1 || list[0].ID != sch.ID {
		t.Fatalf("scheduled list = %+v", list)
	}
	one := inst.API("/api/v1/scheduled_statuses/%s", sch.ID)
	apiGet(t, one, alice.Token).ok(t, &sch)
	apiGet(t, one, bob.Token).expectError(t, http.StatusNotFound, "Record not found")
	apiDo(t, http.MethodDelete, one, bob.Token, "", "").expectError(t, http.StatusNotFound, "Record not found")

	apiForm(t, http.MethodPut, one, alice.Token, "scheduled_at="+url.QueryEscape(now.Add(time.Minute).Format(time.RFC3339))).
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: Scheduled at The scheduled date must be in the future")
	later := now.Add(26 * time.Hour).UTC().Truncate(time.Second)
	apiForm(t, http.MethodPut, one, alice.Token, "scheduled_at="+url.QueryEscape(later.Format(time.RFC3339))).ok(t, &sch)
	if sch.ScheduledAt != later.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("rescheduled to %s, want %s", sch.ScheduledAt, later)
	}

	// Deleting frees the media.
	apiDo(t, http.MethodDelete, one, alice.Token, "", "").ok(t, nil)
	apiGet(t, one, alice.Token).expectError(t, http.StatusNotFound, "Record not found")
	apiForm(t, http.MethodPost, statuses, alice.Token, url.Values{"status": {"now mine"}, "media_ids[]": {upload.ID}}.Encode()).ok(t, nil)

	// Mastodon's daily limit, counted per day of the scheduled time.
	day := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC).AddDate(0, 0, 3)
	for i := range store.ScheduledDailyLimit {
		apiForm(t, http.MethodPost, statuses, bob.Token, scheduleForm(fmt.Sprint("daily ", i), day.Add(time.Duration(i)*time.Minute))).ok(t, nil)
	}
	apiForm(t, http.MethodPost, statuses, bob.Token, scheduleForm("one too many", day.Add(time.Hour))).
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: You have exceeded the limit of 25 scheduled posts for that day")
	apiForm(t, http.MethodPost, statuses, bob.Token, scheduleForm("the next day", day.Add(24*time.Hour))).ok(t, nil)

	// Pages, newest first, with Link headers.
	first := apiGet(t, inst.URL+"/api/v1/scheduled_statuses?limit=20", bob.Token)
	var page1, page2 []scheduledJSON
	first.ok(t, &page1)
	apiGet(t, mustLinkRel(t, first.Header.Get("Link"), "next"), bob.Token).ok(t, &page2)
	if len(page1) != 20 || len(page2) != 6 || page1[0].Params.Text != "the next day" {
		t.Fatalf("pages of %d and %d, first %q; want 20 and 6, newest first", len(page1), len(page2), page1[0].Params.Text)
	}
}

// TestScheduledStatusesPostWhenDue: a post that fell due while the instance was down is
// published by the worker when it is back, with what was scheduled, and leaves the list.
func TestScheduledStatusesPostWhenDue(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	var sch scheduledJSON
	apiForm(t, http.MethodPost, inst.URL+"/api/v1/statuses", alice.Token, scheduleForm("tip of the week", time.Now().Add(time.Hour), "visibility", "unlisted", "spoiler_text", "go")).ok(t, &sch)
	// The instance is down when the post falls due, and posts it when it is back. The
	// five-minute rule is the API's; the store moves the post to now, as time would.
	inst.Stop()
	if _, err := inst.Store.RescheduleStatus(context.Background(), alice.Account.ID, sch.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	inst.Restart(t)
	// The worker publishes the post, then takes it off the list: both within the wait.
	testrig.Eventually(t, scheduledWait, "the scheduled post published and off the list", func() bool {
		return countContaining(accountTexts(t, inst, alice), "tip of the week") == 1 &&
			apiGet(t, inst.API("/api/v1/scheduled_statuses/%s", sch.ID), alice.Token).Code == http.StatusNotFound
	})
	var posted []struct {
		Visibility  string `json:"visibility"`
		SpoilerText string `json:"spoiler_text"`
	}
	apiGet(t, inst.API("/api/v1/accounts/%s/statuses", alice.Account.ID), alice.Token).ok(t, &posted)
	if posted[0].Visibility != "unlisted" || posted[0].SpoilerText != "go" {
		t.Fatalf("published as %+v", posted[0])
	}
	apiGet(t, inst.API("/api/v1/scheduled_statuses/%s", sch.ID), alice.Token).expectError(t, http.StatusNotFound, "Record not found")

	// A scheduled poll opens when it is posted, for as long as it was asked to.
	var pollSch scheduledJSON
	apiJSON(t, http.MethodPost, inst.URL+"/api/v1/statuses", alice.Token,
		`{"status":"lunch?","scheduled_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`","poll":{"options":["pizza","salad"],"expires_in":3600}}`).ok(t, &pollSch)
	due := time.Now()
	if _, err := inst.Store.RescheduleStatus(context.Background(), alice.Account.ID, pollSch.ID, due); err != nil {
		t.Fatal(err)
	}
	var withPoll []struct {
		Poll *struct {
			ExpiresAt time.Time `json:"expires_at"`
			Options   []struct {
				Title string `json:"title"`
			} `json:"options"`
		} `json:"poll"`
	}
	testrig.Eventually(t, scheduledWait, "the scheduled poll published", func() bool {
		apiGet(t, inst.API("/api/v1/accounts/%s/statuses?limit=1", alice.Account.ID), alice.Token).ok(t, &withPoll)
		return len(withPoll) == 1 && withPoll[0].Poll != nil
	})
	if p := withPoll[0].Poll; len(p.Options) != 2 || p.Options[0].Title != "pizza" || p.ExpiresAt.Before(due.Add(time.Hour-time.Second)) {
		t.Fatalf("scheduled poll = %+v, want pizza/salad open an hour from posting", p)
	}
}

// TestScheduledStatusesSeveralWorkers: twenty due posts, one of them claimed by a worker that
// died, are each published exactly once by four workers of one instance (as four processes).
func TestScheduledStatusesSeveralWorkers(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice := inst.CreateUser(t, "alice")
	ctx := context.Background()
	var ids []string
	for i := range 20 {
		var sch scheduledJSON
		apiForm(t, http.MethodPost, inst.URL+"/api/v1/statuses", alice.Token, scheduleForm(fmt.Sprintf("batch post %02d.", i), time.Now().Add(time.Hour))).ok(t, &sch)
		ids = append(ids, sch.ID)
	}
	// A worker that claims the first post and dies: its lease ends in a second.
	for _, id := range ids[:1] {
		if _, err := inst.Store.RescheduleStatus(ctx, alice.Account.ID, id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	claimed, _, err := inst.Store.ClaimDueScheduled(ctx, time.Now(), time.Second, 20)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}
	workers, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); server.RunScheduled(workers, inst.Config, inst.Store, testrig.Logger(t)) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, id := range ids[1:] {
		if _, err := inst.Store.RescheduleStatus(ctx, alice.Account.ID, id, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	testrig.Eventually(t, scheduledWait, "all twenty published", func() bool {
		return countContaining(accountTexts(t, inst, alice), "batch post") == 20
	})
	texts := accountTexts(t, inst, alice)
	for i := range 20 {
		if n := countContaining(texts, fmt.Sprintf("batch post %02d.", i)); n != 1 {
			t.Errorf("post %d published %d times", i, n)
		}
	}
	// A worker takes a post off the schedule once the post is out, a step later.
	testrig.Eventually(t, scheduledWait, "no scheduled posts left after publishing", func() bool {
		var left []scheduledJSON
		apiGet(t, inst.URL+"/api/v1/scheduled_statuses", alice.Token).ok(t, &left)
		return len(left) == 0
	})
}

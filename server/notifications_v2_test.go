package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	gomastodon "github.com/mattn/go-mastodon"

	"watercooler/testrig"
)

type notificationGroupJSON struct {
	GroupKey                 string   `json:"group_key"`
	NotificationsCount       int      `json:"notifications_count"`
	Type                     string   `json:"type"`
	MostRecentNotificationID string   `json:"most_recent_notification_id"`
	PageMinID                string   `json:"page_min_id"`
	PageMaxID                string   `json:"page_max_id"`
	SampleAccountIDs         []string `json:"sample_account_ids"`
	StatusID                 string   `json:"status_id"`
}

type groupedJSON struct {
	Accounts []struct {
		ID string `json:"id"`
	} `json:"accounts"`
	Statuses []struct {
		ID string `json:"id"`
	} `json:"statuses"`
	NotificationGroups []notificationGroupJSON `json:"notification_groups"`
}

// TestGroupedNotifications checks Mastodon 4.3's grouped notifications as Phanpy reads them:
// favourites of one post and follows fold into groups, a mention stands alone, and pages, the
// group endpoints and unread counts agree.
func TestGroupedNotifications(t *testing.T) {
	inst := testrig.StartInstance(t)
	ctx := context.Background()
	alice, bob, carol, dave := inst.CreateUser(t, "alice"), inst.CreateUser(t, "bob"), inst.CreateUser(t, "carol"), inst.CreateUser(t, "dave")
	followUser(t, inst, alice, bob) // alice follows bob, so his mention passes every policy
	tip := postStatus(t, inst, alice, gomastodon.Toot{Status: "a tip", Visibility: "public"})
	for _, u := range []*testrig.User{bob, carol, dave} {
		if _, err := userClient(inst, u).AccountFollow(ctx, gomastodon.ID(alice.Account.ID)); err != nil {
			t.Fatal(err)
		}
		if _, err := userClient(inst, u).Favourite(ctx, tip.ID); err != nil {
			t.Fatal(err)
		}
	}
	mention := postStatus(t, inst, bob, gomastodon.Toot{Status: "@alice thanks!", Visibility: "public"})

	get := func(query string) (groupedJSON, apiResponse) {
		var out groupedJSON
		resp := apiGet(t, inst.URL+"/api/v2/notifications"+query, alice.Token)
		resp.ok(t, &out)
		return out, resp
	}
	all, resp := get("")
	var raw map[string][]map[string]any
	resp.decode(t, &raw)
	for _, field := range []string{"group_key", "notifications_count", "type", "most_recent_notification_id", "page_min_id", "page_max_id", "latest_page_notification_at", "sample_account_ids"} {
		if _, ok := raw["notification_groups"][0][field]; !ok {
			t.Errorf("notification group lacks %q: %s", field, resp.Body)
		}
	}
	byType := map[string]notificationGroupJSON{}
	for _, g := range all.NotificationGroups {
		byType[g.Type] = g
	}
	if len(all.NotificationGroups) != 3 {
		t.Fatalf("groups = %+v, want mention, favourite and follow groups", all.NotificationGroups)
	}
	fav := byType["favourite"]
	if fav.NotificationsCount != 3 || len(fav.SampleAccountIDs) != 3 || fav.StatusID != string(tip.ID) {
		t.Errorf("favourite group = %+v, want 3 favourites of %s by 3 samples", fav, tip.ID)
	}
	if g := byType["follow"]; g.NotificationsCount != 3 || g.StatusID != "" {
		t.Errorf("follow group = %+v, want 3 follows and no status", g)
	}
	if g := byType["mention"]; g.NotificationsCount != 1 || !strings.HasPrefix(g.GroupKey, "ungrouped-") || g.StatusID != string(mention.ID) {
		t.Errorf("mention group = %+v, want an ungrouped group of its own", g)
	}
	if len(all.Accounts) != 3 || len(all.Statuses) != 2 {
		t.Errorf("accounts %d, statuses %d: want each of bob, carol, dave and both statuses once", len(all.Accounts), len(all.Statuses))
	}

	// v1 notifications name the group each belongs to, the key v2 gives it.
	var v1 []struct {
		Type     string `json:"type"`
		GroupKey string `json:"group_key"`
	}
	apiGet(t, inst.URL+"/api/v1/notifications", alice.Token).ok(t, &v1)
	for _, n := range v1 {
		if g, ok := byType[n.Type]; !ok || n.GroupKey != g.GroupKey {
			t.Errorf("v1 %s notification's group_key = %q, want v2's %q", n.Type, n.GroupKey, g.GroupKey)
		}
	}

	// Pages: one group at a time, following the Link header, no group twice.
	var keys []string
	next := inst.URL + "/api/v2/notifications?limit=1"
	for range 5 {
		var page groupedJSON
		resp := apiGet(t, next, alice.Token)
		resp.ok(t, &page)
		if len(page.NotificationGroups) == 0 {
			break
		}
		for _, g := range page.NotificationGroups {
			keys = append(keys, g.GroupKey)
		}
		next = linkRel(resp.Header.Get("Link"), "next")
		if next == "" {
			break
		}
	}
	var want []string
	for _, g := range all.NotificationGroups {
		want = append(want, g.GroupKey)
	}
	if !slices.Equal(keys, want) {
		t.Errorf("paged group keys = %v, want %v", keys, want)
	}

	// grouped_types[] narrows grouping; types[] filters.
	ungrouped, _ := get("?grouped_types[]=follow")
	if len(ungrouped.NotificationGroups) != 5 {
		t.Errorf("with only follows grouped: %d groups, want 5 (1 follow group, 3 favourites, 1 mention)", len(ungrouped.NotificationGroups))
	}
	onlyFavs, _ := get("?types[]=favourite")
	if len(onlyFavs.NotificationGroups) != 1 || onlyFavs.NotificationGroups[0].Type != "favourite" {
		t.Errorf("types[]=favourite = %+v", onlyFavs.NotificationGroups)
	}

	// One group, its accounts, and the unread counts around a marker.
	var one groupedJSON
	apiGet(t, inst.URL+"/api/v2/notifications/"+fav.GroupKey, alice.Token).ok(t, &one)
	if len(one.NotificationGroups) != 1 || one.NotificationGroups[0].NotificationsCount != 3 {
		t.Errorf("GET group = %+v", one)
	}
	var accounts []map[string]any
	apiGet(t, inst.URL+"/api/v2/notifications/"+fav.GroupKey+"/accounts", alice.Token).ok(t, &accounts)
	if len(accounts) != 3 {
		t.Errorf("group accounts = %d, want 3", len(accounts))
	}
	count := func(version string) int {
		var c struct{ Count int }
		apiGet(t, inst.URL+"/api/"+version+"/notifications/unread_count", alice.Token).ok(t, &c)
		return c.Count
	}
	if v1, v2 := count("v1"), count("v2"); v1 != 7 || v2 != 3 {
		t.Errorf("unread without a marker: v1 %d, v2 %d; want 7 notifications in 3 groups", v1, v2)
	}
	apiForm(t, http.MethodPost, inst.URL+"/api/v1/markers", alice.Token, "notifications[last_read_id]="+fav.MostRecentNotificationID).ok(t, nil)
	if v1, v2 := count("v1"), count("v2"); v1 != 1 || v2 != 1 {
		t.Errorf("unread after the marker: v1 %d, v2 %d; want the mention alone", v1, v2)
	}

	apiDo(t, http.MethodPost, inst.URL+"/api/v2/notifications/"+fav.GroupKey+"/dismiss", alice.Token, "", "").ok(t, nil)
	after, _ := get("")
	for _, g := range after.NotificationGroups {
		if g.Type == "favourite" {
			t.Errorf("dismissed group still listed: %+v", g)
		}
	}
	apiGet(t, inst.URL+"/api/v2/notifications/"+fav.GroupKey, alice.Token).expectError(t, http.StatusNotFound, "Record not found")
}

// TestNotificationPolicyAndRequests filters notifications from people one has no tie to into
// requests, lets them through when a request is accepted, and drops them when asked to.
func TestNotificationPolicyAndRequests(t *testing.T) {
	inst := testrig.StartInstance(t)
	alice, friend, stranger, other := inst.CreateUser(t, "alice"), inst.CreateUser(t, "friend"), inst.CreateUser(t, "stranger"), inst.CreateUser(t, "other")
	followUser(t, inst, alice, friend)

	var policy map[string]any
	resp := apiGet(t, inst.URL+"/api/v2/notifications/policy", alice.Token)
	resp.ok(t, &policy)
	for field, want := range map[string]string{"for_not_following": "accept", "for_not_followers": "accept", "for_new_accounts": "accept", "for_private_mentions": "filter", "for_limited_accounts": "filter"} {
		if policy[field] != want {
			t.Errorf("default %s = %v, want %s (Mastodon 4.3's default)", field, policy[field], want)
		}
	}
	if _, ok := policy["summary"].(map[string]any)["pending_requests_count"]; !ok {
		t.Errorf("policy lacks summary.pending_requests_count: %s", resp.Body)
	}

	mentions := func(query string) []string {
		var ns []struct {
			Type    string
			Account struct{ Username string }
		}
		apiGet(t, inst.URL+"/api/v1/notifications"+query, alice.Token).ok(t, &ns)
		var who []string
		for _, n := range ns {
			who = append(who, n.Type+":"+n.Account.Username)
		}
		slices.Sort(who)
		return who
	}
	// By default a private mention from a stranger is set aside; one from a followed friend is not.
	postStatus(t, inst, stranger, gomastodon.Toot{Status: "@alice psst", Visibility: "direct"})
	postStatus(t, inst, friend, gomastodon.Toot{Status: "@alice psst", Visibility: "direct"})
	if got := mentions(""); !slices.Equal(got, []string{"mention:friend"}) {
		t.Errorf("notifications = %v, want the friend's private mention only", got)
	}
	if got := mentions("?include_filtered=true"); !slices.Equal(got, []string{"mention:friend", "mention:stranger"}) {
		t.Errorf("include_filtered = %v, want both", got)
	}
	type request struct {
		ID                 string `json:"id"`
		NotificationsCount string `json:"notifications_count"`
		Account            struct{ Username string }
		LastStatus         *struct{ ID string } `json:"last_status"`
	}
	var reqs []request
	apiGet(t, inst.URL+"/api/v1/notifications/requests", alice.Token).ok(t, &reqs)
	if len(reqs) != 1 || reqs[0].Account.Username != "stranger" || reqs[0].NotificationsCount != "1" || reqs[0].LastStatus == nil {
		t.Fatalf("requests = %+v, want the stranger's", reqs)
	}
	apiDo(t, http.MethodPost, inst.URL+"/api/v1/notifications/requests/"+reqs[0].ID+"/accept", alice.Token, "", "").ok(t, nil)
	if got := mentions(""); !slices.Equal(got, []string{"mention:friend", "mention:stranger"}) {
		t.Errorf("after accepting: %v, want the stranger's mention let through", got)
	}
	apiGet(t, inst.URL+"/api/v1/notifications/requests/"+reqs[0].ID, alice.Token).expectError(t, http.StatusNotFound, "Record not found")

	// Filtering people alice does not follow; then dismissing a request deletes its notifications.
	var updated map[string]any
	apiJSON(t, http.MethodPatch, inst.URL+"/api/v2/notifications/policy", alice.Token, `{"for_not_following":"filter"}`).ok(t, &updated)
	if updated["for_not_following"] != "filter" || updated["for_private_mentions"] != "filter" {
		t.Errorf("PATCH answered %v", updated)
	}
	postStatus(t, inst, other, gomastodon.Toot{Status: "@alice hello", Visibility: "public"})
	if got := mentions(""); slices.Contains(got, "mention:other") {
		t.Errorf("a mention from someone alice does not follow passed the filter: %v", got)
	}
	apiGet(t, inst.URL+"/api/v1/notifications/requests", alice.Token).ok(t, &reqs)
	if len(reqs) != 1 || reqs[0].Account.Username != "other" {
		t.Fatalf("requests = %+v, want other's", reqs)
	}
	apiDo(t, http.MethodPost, inst.URL+"/api/v1/notifications/requests/dismiss?id[]="+reqs[0].ID, alice.Token, "", "").ok(t, nil)
	if got := mentions("?include_filtered=true"); slices.Contains(got, "mention:other") {
		t.Errorf("dismissed request's notification still there: %v", got)
	}

	// Drop: not even a request.
	apiJSON(t, http.MethodPatch, inst.URL+"/api/v2/notifications/policy", alice.Token, `{"for_not_following":"drop"}`).ok(t, nil)
	postStatus(t, inst, other, gomastodon.Toot{Status: "@alice again", Visibility: "public"})
	apiGet(t, inst.URL+"/api/v1/notifications/requests", alice.Token).ok(t, &reqs)
	if len(reqs) != 0 || slices.Contains(mentions("?include_filtered=true"), "mention:other") {
		t.Errorf("dropped notification shows: requests %+v", reqs)
	}
	apiJSON(t, http.MethodPatch, inst.URL+"/api/v2/notifications/policy", alice.Token, `{"for_not_following":"sometimes"}`).
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: for_not_following is not included in the list")

	// API v1's boolean view of the same policy.
	var v1 map[string]any
	apiGet(t, inst.URL+"/api/v1/notifications/policy", alice.Token).ok(t, &v1)
	if v1["filter_not_following"] != true || v1["filter_not_followers"] != false {
		t.Errorf("v1 policy = %v", v1)
	}
	var merged map[string]bool
	apiGet(t, inst.URL+"/api/v1/notifications/requests/merged", alice.Token).ok(t, &merged)
	if !merged["merged"] {
		t.Errorf("merged = %v", merged)
	}
}

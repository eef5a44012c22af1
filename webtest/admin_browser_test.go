package webtest_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"watercooler/signup"
	"watercooler/testrig"
)

// TestAdminPage: an admin of eng, whose deliveries to a follower's department (sales) failed
// while sales was down, opens the admin page from the menu, sees the failures on sales's
// chart, retries a delivery dead-lettered during a long outage once sales is back (it arrives),
// and suspends an account; all of it at phone width too, without overflow.
func TestAdminPage(t *testing.T) {
	eng, sales := testrig.StartInstance(t), testrig.StartInstance(t)
	boss := eng.CreateUser(t, "boss", func(p *signup.Params) { p.Admin = true })
	alice, mallory := eng.CreateUser(t, "alice"), eng.CreateUser(t, "mallory")
	bob := sales.CreateUser(t, "bob")
	salesHost := sales.Config.Domain()
	ctx := context.Background()

	var found struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	if code := apiCall(t, http.MethodGet, sales.API("/api/v2/search?type=accounts&resolve=true&q=%s", url.QueryEscape("alice@"+eng.Config.Domain())), bob.Token, nil, &found); code != http.StatusOK || len(found.Accounts) != 1 {
		t.Fatalf("bob's search for alice: %d, %d accounts", code, len(found.Accounts))
	}
	if code := apiCall(t, http.MethodPost, sales.API("/api/v1/accounts/%s/follow", found.Accounts[0].ID), bob.Token, nil, nil); code != http.StatusOK {
		t.Fatalf("follow: %d", code)
	}
	testrig.Eventually(t, 20*time.Second, "alice has bob as a follower", func() bool {
		inboxes, err := eng.Store.RemoteFollowerInboxes(ctx, alice.Account.ID)
		return err == nil && len(inboxes) == 1
	})

	sales.Stop()
	post := func(text string) (statusID string) {
		var st struct {
			ID string `json:"id"`
		}
		if code := apiCall(t, http.MethodPost, eng.API("/api/v1/statuses"), alice.Token, map[string]string{"status": text}, &st); code != http.StatusOK {
			t.Fatalf("post: %d", code)
		}
		return st.ID
	}
	post("while sales is down")
	testrig.Eventually(t, 20*time.Second, "deliveries to sales fail", func() bool {
		since, err := eng.Store.HostFailingSince(ctx, salesHost)
		return err == nil && !since.IsZero()
	})
	// Sales has been down for two hours, as eng sees it: the next delivery is dead-lettered.
	if err := eng.Store.ClearHostFailure(ctx, salesHost); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Store.HostFailed(ctx, salesHost, time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	late := post("after a long outage")
	// The earlier post's retry may be dead-lettered too, before or after this one: retry the
	// late post's own letter, found by its activity.
	var lateLetterID string
	adminToken := bossToken(t, eng, boss)
	testrig.Eventually(t, 20*time.Second, "the late post's dead letter", func() bool {
		var dead []struct {
			ID         string `json:"id"`
			ActivityID string `json:"activity_id"`
		}
		if apiCall(t, http.MethodGet, eng.API("/api/v1/admin/dead_letters"), adminToken, nil, &dead) != http.StatusOK {
			return false
		}
		for _, d := range dead {
			if strings.Contains(d.ActivityID, late) {
				lateLetterID = d.ID
				return true
			}
		}
		return false
	})

	waitStreaming(t, eng)
	u, _ := url.Parse(eng.URL)
	b := startBrowser(t, eng.URL+"/", "ws://"+u.Host+"/api/v1/streaming")
	b.signIn(eng, "boss@example.com", boss.Password)
	b.do("open Admin", chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/admin"]`)))
	chartSel := `svg.chart[data-host=` + js(salesHost) + `]`
	b.waitJS("sales's chart with failures", `!!document.querySelector(`+js(chartSel+" rect.bad")+`) && document.querySelector("main h1")?.textContent === "Admin"`)
	if got := eval[string](b, "sales's totals", `document.querySelector(`+js(`figure[data-host=`+js(salesHost)+`] .peer-totals`)+`).textContent`); !strings.Contains(got, "failed") || strings.Contains(got, " 0 failed") {
		t.Errorf("sales's totals = %q, want failures", got)
	}
	b.shot("admin")
	b.checkAccessibility("the admin page")
	b.noOverflow("the admin page")

	sales.Restart(t)
	letter := `.dead-letter[data-id=` + js(lateLetterID) + `]`
	b.do("retry the dead letter", chromedp.Click(chromedp.CSS(letter+" button")))
	b.waitJS("the dead letter leaves the list", `!document.querySelector(`+js(letter)+`)`)
	testrig.Eventually(t, 30*time.Second, "the retried post reaches bob", func() bool {
		var home []struct {
			Content string `json:"content"`
		}
		if apiCall(t, http.MethodGet, sales.API("/api/v1/timelines/home"), bob.Token, nil, &home) != http.StatusOK {
			return false
		}
		for _, st := range home {
			if strings.Contains(st.Content, "after a long outage") {
				return true
			}
		}
		return false
	})

	row := `.accounts li[data-acct="mallory"]`
	b.do("suspend mallory", chromedp.Click(chromedp.CSS(row+" button")))
	b.waitJS("mallory shown suspended", `document.querySelector(`+js(row)+`)?.dataset.state === "suspended"`)
	if a, err := eng.Store.Account(ctx, mallory.Account.ID); err != nil || !a.Suspended {
		t.Errorf("mallory after the click: %+v, %v", a, err)
	}
	if eval[bool](b, "no suspend button for the admin", `!!document.querySelector('.accounts li[data-acct="boss"] button')`) {
		t.Error("the page offers to suspend an administrator")
	}

	b.do("phone width", chromedp.EmulateViewport(360, 740))
	b.do("reload", chromedp.Reload())
	b.waitJS("the admin page again", `!!document.querySelector(`+js(chartSel)+`)`)
	b.noOverflow("the admin page at phone width")
	b.checkTraffic()
	b.checkNoProblems()
}

// bossToken mints an admin-scoped token for an administrator, for the test's own API calls.
func bossToken(t *testing.T, inst *testrig.Instance, u *testrig.User) string {
	t.Helper()
	tok, _, err := inst.Store.CreateToken(context.Background(), "", u.Account.ID, []string{"admin:read", "admin:write"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

package webtest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"watercooler/config"
	"watercooler/testrig"
)

// TestPeoplePage: in an organization of two departments, alice finds bob of Sales on the
// People page by what he knows, sees his department's name beside him, narrows the list to one
// department, and follows him.
func TestPeoplePage(t *testing.T) {
	named := func(title string) func(*config.Config) { return func(c *config.Config) { c.Title = title } }
	eng := testrig.StartInstance(t, named("Engineering"))
	sales := testrig.StartInstance(t, named("Sales"), func(c *config.Config) { c.Title, c.OrgJoin = "Sales", eng.URL })
	alice := eng.CreateUser(t, "alice")
	bob := sales.CreateUser(t, "bob")
	bobAcct := "bob@" + sales.Config.Domain()
	profile := map[string]any{"display_name": "Bob Berglund", "fields_attributes": []map[string]string{{"name": "Ask me about", "value": "Kubernetes"}}}
	if code := apiCall(t, http.MethodPatch, sales.API("/api/v1/accounts/update_credentials"), bob.Token, profile, nil); code != http.StatusOK {
		t.Fatalf("update_credentials: %d", code)
	}
	// The organization's directory reaches eng within its promise (org tests hold it to that).
	testrig.Eventually(t, 10*time.Second, "eng's directory lists bob", func() bool {
		var dir []struct {
			Acct string `json:"acct"`
		}
		return apiCall(t, http.MethodGet, eng.API("/api/v1/directory?local=false"), alice.Token, nil, &dir) == http.StatusOK &&
			len(dir) == 2 && (dir[0].Acct == bobAcct || dir[1].Acct == bobAcct)
	})
	waitStreaming(t, eng)

	u, _ := url.Parse(eng.URL)
	b := startBrowser(t, eng.URL+"/", sales.URL+"/", "ws://"+u.Host+"/api/v1/streaming")
	b.signIn(eng, "alice@example.com", alice.Password)

	row := `.people-results .account-row[data-acct=` + js(bobAcct) + `]`
	b.do("open People", chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/people"]`)))
	b.waitJS("bob listed with his department", `document.querySelector(`+js(row+" .department")+`)?.textContent === "Sales"`)
	b.shot("people")
	b.checkAccessibility("the People page")
	b.noOverflow("the People page")

	b.do("search by skill",
		chromedp.SendKeys(chromedp.CSS("#people-q"), "kube"),
		chromedp.Click(chromedp.CSS(".people-form button[type=submit]")))
	b.waitJS("bob found by what he knows", `location.search === "?q=kube" && document.querySelectorAll(".people-results .account-row").length === 1 && !!document.querySelector(`+js(row)+`)`)

	b.do("filter to Engineering", chromedp.Navigate(eng.URL+"/web/people"))
	b.waitJS("the department filter", `document.querySelectorAll("#people-department option").length === 3`)
	eval[bool](b, "choose Engineering", `(() => { const s = document.querySelector("#people-department"); s.value = `+js(eng.Config.Domain())+`; s.dispatchEvent(new Event("change")); return true; })()`)
	b.waitJS("only Engineering's people", `new URLSearchParams(location.search).get("department") === `+js(eng.Config.Domain())+` && [...document.querySelectorAll(".people-results .account-row")].map((r) => r.dataset.acct).join() === "alice"`)

	b.do("back to everyone", chromedp.Navigate(eng.URL+"/web/people"))
	b.do("follow bob", chromedp.WaitVisible(chromedp.CSS(row+" .follow-button")), chromedp.Click(chromedp.CSS(row+" .follow-button")))
	b.waitJS("the follow accepted", `document.querySelector(`+js(row+" .follow-button")+`)?.dataset.state === "following"`)
	b.checkTraffic()
	b.checkNoProblems()
}

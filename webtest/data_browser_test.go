package webtest_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"watercooler/testrig"
)

// TestImportExportPage: alice of eng, who follows bob (eng) and carol (sales), downloads her
// follows from the Import and export page; as dave of sales, a new account in another
// department, the same file is imported through sales's page, which shows the import until it
// is done, and dave then follows both.
func TestImportExportPage(t *testing.T) {
	eng, sales := testrig.StartInstance(t), testrig.StartInstance(t)
	alice, bob := eng.CreateUser(t, "alice"), eng.CreateUser(t, "bob")
	carol, dave := sales.CreateUser(t, "carol"), sales.CreateUser(t, "dave")
	bobAcct, carolAcct := "bob@"+eng.Config.Domain(), "carol@"+sales.Config.Domain()
	follow := func(inst *testrig.Instance, who *testrig.User, acct string) {
		t.Helper()
		var found struct {
			Accounts []struct {
				ID string `json:"id"`
			} `json:"accounts"`
		}
		if code := apiCall(t, http.MethodGet, inst.API("/api/v2/search?type=accounts&resolve=true&q=%s", url.QueryEscape(acct)), who.Token, nil, &found); code != http.StatusOK || len(found.Accounts) != 1 {
			t.Fatalf("search for %s: %d, %d accounts", acct, code, len(found.Accounts))
		}
		if code := apiCall(t, http.MethodPost, inst.API("/api/v1/accounts/%s/follow", found.Accounts[0].ID), who.Token, nil, nil); code != http.StatusOK {
			t.Fatalf("follow %s: %d", acct, code)
		}
	}
	follow(eng, alice, bob.Account.Username)
	follow(eng, alice, carolAcct)
	following := func(inst *testrig.Instance, who *testrig.User) []string {
		var accounts []struct {
			Acct string `json:"acct"`
		}
		if code := apiCall(t, http.MethodGet, inst.API("/api/v1/accounts/%s/following", who.Account.ID), who.Token, nil, &accounts); code != http.StatusOK {
			t.Fatalf("following of %s: %d", who.Account.Username, code)
		}
		var out []string
		for _, a := range accounts {
			out = append(out, a.Acct)
		}
		return out
	}
	testrig.Eventually(t, 20*time.Second, "alice follows bob and carol", func() bool { return len(following(eng, alice)) == 2 })

	engURL, _ := url.Parse(eng.URL)
	salesURL, _ := url.Parse(sales.URL)
	b := startBrowser(t, eng.URL+"/", sales.URL+"/", "ws://"+engURL.Host+"/api/v1/streaming", "ws://"+salesURL.Host+"/api/v1/streaming")
	downloads := t.TempDir()
	b.do("allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		})
		return err
	}))

	b.signIn(eng, "alice@example.com", alice.Password)
	b.do("open Import and export", chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/settings/data"]`)))
	b.waitJS("the page", `document.querySelector("main h1")?.textContent === "Import and export" && !!document.querySelector('[data-export="follows.csv"]')`)
	b.shot("data-page")
	b.checkAccessibility("the import and export page")
	b.noOverflow("the import and export page")
	b.do("download follows.csv", chromedp.Click(chromedp.CSS(`[data-export="follows.csv"]`)))
	exported := filepath.Join(downloads, "follows.csv")
	var csv string
	testrig.Eventually(t, 20*time.Second, "follows.csv in the download folder", func() bool {
		data, err := os.ReadFile(exported)
		csv = string(data)
		return err == nil && strings.Count(csv, "\n") == 3 // header and two follows, the last line ended
	})
	for _, acct := range []string{bobAcct, carolAcct} {
		if !strings.Contains(csv, acct+",") {
			t.Errorf("follows.csv lacks %s:\n%s", acct, csv)
		}
	}

	b.signIn(sales, "dave@example.com", dave.Password)
	b.do("open Import and export on sales", chromedp.Click(chromedp.CSS(`#side-nav a[href="/web/settings/data"]`)))
	b.waitJS("sales's page", `document.querySelector("main h1")?.textContent === "Import and export" && !!document.querySelector("#import-file")`)
	b.do("import alice's follows",
		chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{exported}),
		chromedp.Click(chromedp.CSS(`.import-form button[type="submit"]`)))
	// The import worker polls every two seconds and looks each account up over federation.
	b.waitJS("the import shown done", `document.querySelector(".imports li")?.dataset.state === "finished"`)
	if got := eval[string](b, "the import's outcome", `document.querySelector(".imports .import-progress").textContent`); got != "Done: 2 imported." {
		t.Errorf("the import says %q, want Done: 2 imported.", got)
	}
	b.shot("data-import-done")
	testrig.Eventually(t, 20*time.Second, "dave follows bob and carol", func() bool {
		got := strings.Join(following(sales, dave), " ")
		return strings.Contains(got, bobAcct) && strings.Contains(got, carol.Account.Username)
	})
	b.do("phone width", chromedp.EmulateViewport(360, 740))
	b.noOverflow("the import and export page at phone width")
	b.checkTraffic()
	b.checkNoProblems()
}

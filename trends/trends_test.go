package trends

import (
	"slices"
	"testing"
)

// TestTrendLinksOfStatusHTML reads the web links of status HTML as Mastodon renders it and as
// other servers send it: mentions and hashtags are not links to trend.
func TestTrendLinksOfStatusHTML(t *testing.T) {
	for _, tc := range []struct {
		html string
		want []string
	}{
		{`<p>see <a href="https://example.com/a" rel="nofollow noopener">example.com/a</a></p>`, []string{"https://example.com/a"}},
		{`<p><span class="h-card"><a href="https://x.example/@bob" class="u-url mention">@bob</a></span></p>`, nil},
		{`<p><a href="https://x.example/tags/go" class="mention hashtag" rel="tag">#go</a></p>`, nil},
		{`<p><a href="https://x.example/tags/go" rel="tag">#go</a></p>`, nil},
		{`<a href="https://a.example/x#one">1</a><a href="https://a.example/x#two">2</a>`, []string{"https://a.example/x"}},
		{`<a href="javascript:alert(1)">no</a><a href="mailto:a@b">no</a><a href="/relative">no</a>`, nil},
	} {
		if got := Links(tc.html); !slices.Equal(got, tc.want) {
			t.Errorf("Links(%s) = %v, want %v", tc.html, got, tc.want)
		}
	}
}

// TestReachFavoursDepartments: what reached more departments scores higher whatever the number
// of people inside one, and among equal departments more people score higher.
func TestReachFavoursDepartments(t *testing.T) {
	for _, tc := range []struct {
		name            string
		aDepts, aPeople int
		bDepts, bPeople int
	}{
		{"two departments over one team of fifty", 2, 2, 1, 50},
		{"two departments over one team of a thousand", 2, 2, 1, 1000},
		{"more people in as many departments", 2, 5, 2, 2},
		{"someone over no one", 1, 1, 0, 0},
	} {
		if a, b := reach(tc.aDepts, tc.aPeople), reach(tc.bDepts, tc.bPeople); a <= b {
			t.Errorf("%s: reach(%d, %d) = %v, not above reach(%d, %d) = %v", tc.name, tc.aDepts, tc.aPeople, a, tc.bDepts, tc.bPeople, b)
		}
	}
}

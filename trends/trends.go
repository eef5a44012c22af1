// Package trends ranks what the organization has used, boosted and favourited over the last
// days: hashtags, statuses and links, as Mastodon's /api/v1/trends endpoints show them. Every
// department receives the others' public posts, boosts and favourites (federation's
// organization relay), so each ranks the whole organization from its own Redis. What crossed
// department lines weighs most: a score counts the distinct departments (servers) of the people
// who used, boosted or favourited something first, and how many people only second, so that a
// tip boosted in two other departments ranks above one boosted many times inside one team.
// Rankings are computed when asked, from bounded candidate sets already kept in Redis (the public
// timelines and the hashtag index), so no worker or extra write path is needed.
package trends

import (
	"context"
	"errors"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/html"

	"watercooler/store"
)

// Ranking windows and bounds. The window is two days, weighted towards the last hours by a
// half-life, as Mastodon's trends decay; history covers the week apps draw as a sparkline.
const (
	Window            = 48 * time.Hour
	HistoryDays       = 7
	halfLife          = 12 * time.Hour
	tagCandidates     = 100
	statusCandidates  = 400
	linkCandidates    = 1000
	cardFetchesAtOnce = 4
)

// Cards fetches a link's preview card; federation.Federator is the implementation, through the
// guarded fetcher every remote request takes.
type Cards interface {
	PreviewCard(ctx context.Context, url string) (*store.Card, error)
}

// Ranker ranks one department's trends.
type Ranker struct {
	store *store.Store
	cards Cards
	now   func() time.Time
}

// New returns a Ranker over st; cards may be nil, and then no link trends (a link is shown only
// with its card, as in Mastodon).
func New(st *store.Store, cards Cards) *Ranker {
	return &Ranker{store: st, cards: cards, now: time.Now}
}

// Day is one day of a trend's history.
type Day struct {
	Day            time.Time
	Uses, Accounts int64
}

// reach scores something used or interacted with by people from departments departments:
// each department counts one, and the people together less than one more department until they
// are thousands (a tenth of the logarithm), so breadth across departments leads and numbers
// order what reached as many departments.
func reach(departments, people int) float64 {
	if people == 0 {
		return 0
	}
	return float64(departments) + 0.1*math.Log1p(float64(people))
}

// Tags ranks hashtags by how many departments and people used them in public posts in the
// window, today weighing more than yesterday, then by uses.
func (r *Ranker) Tags(ctx context.Context) ([]string, error) {
	now := r.now()
	names, err := r.store.RecentTags(ctx, now.Add(-Window), tagCandidates)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	history, err := r.store.TagsHistory(ctx, names, now, 2)
	if err != nil {
		return nil, err
	}
	score := map[string]float64{}
	for _, name := range names {
		for i, d := range history[name] {
			weight := math.Pow(0.5, float64(i)) // today 1, yesterday ½
			score[name] += weight * (reach(int(d.Departments), int(d.Accounts)) + float64(d.Uses)/1e6)
		}
	}
	ranked := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return score[n] == 0 })
	slices.SortStableFunc(ranked, func(a, b string) int { return compareDesc(score[a], score[b]) })
	return ranked, nil
}

// Statuses ranks public, original, non-reply statuses of the window by the departments and
// people that boosted or favourited them (reach), halving every halfLife of the status's age. Statuses
// behind a content warning or marked sensitive stay out, as Mastodon keeps them out of trends.
func (r *Ranker) Statuses(ctx context.Context) ([]*store.Status, error) {
	now := r.now()
	candidates, err := r.store.RecentPublicStatuses(ctx, now.Add(-Window), statusCandidates)
	if err != nil {
		return nil, err
	}
	candidates = slices.DeleteFunc(candidates, func(st *store.Status) bool {
		return st.InReplyToID != "" || st.ReblogOfID != "" || st.Sensitive || st.SpoilerText != ""
	})
	ids := make([]string, len(candidates))
	for i, st := range candidates {
		ids[i] = st.ID
	}
	interactors, err := r.store.StatusInteractors(ctx, ids)
	if err != nil {
		return nil, err
	}
	score := make(map[string]float64, len(candidates))
	for _, st := range candidates {
		who := interactors[st.ID]
		score[st.ID] = reach(countDepartments(who), len(who)) * decay(now.Sub(st.CreatedAt))
	}
	ranked := slices.DeleteFunc(candidates, func(st *store.Status) bool { return score[st.ID] <= 0 })
	slices.SortStableFunc(ranked, func(a, b *store.Status) int { return compareDesc(score[a.ID], score[b.ID]) })
	return ranked, nil
}

// Link is a trending link: its preview card and a week of history.
type Link struct {
	Card    store.Card
	History []Day
}

// Links ranks the links shared in public posts by the departments and people that shared them
// in the window or boosted or favourited those posts (reach), and returns the first n that have
// a preview card, fetching missing cards a few at a time.
func (r *Ranker) Links(ctx context.Context, n int) ([]Link, error) {
	if r.cards == nil || n <= 0 {
		return nil, nil
	}
	now := r.now()
	today := now.UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(HistoryDays - 1))
	candidates, err := r.store.RecentPublicStatuses(ctx, since, linkCandidates)
	if err != nil {
		return nil, err
	}
	authorIDs := make([]string, 0, len(candidates))
	for _, st := range candidates {
		authorIDs = append(authorIDs, st.AccountID)
	}
	slices.Sort(authorIDs)
	authors, err := r.store.Accounts(ctx, slices.Compact(authorIDs))
	if err != nil {
		return nil, err
	}
	type tally struct {
		sharers   map[string]bool // in the window
		days      [HistoryDays]map[string]int64
		statusIDs []string // in the window
	}
	tallies := map[string]*tally{}
	var order []string
	for _, st := range candidates {
		if st.ReblogOfID != "" {
			continue
		}
		for _, link := range Links(st.Content) {
			t := tallies[link]
			if t == nil {
				t = &tally{sharers: map[string]bool{}}
				tallies[link] = t
				order = append(order, link)
			}
			day := int(today.Sub(st.CreatedAt.UTC().Truncate(24*time.Hour)) / (24 * time.Hour))
			if day >= 0 && day < HistoryDays {
				if t.days[day] == nil {
					t.days[day] = map[string]int64{}
				}
				t.days[day][st.AccountID]++
			}
			if now.Sub(st.CreatedAt) <= Window {
				t.sharers[st.AccountID] = true
				t.statusIDs = append(t.statusIDs, st.ID)
			}
		}
	}
	var shared []string
	for _, t := range tallies {
		shared = append(shared, t.statusIDs...)
	}
	interactors, err := r.store.StatusInteractors(ctx, shared)
	if err != nil {
		return nil, err
	}
	score := map[string]float64{}
	for link, t := range tallies {
		if len(t.sharers) == 0 {
			continue
		}
		var who []store.Interactor
		for id := range t.sharers {
			if a, ok := authors[id]; ok {
				who = append(who, store.Interactor{AccountID: id, Domain: a.Domain})
			}
		}
		for _, id := range t.statusIDs {
			who = append(who, interactors[id]...)
		}
		score[link] = reach(countDepartments(who), countPeople(who))
	}
	ranked := slices.DeleteFunc(order, func(l string) bool { return score[l] == 0 })
	slices.SortStableFunc(ranked, func(a, b string) int { return compareDesc(score[a], score[b]) })

	out := make([]Link, 0, n)
	for start := 0; start < len(ranked) && len(out) < n; start += cardFetchesAtOnce {
		batch := ranked[start:min(start+cardFetchesAtOnce, len(ranked))]
		cards := make([]*store.Card, len(batch))
		var wg sync.WaitGroup
		var failed error
		var mu sync.Mutex
		for i, link := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := r.cards.PreviewCard(ctx, link)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
				cards[i] = c
			}()
		}
		wg.Wait()
		if failed != nil {
			return nil, failed
		}
		for i, link := range batch {
			if cards[i] == nil || len(out) == n {
				continue
			}
			t := tallies[link]
			history := make([]Day, HistoryDays)
			for d := range HistoryDays {
				history[d].Day = today.AddDate(0, 0, -d)
				for _, uses := range t.days[d] {
					history[d].Uses += uses
					history[d].Accounts++
				}
			}
			out = append(out, Link{Card: *cards[i], History: history})
		}
	}
	return out, nil
}

// Links lists the web links of a status's HTML in order, once each: anchors that are not
// mentions or hashtags, with http or https URLs, fragments dropped.
func Links(content string) []string {
	var out []string
	z := html.NewTokenizer(strings.NewReader(content))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out
		}
		if tt != html.StartTagToken {
			continue
		}
		tok := z.Token()
		if tok.Data != "a" {
			continue
		}
		var href, class, rel string
		for _, a := range tok.Attr {
			switch a.Key {
			case "href":
				href = a.Val
			case "class":
				class = a.Val
			case "rel":
				rel = a.Val
			}
		}
		classes, rels := strings.Fields(class), strings.Fields(rel)
		if slices.Contains(classes, "mention") || slices.Contains(classes, "hashtag") || slices.Contains(rels, "tag") {
			continue
		}
		u, err := url.Parse(href)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		u.Fragment = ""
		if link := u.String(); !slices.Contains(out, link) {
			out = append(out, link)
		}
	}
}

// countDepartments counts the distinct departments among who.
func countDepartments(who []store.Interactor) int {
	seen := map[string]bool{}
	for _, w := range who {
		seen[w.Domain] = true
	}
	return len(seen)
}

// countPeople counts the distinct accounts among who.
func countPeople(who []store.Interactor) int {
	seen := map[string]bool{}
	for _, w := range who {
		seen[w.AccountID] = true
	}
	return len(seen)
}

func decay(age time.Duration) float64 {
	if age < 0 {
		age = 0
	}
	return math.Pow(0.5, age.Hours()/halfLife.Hours())
}

func compareDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

package mastodon

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"sync"

	"watercooler/store"
)

// Encoding a page of statuses with encoding/json was a fifth of the home timeline's CPU, and a
// page shows the same statuses to every reader, who differ only in their flags (favourited,
// reblogged, muted, bookmarked, pinned), their filter results, whether they may quote it, and a
// poll's votes. StatusJSON keeps each status's JSON without the flags and filter results, and
// splices in each reader's own. An entry holds the very records it was made from (records read
// through the store's cache or memo are the same pointers while unchanged), so a changed status,
// author, counter, mention or attachment is a miss and is encoded again: nothing needs to be
// invalidated, and a reader never sees JSON older than the records it read.
//
// The output is byte for byte json.Marshal(StatusFrom(site, d)).

// StatusJSONEntries bounds a StatusJSON cache: entries are some 1.5 KiB, so about 6 MiB when full.
const StatusJSONEntries = 4096

// StatusJSON is a bounded cache of statuses' reader-independent JSON; safe for concurrent use.
type StatusJSON struct {
	site Site
	max  int

	mu      sync.Mutex
	entries map[string]*statusCore
}

// statusCore is a status's JSON without the reader's fields, and what it was made of.
type statusCore struct {
	status        *store.Status
	account       *store.Account
	accountCounts store.AccountCounts
	counts        store.StatusCounts
	mentions      []*store.Account
	media         []*store.Media
	approval      *QuoteApproval

	// json is the entity with no viewer flags, filter results or boosted status ("reblog":null
	// at reblogAt for a boost, where the boosted status goes); it ends with '}'.
	json     []byte
	reblogAt int
}

// NewStatusJSON makes a cache of at most max statuses.
func NewStatusJSON(site Site, max int) *StatusJSON {
	return &StatusJSON{site: site, max: max, entries: make(map[string]*statusCore)}
}

// Append appends the JSON of the Status entity of d to buf.
func (c *StatusJSON) Append(buf []byte, d *StatusData) ([]byte, error) {
	if d.Poll != nil || d.Quote != nil {
		// A poll carries the reader's votes and a quote the reader's view of another status,
		// both in the middle of the entity: encoded whole, as rarer.
		b, err := json.Marshal(StatusFrom(c.site, d))
		return append(buf, b...), err
	}
	core, err := c.core(d)
	if err != nil {
		return buf, err
	}
	body := core.json[:len(core.json)-1]
	if d.Reblog != nil && core.reblogAt >= 0 {
		buf = append(buf, body[:core.reblogAt]...)
		buf = append(buf, `"reblog":`...)
		if buf, err = c.Append(buf, d.Reblog); err != nil {
			return buf, err
		}
		body = body[core.reblogAt+len(nullReblog):]
	}
	buf = append(buf, body...)
	if v := d.Viewer; v != nil {
		buf = appendFlag(buf, `,"favourited":`, v.Favourited)
		buf = appendFlag(buf, `,"reblogged":`, v.Reblogged)
		buf = appendFlag(buf, `,"muted":`, v.Muted)
		buf = appendFlag(buf, `,"bookmarked":`, v.Bookmarked)
		buf = appendFlag(buf, `,"pinned":`, v.Pinned)
	}
	if len(d.Filtered) > 0 {
		b, err := json.Marshal(d.Filtered)
		if err != nil {
			return buf, err
		}
		buf = append(buf, `,"filtered":`...)
		buf = append(buf, b...)
	}
	return append(buf, '}'), nil
}

const nullReblog = `"reblog":null`

func appendFlag(buf []byte, name string, v bool) []byte {
	return strconv.AppendBool(append(buf, name...), v)
}

// core returns the reader-independent JSON of d, encoding it when what it is made of changed.
func (c *StatusJSON) core(d *StatusData) (*statusCore, error) {
	key := d.Status.ID
	c.mu.Lock()
	cached := c.entries[key]
	c.mu.Unlock()
	if cached != nil && cached.madeOf(d) {
		return cached, nil
	}
	plain := *d
	plain.Viewer, plain.Filtered, plain.Reblog = nil, nil, nil
	b, err := json.Marshal(StatusFrom(c.site, &plain))
	if err != nil {
		return nil, err
	}
	core := &statusCore{
		status: d.Status, account: d.Account, accountCounts: d.AccountCounts, counts: d.Counts,
		mentions: d.Mentions, media: d.Media, approval: d.QuoteApproval, json: b, reblogAt: -1,
	}
	if d.Status.ReblogOfID != "" {
		// JSON escapes every quote inside strings, so the only unescaped "reblog":null is the key.
		core.reblogAt = bytes.Index(b, []byte(nullReblog))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Full: drop about a tenth, arbitrary entries (map order is random); what is still shown
		// comes back on its next render.
		drop := c.max/10 + 1
		for k := range c.entries {
			delete(c.entries, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.entries[key] = core
	return core, nil
}

// madeOf reports whether the core was made of exactly what d renders. The quote approval is
// built anew for every reader, so it is compared by value.
func (core *statusCore) madeOf(d *StatusData) bool {
	return core.status == d.Status && core.account == d.Account && core.accountCounts == d.AccountCounts &&
		core.counts == d.Counts && slices.Equal(core.mentions, d.Mentions) && slices.Equal(core.media, d.Media) &&
		sameApproval(core.approval, d.QuoteApproval)
}

func sameApproval(a, b *QuoteApproval) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.CurrentUser == b.CurrentUser && slices.Equal(a.Automatic, b.Automatic) && slices.Equal(a.Manual, b.Manual)
}

package mastodon

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

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
	site  Site
	cores *jsonMemo[statusInputs]
}

// statusInputs is what a status's reader-independent JSON is made of.
type statusInputs struct {
	status        *store.Status
	account       *store.Account
	accountCounts store.AccountCounts
	counts        store.StatusCounts
	mentions      []*store.Account
	media         []*store.Media
	approval      *QuoteApproval
}

// NewStatusJSON makes a cache of at most max statuses.
func NewStatusJSON(site Site, max int) *StatusJSON {
	return &StatusJSON{site: site, cores: newJSONMemo(max, sameStatusInputs)}
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
	// The core has no viewer flags, filter results or boosted status: "reblog":null is where a
	// boost's status goes, and the reader's fields go before the closing brace.
	body := core[:len(core)-1]
	if d.Reblog != nil {
		// JSON escapes every quote inside strings, so the only unescaped "reblog":null is the key.
		if at := bytes.Index(body, []byte(nullReblog)); at >= 0 {
			buf = append(buf, body[:at]...)
			buf = append(buf, `"reblog":`...)
			if buf, err = c.Append(buf, d.Reblog); err != nil {
				return buf, err
			}
			body = body[at+len(nullReblog):]
		}
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
func (c *StatusJSON) core(d *StatusData) ([]byte, error) {
	in := statusInputs{
		status: d.Status, account: d.Account, accountCounts: d.AccountCounts, counts: d.Counts,
		mentions: d.Mentions, media: d.Media, approval: d.QuoteApproval,
	}
	return c.cores.get(d.Status.ID, in, func() ([]byte, error) {
		plain := *d
		plain.Viewer, plain.Filtered, plain.Reblog = nil, nil, nil
		return json.Marshal(StatusFrom(c.site, &plain))
	})
}

// sameStatusInputs reports whether a and b make the same JSON. The quote approval is built
// anew for every reader, so it is compared by value, and so are the status and author when
// they are not the very records (a caller may hold a copy of its own).
func sameStatusInputs(a, b *statusInputs) bool {
	return sameRecord(a.status, b.status) && sameRecord(a.account, b.account) && a.accountCounts == b.accountCounts &&
		a.counts == b.counts && slices.Equal(a.mentions, b.mentions) && slices.Equal(a.media, b.media) &&
		sameApproval(a.approval, b.approval)
}

func sameApproval(a, b *QuoteApproval) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.CurrentUser == b.CurrentUser && slices.Equal(a.Automatic, b.Automatic) && slices.Equal(a.Manual, b.Manual)
}

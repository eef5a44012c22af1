package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"watercooler/store"
)

// accountRefresh is how old a remote account may get before it is fetched again.
const accountRefresh = 24 * time.Hour

// maxMentionFetches bounds how many unknown mentioned accounts one note may make us fetch.
const maxMentionFetches = 5

// fetchObject fetches a document from its origin, refusing hosts the federation policy bars.
func (f *Federator) fetchObject(ctx context.Context, id string) (map[string]any, error) {
	policy, err := f.policy.get(ctx)
	if err != nil {
		return nil, err
	}
	if !policy.Permits(HostOf(id)) {
		return nil, reject("%s is not a host we federate with", HostOf(id))
	}
	obj, _, err := f.fetcher.GetActivity(ctx, id)
	if err != nil {
		// 404 and 410 say the object is not there to be had: retrying the activity that named
		// it would only fetch it again, as Mastodon and GoToSocial also conclude.
		var gone *StatusError
		if errors.Is(err, ErrForbiddenAddress) || errors.Is(err, ErrIDMismatch) || errors.Is(err, ErrNotActivityPub) || errors.Is(err, ErrTooLarge) ||
			(errors.As(err, &gone) && (gone.Code == http.StatusNotFound || gone.Code == http.StatusGone)) {
			return nil, reject("fetch %s: %v", id, err)
		}
		return nil, fmt.Errorf("fetch %s: %w", id, err)
	}
	return obj, nil
}

// resolveAccount returns the stored account of an actor URI, fetching it when unknown or stale.
func (f *Federator) resolveAccount(ctx context.Context, uri string, refresh bool) (*store.Account, error) {
	acct, err := f.store.AccountByURI(ctx, uri)
	if err == nil && (acct.Local() || (!refresh && time.Since(acct.FetchedAt) < accountRefresh)) {
		return acct, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	obj, ferr := f.fetchObject(ctx, uri)
	if ferr != nil {
		if acct != nil {
			return acct, nil // a stale copy beats none while its server is away
		}
		return nil, ferr
	}
	return f.storeActor(ctx, obj, uri)
}

// storeActor saves a fetched actor document, which must be the actor at uri.
func (f *Federator) storeActor(ctx context.Context, obj map[string]any, uri string) (*store.Account, error) {
	t, err := ParseMap(ctx, obj)
	if err != nil {
		return nil, reject("unparseable actor %s: %v", uri, err)
	}
	fetched, err := PersonToAccount(f.site, t, obj)
	if err != nil {
		return nil, reject("bad actor %s: %v", uri, err)
	}
	if fetched.URI != uri {
		return nil, reject("actor document %s claims id %s", uri, fetched.URI)
	}
	if fetched.Domain == f.site.Domain {
		return nil, reject("remote actor %s claims our domain", uri)
	}
	return f.store.PutRemoteAccount(ctx, fetched)
}

// storeNote saves a remote note (fetching missing ancestors up to the depth limit) and returns
// its status; a note already stored is returned as it is, so redelivery changes nothing.
func (f *Federator) storeNote(ctx context.Context, obj map[string]any, depth int) (*store.Status, error) {
	st, _, err := f.storeNewNote(ctx, obj, depth)
	return st, err
}

// storeNewNote is storeNote that also reports whether this call stored the note, so that an
// activity that brought nothing new can say so.
func (f *Federator) storeNewNote(ctx context.Context, obj map[string]any, depth int) (*store.Status, bool, error) {
	uri := rawID(obj["id"])
	if existing, err := f.store.StatusByURI(ctx, uri); err == nil {
		return existing, false, nil
	}
	if tomb, err := f.store.IsTombstoned(ctx, uri); err != nil {
		return nil, false, err
	} else if tomb {
		return nil, false, reject("%s was deleted", uri)
	}
	t, err := ParseMap(ctx, obj)
	if err != nil {
		return nil, false, reject("unparseable note %s: %v", uri, err)
	}
	pn, err := NoteToStatus(f.site, t, obj)
	if err != nil {
		return nil, false, reject("bad note %s: %v", uri, err)
	}
	if HostOf(pn.AttributedTo) != HostOf(uri) {
		return nil, false, reject("note %s attributed to another host", uri)
	}
	author, err := f.resolveAccount(ctx, pn.AttributedTo, false)
	if err != nil {
		return nil, false, err
	}
	st := store.Status{
		ID: store.RemoteID(pn.Published, uri), URI: uri, URL: pn.URL, AccountID: author.ID,
		Content: pn.Content, SpoilerText: pn.Summary, Sensitive: pn.Sensitive, Language: pn.Language,
		Visibility: VisibilityOf(pn.To, pn.Cc, author.FollowersURI), Tags: pn.Hashtags, CreatedAt: pn.Published,
		InReplyToURI: pn.InReplyTo,
	}
	if st.URL == "" {
		st.URL = uri
	}
	if pn.InReplyTo != "" {
		parent, err := f.store.StatusByURI(ctx, pn.InReplyTo)
		if errors.Is(err, store.ErrNotFound) && depth < f.opts.MaxThreadDepth {
			if parentObj, ferr := f.fetchObject(ctx, pn.InReplyTo); ferr == nil && noteTypes[rawID(parentObj["type"])] {
				parent, err = f.storeNote(ctx, parentObj, depth+1)
			}
		}
		if err == nil && parent != nil {
			st.InReplyToID, st.InReplyToAccountID = parent.ID, parent.AccountID
		}
	}
	st.Mentions = f.mentionedAccounts(ctx, pn.Mentions, addressees(pn, obj))
	for _, att := range pn.Attachments {
		m := &store.Media{AccountID: author.ID, Type: mediaTypeOf(att.MediaType), URL: att.URL, RemoteURL: att.URL,
			Description: att.Name, Blurhash: att.Blurhash, Width: att.Width, Height: att.Height,
			FocusX: att.FocusX, FocusY: att.FocusY, ContentType: att.MediaType, CreatedAt: st.CreatedAt}
		if err := f.store.CreateMedia(ctx, m); err != nil {
			return nil, false, err
		}
		st.MediaIDs = append(st.MediaIDs, m.ID)
	}
	st.QuotePolicy, st.QuoteManual = quotePolicyOf(pn, author)
	if err := f.attachQuote(ctx, &st, pn, author, depth); err != nil {
		return nil, false, err
	}
	claimed, err := f.store.ClaimURI(ctx, uri)
	if err != nil {
		return nil, false, err
	}
	if !claimed {
		return nil, false, fmt.Errorf("%s is being stored by another worker", uri) // retried later, then found
	}
	defer f.store.ReleaseURI(ctx, uri)
	if existing, err := f.store.StatusByURI(ctx, uri); err == nil {
		return existing, false, nil
	}
	created, err := f.store.CreateStatus(ctx, store.NewStatus{Status: st, Poll: pn.Poll})
	return created, err == nil, err
}

// maxAddressedLookups bounds how many of a note's addressees on this instance are looked up.
const maxAddressedLookups = 50

// addressees lists whom a note is addressed to: to, cc and audience. They, and not its tags,
// decide who receives it.
func addressees(pn *ParsedNote, obj map[string]any) []string {
	out := append(slices.Clip(pn.To), pn.Cc...)
	return append(out, rawIDs(obj["audience"])...)
}

// mentionedAccounts lists the accounts a note mentions, which store.CreateStatus notifies and,
// for a direct note, gives it to. Mention hrefs are mapped to accounts, fetching a few unknown
// remote ones; a local account counts only when the note is addressed to it, since a Mention tag
// alone would let anyone put a note addressed elsewhere before it. Local accounts addressed
// without a tag (Mastodon's silent mentions) receive the note too.
func (f *Federator) mentionedAccounts(ctx context.Context, hrefs, addressed []string) []string {
	to := make(map[string]bool, len(addressed))
	for _, a := range addressed {
		to[a] = true
	}
	var ids []string
	seen := map[string]bool{}
	fetches := 0
	for _, href := range hrefs {
		if seen[href] {
			continue
		}
		seen[href] = true
		acct, err := f.store.AccountByURI(ctx, href)
		if errors.Is(err, store.ErrNotFound) && fetches < maxMentionFetches && !f.isLocalURI(href) {
			fetches++
			acct, err = f.resolveAccount(ctx, href, false)
		}
		if err == nil && (!acct.Local() || to[href]) {
			ids = append(ids, acct.ID)
		}
	}
	lookups := 0
	for _, uri := range addressed {
		if seen[uri] || !f.isLocalURI(uri) || lookups >= maxAddressedLookups {
			continue
		}
		seen[uri] = true
		lookups++
		if acct, err := f.store.AccountByURI(ctx, uri); err == nil && acct.Local() {
			ids = append(ids, acct.ID)
		}
	}
	return ids
}

// isLocalURI reports whether uri names something on this instance.
func (f *Federator) isLocalURI(uri string) bool {
	return strings.EqualFold(HostOf(uri), f.site.Domain)
}

func mediaTypeOf(mime string) string {
	switch {
	case strings.HasPrefix(mime, "image/gif"):
		return "gifv"
	case strings.HasPrefix(mime, "image/"):
		return "image"
	case strings.HasPrefix(mime, "video/"):
		return "video"
	case strings.HasPrefix(mime, "audio/"):
		return "audio"
	}
	return "unknown"
}

// webfingerResponse is the part of a JRD we read.
type webfingerResponse struct {
	Subject string `json:"subject"`
	Links   []struct {
		Rel  string `json:"rel"`
		Type string `json:"type"`
		Href string `json:"href"`
	} `json:"links"`
}

// ResolveAcct finds user@host through WebFinger and stores the actor it names.
func (f *Federator) ResolveAcct(ctx context.Context, acct string) (*store.Account, error) {
	user, host, ok := splitAcct(strings.TrimPrefix(acct, "acct:"))
	if !ok || strings.Contains(user, "@") || !validHost(host) {
		return nil, fmt.Errorf("%q is not user@host", acct)
	}
	acct = user + "@" + host
	if strings.EqualFold(host, f.site.Domain) {
		return f.store.AccountByAcct(ctx, user)
	}
	if existing, err := f.store.AccountByAcct(ctx, acct); err == nil && time.Since(existing.FetchedAt) < accountRefresh {
		return existing, nil
	}
	query := "/.well-known/webfinger?resource=" + url.QueryEscape("acct:"+acct)
	var body []byte
	var err error
	for _, scheme := range f.schemesFor(host) {
		body, err = f.fetcher.GetJSON(ctx, scheme+"://"+host+query, "application/jrd+json, application/json")
		if err == nil {
			f.schemes.Store(host, scheme)
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("webfinger %s: %w", acct, err)
	}
	var jrd webfingerResponse
	if err := json.Unmarshal(body, &jrd); err != nil {
		return nil, fmt.Errorf("webfinger %s: %w", acct, err)
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && IsActivityPubType(l.Type) {
			return f.resolveAccount(ctx, l.Href, true)
		}
	}
	return nil, fmt.Errorf("webfinger %s: no ActivityPub actor link", acct)
}

// validHost reports whether host is a bare host or host:port (127.0.0.4:8144 is one) that a
// WebFinger URL can be built on, with no path, query or credentials smuggled in.
func validHost(host string) bool {
	if host == "" || strings.ContainsAny(host, "/?#@\\ ") {
		return false
	}
	u, err := url.Parse("https://" + host + "/")
	return err == nil && u.Host == host && u.Path == "/"
}

// schemesFor lists the schemes to try for host: https always; plain http only for hosts on the
// operator's peer networks, where department instances may run without TLS.
func (f *Federator) schemesFor(host string) []string {
	if known, ok := f.schemes.Load(host); ok {
		return []string{known.(string)}
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	ips, _ := net.LookupIP(name)
	for _, ip := range ips {
		for _, n := range f.cfg.PeerNetworks {
			if n.Contains(ip) {
				return []string{"https", "http"}
			}
		}
	}
	return []string{"https"}
}

// Resolve finds what a search query names on another server: user@host through WebFinger, or
// the account or status at a URL. It returns at most one of the two.
func (f *Federator) Resolve(ctx context.Context, q string) (*store.Account, *store.Status, error) {
	q = strings.TrimSpace(q)
	if strings.HasPrefix(q, "https://") || strings.HasPrefix(q, "http://") {
		if st, err := f.store.StatusByURI(ctx, q); err == nil {
			return nil, st, nil
		}
		if acct, err := f.store.AccountByURI(ctx, q); err == nil {
			return acct, nil, nil
		}
		obj, err := f.fetchObject(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		id := rawID(obj["id"])
		if noteTypes[rawID(obj["type"])] {
			st, err := f.storeNote(ctx, obj, 0)
			return nil, st, err
		}
		acct, err := f.storeActor(ctx, obj, id)
		return acct, nil, err
	}
	acct, err := f.ResolveAcct(ctx, q)
	return acct, nil, err
}

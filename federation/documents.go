package federation

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-fed/activity/streams/vocab"

	"watercooler/store"
)

// collectionPageSize is how many items one page of a collection holds, as in Mastodon.
const collectionPageSize = 20

// wantsActivityPub reports whether a GET asks for ActivityPub JSON rather than a web page.
func wantsActivityPub(r *http.Request) bool { return acceptsActivityPub(r.Header.Get("Accept")) }

// authorizeFetch enforces signed GETs when the operator asked for authorized fetch; it writes
// the refusal itself and reports whether to go on.
func (f *Federator) authorizeFetch(w http.ResponseWriter, r *http.Request) bool {
	if !f.opts.AuthorizedFetch {
		return true
	}
	signer, err := VerifyRequest(r.Context(), r, nil, f.keys, time.Now())
	if err != nil {
		status, reason := signatureRefusal(err)
		http.Error(w, "signed request required: "+reason, status)
		return false
	}
	policy, err := f.policy.get(r.Context())
	if err != nil || !policy.Permits(HostOf(signer)) {
		http.Error(w, "federation with this host is not allowed", http.StatusForbidden)
		return false
	}
	// A peer that fetches from us is up: deliveries waiting for it need not wait for their retry.
	f.signOfLife(r.Context(), HostOf(signer))
	return true
}

// localAccount finds the local account a path names; the caller writes 404 when it fails.
func (f *Federator) localAccount(ctx context.Context, name string) (*store.Account, bool) {
	acct, err := f.store.AccountByAcct(ctx, name)
	if err != nil || !acct.Local() || acct.Suspended {
		return nil, false
	}
	return acct, true
}

// collectionOwner finds the local account whose collection a request reads and enforces
// authorized fetch; it writes the refusal itself and reports whether to go on.
func (f *Federator) collectionOwner(w http.ResponseWriter, r *http.Request) (*store.Account, bool) {
	acct, ok := f.localAccount(r.Context(), r.PathValue("name"))
	if !ok {
		http.NotFound(w, r)
		return nil, false
	}
	return acct, f.authorizeFetch(w, r)
}

// writeActivity serializes a streams value once and answers with ActivityPub's content type.
func writeActivity(w http.ResponseWriter, t vocab.Type) {
	b, err := Serialize(t)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	writeBytes(w, http.StatusOK, ContentType+"; charset=utf-8", b)
}

func (f *Federator) serveActor(w http.ResponseWriter, r *http.Request) {
	acct, ok := f.localAccount(r.Context(), r.PathValue("name"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !wantsActivityPub(r) {
		http.Redirect(w, r, acct.URL, http.StatusFound)
		return
	}
	// Actor documents stay readable without a signature even under authorized fetch: peers
	// need them to verify our signatures.
	person, err := AccountToPerson(f.site, acct)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	writeActivity(w, person)
}

func (f *Federator) serveInstanceActor(w http.ResponseWriter, r *http.Request) {
	b, err := f.instanceActor()
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	writeBytes(w, http.StatusOK, activityType, b)
}

// activityType is the content type of ActivityPub documents.
const activityType = ContentType + "; charset=utf-8"

// serveInstanceOutbox answers the outbox the instance actor names, empty: it posts nothing, but
// GoToSocial counts the statuses of every actor it fetches by its outbox and warns of a 404.
func (f *Federator) serveInstanceOutbox(w http.ResponseWriter, r *http.Request) {
	f.collection(w, r, f.InstanceActorURI()+"/outbox", 0, func(store.Page) ([]store.Entry, []any, error) { return nil, nil, nil })
}

// serveInstanceFeatured answers the instance actor's featured collection, empty: it pins nothing.
func (f *Federator) serveInstanceFeatured(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ContentType+"; charset=utf-8", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": f.InstanceActorURI() + "/collections/featured", "type": "OrderedCollection",
		"totalItems": 0, "orderedItems": []any{},
	})
}

// collection answers an OrderedCollection: its summary without ?page, or one page of items
// (newest first, paged by id) with it.
func (f *Federator) collection(w http.ResponseWriter, r *http.Request, id string, total int64, page func(p store.Page) ([]store.Entry, []any, error)) {
	if r.URL.Query().Get("page") == "" {
		writeJSON(w, http.StatusOK, ContentType+"; charset=utf-8", map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": id, "type": "OrderedCollection",
			"totalItems": total, "first": id + "?page=true",
		})
		return
	}
	p := store.Page{MaxID: pageParam(r.URL.Query().Get("max_id")), Limit: collectionPageSize}
	entries, items, err := page(p)
	if err != nil {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	pageID := id + "?page=true"
	if p.MaxID != "" {
		pageID += "&max_id=" + p.MaxID
	}
	doc := map[string]any{
		"@context": []any{"https://www.w3.org/ns/activitystreams", map[string]any{"sensitive": "as:sensitive", "Hashtag": "as:Hashtag", "toot": "http://joinmastodon.org/ns#", "blurhash": "toot:blurhash"}},
		"id":       pageID, "type": "OrderedCollectionPage", "partOf": id, "totalItems": total, "orderedItems": items,
	}
	if items == nil {
		doc["orderedItems"] = []any{}
	}
	if len(entries) == collectionPageSize {
		doc["next"] = id + "?page=true&max_id=" + entries[len(entries)-1].ID
	}
	writeJSON(w, http.StatusOK, ContentType+"; charset=utf-8", doc)
}

func (f *Federator) accountCounts(ctx context.Context, id string) store.AccountCounts {
	counts, err := f.store.AccountCounts(ctx, []string{id})
	if err != nil {
		return store.AccountCounts{}
	}
	return counts[id]
}

func (f *Federator) serveFollowers(w http.ResponseWriter, r *http.Request) {
	f.serveRelations(w, r, true)
}

func (f *Federator) serveFollowing(w http.ResponseWriter, r *http.Request) {
	f.serveRelations(w, r, false)
}

func (f *Federator) serveRelations(w http.ResponseWriter, r *http.Request, followers bool) {
	ctx := r.Context()
	acct, ok := f.collectionOwner(w, r)
	if !ok {
		return
	}
	counts := f.accountCounts(ctx, acct.ID)
	id, total, list := acct.FollowersURI, counts.Followers, f.store.Followers
	if !followers {
		id, total, list = acct.FollowingURI, counts.Following, f.store.Following
	}
	f.collection(w, r, id, total, func(p store.Page) ([]store.Entry, []any, error) {
		entries, err := list(ctx, acct.ID, p)
		if err != nil {
			return nil, nil, err
		}
		accounts, err := f.store.AccountsInOrder(ctx, store.Members(entries))
		if err != nil {
			return nil, nil, err
		}
		items := make([]any, 0, len(accounts))
		for _, a := range accounts {
			items = append(items, a.URI)
		}
		return entries, items, nil
	})
}

func (f *Federator) serveOutbox(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	acct, ok := f.collectionOwner(w, r)
	if !ok {
		return
	}
	f.collection(w, r, acct.OutboxURI, f.accountCounts(ctx, acct.ID).Statuses, func(p store.Page) ([]store.Entry, []any, error) {
		entries, err := f.store.AccountStatuses(ctx, acct.ID, p)
		if err != nil {
			return nil, nil, err
		}
		sts, err := f.store.Statuses(ctx, store.Members(entries))
		if err != nil {
			return nil, nil, err
		}
		var items []any
		for _, st := range sts {
			if st.Visibility != store.VisibilityPublic && st.Visibility != store.VisibilityUnlisted {
				continue
			}
			if only, err := f.departmentOnly(ctx, st); only || err != nil {
				continue
			}
			m, err := f.outboxItem(ctx, acct, st)
			if err != nil {
				return nil, nil, err
			}
			if m != nil {
				items = append(items, m)
			}
		}
		return entries, items, nil
	})
}

// outboxItem is one of acct's statuses as its outbox lists it: the Create of its Note, or the
// Announce of a boost. A boost whose original is gone is nil: there is nothing left to announce.
func (f *Federator) outboxItem(ctx context.Context, acct *store.Account, st *store.Status) (map[string]any, error) {
	var act vocab.Type
	if st.ReblogOfID != "" {
		announce, _, err := f.boostAnnounce(ctx, st, acct, nil)
		if err != nil {
			return nil, nil
		}
		act = announce
	} else {
		n, _, _, err := f.note(ctx, st)
		if err != nil {
			return nil, err
		}
		act = CreateActivity(st.URI+"/activity", acct.URI, n)
	}
	return serializeMap(act)
}

func (f *Federator) serveFeatured(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	acct, ok := f.collectionOwner(w, r)
	if !ok {
		return
	}
	ids, err := f.store.Pinned(ctx, acct.ID)
	if err != nil {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	sts, err := f.store.Statuses(ctx, ids)
	if err != nil {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	items := []any{}
	for _, st := range sts {
		if st.LocalOnly {
			continue
		}
		n, _, _, err := f.note(ctx, st)
		if err != nil {
			continue
		}
		if m, err := serializeMap(n); err == nil {
			items = append(items, m)
		}
	}
	writeJSON(w, http.StatusOK, ContentType+"; charset=utf-8", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": acct.FeaturedURI, "type": "OrderedCollection",
		"totalItems": len(items), "orderedItems": items,
	})
}

// serveFeaturedTags answers an account's featured hashtags as Mastodon's featuredTags
// collection of Hashtag objects, oldest featured first.
func (f *Federator) serveFeaturedTags(w http.ResponseWriter, r *http.Request) {
	acct, ok := f.collectionOwner(w, r)
	if !ok {
		return
	}
	tags, err := f.store.FeaturedTags(r.Context(), acct.ID)
	if err != nil {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	base := strings.TrimSuffix(f.site.BaseURL, "/")
	items := make([]any, 0, len(tags))
	for _, t := range tags {
		items = append(items, map[string]any{"type": "Hashtag", "href": base + "/tags/" + url.PathEscape(t.Name), "name": "#" + t.Name})
	}
	writeJSON(w, http.StatusOK, ContentType+"; charset=utf-8", map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": acct.URI + "/collections/tags", "type": "Collection",
		"totalItems": len(items), "items": items,
	})
}

// localStatus finds a public or unlisted status of a local account by path; a deleted one is
// reported as gone so peers can drop their copies.
func (f *Federator) localStatus(w http.ResponseWriter, r *http.Request) (*store.Status, bool) {
	ctx := r.Context()
	acct, ok := f.localAccount(ctx, r.PathValue("name"))
	if !ok {
		http.NotFound(w, r)
		return nil, false
	}
	uri := acct.URI + "/statuses/" + r.PathValue("id")
	st, err := f.store.StatusByURI(ctx, uri)
	if err != nil {
		if tomb, _ := f.store.IsTombstoned(ctx, uri); tomb {
			writeJSON(w, http.StatusGone, ContentType+"; charset=utf-8", map[string]any{
				"@context": "https://www.w3.org/ns/activitystreams", "id": uri, "type": "Tombstone",
			})
			return nil, false
		}
		http.NotFound(w, r)
		return nil, false
	}
	if st.ReblogOfID != "" || st.LocalOnly || (st.Visibility != store.VisibilityPublic && st.Visibility != store.VisibilityUnlisted) {
		http.NotFound(w, r)
		return nil, false
	}
	if !wantsActivityPub(r) {
		http.Redirect(w, r, st.URL, http.StatusFound)
		return nil, false
	}
	if !f.authorizeFetch(w, r) {
		return nil, false
	}
	return st, true
}

func (f *Federator) serveStatus(w http.ResponseWriter, r *http.Request) {
	st, ok := f.localStatus(w, r)
	if !ok {
		return
	}
	n, _, _, err := f.note(r.Context(), st)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	writeActivity(w, n)
}

func (f *Federator) serveStatusActivity(w http.ResponseWriter, r *http.Request) {
	st, ok := f.localStatus(w, r)
	if !ok {
		return
	}
	n, author, _, err := f.note(r.Context(), st)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	writeActivity(w, CreateActivity(st.URI+"/activity", author.URI, n))
}

// pageParam parses a page's max_id, ignoring junk.
func pageParam(v string) string {
	if _, err := strconv.ParseUint(v, 10, 63); err != nil {
		return ""
	}
	return v
}

// serializeMap is Serialize for embedding one activity inside another document.
func serializeMap(t vocab.Type) (map[string]any, error) {
	b, err := Serialize(t)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	err = json.Unmarshal(b, &m)
	delete(m, "@context")
	return m, err
}

// publicPEM encodes the public half of a key as publicKeyPem carries it.
func publicPEM(key *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

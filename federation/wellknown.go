package federation

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"watercooler/store"
	"watercooler/text"
)

// Handler serves every ActivityPub and discovery route with net/http; the server mounts it.
func (f *Federator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/webfinger", f.serveWebFinger)
	mux.HandleFunc("GET /.well-known/host-meta", f.serveHostMeta)
	mux.HandleFunc("GET /.well-known/nodeinfo", f.serveNodeInfoLinks)
	mux.HandleFunc("GET /nodeinfo/{version}", f.serveNodeInfo)
	mux.HandleFunc("GET /actor", f.serveInstanceActor)
	mux.HandleFunc("GET /actor/outbox", f.serveInstanceOutbox)
	mux.HandleFunc("GET /actor/collections/featured", f.serveInstanceFeatured)
	mux.HandleFunc("POST /actor/inbox", func(w http.ResponseWriter, r *http.Request) { f.ServeInbox(w, r, "") })
	mux.HandleFunc("POST /inbox", func(w http.ResponseWriter, r *http.Request) { f.ServeInbox(w, r, "") })
	mux.HandleFunc("POST /users/{name}/inbox", func(w http.ResponseWriter, r *http.Request) { f.ServeInbox(w, r, r.PathValue("name")) })
	mux.HandleFunc("GET /users/{name}", f.serveActor)
	mux.HandleFunc("GET /users/{name}/outbox", f.serveOutbox)
	mux.HandleFunc("GET /users/{name}/followers", f.serveFollowers)
	mux.HandleFunc("GET /users/{name}/following", f.serveFollowing)
	mux.HandleFunc("GET /users/{name}/collections/featured", f.serveFeatured)
	mux.HandleFunc("GET /users/{name}/collections/tags", f.serveFeaturedTags)
	mux.HandleFunc("GET /users/{name}/statuses/{id}", f.serveStatus)
	mux.HandleFunc("GET /users/{name}/statuses/{id}/activity", f.serveStatusActivity)
	mux.HandleFunc("GET /users/{name}/quote_authorizations/{id}", f.serveQuoteAuthorization)
	return mux
}

// writeJSON answers with a JSON document and its content type.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	writeBytes(w, status, contentType, b)
}

func writeBytes(w http.ResponseWriter, status int, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// serveWebFinger answers acct:user@domain and actor-URL resources, as Mastodon does.
func (f *Federator) serveWebFinger(w http.ResponseWriter, r *http.Request) {
	resource := r.URL.Query().Get("resource")
	if resource == "" {
		http.Error(w, "resource parameter required", http.StatusBadRequest)
		return
	}
	var acct *store.Account
	var err error
	user, domain, isAcct := splitAcct(resource)
	switch {
	case isAcct:
		if !strings.EqualFold(domain, f.site.Domain) {
			http.Error(w, "not a local account", http.StatusNotFound)
			return
		}
		// The domain itself is the name the instance actor had before it had to fit the
		// username rule; peers that stored it keep finding the actor.
		if strings.EqualFold(user, text.InstanceActorName(f.site.Domain)) || strings.EqualFold(user, f.site.Domain) {
			f.writeInstanceWebFinger(w)
			return
		}
		acct, err = f.store.AccountByAcct(r.Context(), user)
	case resource == f.InstanceActorURI():
		f.writeInstanceWebFinger(w)
		return
	default:
		acct, err = f.store.AccountByURI(r.Context(), resource)
		if err != nil {
			acct, err = f.accountByProfileURL(r, resource)
		}
	}
	if err != nil || !acct.Local() || acct.Suspended {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, webFingerType, f.webFingerOf(acct))
}

// webFingerType is the content type of WebFinger answers.
const webFingerType = "application/jrd+json; charset=utf-8"

// webFingerOf is the WebFinger answer naming a local account.
func (f *Federator) webFingerOf(acct *store.Account) map[string]any {
	return map[string]any{
		"subject": "acct:" + acct.Username + "@" + f.site.Domain,
		"aliases": []string{acct.URI, acct.URL},
		"links": []map[string]string{
			{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": acct.URL},
			{"rel": "self", "type": ContentType, "href": acct.URI},
			{"rel": "http://ostatus.org/schema/1.0/subscribe", "template": f.site.BaseURL + "/authorize_interaction?uri={uri}"},
		},
	}
}

// splitAcct reads a WebFinger resource naming an account: acct:user@domain, as Mastodon and
// GoToSocial send it, or with a leading '@' or no scheme, which both also accept. The domain may
// carry a port (alice@127.0.0.4:8144), so the name is split at its last '@'.
func splitAcct(resource string) (user, domain string, ok bool) {
	name, hasScheme := strings.CutPrefix(resource, "acct:")
	if !hasScheme && strings.Contains(resource, "://") {
		return "", "", false // an actor or profile URL
	}
	name = strings.TrimPrefix(name, "@")
	at := strings.LastIndexByte(name, '@')
	if at <= 0 || at == len(name)-1 {
		return "", "", false
	}
	return name[:at], name[at+1:], true
}

func (f *Federator) accountByProfileURL(r *http.Request, resource string) (*store.Account, error) {
	prefix := f.site.BaseURL + "/@"
	if !strings.HasPrefix(resource, prefix) {
		return nil, store.ErrNotFound
	}
	return f.store.AccountByAcct(r.Context(), strings.TrimPrefix(resource, prefix))
}

func (f *Federator) writeInstanceWebFinger(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, "application/jrd+json; charset=utf-8", map[string]any{
		"subject": "acct:" + text.InstanceActorName(f.site.Domain) + "@" + f.site.Domain,
		"aliases": []string{f.InstanceActorURI()},
		"links":   []map[string]string{{"rel": "self", "type": ContentType, "href": f.InstanceActorURI()}},
	})
}

func (f *Federator) serveHostMeta(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
  <Link rel="lrdd" template="%s/.well-known/webfinger?resource={uri}"/>
</XRD>
`, f.site.BaseURL)
}

func (f *Federator) serveNodeInfoLinks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"links": []map[string]string{
			{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": f.site.BaseURL + "/nodeinfo/2.0"},
			{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f.site.BaseURL + "/nodeinfo/2.1"},
		},
	})
}

// Version is the software version published in NodeInfo and the instance entity.
const Version = "0.1.0"

func (f *Federator) serveNodeInfo(w http.ResponseWriter, r *http.Request) {
	version := r.PathValue("version")
	if version != "2.0" && version != "2.1" {
		http.Error(w, "unknown NodeInfo version", http.StatusNotFound)
		return
	}
	users, posts, err := f.store.LocalUsage(r.Context())
	if err != nil {
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	software := map[string]any{"name": "watercooler", "version": Version}
	if version == "2.1" {
		software["repository"] = "https://github.com/watercooler/watercooler"
		software["homepage"] = f.site.BaseURL
	}
	writeJSON(w, http.StatusOK, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/`+version+`#"`, map[string]any{
		"version":           version,
		"software":          software,
		"protocols":         []string{"activitypub"},
		"services":          map[string][]string{"inbound": {}, "outbound": {}},
		"openRegistrations": f.cfg.OpenRegistrations,
		"usage": map[string]any{
			"users":      map[string]int64{"total": users, "activeMonth": users, "activeHalfyear": users},
			"localPosts": posts,
		},
		"metadata": map[string]any{"nodeName": f.cfg.Title, "nodeDescription": f.cfg.Description},
	})
}

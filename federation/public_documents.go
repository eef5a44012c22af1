package federation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"watercooler/store"
	"watercooler/text"
)

// PublicDocument answers, without net/http, the hot GETs of public documents that need no
// signature (actor documents stay readable without one even under authorized fetch: peers need
// them to verify our signatures): WebFinger of a local account and that account's actor
// document, rendered once per version of the account's record (see
// store.LocalAccountDocument), and the instance actor. Accept is the request's Accept header.
// Anything else, a redirect, an error or an unknown name included, reports !ok: Handler then
// answers it as it always has, so the semantics live in one place.
func (f *Federator) PublicDocument(ctx context.Context, path, resource, accept string) (contentType string, body []byte, ok bool) {
	switch {
	case path == "/.well-known/webfinger":
		user, domain, isAcct := splitAcct(resource)
		if !isAcct || !strings.EqualFold(domain, f.site.Domain) || strings.Contains(user, "@") ||
			strings.EqualFold(user, text.InstanceActorName(f.site.Domain)) || strings.EqualFold(user, f.site.Domain) {
			return "", nil, false
		}
		b, err := f.store.LocalAccountDocument(ctx, user, "webfinger", func(a *store.Account) ([]byte, error) {
			if !a.Local() || a.Suspended {
				return nil, store.ErrNotFound
			}
			return json.Marshal(f.webFingerOf(a))
		})
		return webFingerType, b, err == nil
	case path == "/actor":
		b, err := f.instanceActor()
		return activityType, b, err == nil
	case strings.HasPrefix(path, "/users/"):
		name := strings.TrimPrefix(path, "/users/")
		if name == "" || strings.ContainsAny(name, "/@") || !acceptsActivityPub(accept) {
			return "", nil, false
		}
		b, err := f.store.LocalAccountDocument(ctx, name, "actor", func(a *store.Account) ([]byte, error) {
			if !a.Local() || a.Suspended {
				return nil, store.ErrNotFound
			}
			person, err := AccountToPerson(f.site, a)
			if err != nil {
				return nil, err
			}
			return Serialize(person)
		})
		if errors.Is(err, store.ErrNotFound) {
			return "", nil, false
		}
		return activityType, b, err == nil
	}
	return "", nil, false
}

// acceptsActivityPub is wantsActivityPub of an Accept header.
func acceptsActivityPub(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		if IsActivityPubType(strings.TrimSpace(part)) {
			return true
		}
	}
	return false
}

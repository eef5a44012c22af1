package federation

import (
	"context"
	"fmt"

	"watercooler/store"
)

// ActorDocument is a local account's actor document, as the organization's directory carries
// it to the other departments: the same document a fetch of the actor returns, so they read it
// with the same parser and checks as any actor.
func (f *Federator) ActorDocument(a *store.Account) (map[string]any, error) {
	person, err := AccountToPerson(f.site, a)
	if err != nil {
		return nil, err
	}
	return serializeMap(person)
}

// StoreDirectoryActor saves an actor document another department's directory sent: the
// department vouches only for its own people, so an actor of any other host is refused.
func (f *Federator) StoreDirectoryActor(ctx context.Context, host string, obj map[string]any) (*store.Account, error) {
	id := rawID(obj["id"])
	if HostOf(id) != host {
		return nil, fmt.Errorf("the directory of %s lists %q, an actor of another host", host, id)
	}
	return f.storeActor(ctx, obj, id)
}

package federation

import (
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"
)

// The builders below shape activities as Mastodon sends them; ids come from the caller, which
// knows its routes. Each returns a streams value to Serialize once.

// CreateActivity wraps a note in a Create, copying its to, cc and published as Mastodon does.
func CreateActivity(id, actorURI string, note vocab.ActivityStreamsNote) vocab.ActivityStreamsCreate {
	c := streams.NewActivityStreamsCreate()
	setID(c, id)
	setActor(c, actorURI)
	if note == nil {
		return c
	}
	to, cc := noteAudience(note)
	setAudience(c, to, cc)
	if p := note.GetActivityStreamsPublished(); p != nil && p.IsXMLSchemaDateTime() {
		pub := streams.NewActivityStreamsPublishedProperty()
		pub.Set(p.Get())
		c.SetActivityStreamsPublished(pub)
	}
	obj := streams.NewActivityStreamsObjectProperty()
	obj.AppendActivityStreamsNote(note)
	c.SetActivityStreamsObject(obj)
	return c
}

// UpdateActivity wraps an edited object (a Note, a Person...) in an Update.
func UpdateActivity(id, actorURI string, object vocab.Type, to, cc []string) vocab.ActivityStreamsUpdate {
	u := streams.NewActivityStreamsUpdate()
	setID(u, id)
	setActor(u, actorURI)
	setAudience(u, to, cc)
	u.SetActivityStreamsObject(embeddedProperty(object))
	return u
}

// UpdatePersonActivity announces a changed actor document to Public, with the actor's followers
// in cc.
func UpdatePersonActivity(id string, person vocab.Type) vocab.ActivityStreamsUpdate {
	actorURI := idOf(person)
	var cc []string
	if f, ok := person.(interface {
		GetActivityStreamsFollowers() vocab.ActivityStreamsFollowersProperty
	}); ok {
		if p := f.GetActivityStreamsFollowers(); p != nil && p.IsIRI() {
			cc = []string{p.GetIRI().String()}
		}
	}
	return UpdateActivity(id, actorURI, person, []string{PublicAudience}, cc)
}

// DeleteActivity deletes an object. Like Mastodon, the object is a Tombstone {id} for a post
// and the bare actor IRI when an account deletes itself (objectURI == actorURI).
func DeleteActivity(id, actorURI, objectURI string, to, cc []string) vocab.ActivityStreamsDelete {
	d := streams.NewActivityStreamsDelete()
	setID(d, id)
	setActor(d, actorURI)
	setAudience(d, to, cc)
	obj := streams.NewActivityStreamsObjectProperty()
	if objectURI == actorURI {
		obj.AppendIRI(iri(objectURI))
	} else {
		ts := streams.NewActivityStreamsTombstone()
		setID(ts, objectURI)
		obj.AppendActivityStreamsTombstone(ts)
	}
	d.SetActivityStreamsObject(obj)
	return d
}

// FollowActivity asks objectURI's actor to be followed.
func FollowActivity(id, actorURI, objectURI string) vocab.ActivityStreamsFollow {
	f := streams.NewActivityStreamsFollow()
	setID(f, id)
	setActor(f, actorURI)
	f.SetActivityStreamsObject(objectIRI(objectURI))
	return f
}

// AcceptActivity accepts a Follow, embedding it as Mastodon does: the follower's server
// matches it by the Follow's id, and some servers need the whole object.
func AcceptActivity(id, actorURI string, follow vocab.Type) vocab.ActivityStreamsAccept {
	a := streams.NewActivityStreamsAccept()
	setID(a, id)
	setActor(a, actorURI)
	a.SetActivityStreamsObject(embeddedProperty(follow))
	return a
}

// RejectActivity refuses a Follow (or removes a follower), embedding it like AcceptActivity.
func RejectActivity(id, actorURI string, follow vocab.Type) vocab.ActivityStreamsReject {
	r := streams.NewActivityStreamsReject()
	setID(r, id)
	setActor(r, actorURI)
	r.SetActivityStreamsObject(embeddedProperty(follow))
	return r
}

// UndoActivity undoes a Follow, Like, Announce or Block, embedding it: receivers check that its
// actor is the Undo's.
func UndoActivity(id, actorURI string, inner vocab.Type) vocab.ActivityStreamsUndo {
	u := streams.NewActivityStreamsUndo()
	setID(u, id)
	setActor(u, actorURI)
	u.SetActivityStreamsObject(embeddedProperty(inner))
	return u
}

// AnnounceActivity boosts objectURI.
func AnnounceActivity(id, actorURI, objectURI string, published time.Time, to, cc []string) vocab.ActivityStreamsAnnounce {
	a := streams.NewActivityStreamsAnnounce()
	setID(a, id)
	setActor(a, actorURI)
	setAudience(a, to, cc)
	pub := streams.NewActivityStreamsPublishedProperty()
	pub.Set(published.UTC().Truncate(time.Second))
	a.SetActivityStreamsPublished(pub)
	a.SetActivityStreamsObject(objectIRI(objectURI))
	return a
}

// LikeActivity favourites objectURI.
func LikeActivity(id, actorURI, objectURI string) vocab.ActivityStreamsLike {
	l := streams.NewActivityStreamsLike()
	setID(l, id)
	setActor(l, actorURI)
	l.SetActivityStreamsObject(objectIRI(objectURI))
	return l
}

// BlockActivity tells objectURI's server that actorURI blocks it.
func BlockActivity(id, actorURI, objectURI string) vocab.ActivityStreamsBlock {
	b := streams.NewActivityStreamsBlock()
	setID(b, id)
	setActor(b, actorURI)
	b.SetActivityStreamsObject(objectIRI(objectURI))
	return b
}

// setID sets a value's id.
func setID(t vocab.Type, id string) {
	p := streams.NewJSONLDIdProperty()
	p.Set(iri(id))
	t.SetJSONLDId(p)
}

// setActor sets an activity's actor.
func setActor(a interface {
	SetActivityStreamsActor(vocab.ActivityStreamsActorProperty)
}, actorURI string) {
	p := streams.NewActivityStreamsActorProperty()
	p.AppendIRI(iri(actorURI))
	a.SetActivityStreamsActor(p)
}

// objectIRI is an object property holding one IRI.
func objectIRI(uri string) vocab.ActivityStreamsObjectProperty {
	p := streams.NewActivityStreamsObjectProperty()
	p.AppendIRI(iri(uri))
	return p
}

// embeddedProperty is an object property holding t itself, or its id when go-fed cannot embed that
// type in an object property.
func embeddedProperty(t vocab.Type) vocab.ActivityStreamsObjectProperty {
	p := streams.NewActivityStreamsObjectProperty()
	if t == nil {
		return p
	}
	if err := p.AppendType(t); err != nil {
		if id := idOf(t); id != "" {
			p.AppendIRI(iri(id))
		}
	}
	return p
}

// idOf returns a value's id, "" when it has none.
func idOf(t vocab.Type) string {
	if t == nil {
		return ""
	}
	p := t.GetJSONLDId()
	switch {
	case p == nil:
		return ""
	case p.IsXMLSchemaAnyURI() && p.Get() != nil:
		return p.Get().String()
	case p.IsIRI() && p.GetIRI() != nil:
		return p.GetIRI().String()
	}
	return ""
}

// noteAudience returns the IRIs in a note's to and cc.
func noteAudience(note vocab.ActivityStreamsNote) (to, cc []string) {
	if p := note.GetActivityStreamsTo(); p != nil {
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if it.IsIRI() {
				to = append(to, it.GetIRI().String())
			}
		}
	}
	if p := note.GetActivityStreamsCc(); p != nil {
		for it := p.Begin(); it != p.End(); it = it.Next() {
			if it.IsIRI() {
				cc = append(cc, it.GetIRI().String())
			}
		}
	}
	return to, cc
}

package federation

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"

	"watercooler/store"
	"watercooler/text"
)

// maxFields is how many profile fields PersonToAccount keeps; Mastodon shows four, and a
// remote list has no other bound.
const maxFields = 16

// actorType is what the actor builders need of Person, Service and Application, which go-fed
// generates as unrelated interfaces with the same setters.
type actorType interface {
	vocab.Type
	GetUnknownProperties() map[string]any
	SetActivityStreamsPreferredUsername(vocab.ActivityStreamsPreferredUsernameProperty)
	SetActivityStreamsName(vocab.ActivityStreamsNameProperty)
	SetActivityStreamsSummary(vocab.ActivityStreamsSummaryProperty)
	SetActivityStreamsUrl(vocab.ActivityStreamsUrlProperty)
	SetActivityStreamsInbox(vocab.ActivityStreamsInboxProperty)
	SetActivityStreamsOutbox(vocab.ActivityStreamsOutboxProperty)
	SetActivityStreamsFollowers(vocab.ActivityStreamsFollowersProperty)
	SetActivityStreamsFollowing(vocab.ActivityStreamsFollowingProperty)
	SetActivityStreamsPublished(vocab.ActivityStreamsPublishedProperty)
	SetActivityStreamsIcon(vocab.ActivityStreamsIconProperty)
	SetActivityStreamsImage(vocab.ActivityStreamsImageProperty)
	SetTootDiscoverable(vocab.TootDiscoverableProperty)
	SetTootFeatured(vocab.TootFeaturedProperty)
	SetW3IDSecurityV1PublicKey(vocab.W3IDSecurityV1PublicKeyProperty)
}

var (
	_ actorType = vocab.ActivityStreamsPerson(nil)
	_ actorType = vocab.ActivityStreamsService(nil)
	_ actorType = vocab.ActivityStreamsApplication(nil)
	_ actorType = vocab.ActivityStreamsGroup(nil)
)

// AccountToPerson builds the actor document of a LOCAL account: Person (Service when Bot, Group
// for a community), with
// the properties Mastodon reads (publicKey, endpoints.sharedInbox, featured, PropertyValue
// fields, manuallyApprovesFollowers, discoverable, indexable).
func AccountToPerson(site Site, a *store.Account) (vocab.Type, error) {
	if a == nil {
		return nil, errors.New("account to person: nil account")
	}
	if !a.Local() {
		return nil, fmt.Errorf("account to person: %s is not a local account", a.Acct())
	}
	if a.URI == "" || a.InboxURI == "" {
		return nil, fmt.Errorf("account to person: %s has no actor or inbox URI", a.Username)
	}
	var actor actorType = streams.NewActivityStreamsPerson()
	switch {
	case a.Group: // a community (FEP-1b12): Mastodon shows it with group: true
		actor = streams.NewActivityStreamsGroup()
	case a.Bot:
		actor = streams.NewActivityStreamsService()
	}
	setID(actor, a.URI)
	setActorCommon(actor, a.Username, a.InboxURI, a.OutboxURI, a.SharedInboxURI)

	name := streams.NewActivityStreamsNameProperty()
	name.AppendXMLSchemaString(a.DisplayName)
	actor.SetActivityStreamsName(name)
	summary := streams.NewActivityStreamsSummaryProperty()
	summary.AppendXMLSchemaString(a.Note)
	actor.SetActivityStreamsSummary(summary)
	if a.URL != "" {
		u := streams.NewActivityStreamsUrlProperty()
		u.AppendIRI(iri(a.URL))
		actor.SetActivityStreamsUrl(u)
	}
	if a.FollowersURI != "" {
		p := streams.NewActivityStreamsFollowersProperty()
		p.SetIRI(iri(a.FollowersURI))
		actor.SetActivityStreamsFollowers(p)
	}
	if a.FollowingURI != "" {
		p := streams.NewActivityStreamsFollowingProperty()
		p.SetIRI(iri(a.FollowingURI))
		actor.SetActivityStreamsFollowing(p)
	}
	if a.FeaturedURI != "" {
		p := streams.NewTootFeaturedProperty()
		p.SetIRI(iri(a.FeaturedURI))
		actor.SetTootFeatured(p)
	}
	disc := streams.NewTootDiscoverableProperty()
	disc.Set(a.Discoverable)
	actor.SetTootDiscoverable(disc)
	if !a.CreatedAt.IsZero() {
		// Mastodon publishes the sign-up day only, not the moment.
		c := a.CreatedAt.UTC()
		pub := streams.NewActivityStreamsPublishedProperty()
		pub.Set(time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC))
		actor.SetActivityStreamsPublished(pub)
	}
	if a.AvatarURL != "" {
		icon := streams.NewActivityStreamsIconProperty()
		icon.AppendActivityStreamsImage(imageObject(a.AvatarURL))
		actor.SetActivityStreamsIcon(icon)
	}
	if a.HeaderURL != "" {
		img := streams.NewActivityStreamsImageProperty()
		img.AppendActivityStreamsImage(imageObject(a.HeaderURL))
		actor.SetActivityStreamsImage(img)
	}
	keyID := a.PublicKeyID
	if keyID == "" {
		keyID = a.URI + "#main-key"
	}
	setPublicKey(actor, keyID, a.URI, a.PublicKeyPEM)

	unknown := actor.GetUnknownProperties()
	unknown["manuallyApprovesFollowers"] = a.Locked
	// Watercooler has no separate "index my posts" switch; an account that wants to be found
	// also lets its public posts be searched.
	unknown["indexable"] = a.Discoverable
	// Mastodon shows another server's account with the hashtags it features, read from here.
	unknown["featuredTags"] = a.URI + "/collections/tags"
	// A receiver of a Move believes it only when the new actor names the old one here.
	if len(a.AlsoKnownAs) > 0 {
		unknown["alsoKnownAs"] = a.AlsoKnownAs
	}
	if a.MovedToURI != "" {
		unknown["movedTo"] = a.MovedToURI
	}
	fields := make([]any, 0, len(a.Fields))
	for _, f := range a.Fields {
		fields = append(fields, map[string]any{"type": "PropertyValue", "name": f.Name, "value": f.Value})
	}
	// PropertyValue is not in go-fed's vocabulary, and a typed attachment would win over
	// this unknown one, so the fields go in raw.
	unknown["attachment"] = fields
	return actor, nil
}

// InstanceActor builds the instance's own Application actor, which signs fetches so that two
// servers requiring signed GETs can still read each other's keys.
func InstanceActor(site Site, publicKeyPEM string) (vocab.Type, error) {
	base := strings.TrimSuffix(site.BaseURL, "/")
	if base == "" || site.Domain == "" {
		return nil, errors.New("instance actor: site has no base URL or domain")
	}
	id := base + "/actor"
	app := streams.NewActivityStreamsApplication()
	setID(app, id)
	setActorCommon(app, text.InstanceActorName(site.Domain), id+"/inbox", id+"/outbox", base+"/inbox")
	// Empty, but named: GoToSocial dereferences every actor's featured collection, an absent
	// one included, and logs an error for it.
	featured := streams.NewTootFeaturedProperty()
	featured.SetIRI(iri(id + "/collections/featured"))
	app.SetTootFeatured(featured)
	u := streams.NewActivityStreamsUrlProperty()
	u.AppendIRI(iri(base + "/about"))
	app.SetActivityStreamsUrl(u)
	setPublicKey(app, id+"#main-key", id, publicKeyPEM)
	// As Mastodon's: nobody should follow the instance actor.
	app.GetUnknownProperties()["manuallyApprovesFollowers"] = true
	return app, nil
}

// setActorCommon sets what every actor document has: preferredUsername, inbox, outbox and
// endpoints.sharedInbox.
func setActorCommon(actor actorType, username, inbox, outbox, sharedInbox string) {
	pu := streams.NewActivityStreamsPreferredUsernameProperty()
	pu.SetXMLSchemaString(username)
	actor.SetActivityStreamsPreferredUsername(pu)
	in := streams.NewActivityStreamsInboxProperty()
	in.SetIRI(iri(inbox))
	actor.SetActivityStreamsInbox(in)
	if outbox != "" {
		out := streams.NewActivityStreamsOutboxProperty()
		out.SetIRI(iri(outbox))
		actor.SetActivityStreamsOutbox(out)
	}
	if sharedInbox != "" {
		actor.GetUnknownProperties()["endpoints"] = map[string]any{"sharedInbox": sharedInbox}
	}
}

// setPublicKey sets publicKey {id, owner, publicKeyPem}.
func setPublicKey(actor actorType, keyID, owner, pem string) {
	pk := streams.NewW3IDSecurityV1PublicKey()
	setID(pk, keyID)
	o := streams.NewW3IDSecurityV1OwnerProperty()
	o.SetIRI(iri(owner))
	pk.SetW3IDSecurityV1Owner(o)
	p := streams.NewW3IDSecurityV1PublicKeyPemProperty()
	p.Set(pem)
	pk.SetW3IDSecurityV1PublicKeyPem(p)
	prop := streams.NewW3IDSecurityV1PublicKeyProperty()
	prop.AppendW3IDSecurityV1PublicKey(pk)
	actor.SetW3IDSecurityV1PublicKey(prop)
}

// imageObject is an Image {url, mediaType} for an avatar or header.
func imageObject(u string) vocab.ActivityStreamsImage {
	img := streams.NewActivityStreamsImage()
	up := streams.NewActivityStreamsUrlProperty()
	up.AppendIRI(iri(u))
	img.SetActivityStreamsUrl(up)
	if mt := guessMediaType(u); mt != "" {
		p := streams.NewActivityStreamsMediaTypeProperty()
		p.Set(mt)
		img.SetActivityStreamsMediaType(p)
	}
	return img
}

// guessMediaType guesses a file's media type from the extension of its URL path.
func guessMediaType(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	mt := mime.TypeByExtension(strings.ToLower(path.Ext(pu.Path)))
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	return mt
}

// actorTypes are the actor types PersonToAccount accepts; Service and Application are bots.
var actorTypes = map[string]bool{
	"Person": false, "Group": false, "Organization": false, "Service": true, "Application": true,
}

// PersonToAccount reads a REMOTE actor (Person, Service, Application, Group, Organization) into
// a store.Account. raw is the actor's JSON map as Parse returned it; when nil it is rebuilt from
// t, which loses what go-fed cannot represent. Domain is the host of the actor id, not the
// WebFinger domain, because the id is what signatures and objects are checked against.
func PersonToAccount(site Site, t vocab.Type, raw map[string]any) (*store.Account, error) {
	if t == nil {
		return nil, errors.New("person to account: nil value")
	}
	bot, ok := actorTypes[t.GetTypeName()]
	if !ok {
		return nil, fmt.Errorf("person to account: %q is not an actor type", t.GetTypeName())
	}
	if raw == nil {
		var err error
		if raw, err = t.Serialize(); err != nil {
			return nil, fmt.Errorf("person to account: %w", err)
		}
	}
	id := rawString(raw["id"])
	domain := HostOf(id)
	if domain == "" {
		return nil, fmt.Errorf("person to account: actor id %q is not an http(s) URL", id)
	}
	inbox := httpURL(rawID(raw["inbox"]))
	if inbox == "" {
		return nil, fmt.Errorf("person to account: actor %s has no inbox", id)
	}
	username := strings.TrimSpace(rawText(raw, "preferredUsername"))
	if !validRemoteUsername(username) {
		return nil, fmt.Errorf("person to account: actor %s has no usable preferredUsername (%q)", id, username)
	}
	now := time.Now().UTC()
	san := site.renderer()
	a := &store.Account{
		Username:     username,
		Domain:       domain,
		DisplayName:  strings.TrimSpace(rawText(raw, "name")),
		Note:         san.Sanitize(rawText(raw, "summary")),
		AvatarURL:    imageURL(raw["icon"]),
		HeaderURL:    imageURL(raw["image"]),
		Locked:       rawBool(raw["manuallyApprovesFollowers"]),
		Bot:          bot,
		Group:        t.GetTypeName() == "Group",
		Discoverable: rawBool(raw["discoverable"]),
		URI:          id,
		InboxURI:     inbox,
		OutboxURI:    httpURL(rawID(raw["outbox"])),
		FollowersURI: httpURL(rawID(raw["followers"])),
		FollowingURI: httpURL(rawID(raw["following"])),
		FeaturedURI:  httpURL(rawID(raw["featured"])),
		CreatedAt:    rawTime(raw["published"]),
		FetchedAt:    now,
		AlsoKnownAs:  httpURLs(rawIDs(raw["alsoKnownAs"])),
		MovedToURI:   httpURL(rawID(raw["movedTo"])),
	}
	if a.CreatedAt.IsZero() || a.CreatedAt.After(now) {
		a.CreatedAt = now
	}
	a.URL, _ = linkURL(raw["url"], "text/html")
	if a.URL == "" {
		a.URL = id
	}
	if ep, ok := raw["endpoints"].(map[string]any); ok {
		a.SharedInboxURI = httpURL(rawID(ep["sharedInbox"]))
	}
	if a.SharedInboxURI == "" {
		// Some older servers put it on the actor itself.
		a.SharedInboxURI = httpURL(rawID(raw["sharedInbox"]))
	}
	a.PublicKeyID, a.PublicKeyPEM = personKey(raw["publicKey"], id)
	for _, e := range rawList(raw["attachment"]) {
		f, ok := e.(map[string]any)
		if !ok || rawType(f) != "PropertyValue" {
			continue
		}
		name := strings.TrimSpace(rawString(f["name"]))
		if name == "" {
			continue
		}
		a.Fields = append(a.Fields, store.Field{Name: name, Value: san.Sanitize(rawString(f["value"]))})
		if len(a.Fields) == maxFields {
			break
		}
	}
	return a, nil
}

// personKey picks the actor's key from publicKey, which may be one object or a list: the one
// whose owner is the actor, else one that names no owner. A key owned by someone else is never
// taken, or a document could claim another actor's key.
func personKey(v any, actorID string) (keyID, pem string) {
	for _, wantOwner := range []bool{true, false} {
		for _, e := range rawList(v) {
			k, ok := e.(map[string]any)
			if !ok {
				continue
			}
			p := rawString(k["publicKeyPem"])
			owner := rawID(k["owner"])
			if p == "" || (wantOwner && owner != actorID) || (!wantOwner && owner != "") {
				continue
			}
			return rawString(k["id"]), p
		}
	}
	return "", ""
}

// validRemoteUsername accepts what other servers use as usernames while refusing what would
// break an acct (user@domain) or a URL built from it.
func validRemoteUsername(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if r == '@' || r == '/' || r == '?' || r == '#' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// imageURL returns the URL of an icon or image, which may be an Image {url}, a Link {href},
// a bare URL, or a list of any of these.
func imageURL(v any) string {
	for _, e := range rawList(v) {
		switch x := e.(type) {
		case string:
			if u := httpURL(x); u != "" {
				return u
			}
		case map[string]any:
			if u, _ := linkURL(x["url"], ""); u != "" {
				return u
			}
			if u := httpURL(rawString(x["href"])); u != "" {
				return u
			}
		}
	}
	return ""
}

// linkURL returns the first http(s) URL of a url-like value (a string, a Link {href,
// mediaType}, or a list of them), preferring one whose mediaType starts with want, and that
// URL's mediaType.
func linkURL(v any, want string) (href, mediaType string) {
	for _, e := range rawList(v) {
		var h, mt string
		switch x := e.(type) {
		case string:
			h = x
		case map[string]any:
			h, mt = rawString(x["href"]), rawString(x["mediaType"])
		}
		if !isHTTPURL(h) {
			continue
		}
		if want != "" && strings.HasPrefix(mt, want) {
			return h, mt
		}
		if href == "" {
			href, mediaType = h, mt
		}
	}
	return href, mediaType
}

// httpURLs keeps the http(s) URLs of ss, so a hostile actor cannot plant other schemes.
func httpURLs(ss []string) []string {
	var out []string
	for _, s := range ss {
		if u := httpURL(s); u != "" {
			out = append(out, u)
		}
	}
	return out
}

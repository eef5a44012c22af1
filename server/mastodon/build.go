package mastodon

import (
	"strconv"
	"strings"
	"time"

	"watercooler/store"
)

// Site is what entity builders need to know about the local instance.
type Site struct {
	// BaseURL is the instance's public URL without a trailing slash.
	BaseURL string
}

// DefaultAvatar is the avatar of accounts that have not set one.
func (s Site) DefaultAvatar() string { return s.BaseURL + "/avatars/original/missing.png" }

// DefaultHeader is the header image of accounts that have not set one.
func (s Site) DefaultHeader() string { return s.BaseURL + "/headers/original/missing.png" }

// TagURL is the local page of a hashtag.
func (s Site) TagURL(name string) string { return s.BaseURL + "/tags/" + name }

// AccountWithMove is AccountFrom of a with, when moved is not nil, the Account entity of the
// account a moved to (one level only, as Mastodon: that account's own move is not followed).
func AccountWithMove(site Site, a *store.Account, c store.AccountCounts, moved *store.Account, movedCounts store.AccountCounts) Account {
	out := AccountFrom(site, a, c)
	if moved != nil {
		m := AccountFrom(site, moved, movedCounts)
		out.Moved = &m
	}
	return out
}

// PublicAccount is AccountWithMove as anyone may see it: a suspended account keeps only its
// names, as Mastodon shows unavailable accounts.
func PublicAccount(site Site, a *store.Account, c store.AccountCounts, moved *store.Account, movedCounts store.AccountCounts) Account {
	out := AccountWithMove(site, a, c, moved, movedCounts)
	if a.Suspended {
		out = suspendedAccount(site, out)
	}
	return out
}

// suspendedAccount empties a profile the way Mastodon's serializer does for unavailable accounts.
func suspendedAccount(site Site, a Account) Account {
	a.DisplayName, a.Note = "", ""
	a.Avatar, a.AvatarStatic = site.DefaultAvatar(), site.DefaultAvatar()
	a.Header, a.HeaderStatic = site.DefaultHeader(), site.DefaultHeader()
	a.Locked, a.Bot, a.Discoverable, a.Indexable = false, false, false, false
	a.Fields, a.Emojis, a.Roles = []Field{}, []CustomEmoji{}, []any{}
	a.StatusesCount, a.FollowersCount, a.FollowingCount, a.LastStatusAt = 0, 0, 0, nil
	a.Suspended = true
	return a
}

// AccountFrom builds a public Account entity.
func AccountFrom(site Site, a *store.Account, c store.AccountCounts) Account {
	out := Account{
		ID: a.ID, Username: a.Username, Acct: a.Acct(), DisplayName: a.DisplayName,
		Locked: a.Locked, Bot: a.Bot, Group: a.Group, Discoverable: a.Discoverable, Indexable: a.Discoverable,
		CreatedAt: Timestamp(a.CreatedAt.Truncate(24 * 60 * 60 * 1e9)), Note: a.Note,
		URL: a.URL, URI: a.URI, Avatar: a.AvatarURL, AvatarStatic: a.AvatarURL, Header: a.HeaderURL, HeaderStatic: a.HeaderURL,
		FollowersCount: c.Followers, FollowingCount: c.Following, StatusesCount: c.Statuses,
		Emojis: []CustomEmoji{}, Roles: []any{}, Fields: FieldsFrom(a.Fields), Suspended: a.Suspended,
	}
	if out.Avatar == "" {
		out.Avatar = site.DefaultAvatar()
		out.AvatarStatic = out.Avatar
	}
	if out.Header == "" {
		out.Header = site.DefaultHeader()
		out.HeaderStatic = out.Header
	}
	if !c.LastStatusAt.IsZero() {
		day := c.LastStatusAt.Format("2006-01-02")
		out.LastStatusAt = &day
	}
	if out.DisplayName == "" {
		out.DisplayName = a.Username
	}
	return out
}

// CredentialAccountFrom builds the owner's view of their account, with source and role.
func CredentialAccountFrom(site Site, a *store.Account, c store.AccountCounts, u *store.User, followRequests int64) Account {
	out := AccountFrom(site, a, c)
	sourceFields := make([]Field, len(a.Fields))
	for i, f := range a.Fields {
		sourceFields[i] = Field{Name: f.Name, Value: PlainField(f.Value)}
	}
	out.Source = &AccountSource{
		Privacy: u.Preferences.PostingVisibility, Sensitive: u.Preferences.PostingSensitive,
		Language: u.Preferences.PostingLanguage, Note: a.NoteSource, Fields: sourceFields,
		FollowRequestsCount: followRequests, Discoverable: a.Discoverable, Indexable: a.Discoverable,
		QuotePolicy: u.Preferences.PostingQuotePolicy,
	}
	if out.Source.QuotePolicy == "" {
		out.Source.QuotePolicy = store.QuotePublic
	}
	if out.Source.Privacy == "" {
		out.Source.Privacy = store.VisibilityPublic
	}
	role := UserRole(u)
	out.Role = &role
	return out
}

// PlainField strips the link markup that field values get when rendered, for the owner's source.
func PlainField(html string) string {
	var b strings.Builder
	inTag := false
	for _, r := range html {
		switch {
		case r == '<':
			inTag = true
		case r == '>':
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'").Replace(b.String())
}

// FieldsFrom converts profile fields.
func FieldsFrom(fs []store.Field) []Field {
	out := make([]Field, len(fs))
	for i, f := range fs {
		out[i] = Field{Name: f.Name, Value: f.Value}
		if f.VerifiedAt != nil {
			ts := Timestamp(*f.VerifiedAt)
			out[i].VerifiedAt = &ts
		}
	}
	return out
}

// StatusData is everything needed to render one status for one viewer.
type StatusData struct {
	Status        *store.Status
	Account       *store.Account
	AccountCounts store.AccountCounts
	// Authors, when set, keeps the authors' entities built for one page, so that a page showing
	// the same few authors many times builds each of them once, and only if it is encoded.
	Authors  AuthorEntities
	Counts   store.StatusCounts
	Mentions []*store.Account
	Media    []*store.Media
	// Viewer is nil for anonymous requests, which omit the viewer-dependent fields.
	Viewer   *ViewerFlags
	Reblog   *StatusData
	Filtered []FilterResult
	// Quote is what the status quotes as the viewer is to see it, nil when it quotes nothing.
	Quote *QuoteData
	// QuoteApproval is who may quote the status, for this viewer.
	QuoteApproval *QuoteApproval
	// Poll is the status's poll, nil when it has none.
	Poll *PollData
}

// AuthorEntities are the Account entities of a page's authors by id; not safe for concurrent use.
type AuthorEntities map[string]*Account

// of returns the entity of a with counts c, built on first use.
func (m AuthorEntities) of(site Site, a *store.Account, c store.AccountCounts) Account {
	if e, ok := m[a.ID]; ok {
		return *e
	}
	e := AccountFrom(site, a, c)
	m[a.ID] = &e
	return e
}

// ViewerFlags are the viewer's relation to a status.
type ViewerFlags struct {
	Favourited, Reblogged, Muted, Bookmarked, Pinned bool
}

// StatusFrom builds a Status entity.
func StatusFrom(site Site, d *StatusData) Status {
	st := d.Status
	out := Status{
		ID: st.ID, URI: st.URI, URL: OptionalString(st.URL), CreatedAt: Timestamp(st.CreatedAt),
		Content: st.Content, Visibility: st.Visibility, LocalOnly: st.LocalOnly,
		Sensitive: st.Sensitive, SpoilerText: st.SpoilerText, MediaAttachments: make([]MediaAttachment, 0, len(d.Media)),
		Mentions: make([]Mention, 0, len(d.Mentions)), Tags: make([]Tag, 0, len(st.Tags)), Emojis: []CustomEmoji{},
		ReblogsCount: d.Counts.Reblogs, FavouritesCount: d.Counts.Favourites, RepliesCount: d.Counts.Replies,
		InReplyToID: OptionalString(st.InReplyToID), InReplyToAccountID: OptionalString(st.InReplyToAccountID),
		Language: OptionalString(st.Language), Filtered: d.Filtered,
		Quote: QuoteFrom(site, d.Quote), QuoteApproval: d.QuoteApproval, QuotesCount: d.Counts.Quotes,
	}
	if d.Authors != nil {
		out.Account = d.Authors.of(site, d.Account, d.AccountCounts)
	} else {
		out.Account = AccountFrom(site, d.Account, d.AccountCounts)
	}
	if !st.EditedAt.IsZero() {
		ts := Timestamp(st.EditedAt)
		out.EditedAt = &ts
	}
	if st.ApplicationName != "" {
		out.Application = &Application{Name: st.ApplicationName, Website: OptionalString(st.ApplicationWebsite)}
	}
	for _, m := range d.Mentions {
		out.Mentions = append(out.Mentions, Mention{ID: m.ID, Username: m.Username, URL: m.URL, Acct: m.Acct()})
	}
	for _, name := range st.Tags {
		out.Tags = append(out.Tags, Tag{Name: name, URL: site.TagURL(name)})
	}
	for _, m := range d.Media {
		out.MediaAttachments = append(out.MediaAttachments, MediaFrom(m))
	}
	if d.Viewer != nil {
		out.Favourited, out.Reblogged, out.Muted = Bool(d.Viewer.Favourited), Bool(d.Viewer.Reblogged), Bool(d.Viewer.Muted)
		out.Bookmarked, out.Pinned = Bool(d.Viewer.Bookmarked), Bool(d.Viewer.Pinned)
	}
	if d.Poll != nil {
		out.Poll = PollFrom(d.Poll, time.Now())
	}
	if st.ReblogOfID != "" {
		// A boost carries no content of its own; clients read everything from reblog.
		out.Content, out.URL = "", OptionalString(st.URI)
	}
	if d.Reblog != nil {
		r := StatusFrom(site, d.Reblog)
		out.Reblog = &r
	}
	return out
}

// MediaFrom builds a MediaAttachment entity.
func MediaFrom(m *store.Media) MediaAttachment {
	out := MediaAttachment{
		ID: m.ID, Type: m.Type, URL: OptionalString(m.URL), PreviewURL: OptionalString(m.PreviewURL),
		RemoteURL: OptionalString(m.RemoteURL), Description: OptionalString(m.Description), Blurhash: OptionalString(m.Blurhash),
	}
	if out.PreviewURL == nil {
		out.PreviewURL = out.URL
	}
	meta := map[string]any{}
	if m.Width > 0 && m.Height > 0 {
		meta["original"] = mediaSize(m.Width, m.Height)
		meta["small"] = meta["original"] // remote media have no preview of their own
		if m.SmallWidth > 0 && m.SmallHeight > 0 {
			meta["small"] = mediaSize(m.SmallWidth, m.SmallHeight)
		}
	}
	meta["focus"] = map[string]float64{"x": m.FocusX, "y": m.FocusY}
	out.Meta = meta
	return out
}

// mediaSize is one size entry of a MediaAttachment's meta.
func mediaSize(w, h int) map[string]any {
	return map[string]any{"width": w, "height": h, "size": strconv.Itoa(w) + "x" + strconv.Itoa(h), "aspect": float64(w) / float64(h)}
}

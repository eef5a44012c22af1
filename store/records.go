package store

import "time"

// Account is a local or remote actor. Remote accounts have a non-empty Domain and the URIs their
// server published; local ones derive theirs from the instance URL.
type Account struct {
	ID          string  `json:"id"`
	Username    string  `json:"username"`
	Domain      string  `json:"domain,omitempty"`
	DisplayName string  `json:"display_name"`
	Note        string  `json:"note"`        // sanitized HTML
	NoteSource  string  `json:"note_source"` // what the owner typed
	Fields      []Field `json:"fields,omitempty"`
	AvatarURL   string  `json:"avatar_url,omitempty"`
	HeaderURL   string  `json:"header_url,omitempty"`
	Locked      bool    `json:"locked,omitempty"`
	Bot         bool    `json:"bot,omitempty"`
	// Group marks a community's actor (ActivityPub Group, FEP-1b12): it boosts what its
	// members address to it.
	Group        bool      `json:"group,omitempty"`
	Discoverable bool      `json:"discoverable,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	Suspended    bool      `json:"suspended,omitempty"`
	// URI is the ActivityPub actor id; URL its HTML profile.
	URI            string `json:"uri"`
	URL            string `json:"url"`
	InboxURI       string `json:"inbox_uri,omitempty"`
	SharedInboxURI string `json:"shared_inbox_uri,omitempty"`
	OutboxURI      string `json:"outbox_uri,omitempty"`
	FollowersURI   string `json:"followers_uri,omitempty"`
	FollowingURI   string `json:"following_uri,omitempty"`
	FeaturedURI    string `json:"featured_uri,omitempty"`
	PublicKeyPEM   string `json:"public_key_pem,omitempty"`
	PublicKeyID    string `json:"public_key_id,omitempty"`
	// FetchedAt is when a remote account was last refreshed from its server.
	FetchedAt time.Time `json:"fetched_at,omitempty"`
	// AlsoKnownAs lists the actor URIs of the account's other accounts (ActivityPub
	// alsoKnownAs): a Move to this account is believed only when it names the old one here.
	AlsoKnownAs []string `json:"also_known_as,omitempty"`
	// MovedToURI is the actor URI of the account this one moved to (ActivityPub movedTo,
	// Mastodon's moved).
	MovedToURI string `json:"moved_to_uri,omitempty"`
}

// Field is one profile metadata row.
type Field struct {
	Name       string     `json:"name"`
	Value      string     `json:"value"` // HTML
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
}

// Local reports whether the account lives on this instance.
func (a *Account) Local() bool { return a.Domain == "" }

// Acct is user for local accounts and user@domain for remote ones, as in Mastodon's API.
func (a *Account) Acct() string {
	if a.Local() {
		return a.Username
	}
	return a.Username + "@" + a.Domain
}

// AccountCounts are an account's denormalized counters.
type AccountCounts struct {
	Statuses, Followers, Following int64
	LastStatusAt                   time.Time
}

// User is the sign-in record of a local account.
type User struct {
	AccountID    string      `json:"account_id"`
	Email        string      `json:"email"`
	PasswordHash string      `json:"password_hash"`
	CreatedAt    time.Time   `json:"created_at"`
	Admin        bool        `json:"admin,omitempty"`
	Preferences  Preferences `json:"preferences"`
}

// Preferences are a user's posting and reading defaults.
type Preferences struct {
	PostingVisibility string `json:"posting_visibility,omitempty"`
	PostingSensitive  bool   `json:"posting_sensitive,omitempty"`
	PostingLanguage   string `json:"posting_language,omitempty"`
	ExpandMedia       string `json:"expand_media,omitempty"`
	ExpandSpoilers    bool   `json:"expand_spoilers,omitempty"`
	// PostingQuotePolicy is who may quote new posts by default (quote.go), "" for anybody.
	PostingQuotePolicy string `json:"posting_quote_policy,omitempty"`
}

// Visibility values, as in Mastodon.
const (
	VisibilityPublic   = "public"
	VisibilityUnlisted = "unlisted"
	VisibilityPrivate  = "private"
	VisibilityDirect   = "direct"
)

// Status is a post or, when ReblogOfID is set, a boost of another status.
type Status struct {
	ID                 string    `json:"id"`
	URI                string    `json:"uri"`
	URL                string    `json:"url,omitempty"`
	AccountID          string    `json:"account_id"`
	Local              bool      `json:"local,omitempty"`
	Text               string    `json:"text,omitempty"` // source, local statuses only
	Content            string    `json:"content"`        // sanitized HTML
	SpoilerText        string    `json:"spoiler_text,omitempty"`
	Sensitive          bool      `json:"sensitive,omitempty"`
	Visibility         string    `json:"visibility"`
	Language           string    `json:"language,omitempty"`
	InReplyToID        string    `json:"in_reply_to_id,omitempty"`
	InReplyToAccountID string    `json:"in_reply_to_account_id,omitempty"`
	InReplyToURI       string    `json:"in_reply_to_uri,omitempty"`
	ReblogOfID         string    `json:"reblog_of_id,omitempty"`
	Mentions           []string  `json:"mentions,omitempty"` // account ids
	Tags               []string  `json:"tags,omitempty"`     // lower-case names without #
	MediaIDs           []string  `json:"media_ids,omitempty"`
	ApplicationName    string    `json:"application_name,omitempty"`
	ApplicationWebsite string    `json:"application_website,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	EditedAt           time.Time `json:"edited_at,omitempty"`
	ConversationID     string    `json:"conversation_id,omitempty"` // thread root of a direct status
	Quote              *QuoteRef `json:"quote,omitempty"`           // what it quotes (quote.go)
	QuotePolicy        string    `json:"quote_policy,omitempty"`    // who may quote it, automatically approved
	QuoteManual        string    `json:"quote_manual,omitempty"`    // who may quote it after review (remote only)
	HasPoll            bool      `json:"poll,omitempty"`            // it has a poll under its id (poll.go)
	// LocalOnly keeps a post inside its department: never delivered or served to another server.
	LocalOnly bool `json:"local_only,omitempty"`
	// NewPoll is the poll to create with the status, carried from composing a post to creating
	// it; never stored.
	NewPoll *Poll `json:"-"`
}

// StatusCounts are a status's denormalized counters.
type StatusCounts struct {
	Replies, Reblogs, Favourites, Quotes int64
}

// StatusEdit is one entry of a status's edit history.
type StatusEdit struct {
	Content     string    `json:"content"`
	SpoilerText string    `json:"spoiler_text"`
	Sensitive   bool      `json:"sensitive"`
	MediaIDs    []string  `json:"media_ids,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Notification types, as in Mastodon.
const (
	NotifyMention       = "mention"
	NotifyStatus        = "status"
	NotifyReblog        = "reblog"
	NotifyFavourite     = "favourite"
	NotifyFollow        = "follow"
	NotifyFollowRequest = "follow_request"
	NotifyUpdate        = "update"
	// NotifyMove tells a follower that an account they follow moved and they now follow its new one.
	NotifyMove = "move"
)

// Notification tells AccountID that FromAccountID did something, possibly to StatusID.
type Notification struct {
	ID            string `json:"id"`
	Type          string `json:"type"`
	AccountID     string `json:"account_id"`
	FromAccountID string `json:"from_account_id"`
	StatusID      string `json:"status_id,omitempty"`
	// ReportID is the report an admin.report notification is about (report.go).
	ReportID  string    `json:"report_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Relationship is how one account relates to another, from the first one's side.
type Relationship struct {
	ID                  string
	Following           bool
	ShowingReblogs      bool
	Notifying           bool
	Languages           []string
	FollowedBy          bool
	Blocking            bool
	BlockedBy           bool
	Muting              bool
	MutingNotifications bool
	Requested           bool
	RequestedBy         bool
	Endorsed            bool
	Note                string
}

// FollowOptions are the per-follow settings Mastodon exposes.
type FollowOptions struct {
	ShowReblogs bool     `json:"show_reblogs"`
	Notify      bool     `json:"notify"`
	Languages   []string `json:"languages,omitempty"`
}

// List is a user's list of accounts with its own timeline.
type List struct {
	ID            string `json:"id"`
	AccountID     string `json:"account_id"`
	Title         string `json:"title"`
	RepliesPolicy string `json:"replies_policy"`
	Exclusive     bool   `json:"exclusive"`
}

// Filter is a v2 keyword filter.
type Filter struct {
	ID           string          `json:"id"`
	Title        string          `json:"title"`
	Context      []string        `json:"context"`
	ExpiresAt    *time.Time      `json:"expires_at,omitempty"`
	FilterAction string          `json:"filter_action"`
	Keywords     []FilterKeyword `json:"keywords"`
}

// FilterKeyword is one keyword of a Filter.
type FilterKeyword struct {
	ID        string `json:"id"`
	Keyword   string `json:"keyword"`
	WholeWord bool   `json:"whole_word"`
}

// Marker is a saved reading position.
type Marker struct {
	LastReadID string    `json:"last_read_id"`
	Version    int64     `json:"version"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// App is a registered OAuth client.
type App struct {
	ClientID     string    `json:"client_id"`
	ClientSecret string    `json:"client_secret"`
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Website      string    `json:"website,omitempty"`
	RedirectURIs []string  `json:"redirect_uris"`
	Scopes       []string  `json:"scopes"`
	CreatedAt    time.Time `json:"created_at"`
}

// AuthCode is an authorization code waiting to be exchanged for a token.
type AuthCode struct {
	ClientID            string   `json:"client_id"`
	AccountID           string   `json:"account_id"`
	RedirectURI         string   `json:"redirect_uri"`
	Scopes              []string `json:"scopes"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
}

// Token is an access token's record; the token itself is only stored hashed.
type Token struct {
	ID        string    `json:"id"`
	Hash      string    `json:"hash"`
	ClientID  string    `json:"client_id,omitempty"`
	AccountID string    `json:"account_id,omitempty"` // empty for client_credentials tokens
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
}

// Media is an uploaded attachment's metadata.
type Media struct {
	ID          string  `json:"id"`
	AccountID   string  `json:"account_id"`
	Type        string  `json:"type"` // image, gifv, video, audio, unknown
	URL         string  `json:"url"`
	PreviewURL  string  `json:"preview_url,omitempty"`
	RemoteURL   string  `json:"remote_url,omitempty"`
	Description string  `json:"description,omitempty"`
	Blurhash    string  `json:"blurhash,omitempty"`
	Width       int     `json:"width,omitempty"`
	Height      int     `json:"height,omitempty"`
	SmallWidth  int     `json:"small_width,omitempty"` // of the local preview at PreviewURL
	SmallHeight int     `json:"small_height,omitempty"`
	FocusX      float64 `json:"focus_x,omitempty"`
	FocusY      float64 `json:"focus_y,omitempty"`
	ContentType string  `json:"content_type,omitempty"`
	StatusID    string  `json:"status_id,omitempty"`
	// ScheduledStatusID reserves the upload for a scheduled post until it is posted or deleted.
	ScheduledStatusID string    `json:"scheduled_status_id,omitempty"`
	ReservedAt        int64     `json:"reserved_at,omitempty"` // unix ms when ScheduledStatusID took it
	CreatedAt         time.Time `json:"created_at"`
}

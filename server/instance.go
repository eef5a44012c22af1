package server

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// instanceVersion claims the Mastodon API level clients should expect, as compatible servers do.
const instanceVersion = "4.3.0 (compatible; Watercooler 0.1)"

// Limits the instance publishes; the handlers that accept statuses and media enforce them.
const (
	instanceMaxCharacters      = 500
	instanceMaxMedia           = 4
	instanceCharactersPerURL   = 23
	instanceMaxFeaturedTags    = 10
	instanceMaxPinnedStatuses  = 5
	mediaImageSizeLimit        = 16 << 20
	mediaImageMatrixLimit      = 33177600 // 7680×4320 pixels, Mastodon's limit
	mediaDescriptionLimit      = 1500
	instancePollMaxOptions     = 4
	instancePollCharsPerOption = 50
	instancePollMinExpiration  = 300
	instancePollMaxExpiration  = 2629746
)

// mediaMIMETypes are the upload types accepted: images only, checked by content.
var mediaMIMETypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// instanceStatusesConfig is configuration.statuses of both instance versions.
type instanceStatusesConfig struct {
	MaxCharacters            int `json:"max_characters"`
	MaxMediaAttachments      int `json:"max_media_attachments"`
	CharactersReservedPerURL int `json:"characters_reserved_per_url"`
}

// instanceMediaConfig is configuration.media_attachments.
type instanceMediaConfig struct {
	SupportedMIMETypes  []string `json:"supported_mime_types"`
	DescriptionLimit    int      `json:"description_limit"`
	ImageSizeLimit      int      `json:"image_size_limit"`
	ImageMatrixLimit    int      `json:"image_matrix_limit"`
	VideoSizeLimit      int      `json:"video_size_limit"`
	VideoFrameRateLimit int      `json:"video_frame_rate_limit"`
	VideoMatrixLimit    int      `json:"video_matrix_limit"`
}

// instancePollsConfig is configuration.polls.
type instancePollsConfig struct {
	MaxOptions             int `json:"max_options"`
	MaxCharactersPerOption int `json:"max_characters_per_option"`
	MinExpiration          int `json:"min_expiration"`
	MaxExpiration          int `json:"max_expiration"`
}

// instanceAccountsConfig is configuration.accounts.
type instanceAccountsConfig struct {
	MaxFeaturedTags    int `json:"max_featured_tags"`
	MaxPinnedStatuses  int `json:"max_pinned_statuses"`
	MaxProfileFields   int `json:"max_profile_fields"`
	ProfileFieldLength int `json:"profile_field_name_limit"`
}

func statusesConfig() instanceStatusesConfig {
	return instanceStatusesConfig{MaxCharacters: instanceMaxCharacters, MaxMediaAttachments: instanceMaxMedia, CharactersReservedPerURL: instanceCharactersPerURL}
}

func mediaConfig() instanceMediaConfig {
	return instanceMediaConfig{
		SupportedMIMETypes: mediaMIMETypes, DescriptionLimit: mediaDescriptionLimit,
		ImageSizeLimit: mediaImageSizeLimit, ImageMatrixLimit: mediaImageMatrixLimit,
	}
}

func pollsConfig() instancePollsConfig {
	return instancePollsConfig{MaxOptions: instancePollMaxOptions, MaxCharactersPerOption: instancePollCharsPerOption,
		MinExpiration: instancePollMinExpiration, MaxExpiration: instancePollMaxExpiration}
}

func accountsConfig() instanceAccountsConfig {
	return instanceAccountsConfig{MaxFeaturedTags: instanceMaxFeaturedTags, MaxPinnedStatuses: instanceMaxPinnedStatuses,
		MaxProfileFields: 4, ProfileFieldLength: 255}
}

// instanceV1Entity is GET /api/v1/instance's body.
type instanceV1Entity struct {
	URI              string            `json:"uri"`
	Title            string            `json:"title"`
	ShortDescription string            `json:"short_description"`
	Description      string            `json:"description"`
	Email            string            `json:"email"`
	Version          string            `json:"version"`
	URLs             map[string]string `json:"urls"`
	Stats            struct {
		UserCount   int64 `json:"user_count"`
		StatusCount int64 `json:"status_count"`
		DomainCount int64 `json:"domain_count"`
	} `json:"stats"`
	Thumbnail        string   `json:"thumbnail"`
	Languages        []string `json:"languages"`
	Registrations    bool     `json:"registrations"`
	ApprovalRequired bool     `json:"approval_required"`
	InvitesEnabled   bool     `json:"invites_enabled"`
	Configuration    struct {
		Accounts         instanceAccountsConfig `json:"accounts"`
		Statuses         instanceStatusesConfig `json:"statuses"`
		MediaAttachments instanceMediaConfig    `json:"media_attachments"`
		Polls            instancePollsConfig    `json:"polls"`
	} `json:"configuration"`
	ContactAccount *mastodon.Account `json:"contact_account"`
	Rules          []any             `json:"rules"`
}

// instanceV2Entity is GET /api/v2/instance's body.
type instanceV2Entity struct {
	Domain      string `json:"domain"`
	Title       string `json:"title"`
	Version     string `json:"version"`
	SourceURL   string `json:"source_url"`
	Description string `json:"description"`
	Usage       struct {
		Users struct {
			ActiveMonth int64 `json:"active_month"`
		} `json:"users"`
	} `json:"usage"`
	Thumbnail struct {
		URL string `json:"url"`
	} `json:"thumbnail"`
	Icon          []any    `json:"icon"`
	Languages     []string `json:"languages"`
	Configuration struct {
		URLs struct {
			Streaming string  `json:"streaming"`
			Status    *string `json:"status"`
		} `json:"urls"`
		Vapid struct {
			PublicKey string `json:"public_key"`
		} `json:"vapid"`
		Accounts         instanceAccountsConfig `json:"accounts"`
		Statuses         instanceStatusesConfig `json:"statuses"`
		MediaAttachments instanceMediaConfig    `json:"media_attachments"`
		Polls            instancePollsConfig    `json:"polls"`
		Translation      struct {
			Enabled bool `json:"enabled"`
		} `json:"translation"`
	} `json:"configuration"`
	Registrations struct {
		Enabled          bool    `json:"enabled"`
		ApprovalRequired bool    `json:"approval_required"`
		Message          *string `json:"message"`
		URL              *string `json:"url"`
	} `json:"registrations"`
	APIVersions map[string]int `json:"api_versions"`
	Contact     struct {
		Email   string            `json:"email"`
		Account *mastodon.Account `json:"account"`
	} `json:"contact"`
	Rules []any `json:"rules"`
}

// streamingURL is the WebSocket form of the instance URL.
func (s *Server) streamingURL() string {
	if rest, ok := strings.CutPrefix(s.cfg.URL, "https://"); ok {
		return "wss://" + rest
	}
	return "ws://" + strings.TrimPrefix(s.cfg.URL, "http://")
}

// instanceThumbnail stands in for an uploaded server banner until there is one.
func (s *Server) instanceThumbnail() string { return s.site.DefaultHeader() }

// instanceSummary loads the counters and the contact account both versions publish.
func (s *Server) instanceSummary(ctx context.Context) (store.InstanceStats, *mastodon.Account, error) {
	stats, err := s.store.InstanceStats(ctx)
	if err != nil {
		return stats, nil, err
	}
	if stats.ContactAccountID == "" {
		return stats, nil, nil
	}
	a, err := s.store.Account(ctx, stats.ContactAccountID)
	if errors.Is(err, store.ErrNotFound) {
		return stats, nil, nil
	}
	if err != nil {
		return stats, nil, err
	}
	contact, err := s.renderAccount(ctx, a)
	if err != nil {
		return stats, nil, err
	}
	return stats, &contact, nil
}

// instanceV1 serves the v1 instance entity that older clients read.
func (s *Server) instanceV1(c *fiber.Ctx) error {
	ctx := c.UserContext()
	stats, contact, err := s.instanceSummary(ctx)
	if err != nil {
		return err
	}
	domains, err := s.store.KnownDomains(ctx)
	if err != nil {
		return err
	}
	out := instanceV1Entity{
		URI: s.cfg.Domain(), Title: s.cfg.Title, ShortDescription: s.cfg.Description, Description: s.cfg.Description,
		Email: s.cfg.ContactEmail, Version: instanceVersion, URLs: map[string]string{"streaming_api": s.streamingURL()},
		Thumbnail: s.instanceThumbnail(), Languages: []string{s.cfg.DefaultLanguage}, Registrations: s.cfg.OpenRegistrations,
		ContactAccount: contact, Rules: []any{},
	}
	out.Stats.UserCount, out.Stats.StatusCount, out.Stats.DomainCount = stats.Users, stats.Statuses, int64(len(domains))
	out.Configuration.Accounts = accountsConfig()
	out.Configuration.Statuses = statusesConfig()
	out.Configuration.MediaAttachments = mediaConfig()
	out.Configuration.Polls = pollsConfig()
	return c.JSON(out)
}

// instanceV2 serves the current instance entity.
func (s *Server) instanceV2(c *fiber.Ctx) error {
	stats, contact, err := s.instanceSummary(c.UserContext())
	if err != nil {
		return err
	}
	out := instanceV2Entity{
		Domain: s.cfg.Domain(), Title: s.cfg.Title, Version: instanceVersion, SourceURL: s.cfg.URL,
		Description: s.cfg.Description, Icon: []any{}, Languages: []string{s.cfg.DefaultLanguage},
		APIVersions: map[string]int{"mastodon": 2}, Rules: []any{},
	}
	out.Usage.Users.ActiveMonth = stats.ActiveMonth
	out.Thumbnail.URL = s.instanceThumbnail()
	out.Configuration.URLs.Streaming = s.streamingURL()
	out.Configuration.Accounts = accountsConfig()
	out.Configuration.Statuses = statusesConfig()
	out.Configuration.MediaAttachments = mediaConfig()
	out.Configuration.Polls = pollsConfig()
	out.Configuration.Vapid.PublicKey = s.vapidKey()
	out.Registrations.Enabled = s.cfg.OpenRegistrations
	out.Contact.Email, out.Contact.Account = s.cfg.ContactEmail, contact
	return c.JSON(out)
}

// instancePeers lists the organization's other departments and the domains of the remote
// accounts this instance knows.
func (s *Server) instancePeers(c *fiber.Ctx) error {
	domains, err := s.store.KnownDomains(c.UserContext())
	if err != nil {
		return err
	}
	departments, err := s.organizationPeers(c.UserContext())
	if err != nil {
		return err
	}
	if len(departments) > 0 {
		domains = mergeHosts(domains, departments)
	}
	return c.JSON(domains)
}

// instanceRules lists the server rules; Watercooler has none configurable yet.
func (s *Server) instanceRules(c *fiber.Ctx) error { return c.JSON([]any{}) }

// customEmojis lists custom emoji; Watercooler has none.
func (s *Server) customEmojis(c *fiber.Ctx) error { return c.JSON([]any{}) }

package server

import (
	"html"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
)

// The instance's smaller documents that apps read on their "about" pages.

// instanceActivity is GET /api/v1/instance/activity: twelve weeks, this one first.
func (s *Server) instanceActivity(c *fiber.Ctx) error {
	weeks, err := s.store.Activity(c.UserContext(), time.Now())
	if err != nil {
		return err
	}
	type week struct {
		Week          string `json:"week"`
		Statuses      string `json:"statuses"`
		Logins        string `json:"logins"`
		Registrations string `json:"registrations"`
	}
	out := make([]week, len(weeks))
	for i, w := range weeks {
		out[i] = week{
			Week: strconv.FormatInt(w.Week.Unix(), 10), Statuses: strconv.FormatInt(w.Statuses, 10),
			Logins: strconv.FormatInt(w.Logins, 10), Registrations: strconv.FormatInt(w.Registrations, 10),
		}
	}
	return c.JSON(out)
}

// instanceDocument is the {updated_at, content} shape of the extended description and the
// privacy policy.
type instanceDocument struct {
	UpdatedAt string `json:"updated_at"`
	Content   string `json:"content"`
}

// instanceStarted stands for when the instance's documents last changed: they come from its
// configuration, which changes only with a restart.
var instanceStarted = time.Now().UTC()

// instanceExtendedDescription is GET /api/v1/instance/extended_description.
func (s *Server) instanceExtendedDescription(c *fiber.Ctx) error {
	return c.JSON(instanceDocument{UpdatedAt: mastodon.Timestamp(instanceStarted), Content: "<p>" + html.EscapeString(s.cfg.Description) + "</p>"})
}

// instancePrivacyPolicy is GET /api/v1/instance/privacy_policy: what this instance keeps and
// shares, as it really does.
func (s *Server) instancePrivacyPolicy(c *fiber.Ctx) error {
	title := html.EscapeString(s.cfg.Title)
	content := "<h1>Privacy policy of " + title + "</h1>" +
		"<p>This is one department's Watercooler instance. It keeps your account (user name, e-mail address, a bcrypt hash of your password), your profile, your posts, the media you upload (re-encoded without location data), whom you follow, block and mute, your lists, filters, bookmarks and favourites, and the sign-in tokens of the apps you use.</p>" +
		"<p>Public and unlisted posts, your profile and your public follows are sent to the other departments' instances that follow you or are mentioned, as on any ActivityPub server; followers-only posts go only to your followers' instances, and direct messages only to those mentioned. Nothing is sent to anyone outside the organization's instances unless someone there follows you.</p>" +
		"<p>Deleting a post or your account deletes it here and asks the other instances to delete their copies. Ask the department's administrators for an export of your data.</p>"
	return c.JSON(instanceDocument{UpdatedAt: mastodon.Timestamp(instanceStarted), Content: content})
}

// instanceTermsOfService is GET /api/v1/instance/terms_of_service: the instance publishes no
// terms of its own, which Mastodon answers with 404.
func (s *Server) instanceTermsOfService(c *fiber.Ctx) error { return errNotFound }

// instanceTranslationLanguages is GET /api/v1/instance/translation_languages: this instance
// does not translate.
func (s *Server) instanceTranslationLanguages(c *fiber.Ctx) error { return c.JSON(fiber.Map{}) }

// isoLanguages are the ISO 639-1 languages offered to composers, as Mastodon lists its own.
var isoLanguages = [][2]string{
	{"ar", "Arabic"}, {"bg", "Bulgarian"}, {"ca", "Catalan"}, {"cs", "Czech"}, {"cy", "Welsh"}, {"da", "Danish"},
	{"de", "German"}, {"el", "Greek"}, {"en", "English"}, {"eo", "Esperanto"}, {"es", "Spanish"}, {"et", "Estonian"},
	{"eu", "Basque"}, {"fa", "Persian"}, {"fi", "Finnish"}, {"fr", "French"}, {"ga", "Irish"}, {"gl", "Galician"},
	{"he", "Hebrew"}, {"hi", "Hindi"}, {"hr", "Croatian"}, {"hu", "Hungarian"}, {"id", "Indonesian"}, {"is", "Icelandic"},
	{"it", "Italian"}, {"ja", "Japanese"}, {"ko", "Korean"}, {"lt", "Lithuanian"}, {"lv", "Latvian"}, {"nl", "Dutch"},
	{"no", "Norwegian"}, {"pl", "Polish"}, {"pt", "Portuguese"}, {"ro", "Romanian"}, {"ru", "Russian"}, {"sk", "Slovak"},
	{"sl", "Slovenian"}, {"sr", "Serbian"}, {"sv", "Swedish"}, {"th", "Thai"}, {"tr", "Turkish"}, {"uk", "Ukrainian"},
	{"vi", "Vietnamese"}, {"zh", "Chinese"},
}

// instanceLanguages is GET /api/v1/instance/languages.
func (s *Server) instanceLanguages(c *fiber.Ctx) error {
	type language struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	out := make([]language, len(isoLanguages))
	for i, l := range isoLanguages {
		out[i] = language{l[0], l[1]}
	}
	return c.JSON(out)
}

// instanceDomainBlocks is GET /api/v1/instance/domain_blocks: the servers this instance does not
// federate with, public as Mastodon shows them by default, each with its SHA-256 digest.
func (s *Server) instanceDomainBlocks(c *fiber.Ctx) error {
	hosts, err := s.store.InstanceDomainBlocks(c.UserContext())
	if err != nil {
		return err
	}
	type block struct {
		Domain   string `json:"domain"`
		Digest   string `json:"digest"`
		Severity string `json:"severity"`
		Comment  string `json:"comment"`
	}
	out := make([]block, len(hosts))
	for i, h := range hosts {
		out[i] = block{Domain: h, Digest: sha256Hex(h), Severity: "suspend", Comment: ""}
	}
	return c.JSON(out)
}

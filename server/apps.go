package server

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"watercooler/server/mastodon"
	"watercooler/store"
)

// appParamList is a parameter Mastodon accepts as a string or as an array of strings.
type appParamList []string

// UnmarshalJSON accepts "a" as well as ["a", "b"].
func (l *appParamList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = appParamList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// fields splits every element on whitespace, as Doorkeeper splits redirect_uris.
func (l appParamList) fields() []string {
	var out []string
	for _, s := range l {
		out = append(out, strings.Fields(s)...)
	}
	return out
}

// appParams are POST /api/v1/apps's parameters.
type appParams struct {
	ClientName   string       `json:"client_name" form:"client_name" query:"client_name"`
	RedirectURIs appParamList `json:"redirect_uris" form:"redirect_uris" query:"redirect_uris"`
	Scopes       appParamList `json:"scopes" form:"scopes" query:"scopes"`
	Website      string       `json:"website" form:"website" query:"website"`
}

// Limits of registered apps: the name and URI lengths are Mastodon's validations; Mastodon
// has no limit on the number of redirect URIs, but anyone may register an app, so without one
// a single registration could fill Redis.
const (
	appNameLimit         = 60
	appURILimit          = 2000
	appRedirectURIsLimit = 16
)

// credentialApplication is the Application entity with the client's credentials, returned
// once, on registration.
type credentialApplication struct {
	mastodon.Application
	ClientSecretExpiresAt int64 `json:"client_secret_expires_at"`
}

// appsCreate registers an OAuth client.
func (s *Server) appsCreate(c *fiber.Ctx) error {
	var p appParams
	if err := decodeParams(c, &p); err != nil {
		return err
	}
	name := strings.TrimSpace(p.ClientName)
	switch {
	case name == "":
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Application name can't be blank")
	case utf8.RuneCountInString(name) > appNameLimit:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Application name is too long (maximum is %d characters)", appNameLimit)
	}
	uris := slices.Compact(p.RedirectURIs.fields())
	switch {
	case len(uris) == 0:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Redirect URI can't be blank")
	case len(uris) > appRedirectURIsLimit:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Redirect URI has too many entries (maximum is %d)", appRedirectURIsLimit)
	}
	for _, u := range uris {
		if err := validRedirectURI(u); err != nil {
			return err
		}
	}
	scopes, err := ParseScopes(strings.Join(p.Scopes, " "))
	if err != nil {
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Scopes doesn't match configured on the server.")
	}
	website := strings.TrimSpace(p.Website)
	if website != "" {
		u, err := url.Parse(website)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(website) > appURILimit {
			return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Website is invalid")
		}
	}
	app := &store.App{Name: name, Website: website, RedirectURIs: uris, Scopes: scopes}
	if err := s.store.CreateApp(c.UserContext(), app); err != nil {
		return err
	}
	out := credentialApplication{Application: applicationEntity(app)}
	out.ClientID, out.ClientSecret = app.ClientID, app.ClientSecret
	out.VapidKey = s.vapidKey()
	return c.JSON(out)
}

// validRedirectURI accepts the out-of-band URI and absolute URIs without fragments; custom
// schemes (myapp://callback) are allowed for native apps.
func validRedirectURI(raw string) error {
	if raw == oobRedirectURI {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Scheme == "" || len(raw) > appURILimit:
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Redirect URI must be an absolute URI.")
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host == "":
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Redirect URI must be an absolute URI.")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Redirect URI cannot contain a fragment.")
	case strings.EqualFold(u.Scheme, "javascript") || strings.EqualFold(u.Scheme, "data"):
		return errorf(fiber.StatusUnprocessableEntity, "Validation failed: Redirect URI is forbidden by the server.")
	}
	return nil
}

// applicationEntity is the public Application entity of a registered app.
func applicationEntity(app *store.App) mastodon.Application {
	return mastodon.Application{
		ID: app.ID, Name: app.Name, Website: mastodon.OptionalString(app.Website), Scopes: app.Scopes,
		RedirectURI: strings.Join(app.RedirectURIs, "\n"), RedirectURIs: app.RedirectURIs,
	}
}

// appsVerify returns the app of the presented token. Tokens minted by the instance itself
// (the admin command, the demo) have no registered app and show as Mastodon's own "Web" app.
func (s *Server) appsVerify(c *fiber.Ctx) error {
	tok := token(c)
	if tok.ClientID == "" {
		return c.JSON(mastodon.Application{Name: "Web", Scopes: tok.Scopes, VapidKey: s.vapidKey()})
	}
	app, err := s.store.App(c.UserContext(), tok.ClientID)
	if err != nil {
		return err
	}
	out := applicationEntity(app)
	out.VapidKey = s.vapidKey()
	return c.JSON(out)
}

package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// pageCSS styles the OAuth pages. It is inlined and allowed by its hash, so the pages load
// nothing from anywhere and the CSP can stay default-src 'none'.
const pageCSS = `
body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#f4f6f8;color:#1b1f24}
main{max-width:28rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0003}
h1{font-size:1.4rem;margin-top:0}h2{font-size:1rem}
label{display:block;font-weight:600;margin-top:1rem}
input[type=text],input[type=password]{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;border:1px solid #767676;border-radius:4px}
input:focus,button:focus{outline:3px solid #2b6cb0;outline-offset:2px}
.actions{display:flex;gap:.75rem;margin-top:1.5rem}
button{font:inherit;padding:.5rem 1rem;border-radius:4px;border:1px solid #2b4c7e;background:#2b4c7e;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#2b4c7e}
.error{color:#9b1c1c;background:#fde8e8;padding:.5rem;border-radius:4px}
code{word-break:break-all}
#code{display:block;padding:.75rem;background:#eef2f6;border-radius:4px;font-size:1.1rem}
`

// pageCSP forbids everything but the inline style above; frame-ancestors stops clickjacking
// of the consent buttons. There is deliberately no form-action: browsers apply it to the
// redirect that follows the form, which goes to the app's own redirect URI.
var pageCSP = "default-src 'none'; style-src 'sha256-" + cspHash(pageCSS) + "'; frame-ancestors 'none'; base-uri 'none'"

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>{{.Title}} · {{.Instance}}</title>
<style>` + pageCSS + `</style>
</head>
<body>
<main>
`

const pageFoot = `
</main>
</body>
</html>
`

var authorizeTemplate = template.Must(template.New("authorize").Parse(pageHead + `<h1>Authorize {{.AppName}}</h1>
<p><strong>{{.AppName}}</strong>{{if .AppWebsite}} (<a href="{{.AppWebsite}}" rel="noopener noreferrer">{{.AppWebsite}}</a>){{end}}
wants to use your account on {{.Instance}}.</p>
<h2 id="scopes-heading">If you allow it, the app will be able to:</h2>
<ul aria-labelledby="scopes-heading">
{{- range .Scopes}}
<li><code>{{.Name}}</code>: {{.Description}}</li>
{{- end}}
</ul>
{{if .Error}}<p class="error" role="alert" id="form-error">{{.Error}}</p>{{end}}
{{- if .SSOName}}
<form method="post" action="/oauth/oidc" id="sso">
{{- range .Hidden}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{- end}}
<div class="actions">
<button type="submit">Sign in with {{.SSOName}}</button>
</div>
</form>
{{- if .Password}}
<p>Or sign in with your password:</p>
{{- end}}
{{- end}}
<form method="post" action="/oauth/authorize">
{{- range .Hidden}}
<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{- end}}
{{- if .Password}}
<label for="login">E-mail address or username</label>
<input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="{{.Login}}"{{if .Error}} aria-describedby="form-error" aria-invalid="true"{{end}}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
{{- end}}
<div class="actions">
{{- if .Password}}
<button type="submit" name="decision" value="approve">Sign in and authorize</button>
{{- end}}
<button type="submit" name="decision" value="deny" class="secondary" formnovalidate>Deny</button>
</div>
</form>` + pageFoot))

var messageTemplate = template.Must(template.New("message").Parse(pageHead + `<h1>{{.Title}}</h1>
<p{{if .IsError}} class="error" role="alert"{{end}}>{{.Message}}</p>
{{- if .Code}}
<p id="code-label">Copy this authorization code and paste it into the application:</p>
<code id="code" aria-labelledby="code-label" tabindex="0">{{.Code}}</code>
{{- end}}` + pageFoot))

// authorizePage is what the sign-in and consent form shows.
type authorizePage struct {
	Title, Instance     string
	AppName, AppWebsite string
	Scopes              []scopeLine
	Hidden              []hiddenField
	Login, Error        string
	// Password shows the password form; SSOName, when set, the "Sign in with" button.
	Password bool
	SSOName  string
}

type scopeLine struct{ Name, Description string }

type hiddenField struct{ Name, Value string }

// messagePage is a page that only informs: an error, a refusal, or an out-of-band code.
type messagePage struct {
	Title, Instance, Message, Code string
	IsError                        bool
}

// renderPage writes an HTML page with the headers every OAuth page needs.
func renderPage(c *fiber.Ctx, status int, t *template.Template, data any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentSecurityPolicy, pageCSP)
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// scopeDescriptions explain the top-level scopes; sub-scopes are described from their names.
var scopeDescriptions = map[string]string{
	"read":        "read all your account's data",
	"write":       "change all your account's data",
	"follow":      "follow, unfollow, block and mute accounts",
	"push":        "receive your push notifications",
	"profile":     "read your profile only",
	"admin:read":  "read all data on the server",
	"admin:write": "moderate and change all data on the server",
}

func describeScopes(scopes []string) []scopeLine {
	out := make([]scopeLine, 0, len(scopes))
	for _, sc := range scopes {
		d, ok := scopeDescriptions[sc]
		if !ok {
			verb, what, _ := strings.Cut(sc, ":")
			what = strings.ReplaceAll(what, "_", " ")
			if verb == "read" {
				d = "see your " + what
			} else {
				d = "change your " + what
			}
		}
		out = append(out, scopeLine{Name: sc, Description: d})
	}
	return out
}

// waitText says how long a throttled sign-in must wait, in words, rounded up.
func waitText(d time.Duration) string {
	if d <= time.Minute {
		return "a minute"
	}
	return strconv.Itoa(int((d+time.Minute-1)/time.Minute)) + " minutes"
}

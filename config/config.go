// Package config is the one place that reads the environment, command-line flags and the optional
// configuration file. Everything else receives a validated Config.
package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is one instance's settings.
type Config struct {
	// URL is the public base URL, e.g. https://eng.corp.example; its host is the instance's domain.
	URL string
	// Listen is the host:port the HTTP server binds.
	Listen string
	// RedisURL selects a real Redis; empty means an embedded in-process Redis.
	RedisURL string
	// RedisPrefix namespaces every key, so several instances can share one Redis database.
	RedisPrefix string
	// MediaDir is where uploaded files live.
	MediaDir string
	// Title is the instance's name shown to clients.
	Title string
	// Description is shown in the instance entity.
	Description string
	// ContactEmail is published in the instance entity.
	ContactEmail string
	// OpenRegistrations allows POST /api/v1/accounts.
	OpenRegistrations bool
	// PasswordGrant lets OAuth clients exchange a user's e-mail and password for a token
	// (grant_type=password, toot login_cli); off, they are told to sign in through the browser.
	PasswordGrant bool
	// PasswordSignIn allows signing in with a password (the authorize form and the password
	// grant); an organization that signs in only through its OpenID provider switches it off.
	PasswordSignIn bool
	// OIDC is the organization's OpenID Connect provider; no Issuer means none.
	OIDC OIDC
	// DefaultLanguage is the language of posts whose author and client name none, as Mastodon
	// takes the instance's default locale.
	DefaultLanguage string
	// OrgJoin is the base URL of a department of the organization this one asks to join at
	// start; empty joins nothing (a department that already joined stays in).
	OrgJoin string
	// PeerNetworks lists CIDRs that remote fetches may reach although they are private.
	PeerNetworks []*net.IPNet
	// DomainBlocks are hosts never federated with; added to the ones kept in Redis at start.
	DomainBlocks []string
	// AllowedPeers are hosts federated with in allowlist mode; added to Redis at start.
	AllowedPeers []string
	// FederationMode is "open", "allowlist", or "" to keep what Redis holds.
	FederationMode string
	// AuthorizedFetch requires signed GETs for ActivityPub documents.
	AuthorizedFetch bool
	// BodyLimit caps request bodies in bytes: the routes that upload files (media, avatars and
	// headers) may use all of it, every other route RequestBodyLimit at most.
	BodyLimit int
	// RequestBodyLimit caps the bodies of routes that take no files, in bytes.
	RequestBodyLimit int
	// MediaDecodes is how many uploaded images may be decoded at once; each decode is bounded
	// by the media package's decode budget, so this bounds the memory they take together.
	MediaDecodes int
	// CommunityCreation is who may create communities through the API: CommunityCreationAdmins
	// (the default) or CommunityCreationEveryone. The admin command always may.
	CommunityCreation string
	// ReadTimeout, WriteTimeout and IdleTimeout bound client connections.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// BcryptCost is the password hashing cost; tests lower it only through this field.
	BcryptCost int
	// StreamingHeartbeat is how often an idle streaming connection gets a keep-alive (an SSE
	// comment, a WebSocket ping).
	StreamingHeartbeat time.Duration
	// StreamingBuffer is how many events a streaming connection may fall behind before it is
	// dropped as too slow.
	StreamingBuffer int
	// TrustedProxies lists the reverse proxies whose X-Forwarded-For is believed when finding a
	// client's address; with none, the connection's own address is the client's.
	TrustedProxies []*net.IPNet
	// APIRate caps client API requests per account, or per client address when signed out.
	APIRate Rate
	// MediaRate caps media uploads per account, on top of APIRate.
	MediaRate Rate
	// SignInAccountRate and SignInAddressRate cap password checks that may fail, per account
	// (or per unknown login) and per client address; a success clears the account's count.
	SignInAccountRate, SignInAddressRate Rate
	// MetricsListen is the host:port of a listener of its own that serves Prometheus metrics
	// on /metrics; empty serves none.
	MetricsListen string
	// MetricsToken, when set, also serves /metrics on the main listener to requests bearing
	// it (Authorization: Bearer); empty keeps metrics off the main listener.
	MetricsToken string
	// LogFormat is "text" (logfmt-like lines, the default) or "json" (one JSON object a line).
	LogFormat string
}

// Rate is a rate limit: at most Limit events in each Window, counted from the first event of
// the window. A zero Limit turns the limit off.
type Rate struct {
	Limit  int
	Window time.Duration
}

// Off reports whether the limit is turned off.
func (r Rate) Off() bool { return r.Limit <= 0 }

// String writes the rate as its settings do, like "300/5m0s", or "0" when off.
func (r Rate) String() string {
	if r.Off() {
		return "0"
	}
	return strconv.Itoa(r.Limit) + "/" + r.Window.String()
}

// ParseRate reads "LIMIT/WINDOW" (like "300/5m") or "0" for no limit.
func ParseRate(v string) (Rate, error) {
	v = strings.TrimSpace(v)
	if v == "0" {
		return Rate{}, nil
	}
	n, w, ok := strings.Cut(v, "/")
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || limit < 1 {
		return Rate{}, fmt.Errorf("must be LIMIT/WINDOW like 300/5m, or 0 for no limit, got %q", v)
	}
	window, err := time.ParseDuration(strings.TrimSpace(w))
	if err != nil || window < time.Second {
		return Rate{}, fmt.Errorf("window must be a duration of at least 1s like 5m, got %q", w)
	}
	return Rate{Limit: limit, Window: window}, nil
}

// Domain is the host (with port when not default) of the public URL, as used in acct: URIs.
func (c *Config) Domain() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	return u.Host
}

// OIDC configures sign-in with an OpenID Connect provider.
type OIDC struct {
	Issuer, ClientID, ClientSecret string
	// Name is shown as "Sign in with <Name>"; empty means the issuer's host.
	Name string
	// GroupsClaim names the ID token claim that lists the person's groups.
	GroupsClaim string
	// AllowedGroups admits only members of one of them; empty admits everyone the provider
	// authenticates.
	AllowedGroups []string
	// AdminGroup's members are the instance's admins, kept in step at every sign-in.
	AdminGroup string
}

// Values of Config.CommunityCreation.
const (
	CommunityCreationEveryone = "everyone"
	CommunityCreationAdmins   = "admins"
)

// Defaults returns a Config with every optional setting filled in.
func Defaults() Config {
	return Config{
		URL:             "http://127.0.0.1:8080",
		Listen:          "127.0.0.1:8080",
		RedisPrefix:     "wc",
		MediaDir:        filepath.Join(os.TempDir(), "watercooler-media"),
		Title:           "Watercooler",
		Description:     "A department's Watercooler: share what you know across team lines.",
		DefaultLanguage: "en",
		BodyLimit:       16 << 20,

		RequestBodyLimit: 1 << 20,
		MediaDecodes:     2,

		CommunityCreation: CommunityCreationAdmins,

		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  120 * time.Second,
		BcryptCost:   12,

		PasswordSignIn: true,
		OIDC:           OIDC{GroupsClaim: "groups"},

		StreamingHeartbeat: 15 * time.Second,
		StreamingBuffer:    256,

		// Mastodon's published limits for the API and uploads. Sign-in allows a person some
		// typos per quarter hour, and an office behind one NAT address several people's.
		APIRate:           Rate{Limit: 300, Window: 5 * time.Minute},
		MediaRate:         Rate{Limit: 30, Window: 30 * time.Minute},
		SignInAccountRate: Rate{Limit: 10, Window: 15 * time.Minute},
		SignInAddressRate: Rate{Limit: 50, Window: 15 * time.Minute},

		LogFormat: "text",
	}
}

// setting describes one configuration value: its flag, environment variable and file key.
type setting struct {
	flag, env, usage string
	apply            func(c *Config, v string) error
}

func settings() []setting {
	str := func(dst func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *dst(c) = v; return nil }
	}
	rate := func(dst func(*Config) *Rate) func(*Config, string) error {
		return func(c *Config, v string) error {
			r, err := ParseRate(v)
			*dst(c) = r
			return err
		}
	}
	return []setting{
		{"url", "WATERCOOLER_URL", "public base URL (e.g. https://eng.corp.example)", str(func(c *Config) *string { return &c.URL })},
		{"listen", "WATERCOOLER_LISTEN", "address to listen on (host:port)", str(func(c *Config) *string { return &c.Listen })},
		{"redis", "REDIS_URL", "Redis URL (redis://host:port/db, or redis+cluster://host:port,host:port for a Redis Cluster); empty runs an embedded in-memory Redis", str(func(c *Config) *string { return &c.RedisURL })},
		{"redis-prefix", "WATERCOOLER_REDIS_PREFIX", "prefix of every Redis key", str(func(c *Config) *string { return &c.RedisPrefix })},
		{"media-dir", "WATERCOOLER_MEDIA_DIR", "directory for uploaded media", str(func(c *Config) *string { return &c.MediaDir })},
		{"title", "WATERCOOLER_TITLE", "instance title", str(func(c *Config) *string { return &c.Title })},
		{"description", "WATERCOOLER_DESCRIPTION", "instance description", str(func(c *Config) *string { return &c.Description })},
		{"contact-email", "WATERCOOLER_CONTACT_EMAIL", "contact e-mail published in the instance entity", str(func(c *Config) *string { return &c.ContactEmail })},
		{"open-registrations", "WATERCOOLER_OPEN_REGISTRATIONS", "allow sign-up through POST /api/v1/accounts (true/false)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("must be true or false, got %q", v)
			}
			c.OpenRegistrations = b
			return nil
		}},
		{"default-language", "WATERCOOLER_DEFAULT_LANGUAGE", "ISO 639-1 language of posts that name none (the author's posting language comes first)", str(func(c *Config) *string { return &c.DefaultLanguage })},
		{"password-grant", "WATERCOOLER_PASSWORD_GRANT", "accept OAuth's password grant (toot login_cli); off, clients are told to sign in in the browser (true/false)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("must be true or false, got %q", v)
			}
			c.PasswordGrant = b
			return nil
		}},
		{"password-sign-in", "WATERCOOLER_PASSWORD_SIGN_IN", "allow signing in with a password; off, the sign-in form and the password grant refuse passwords (true/false)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("must be true or false, got %q", v)
			}
			c.PasswordSignIn = b
			return nil
		}},
		{"oidc-issuer", "WATERCOOLER_OIDC_ISSUER", "issuer URL of the organization's OpenID Connect provider; empty means no single sign-on", str(func(c *Config) *string { return &c.OIDC.Issuer })},
		{"oidc-client-id", "WATERCOOLER_OIDC_CLIENT_ID", "client id of this instance at the OpenID provider", str(func(c *Config) *string { return &c.OIDC.ClientID })},
		{"oidc-client-secret", "WATERCOOLER_OIDC_CLIENT_SECRET", "client secret of this instance at the OpenID provider", str(func(c *Config) *string { return &c.OIDC.ClientSecret })},
		{"oidc-name", "WATERCOOLER_OIDC_NAME", "provider name on the sign-in button (\"Sign in with <name>\"); default the issuer's host", str(func(c *Config) *string { return &c.OIDC.Name })},
		{"oidc-groups-claim", "WATERCOOLER_OIDC_GROUPS_CLAIM", "ID token claim listing the person's groups", str(func(c *Config) *string { return &c.OIDC.GroupsClaim })},
		{"oidc-allowed-groups", "WATERCOOLER_OIDC_ALLOWED_GROUPS", "comma-separated groups whose members may sign in; empty admits everyone the provider authenticates", func(c *Config, v string) error {
			c.OIDC.AllowedGroups = nil
			for _, g := range strings.Split(v, ",") {
				if g = strings.TrimSpace(g); g != "" {
					c.OIDC.AllowedGroups = append(c.OIDC.AllowedGroups, g)
				}
			}
			return nil
		}},
		{"oidc-admin-group", "WATERCOOLER_OIDC_ADMIN_GROUP", "group whose members are admins of this instance", str(func(c *Config) *string { return &c.OIDC.AdminGroup })},
		{"org-join", "WATERCOOLER_ORG_JOIN", "base URL of any department of the organization to join at start (e.g. https://eng.corp.example)", str(func(c *Config) *string { return &c.OrgJoin })},
		{"peer-networks", "WATERCOOLER_PEER_NETWORKS", "comma-separated CIDRs that remote fetches may reach although private", func(c *Config, v string) error {
			nets, err := ParseNetworks(v)
			c.PeerNetworks = nets
			return err
		}},
		{"domain-blocks", "WATERCOOLER_DOMAIN_BLOCKS", "comma-separated hosts never to federate with", func(c *Config, v string) error {
			c.DomainBlocks = hostList(v)
			return nil
		}},
		{"allowed-peers", "WATERCOOLER_ALLOWED_PEERS", "comma-separated hosts to federate with in allowlist mode", func(c *Config, v string) error {
			c.AllowedPeers = hostList(v)
			return nil
		}},
		{"federation-mode", "WATERCOOLER_FEDERATION_MODE", `"open" (everyone not blocked) or "allowlist" (only allowed peers)`, func(c *Config, v string) error {
			if v != "open" && v != "allowlist" {
				return fmt.Errorf("must be open or allowlist, got %q", v)
			}
			c.FederationMode = v
			return nil
		}},
		{"authorized-fetch", "WATERCOOLER_AUTHORIZED_FETCH", "require signed requests to read ActivityPub documents (true/false)", func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("must be true or false, got %q", v)
			}
			c.AuthorizedFetch = b
			return nil
		}},
		{"body-limit", "WATERCOOLER_BODY_LIMIT", "maximum request body in bytes", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1024 {
				return fmt.Errorf("must be a whole number of bytes ≥ 1024, got %q", v)
			}
			c.BodyLimit = n
			return nil
		}},
		{"request-body-limit", "WATERCOOLER_REQUEST_BODY_LIMIT", "maximum request body in bytes of routes that upload no files (at most --body-limit applies)", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1024 {
				return fmt.Errorf("must be a whole number of bytes ≥ 1024, got %q", v)
			}
			c.RequestBodyLimit = n
			return nil
		}},
		{"media-decodes", "WATERCOOLER_MEDIA_DECODES", "how many uploaded images may be decoded at once", func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 64 {
				return fmt.Errorf("must be a whole number from 1 to 64, got %q", v)
			}
			c.MediaDecodes = n
			return nil
		}},
		{"trusted-proxies", "WATERCOOLER_TRUSTED_PROXIES", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed", func(c *Config, v string) error {
			nets, err := ParseNetworks(v)
			c.TrustedProxies = nets
			return err
		}},
		{"api-rate-limit", "WATERCOOLER_API_RATE_LIMIT", "client API requests per account (per address signed out), as LIMIT/WINDOW like 300/5m; 0 for none", rate(func(c *Config) *Rate { return &c.APIRate })},
		{"media-rate-limit", "WATERCOOLER_MEDIA_RATE_LIMIT", "media uploads per account, as LIMIT/WINDOW like 30/30m; 0 for none", rate(func(c *Config) *Rate { return &c.MediaRate })},
		{"sign-in-account-limit", "WATERCOOLER_SIGN_IN_ACCOUNT_LIMIT", "failed sign-ins per account, as LIMIT/WINDOW like 10/15m; 0 for none", rate(func(c *Config) *Rate { return &c.SignInAccountRate })},
		{"sign-in-address-limit", "WATERCOOLER_SIGN_IN_ADDRESS_LIMIT", "failed sign-ins per client address, as LIMIT/WINDOW like 50/15m; 0 for none", rate(func(c *Config) *Rate { return &c.SignInAddressRate })},
		{"metrics-listen", "WATERCOOLER_METRICS_LISTEN", "host:port of a listener of its own serving Prometheus metrics on /metrics (e.g. 127.0.0.1:9464); empty for none", str(func(c *Config) *string { return &c.MetricsListen })},
		{"metrics-token", "WATERCOOLER_METRICS_TOKEN", "bearer token that unlocks /metrics on the main listener (at least 16 characters); empty keeps metrics off it", func(c *Config, v string) error {
			if len(v) < 16 || strings.ContainsAny(v, " \t\r\n") {
				return errors.New("must be at least 16 characters without spaces (a guessable token would publish the instance's figures)")
			}
			c.MetricsToken = v
			return nil
		}},
		{"log-format", "WATERCOOLER_LOG_FORMAT", `log line format: "text" or "json"`, func(c *Config, v string) error {
			if v != "text" && v != "json" {
				return fmt.Errorf("must be text or json, got %q", v)
			}
			c.LogFormat = v
			return nil
		}},
		{"community-creation", "WATERCOOLER_COMMUNITY_CREATION", `who may create communities from the web client and the API: "everyone" or "admins"`, func(c *Config, v string) error {
			if v != CommunityCreationEveryone && v != CommunityCreationAdmins {
				return fmt.Errorf("must be everyone or admins, got %q", v)
			}
			c.CommunityCreation = v
			return nil
		}},
	}
}

func hostList(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// ParseNetworks parses a comma-separated list of CIDRs.
func ParseNetworks(v string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR (like 10.0.0.0/8)", part)
		}
		out = append(out, n)
	}
	return out, nil
}

// Load builds the configuration for a subcommand that takes no flags of its own; it returns the
// remaining positional arguments. See Bind for the order of precedence.
func Load(name string, args []string, getenv func(string) string) (Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	resolve := Bind(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}
	cfg, err := resolve(getenv)
	return cfg, fs.Args(), err
}

// Bind registers every setting's flag (plus --config) on fs, so subcommands can add flags of
// their own. After fs.Parse, the returned function builds the Config from, in increasing
// priority, defaults, the file named by --config or WATERCOOLER_CONFIG (KEY=VALUE lines using the
// environment names), the environment, and flags, and validates it; errors name the setting.
func Bind(fs *flag.FlagSet) func(getenv func(string) string) (Config, error) {
	all := settings()
	flagValues := map[string]*string{}
	for _, s := range all {
		flagValues[s.flag] = fs.String(s.flag, "", s.usage+" (env "+s.env+")")
	}
	configFile := fs.String("config", "", "optional configuration file of KEY=VALUE lines (env WATERCOOLER_CONFIG)")
	return func(getenv func(string) string) (Config, error) {
		cfg := Defaults()
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		path := *configFile
		if path == "" {
			path = getenv("WATERCOOLER_CONFIG")
		}
		fileValues := map[string]string{}
		if path != "" {
			var err error
			if fileValues, err = readFile(path); err != nil {
				return cfg, err
			}
		}
		for _, s := range all {
			var v, source string
			var ok bool
			switch {
			case set[s.flag]:
				v, source, ok = *flagValues[s.flag], "flag --"+s.flag, true
			case getenv(s.env) != "":
				v, source, ok = getenv(s.env), s.env, true
			default:
				v, ok = fileValues[s.env]
				source = s.env + " in " + path
			}
			if !ok {
				continue
			}
			if err := s.apply(&cfg, v); err != nil {
				return cfg, fmt.Errorf("%s: %w", source, err)
			}
		}
		return cfg, cfg.Validate()
	}
}

func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("config file %s line %d: want KEY=VALUE", path, n)
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out, sc.Err()
}

// Validate checks every setting and names the first bad one.
func (c *Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("WATERCOOLER_URL (--url): %q must be an absolute http(s) URL with no path, like https://eng.corp.example", c.URL)
	}
	c.URL = strings.TrimSuffix(c.URL, "/")
	if c.OrgJoin != "" {
		if err := CheckBaseURL(c.OrgJoin); err != nil {
			return fmt.Errorf("WATERCOOLER_ORG_JOIN (--org-join): %w", err)
		}
		c.OrgJoin = strings.TrimSuffix(c.OrgJoin, "/")
		if c.OrgJoin == c.URL {
			return fmt.Errorf("WATERCOOLER_ORG_JOIN (--org-join): %q is this department's own URL; name another department", c.OrgJoin)
		}
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		return fmt.Errorf("WATERCOOLER_LISTEN (--listen): %q must be host:port, like 127.0.0.1:8080", c.Listen)
	}
	if c.MetricsListen != "" {
		if _, port, err := net.SplitHostPort(c.MetricsListen); err != nil || port == "" {
			return fmt.Errorf("WATERCOOLER_METRICS_LISTEN (--metrics-listen): %q must be host:port, like 127.0.0.1:9464", c.MetricsListen)
		}
		if c.MetricsListen == c.Listen {
			return fmt.Errorf("WATERCOOLER_METRICS_LISTEN (--metrics-listen): %q is the main listener's address; use WATERCOOLER_METRICS_TOKEN to serve metrics there", c.MetricsListen)
		}
	}
	if _, cluster, err := ClusterURL(c.RedisURL); err != nil {
		return fmt.Errorf("REDIS_URL (--redis): %w", err)
	} else if c.RedisURL != "" && !cluster {
		ru, err := url.Parse(c.RedisURL)
		if err != nil || (ru.Scheme != "redis" && ru.Scheme != "rediss" && ru.Scheme != "unix") {
			return fmt.Errorf("REDIS_URL (--redis): %q must look like redis://host:6379/0 or redis+cluster://host:7000,host:7001", c.RedisURL)
		}
	}
	if c.RedisPrefix == "" || strings.ContainsAny(c.RedisPrefix, "{}: ") {
		return errors.New("WATERCOOLER_REDIS_PREFIX (--redis-prefix): must be non-empty, without braces, colons or spaces")
	}
	if c.MediaDir == "" {
		return errors.New("WATERCOOLER_MEDIA_DIR (--media-dir): must not be empty")
	}
	if err := c.OIDC.validate(); err != nil {
		return err
	}
	if !c.PasswordSignIn && c.OIDC.Issuer == "" {
		return errors.New("WATERCOOLER_PASSWORD_SIGN_IN (--password-sign-in): false needs WATERCOOLER_OIDC_ISSUER, or no one could sign in")
	}
	if l := c.DefaultLanguage; l != "" && (len(l) < 2 || len(l) > 3 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz") != "") {
		return fmt.Errorf("WATERCOOLER_DEFAULT_LANGUAGE (--default-language): %q must be an ISO 639 code like en", l)
	}
	return nil
}

func (o *OIDC) validate() error {
	if o.Issuer == "" {
		if o.ClientID != "" || o.ClientSecret != "" || len(o.AllowedGroups) > 0 || o.AdminGroup != "" {
			return errors.New("WATERCOOLER_OIDC_ISSUER (--oidc-issuer): the other OIDC settings need an issuer")
		}
		return nil
	}
	u, err := url.Parse(o.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("WATERCOOLER_OIDC_ISSUER (--oidc-issuer): %q must be an absolute http(s) URL, like https://login.corp.example", o.Issuer)
	}
	if o.ClientID == "" {
		return errors.New("WATERCOOLER_OIDC_CLIENT_ID (--oidc-client-id): required with WATERCOOLER_OIDC_ISSUER")
	}
	if o.GroupsClaim == "" && (len(o.AllowedGroups) > 0 || o.AdminGroup != "") {
		return errors.New("WATERCOOLER_OIDC_GROUPS_CLAIM (--oidc-groups-claim): must not be empty when groups are allowed or an admin group is set")
	}
	if o.Name == "" {
		o.Name = u.Host
	}
	return nil
}

// TestRedisURL is the Redis that the test command (scripts/test) started for the test suite.
func TestRedisURL() string { return os.Getenv("WATERCOOLER_TEST_REDIS") }

// TestRedisClusterURL is the redis+cluster:// URL of a Redis Cluster for the tests that need
// one (WATERCOOLER_TEST_REDIS_CLUSTER, set by scripts/test); empty skips them.
func TestRedisClusterURL() string { return os.Getenv("WATERCOOLER_TEST_REDIS_CLUSTER") }

// CheckBaseURL checks that v is an absolute http(s) URL with no path: a department's base URL.
func CheckBaseURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("%q must be an absolute http(s) URL with no path, like https://eng.corp.example", v)
	}
	return nil
}

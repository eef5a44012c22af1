package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "wc.conf")
	if err := os.WriteFile(file, []byte("# department\nWATERCOOLER_URL=https://file.example\nWATERCOOLER_TITLE=\"From file\"\nWATERCOOLER_LISTEN=127.0.0.1:9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, rest, err := Load("serve", []string{"--config", file, "--listen", "127.0.0.1:9100", "extra"},
		envOf(map[string]string{"WATERCOOLER_URL": "https://env.example", "REDIS_URL": "redis://127.0.0.1:6379/2", "WATERCOOLER_PEER_NETWORKS": "10.0.0.0/8, 127.0.0.0/8"}))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"URL (env beats file)", cfg.URL, "https://env.example"},
		{"Listen (flag beats file)", cfg.Listen, "127.0.0.1:9100"},
		{"Title (file)", cfg.Title, "From file"},
		{"RedisURL (env)", cfg.RedisURL, "redis://127.0.0.1:6379/2"},
		{"Domain", cfg.Domain(), "env.example"},
		{"rest", strings.Join(rest, ","), "extra"},
		{"CommunityCreation (default)", cfg.CommunityCreation, CommunityCreationAdmins},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if len(cfg.PeerNetworks) != 2 {
		t.Errorf("PeerNetworks = %v, want 2 networks", cfg.PeerNetworks)
	}
}

func TestLoadNamesTheBadSetting(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"relative URL", nil, map[string]string{"WATERCOOLER_URL": "eng.example"}, "WATERCOOLER_URL"},
		{"URL with path", []string{"--url", "https://eng.example/app"}, nil, "WATERCOOLER_URL"},
		{"listen without port", nil, map[string]string{"WATERCOOLER_LISTEN": "localhost"}, "WATERCOOLER_LISTEN"},
		{"redis scheme", []string{"--redis", "http://127.0.0.1:6379"}, nil, "REDIS_URL"},
		{"bad CIDR", []string{"--peer-networks", "10.0.0.0/33"}, nil, "--peer-networks"},
		{"bad bool", nil, map[string]string{"WATERCOOLER_OPEN_REGISTRATIONS": "maybe"}, "WATERCOOLER_OPEN_REGISTRATIONS"},
		{"prefix with brace", []string{"--redis-prefix", "a{b"}, nil, "WATERCOOLER_REDIS_PREFIX"},
		{"missing config file", []string{"--config", "/nonexistent/wc.conf"}, nil, "config file"},
		{"rate without window", nil, map[string]string{"WATERCOOLER_API_RATE_LIMIT": "300"}, "WATERCOOLER_API_RATE_LIMIT"},
		{"rate with a tiny window", []string{"--sign-in-account-limit", "5/10ms"}, nil, "--sign-in-account-limit"},
		{"community creation by nobody", nil, map[string]string{"WATERCOOLER_COMMUNITY_CREATION": "nobody"}, "WATERCOOLER_COMMUNITY_CREATION"},
		{"org join with a path", nil, map[string]string{"WATERCOOLER_ORG_JOIN": "https://eng.example/about"}, "WATERCOOLER_ORG_JOIN"},
		{"org join not a URL", []string{"--org-join", "eng.example"}, nil, "WATERCOOLER_ORG_JOIN"},
		{"org join names itself", nil, map[string]string{"WATERCOOLER_URL": "https://eng.example", "WATERCOOLER_ORG_JOIN": "https://eng.example/"}, "own URL"},
		{"bad trusted proxy", nil, map[string]string{"WATERCOOLER_TRUSTED_PROXIES": "10.0.0.1"}, "WATERCOOLER_TRUSTED_PROXIES"},
		{"relative OIDC issuer", nil, map[string]string{"WATERCOOLER_OIDC_ISSUER": "login.corp.example", "WATERCOOLER_OIDC_CLIENT_ID": "wc"}, "WATERCOOLER_OIDC_ISSUER"},
		{"OIDC issuer without client id", nil, map[string]string{"WATERCOOLER_OIDC_ISSUER": "https://login.corp.example"}, "WATERCOOLER_OIDC_CLIENT_ID"},
		{"OIDC groups without issuer", nil, map[string]string{"WATERCOOLER_OIDC_ALLOWED_GROUPS": "staff"}, "WATERCOOLER_OIDC_ISSUER"},
		{"no password and no provider", nil, map[string]string{"WATERCOOLER_PASSWORD_SIGN_IN": "false"}, "WATERCOOLER_PASSWORD_SIGN_IN"},
		{"metrics listen without port", nil, map[string]string{"WATERCOOLER_METRICS_LISTEN": "127.0.0.1"}, "WATERCOOLER_METRICS_LISTEN"},
		{"metrics listen on the main listener", []string{"--listen", "127.0.0.1:9000", "--metrics-listen", "127.0.0.1:9000"}, nil, "WATERCOOLER_METRICS_LISTEN"},
		{"short metrics token", nil, map[string]string{"WATERCOOLER_METRICS_TOKEN": "secret"}, "WATERCOOLER_METRICS_TOKEN"},
		{"unknown log format", []string{"--log-format", "xml"}, nil, "--log-format"},
		{"OIDC groups with no claim", []string{"--oidc-issuer", "https://login.corp.example", "--oidc-client-id", "wc", "--oidc-admin-group", "admins", "--oidc-groups-claim", ""}, map[string]string{"WATERCOOLER_OIDC_GROUPS_CLAIM": ""}, "WATERCOOLER_OIDC_GROUPS_CLAIM"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Load("serve", c.args, envOf(c.env))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load(%v, %v) error = %v, want one naming %s", c.args, c.env, err, c.want)
			}
		})
	}
}

func TestDefaultsAreValid(t *testing.T) {
	cfg := Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Defaults().Validate() = %v, want nil", err)
	}
	if cfg.BcryptCost < 12 {
		t.Fatalf("default bcrypt cost %d, want ≥ 12", cfg.BcryptCost)
	}
}

func TestParseRate(t *testing.T) {
	cases := []struct {
		in      string
		want    Rate
		wantErr bool
	}{
		{"300/5m", Rate{Limit: 300, Window: 5 * time.Minute}, false},
		{" 10 / 15m ", Rate{Limit: 10, Window: 15 * time.Minute}, false},
		{"0", Rate{}, false},
		{"300", Rate{}, true},
		{"-1/5m", Rate{}, true},
		{"0/5m", Rate{}, true},
		{"5/soon", Rate{}, true},
		{"5/500ms", Rate{}, true},
	}
	for _, c := range cases {
		got, err := ParseRate(c.in)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
	if off := (Rate{}); !off.Off() || off.String() != "0" {
		t.Errorf("zero Rate: Off %v, String %q; want true, \"0\"", off.Off(), off.String())
	}
}

func TestLoadOIDC(t *testing.T) {
	cfg, _, err := Load("serve", nil, envOf(map[string]string{
		"WATERCOOLER_OIDC_ISSUER": "https://login.corp.example/realms/corp", "WATERCOOLER_OIDC_CLIENT_ID": "wc",
		"WATERCOOLER_OIDC_CLIENT_SECRET": "s3cret", "WATERCOOLER_OIDC_ALLOWED_GROUPS": " staff, ,eng ",
		"WATERCOOLER_OIDC_ADMIN_GROUP": "wc-admins", "WATERCOOLER_PASSWORD_SIGN_IN": "false",
	}))
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.OIDC
	if o.Name != "login.corp.example" || o.GroupsClaim != "groups" || strings.Join(o.AllowedGroups, "|") != "staff|eng" ||
		o.AdminGroup != "wc-admins" || o.ClientSecret != "s3cret" || cfg.PasswordSignIn {
		t.Fatalf("OIDC settings %+v, password sign-in %v", o, cfg.PasswordSignIn)
	}
}

func TestClusterURL(t *testing.T) {
	cases := []struct {
		in, want string
		cluster  bool
		err      bool
	}{
		{"redis://127.0.0.1:6379/0", "", false, false},
		{"", "", false, false},
		{"redis+cluster://10.0.0.1:7000", "redis://10.0.0.1:7000", true, false},
		{"redis+cluster://10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002", "redis://10.0.0.1:7000?addr=10.0.0.2%3A7001&addr=10.0.0.3%3A7002", true, false},
		{"rediss+cluster://u:p%40ss@a.example:7000,b.example:7000/?dial_timeout=3s", "rediss://u:p%40ss@a.example:7000?addr=b.example%3A7000&dial_timeout=3s", true, false},
		{"redis+cluster://a.example", "", true, true},
		{"redis+cluster://a.example:7000,,b.example:7001", "", true, true},
	}
	for _, c := range cases {
		got, cluster, err := ClusterURL(c.in)
		if got != c.want || cluster != c.cluster || (err != nil) != c.err {
			t.Errorf("ClusterURL(%q) = %q, %v, %v; want %q, %v, error %v", c.in, got, cluster, err, c.want, c.cluster, c.err)
		}
	}
}

package testrig

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces shared/docs/architecture.md: the data layer and federation never
// import Fiber, and the data layer never imports go-fed. Only the metrics package and the
// composition root import Prometheus.
func TestImportRules(t *testing.T) {
	const prometheus = "github.com/prometheus/"
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{"watercooler/store", []string{"github.com/gofiber/", "github.com/go-fed/", "watercooler/server", "watercooler/federation", prometheus}},
		{"watercooler/federation", []string{"github.com/gofiber/", "watercooler/server", "watercooler/metrics", prometheus}},
		{"watercooler/config", []string{"watercooler/", "github.com/"}},
		{"watercooler/requestid", []string{"watercooler/", "github.com/"}},
		{"watercooler/server/mastodon", []string{"github.com/gofiber/", "watercooler/server\n"}},
		{"watercooler/push", []string{"github.com/gofiber/", "watercooler/server\n", prometheus}},
		{"watercooler/sso", []string{"github.com/gofiber/", "watercooler/server\n", "watercooler/federation", prometheus}},
		{"watercooler/server", []string{"watercooler/sso", "watercooler/org", "watercooler/federation", "watercooler/community", "watercooler/metrics", prometheus}},
		{"watercooler/community", []string{"github.com/gofiber/", "watercooler/server\n", prometheus}},
		{"watercooler/org", []string{"github.com/gofiber/", "watercooler/server", prometheus}},
		// Metrics reads the store; the server and federation report to it through interfaces
		// of their own (server.Metrics, federation.Observer), so it needs neither.
		{"watercooler/metrics", []string{"github.com/gofiber/", "github.com/go-fed/", "watercooler/server", "watercooler/federation"}},
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", r.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", r.pkg, err, out)
		}
		deps := string(out)
		for _, f := range r.forbidden {
			for _, line := range strings.Split(deps, "\n") {
				if line != r.pkg && strings.HasPrefix(line+"\n", f) {
					t.Errorf("%s imports %s (forbidden prefix %q)", r.pkg, line, strings.TrimSpace(f))
				}
			}
		}
	}
}

package testrig

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules enforces shared/docs/architecture.md: the data layer and federation never
// import Fiber, and the data layer never imports go-fed.
func TestImportRules(t *testing.T) {
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{"watercooler/store", []string{"github.com/gofiber/", "github.com/go-fed/", "watercooler/server", "watercooler/federation"}},
		{"watercooler/federation", []string{"github.com/gofiber/", "watercooler/server"}},
		{"watercooler/config", []string{"watercooler/", "github.com/"}},
		{"watercooler/server/mastodon", []string{"github.com/gofiber/", "watercooler/server\n"}},
		{"watercooler/push", []string{"github.com/gofiber/", "watercooler/server\n"}},
		{"watercooler/sso", []string{"github.com/gofiber/", "watercooler/server\n", "watercooler/federation"}},
		{"watercooler/server", []string{"watercooler/sso", "watercooler/org", "watercooler/federation", "watercooler/community"}},
		{"watercooler/community", []string{"github.com/gofiber/", "watercooler/server\n"}},
		{"watercooler/org", []string{"github.com/gofiber/", "watercooler/server"}},
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

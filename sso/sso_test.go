package sso

import "testing"

func TestUsernameBase(t *testing.T) {
	cases := []struct {
		preferred, email, want string
	}{
		{"jane.doe", "", "jane_doe"},
		{"", "bob-berg@corp.example", "bob_berg"},
		{"Zoë Ångström", "", "Zo_ngstrm"}, // letters outside ASCII are dropped: Mastodon's rule is ASCII
		{"..", "x@corp.example", "user"},
		{"", "", "user"},
		{"a_very_long_preferred_username_indeed_yes", "", "a_very_long_preferred_username"},
		{"émile", "", "mile"},
	}
	for _, c := range cases {
		if got := usernameBase(&claims{PreferredUsername: c.preferred, Email: c.email}); got != c.want {
			t.Errorf("usernameBase(%q, %q) = %q, want %q", c.preferred, c.email, got, c.want)
		}
	}
}

func TestDisplayName(t *testing.T) {
	long := "Maximiliane Theodora von Habsburg-Lothringen"
	if got := displayName(long); got != "Maximiliane Theodora von Habsb" {
		t.Errorf("displayName(%q) = %q", long, got)
	}
	if got := displayName(" Zoë "); got != "Zoë" {
		t.Errorf("displayName = %q", got)
	}
}

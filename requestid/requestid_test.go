package requestid

import (
	"context"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	cases := []struct {
		id   string
		want bool
	}{
		{"obs-test-0001", true},
		{"5f0c6a9e-1b2d-4c3e-9f00-123456789abc", true}, // a UUID, as load balancers make them
		{"Root=1-67891233-abcdef012345678912345678", true},
		{"", false},
		{"two words", false},
		{"line\nbreak", false},
		{`quote"`, false},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
	}
	for _, c := range cases {
		if got := Valid(c.id); got != c.want {
			t.Errorf("Valid(%q) = %v, want %v", c.id, got, c.want)
		}
	}
}

func TestNewIsValidAndContextCarriesIt(t *testing.T) {
	id := New()
	if !Valid(id) || len(id) != 24 || New() == id {
		t.Fatalf("New() = %q: want 24 hex characters, fresh each time", id)
	}
	ctx := With(context.Background(), id)
	if got := From(ctx); got != id {
		t.Fatalf("From(With(ctx, %q)) = %q", id, got)
	}
	if got := From(With(context.Background(), "")); got != "" {
		t.Fatalf("From(With(ctx, \"\")) = %q, want \"\"", got)
	}
}

package federation

import (
	"reflect"
	"testing"
	"time"
)

func TestParseQuestion(t *testing.T) {
	end := "2030-01-02T03:04:05Z"
	endTime, _ := time.Parse(time.RFC3339, end)
	option := func(name string, votes any) map[string]any {
		return map[string]any{"type": "Note", "name": name, "replies": map[string]any{"type": "Collection", "totalItems": votes}}
	}
	cases := []struct {
		name              string
		raw               map[string]any
		options           []string
		votes             []int64
		multiple, endsNow bool
		end               time.Time
		voters            int64
	}{
		{"Mastodon single choice", map[string]any{"oneOf": []any{option("a", 2.0), option("b", 0.0)}, "endTime": end, "votersCount": 2.0},
			[]string{"a", "b"}, []int64{2, 0}, false, false, endTime, 2},
		{"anyOf is multiple choice", map[string]any{"anyOf": []any{option("a", 1.0), option("b", 3.0)}, "endTime": end},
			[]string{"a", "b"}, []int64{1, 3}, true, false, endTime, 0},
		{"closed time wins over endTime", map[string]any{"oneOf": []any{option("a", 1.0)}, "endTime": "2031-01-01T00:00:00Z", "closed": end},
			[]string{"a"}, []int64{1}, false, false, endTime, 0},
		{"closed true ends now without endTime", map[string]any{"oneOf": []any{option("a", 1.0)}, "closed": true},
			[]string{"a"}, []int64{1}, false, true, time.Time{}, 0},
		{"content stands in for name; odd counts are 0", map[string]any{"oneOf": []any{map[string]any{"type": "Note", "content": "x"}, option("y", -4.0), option("z", "many"), "junk"}},
			[]string{"x", "y", "z"}, []int64{0, 0, 0}, false, false, time.Time{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := parseQuestion(tc.raw)
			if p == nil {
				t.Fatal("parseQuestion = nil")
			}
			if !reflect.DeepEqual(p.Options, tc.options) || !reflect.DeepEqual(p.Votes, tc.votes) || p.Multiple != tc.multiple || p.Voters != tc.voters {
				t.Errorf("parseQuestion = options %q votes %v multiple %v voters %d", p.Options, p.Votes, p.Multiple, p.Voters)
			}
			switch {
			case tc.endsNow && (p.ExpiresAt.IsZero() || time.Since(p.ExpiresAt) > time.Minute):
				t.Errorf("end = %v, want now", p.ExpiresAt)
			case !tc.endsNow && !p.ExpiresAt.Equal(tc.end):
				t.Errorf("end = %v, want %v", p.ExpiresAt, tc.end)
			}
		})
	}
	if p := parseQuestion(map[string]any{"oneOf": []any{}}); p != nil {
		t.Errorf("a Question without options = %+v, want nil", p)
	}
}

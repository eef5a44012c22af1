package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// saveMarkersScript moves reading positions in one step. KEYS[1] is the markers hash, ARGV[1]
// the update time, then timeline and last read id pairs. A marker's version goes up only when
// its position changes, as with Mastodon's optimistic lock, so clients on two devices can tell
// whose write won. It returns timeline and marker JSON pairs.
var saveMarkersScript = redis.NewScript(`
local out = {}
for i = 2, #ARGV, 2 do
  local tl, id = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], tl)
  local version = 0
  if cur then
    local m = cjson.decode(cur)
    version = (tonumber(m['version']) or 0) + 1
    if m['last_read_id'] == id then version = -1 end
  end
  if version >= 0 then
    cur = cjson.encode({last_read_id = id, version = version, updated_at = ARGV[1]})
    redis.call('HSET', KEYS[1], tl, cur)
  end
  out[#out + 1] = tl
  out[#out + 1] = cur
end
return out
`)

// SaveMarkers records several reading positions at once, keyed by timeline name, and returns
// them as saved; a position that did not change keeps its version and time.
func (s *Store) SaveMarkers(ctx context.Context, accountID string, lastReadIDs map[string]string) (map[string]Marker, error) {
	out := make(map[string]Marker, len(lastReadIDs))
	if len(lastReadIDs) == 0 {
		return out, nil
	}
	timelines := make([]string, 0, len(lastReadIDs))
	for tl := range lastReadIDs {
		timelines = append(timelines, tl)
	}
	slices.Sort(timelines)
	args := []any{time.Now().UTC().Format(time.RFC3339Nano)}
	for _, tl := range timelines {
		args = append(args, tl, lastReadIDs[tl])
	}
	res, err := saveMarkersScript.Run(ctx, s.rdb, []string{s.k.markers(accountID)}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("save markers: %w", err)
	}
	for i := 0; i+1 < len(res); i += 2 {
		var m Marker
		if err := unmarshalString(res[i+1], &m); err != nil {
			return nil, err
		}
		out[res[i]] = m
	}
	return out, nil
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// OrgMember is one department of the organization as this department knows it. Version orders
// the entries about one host: the newer wins, and at equal versions a departure wins, so that
// a leave is never undone by a stale copy of the join.
type OrgMember struct {
	Host        string `json:"host"`
	URL         string `json:"url"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Version     int64  `json:"version"` // Unix milliseconds of the change the entry records
	Left        bool   `json:"left,omitempty"`
}

func (m OrgMember) order() int64 {
	o := m.Version * 2
	if m.Left {
		o++
	}
	return o
}

// mergeOrgScript writes each entry whose order is above the one stored for its host, and
// returns the hosts it wrote; one script so that concurrent merges never let an older entry win.
var mergeOrgScript = redis.NewScript(`
local changed = {}
for i = 1, #ARGV, 3 do
  local cur = redis.call('HGET', KEYS[2], ARGV[i])
  if not cur or tonumber(cur) < tonumber(ARGV[i+1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+2])
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+1])
    if ARGV[i+2]:find('"left":true', 1, true) == nil then
      redis.call('HDEL', KEYS[3], ARGV[i])
    end
    table.insert(changed, ARGV[i])
  end
end
return changed
`)

// MergeOrgMembers keeps each entry that is newer than what is stored about its host and
// returns those it kept. A member that is in (not a tombstone) is no longer pending.
func (s *Store) MergeOrgMembers(ctx context.Context, members []OrgMember) ([]OrgMember, error) {
	if len(members) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 3*len(members))
	byHost := make(map[string]OrgMember, len(members))
	for _, m := range members {
		if m.Host == "" {
			continue
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		args = append(args, m.Host, strconv.FormatInt(m.order(), 10), string(b))
		byHost[m.Host] = m
	}
	res, err := mergeOrgScript.Run(ctx, s.rdb, []string{s.k.orgMembers(), s.k.orgVersions(), s.k.orgPending()}, args...).StringSlice()
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("merge organization members: %w", err)
	}
	out := make([]OrgMember, 0, len(res))
	for _, h := range res {
		out = append(out, byHost[h])
	}
	return out, nil
}

// OrgMembers lists every entry of the member list, tombstones included, sorted by host.
func (s *Store) OrgMembers(ctx context.Context) ([]OrgMember, error) {
	return s.orgHash(ctx, s.k.orgMembers())
}

// OrgPending lists the departments asking to join that wait for an admin's approval.
func (s *Store) OrgPending(ctx context.Context) ([]OrgMember, error) {
	return s.orgHash(ctx, s.k.orgPending())
}

func (s *Store) orgHash(ctx context.Context, key string) ([]OrgMember, error) {
	all, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("organization: %w", err)
	}
	out := make([]OrgMember, 0, len(all))
	for _, v := range all {
		var m OrgMember
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("organization entry: %w", err)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out, nil
}

// AddOrgPending records a department's request to join for an admin to approve.
func (s *Store) AddOrgPending(ctx context.Context, m OrgMember) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.rdb.HSet(ctx, s.k.orgPending(), m.Host, b).Err()
}

// OrgPendingHost returns the pending request of host; ErrNotFound if there is none.
func (s *Store) OrgPendingHost(ctx context.Context, host string) (OrgMember, error) {
	v, err := s.rdb.HGet(ctx, s.k.orgPending(), host).Result()
	if err == redis.Nil {
		return OrgMember{}, ErrNotFound
	}
	if err != nil {
		return OrgMember{}, err
	}
	var m OrgMember
	err = json.Unmarshal([]byte(v), &m)
	return m, err
}

// AddOrgSeed remembers a department to ask to join until it answers.
func (s *Store) AddOrgSeed(ctx context.Context, baseURL string) error {
	return s.rdb.SAdd(ctx, s.k.orgSeeds(), baseURL).Err()
}

// RemoveOrgSeed forgets a seed that answered.
func (s *Store) RemoveOrgSeed(ctx context.Context, baseURL string) error {
	return s.rdb.SRem(ctx, s.k.orgSeeds(), baseURL).Err()
}

// ClearOrgSeeds forgets every seed: the department left.
func (s *Store) ClearOrgSeeds(ctx context.Context) error {
	return s.rdb.Del(ctx, s.k.orgSeeds()).Err()
}

// OrgSeeds lists the departments this one asked to join and has not heard from.
func (s *Store) OrgSeeds(ctx context.Context) ([]string, error) {
	return s.rdb.SMembers(ctx, s.k.orgSeeds()).Result()
}

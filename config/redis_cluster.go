package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ClusterURL reads a Redis Cluster address, redis+cluster://[user:password@]host:port,host:port,...[?options]
// (rediss+cluster:// for TLS), and returns it as go-redis's ParseClusterURL takes it: the first
// node as the host and the others as addr parameters. ok is false for any other URL.
func ClusterURL(raw string) (goRedisURL string, ok bool, err error) {
	scheme, rest, found := strings.Cut(raw, "://")
	if !found || (scheme != "redis+cluster" && scheme != "rediss+cluster") {
		return "", false, nil
	}
	userinfo, hostsAndQuery := "", rest
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		userinfo, hostsAndQuery = rest[:at+1], rest[at+1:]
	}
	hosts, query, _ := strings.Cut(hostsAndQuery, "?")
	hosts = strings.TrimSuffix(hosts, "/")
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", true, fmt.Errorf("%q: options: %w", raw, err)
	}
	nodes := strings.Split(hosts, ",")
	for _, n := range nodes {
		if _, port, err := net.SplitHostPort(n); err != nil || port == "" {
			return "", true, fmt.Errorf("%q: node %q must be host:port", raw, n)
		}
	}
	for _, n := range nodes[1:] {
		q.Add("addr", n)
	}
	out := strings.TrimSuffix(scheme, "+cluster") + "://" + userinfo + nodes[0]
	if len(q) > 0 {
		out += "?" + q.Encode()
	}
	return out, true, nil
}

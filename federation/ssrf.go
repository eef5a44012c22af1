package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// ErrForbiddenAddress is returned when a remote fetch would reach an address that is not on the
// public internet (loopback, private, link-local, ...) and not in the configured peer networks.
var ErrForbiddenAddress = errors.New("address not allowed for remote fetches")

// refusedPrefixes are the ranges a remote fetch may not reach unless an operator lists them in
// PeerNetworks: a URL handed to us by a peer must never make us probe our own network.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"; 0.0.0.0 dials the local host on Linux
	netip.MustParsePrefix("10.0.0.0/8"),      // RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, often the provider's internal network
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("172.16.0.0/12"),   // RFC 1918
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("192.168.0.0/16"),  // RFC 1918
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("::/128"),          // unspecified
	netip.MustParsePrefix("::1/128"),         // loopback
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fc00::/7"),        // unique local addresses
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("ff00::/8"),        // multicast
}

// linkLocalPrefixes are refused even when PeerNetworks covers them: cloud metadata services
// (169.254.169.254, fd00:ec2::254 aside) live here and hand out credentials to whoever asks.
var linkLocalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
}

// Prefixes whose addresses carry an IPv4 address inside them; the embedded address is judged too,
// so 64:ff9b::7f00:1 cannot reach 127.0.0.1 through a NAT64 gateway.
var (
	nat64Prefix      = netip.MustParsePrefix("64:ff9b::/96")
	nat64LocalPrefix = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215 local-use NAT64: site-specific mapping
	v4CompatPrefix   = netip.MustParsePrefix("::/96")          // deprecated IPv4-compatible addresses
	sixToFourPrefix  = netip.MustParsePrefix("2002::/16")
)

// Allowed reports whether ip may be dialled: loopback, private, link-local, unspecified, multicast,
// unique-local, CGNAT and reserved addresses are refused, in any IPv6 disguise (IPv4-mapped, NAT64,
// 6to4), unless ip lies in one of the peer networks. Link-local addresses are refused always.
func (f *Fetcher) Allowed(ip net.IP) bool {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	return f.allowedAddr(addr)
}

func (f *Fetcher) allowedAddr(addr netip.Addr) bool {
	addr = addr.WithZone("").Unmap()
	if !f.allowedOne(addr) {
		return false
	}
	if embedded, ok := embeddedIPv4(addr); ok {
		return f.allowedOne(embedded)
	}
	return true
}

func (f *Fetcher) allowedOne(addr netip.Addr) bool {
	for _, p := range linkLocalPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	for _, n := range f.peers {
		if n.Contains(addr) {
			return true
		}
	}
	if addr.Is6() && nat64LocalPrefix.Contains(addr) {
		return false
	}
	for _, p := range refusedPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// embeddedIPv4 extracts the IPv4 address that NAT64, IPv4-compatible and 6to4 addresses carry.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	if !addr.Is6() {
		return netip.Addr{}, false
	}
	b := addr.As16()
	switch {
	case nat64Prefix.Contains(addr), v4CompatPrefix.Contains(addr):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFourPrefix.Contains(addr):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// peerPrefixes converts the configured networks once, so the dial-time check does no allocation.
func peerPrefixes(nets []*net.IPNet) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(nets))
	for _, n := range nets {
		if n == nil {
			continue
		}
		addr, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ones, _ := n.Mask.Size()
		if addr.Is4In6() && len(n.Mask) == net.IPv4len {
			addr = addr.Unmap()
		} else if addr.Is4In6() {
			addr, ones = addr.Unmap(), ones-96
		}
		if ones < 0 {
			continue
		}
		out = append(out, netip.PrefixFrom(addr, ones).Masked())
	}
	return out
}

// dialControl runs after the socket exists and before connect(2), on the address DNS actually
// returned, so neither a hostname that resolves to 127.0.0.1 nor DNS rebinding between a check and
// the dial gets past it. A fetch that a redirect moved to another host may reach public
// addresses only, and a forbidden address (our Redis) is never reached.
func (f *Fetcher) dialControl(ctx context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: %w", network, address, ErrForbiddenAddress)
	}
	if f.forbidden.has(ap) {
		return fmt.Errorf("dial %s: a forbidden address: %w", address, ErrForbiddenAddress)
	}
	allowed := f.allowedAddr(ap.Addr())
	if g, ok := ctx.Value(redirectGuardKey{}).(*redirectGuard); ok && g.crossed.Load() {
		allowed = allowed && publicAddr(ap.Addr())
	}
	if !allowed {
		return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
	}
	return nil
}

// redirectGuard travels in a GET's context; checkRedirect marks it once a redirect leaves the
// host first asked, and from then on the dial accepts public addresses only.
type redirectGuard struct{ crossed atomic.Bool }

type redirectGuardKey struct{}

// publicAddr reports whether addr is on the public internet, as if no peer networks were
// configured.
func publicAddr(addr netip.Addr) bool {
	var none Fetcher
	return none.allowedAddr(addr)
}

// publicHost checks that every address host resolves to is public; a redirect to another host
// may not lead into the private or peer ranges.
func (f *Fetcher) publicHost(ctx context.Context, host string) error {
	addrs, err := lookupAddrs(ctx, host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return fmt.Errorf("%s is %s, not public: %w", host, a, ErrForbiddenAddress)
		}
	}
	return nil
}

// lookupAddrs resolves host, or parses it when it is an IP literal.
func lookupAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	return addrs, nil
}

// forbiddenAddrs are the addresses no fetch may reach. Ports of a service on this machine
// (loopback or wildcard host) are closed on every local address, since 127.0.0.2 or the
// machine's own private address reach the same listener as 127.0.0.1.
type forbiddenAddrs struct {
	exact      map[netip.AddrPort]bool
	localPorts map[uint16]bool
	local      []netip.Addr // this machine's interface addresses, read once
}

// newForbiddenAddrs resolves each host:port once, at start: a name that fails to resolve then
// is kept out by the addresses it had, which is all a dial can see.
func newForbiddenAddrs(hostports []string) forbiddenAddrs {
	fa := forbiddenAddrs{exact: map[netip.AddrPort]bool{}, localPorts: map[uint16]bool{}}
	for _, hp := range hostports {
		host, portText, err := net.SplitHostPort(hp)
		if err != nil {
			continue
		}
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			continue
		}
		if host == "" || strings.EqualFold(host, "localhost") {
			fa.localPorts[uint16(port)] = true
			continue
		}
		addrs, err := lookupAddrs(context.Background(), host)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			a = a.WithZone("").Unmap()
			fa.exact[netip.AddrPortFrom(a, uint16(port))] = true
			if a.IsLoopback() || a.IsUnspecified() {
				fa.localPorts[uint16(port)] = true
			}
		}
	}
	if len(fa.localPorts) > 0 {
		if ifaddrs, err := net.InterfaceAddrs(); err == nil {
			for _, ia := range ifaddrs {
				if p, err := netip.ParsePrefix(ia.String()); err == nil {
					fa.local = append(fa.local, p.Addr().WithZone("").Unmap())
				}
			}
		}
	}
	return fa
}

// has reports whether ap is forbidden.
func (fa forbiddenAddrs) has(ap netip.AddrPort) bool {
	addr := ap.Addr().WithZone("").Unmap()
	if fa.exact[netip.AddrPortFrom(addr, ap.Port())] {
		return true
	}
	if !fa.localPorts[ap.Port()] {
		return false
	}
	if addr.IsLoopback() || addr.IsUnspecified() {
		return true
	}
	for _, l := range fa.local {
		if l == addr {
			return true
		}
	}
	return false
}

// CheckAddress resolves host and fails with ErrForbiddenAddress unless every address it has
// may be dialled on port; peerOnly further requires each address to lie in the peer networks.
// It lets a URL that will be used later (a Web Push endpoint) be refused up front; the
// dial-time check still applies when it is used.
func (f *Fetcher) CheckAddress(ctx context.Context, host string, port uint16, peerOnly bool) error {
	addrs, err := lookupAddrs(ctx, host)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if !f.allowedAddr(a) || (peerOnly && !f.inPeers(a)) || f.forbidden.has(netip.AddrPortFrom(a, port)) {
			return fmt.Errorf("%s is %s: %w", host, a, ErrForbiddenAddress)
		}
	}
	return nil
}

// inPeers reports whether addr lies in one of the peer networks.
func (f *Fetcher) inPeers(addr netip.Addr) bool {
	addr = addr.WithZone("").Unmap()
	for _, n := range f.peers {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

package federation

import (
	"net"
	"testing"

	"watercooler/config"
)

func TestAllowed(t *testing.T) {
	mustNets := func(s string) []*net.IPNet {
		n, err := config.ParseNetworks(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		ip    string
		peers string
		want  bool
	}{
		{"127.0.0.1", "", false},
		{"127.8.9.10", "", false},
		{"10.1.2.3", "", false},
		{"172.16.0.1", "", false},
		{"172.31.255.255", "", false},
		{"192.168.1.1", "", false},
		{"169.254.169.254", "", false},
		{"0.0.0.0", "", false},
		{"0.1.2.3", "", false},
		{"100.64.0.1", "", false},
		{"224.0.0.1", "", false},
		{"255.255.255.255", "", false},
		{"::", "", false},
		{"::1", "", false},
		{"fe80::1", "", false},
		{"fc00::1", "", false},
		{"fd12:3456::1", "", false},
		{"ff02::1", "", false},
		{"::ffff:127.0.0.1", "", false},
		{"::ffff:10.0.0.1", "", false},
		{"::ffff:169.254.169.254", "", false},
		{"::127.0.0.1", "", false},        // deprecated IPv4-compatible
		{"64:ff9b::7f00:1", "", false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", "", false}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::808:808", "", false}, // local-use NAT64
		{"2002:7f00:1::1", "", false},     // 6to4 of 127.0.0.1
		{"64:ff9b::808:808", "", true},    // NAT64 of 8.8.8.8
		{"8.8.8.8", "", true},
		{"1.1.1.1", "", true},
		{"172.32.0.1", "", true},
		{"2001:4860::8888", "", true},
		{"2606:4700:4700::1111", "", true},
		{"127.0.0.1", "127.0.0.0/8", true},
		{"::ffff:127.0.0.1", "127.0.0.0/8", true},
		{"127.0.0.1", "10.0.0.0/8", false},
		{"10.1.2.3", "10.0.0.0/8,192.168.0.0/16", true},
		{"192.168.7.7", "10.0.0.0/8,192.168.0.0/16", true},
		{"fd00::5", "fd00::/8", true},
		{"169.254.169.254", "169.254.0.0/16", false},
		{"169.254.169.254", "0.0.0.0/0", false},
		{"fe80::1", "fe80::/10", false},
		{"::ffff:169.254.169.254", "169.254.0.0/16", false},
		{"64:ff9b::a9fe:a9fe", "64:ff9b::/96", false},
	}
	for _, tc := range tests {
		f := NewFetcher(FetchOptions{PeerNetworks: mustNets(tc.peers)})
		ip := net.ParseIP(tc.ip)
		if ip == nil {
			t.Fatalf("bad test IP %q", tc.ip)
		}
		if got := f.Allowed(ip); got != tc.want {
			t.Errorf("Allowed(%s) with peers %q = %v, want %v", tc.ip, tc.peers, got, tc.want)
		}
		if got := f.Allowed(ip.To4()); ip.To4() != nil && got != tc.want {
			t.Errorf("Allowed(%s as 4 bytes) with peers %q = %v, want %v", tc.ip, tc.peers, got, tc.want)
		}
	}
	if NewFetcher(FetchOptions{}).Allowed(nil) {
		t.Errorf("Allowed(nil) = true, want false")
	}
}

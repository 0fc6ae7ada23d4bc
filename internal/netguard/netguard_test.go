package netguard

import (
	"encoding/json"
	"net/netip"
	"testing"
)

func TestReasonStringParse(t *testing.T) {
	want := []string{"global", "unspecified", "loopback", "private", "cgnat", "link_local", "metadata",
		"multicast", "broadcast", "documentation", "benchmarking", "reserved", "special_purpose",
		"own_address", "special_name"}
	for i, name := range want {
		r := Reason(i)
		t.Run(name, func(t *testing.T) {
			if got := r.String(); got != name {
				t.Errorf("Reason(%d).String() = %q, want %q", i, got, name)
			}
			if got, ok := ParseReason(name); !ok || got != r {
				t.Errorf("ParseReason(%q) = %v, %v; want %v, true", name, got, ok, r)
			}
			text, err := r.MarshalText()
			var back Reason
			if err != nil || back.UnmarshalText(text) != nil || back != r {
				t.Errorf("text round trip of %v: %q, %v, %v", r, text, err, back)
			}
		})
	}
	if got := Reason(len(want)).String(); got != "reason(15)" {
		t.Errorf("out-of-range String = %q", got)
	}
	for _, bad := range []string{"", "Global", "link-local", "reason(15)"} {
		if r, ok := ParseReason(bad); ok || r != Global {
			t.Errorf("ParseReason(%q) = %v, %v; want global, false", bad, r, ok)
		}
	}
	var r Reason
	if err := json.Unmarshal([]byte(`"nope"`), &r); err == nil {
		t.Error("json.Unmarshal of an unknown reason succeeded")
	}
	if b, err := json.Marshal(struct{ R Reason }{Metadata}); err != nil || string(b) != `{"R":"metadata"}` {
		t.Errorf("json.Marshal = %s, %v", b, err)
	}
}

var ip = netip.MustParseAddr
var pfx = netip.MustParsePrefix

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		addr      string
		reason    Reason
		block     string // "" when no block is expected
		blockName string // checked when not empty
	}{
		{"8.8.8.8", Global, "", ""},
		{"1.1.1.1", Global, "", ""},
		{"0.0.0.0", Unspecified, "0.0.0.0/32", "This host on this network"},
		{"0.1.2.3", Unspecified, "0.0.0.0/8", "This network"},
		{"127.0.0.1", Loopback, "127.0.0.0/8", "Loopback"},
		{"127.255.255.254", Loopback, "127.0.0.0/8", ""},
		{"10.1.2.3", Private, "10.0.0.0/8", "Private-Use"},
		{"172.31.255.255", Private, "172.16.0.0/12", ""},
		{"172.32.0.0", Global, "", ""},
		{"192.168.1.1", Private, "192.168.0.0/16", ""},
		{"100.64.0.1", SharedCGNAT, "100.64.0.0/10", "Shared Address Space"},
		{"100.128.0.0", Global, "", ""},
		{"169.254.1.1", LinkLocal, "169.254.0.0/16", "Link Local"},
		{"169.254.169.253", LinkLocal, "169.254.0.0/16", ""}, // AWS VPC DNS: plain link-local
		{"192.0.0.1", SpecialPurpose, "192.0.0.0/29", "IPv4 Service Continuity Prefix"},
		{"192.0.0.8", SpecialPurpose, "192.0.0.8/32", "IPv4 dummy address"},
		{"192.0.0.9", Global, "192.0.0.9/32", "Port Control Protocol Anycast"},
		{"192.0.0.10", Global, "192.0.0.10/32", ""},
		{"192.0.0.11", SpecialPurpose, "192.0.0.0/24", "IETF Protocol Assignments"},
		{"192.0.0.170", SpecialPurpose, "192.0.0.170/32", "NAT64/DNS64 Discovery"},
		{"192.0.2.1", Documentation, "192.0.2.0/24", ""},
		{"198.51.100.7", Documentation, "198.51.100.0/24", ""},
		{"203.0.113.255", Documentation, "203.0.113.0/24", ""},
		{"192.31.196.1", Global, "192.31.196.0/24", "AS112-v4"},
		{"192.88.99.1", Reserved, "192.88.99.0/24", "Deprecated (6to4 Relay Anycast)"},
		{"192.88.99.2", SpecialPurpose, "192.88.99.2/32", ""},
		{"198.18.0.1", Benchmarking, "198.18.0.0/15", ""},
		{"198.19.255.255", Benchmarking, "198.18.0.0/15", ""},
		{"198.20.0.0", Global, "", ""},
		{"224.0.0.1", Multicast, "224.0.0.0/4", "Multicast"},
		{"239.255.255.250", Multicast, "224.0.0.0/4", ""},
		{"240.0.0.1", Reserved, "240.0.0.0/4", "Reserved"},
		{"255.255.255.254", Reserved, "240.0.0.0/4", ""},
		{"255.255.255.255", Broadcast, "255.255.255.255/32", "Limited Broadcast"},

		{"2606:4700:4700::1111", Global, "", ""},
		{"2001:4860:4860::8888", Global, "", ""},
		{"::", Unspecified, "::/128", ""},
		{"::1", Loopback, "::1/128", "Loopback Address"},
		{"fe80::1", LinkLocal, "fe80::/10", ""},
		{"fe80::1%eth0", LinkLocal, "fe80::/10", ""},
		{"febf::1", LinkLocal, "fe80::/10", ""},
		{"fec0::1", Reserved, "2000::/3", "outside global unicast 2000::/3"}, // site-local, deprecated
		{"fc00::1", Private, "fc00::/7", "Unique-Local"},
		{"fd12:3456::1", Private, "fc00::/7", ""},
		{"fd00:ec2::253", Private, "fc00::/7", ""}, // AWS VPC DNS: plain unique-local
		{"ff02::1", Multicast, "ff00::/8", "Multicast"},
		{"ff05::1:3", Multicast, "ff00::/8", ""},
		{"100::1", SpecialPurpose, "100::/64", "Discard-Only Address Block"},
		{"100:0:0:1::1", SpecialPurpose, "100:0:0:1::/64", "Dummy IPv6 Prefix"},
		{"100:0:0:2::1", Reserved, "2000::/3", ""},
		{"2001:5::1", SpecialPurpose, "2001::/23", ""},
		{"2001:1::1", Global, "2001:1::1/128", "Port Control Protocol Anycast"},
		{"2001:1::4", SpecialPurpose, "2001::/23", ""},
		{"2001:2::1", Benchmarking, "2001:2::/48", ""},
		{"2001:3::1", Global, "2001:3::/32", "AMT"},
		{"2001:10::1", Reserved, "2001:10::/28", "Deprecated (previously ORCHID)"},
		{"2001:20::1", Global, "2001:20::/28", "ORCHIDv2"},
		{"2001:db8::1", Documentation, "2001:db8::/32", ""},
		{"3fff::1", Documentation, "3fff::/20", ""},
		{"3fff:1000::1", Global, "", ""},
		{"5f00::1", SpecialPurpose, "5f00::/16", ""},
		{"4000::1", Reserved, "2000::/3", ""},
		{"::102:304", Reserved, "::/96", "IPv4-compatible (deprecated)"}, // ::1.2.3.4
		{"::ff:1", Unspecified, "0.0.0.0/8", ""},                         // ::0.255.0.1
		{"1::", Reserved, "2000::/3", ""},
		{"2620:4f:8000::1", Global, "2620:4f:8000::/48", ""},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			v := Classify(ip(tc.addr), Local{})
			if v.Reason != tc.reason {
				t.Errorf("reason = %v (%s %q), want %v", v.Reason, v.Block, v.BlockName, tc.reason)
			}
			if (tc.block == "") != !v.Block.IsValid() || tc.block != "" && v.Block != pfx(tc.block) {
				t.Errorf("block = %v, want %q", v.Block, tc.block)
			}
			if tc.blockName != "" && v.BlockName != tc.blockName {
				t.Errorf("block name = %q, want %q", v.BlockName, tc.blockName)
			}
		})
	}
}

func TestClassifyInvalid(t *testing.T) {
	if v := Classify(netip.Addr{}, Local{}); v.Reason != Unspecified {
		t.Errorf("Classify(zero Addr) = %+v, want unspecified", v)
	}
}

// The embedding forms, built by hand for an IPv4 address with the given octets.
func mapped(a, b, c, d byte) string {
	return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: a, 13: b, 14: c, 15: d}).String()
}
func compat(a, b, c, d byte) string {
	return netip.AddrFrom16([16]byte{12: a, 13: b, 14: c, 15: d}).String()
}
func nat64wk(a, b, c, d byte) string {
	return netip.AddrFrom16([16]byte{1: 0x64, 2: 0xff, 3: 0x9b, 12: a, 13: b, 14: c, 15: d}).String()
}
func nat64lu(a, b, c, d byte) string {
	return netip.AddrFrom16([16]byte{1: 0x64, 2: 0xff, 3: 0x9b, 5: 1, 6: a, 7: b, 9: c, 10: d}).String()
}
func sixto4(a, b, c, d byte) string {
	return netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: a, 3: b, 4: c, 5: d, 15: 1}).String()
}

// teredoClient embeds the address as the client, with the public server 65.54.227.120.
func teredoClient(a, b, c, d byte) string {
	return netip.AddrFrom16([16]byte{0: 0x20, 1: 0x01, 4: 65, 5: 54, 6: 227, 7: 120, 8: 0x80, 10: 0x63, 11: 0xbf, 12: ^a, 13: ^b, 14: ^c, 15: ^d}).String()
}

// teredoServer embeds the address as the server, with the public client 8.8.4.4.
func teredoServer(a, b, c, d byte) string {
	return netip.AddrFrom16([16]byte{0: 0x20, 1: 0x01, 4: a, 5: b, 6: c, 7: d, 12: ^byte(8), 13: ^byte(8), 14: ^byte(4), 15: ^byte(4)}).String()
}

func TestEmbedded(t *testing.T) {
	forms := []struct {
		name string
		make func(a, b, c, d byte) string
		// global is the reason when the embedded address is global.
		global Reason
	}{
		{"mapped", mapped, Global},
		{"compatible", compat, Reserved},
		{"nat64", nat64wk, Global},
		{"nat64-local", nat64lu, SpecialPurpose},
		{"6to4", sixto4, Global},
		{"teredo-client", teredoClient, Global},
		{"teredo-server", teredoServer, Global},
	}
	inner := []struct {
		name       string
		a, b, c, d byte
		reason     Reason
	}{
		{"loopback", 127, 0, 0, 1, Loopback},
		{"private", 10, 1, 2, 3, Private},
		{"cgnat", 100, 64, 0, 1, SharedCGNAT},
		{"metadata", 169, 254, 169, 254, Metadata},
		{"public", 8, 8, 8, 8, Global},
	}
	for _, f := range forms {
		for _, in := range inner {
			addr := f.make(in.a, in.b, in.c, in.d)
			t.Run(f.name+"/"+in.name+"/"+addr, func(t *testing.T) {
				want := in.reason
				if want == Global {
					want = f.global
				}
				v := Classify(ip(addr), Local{})
				if v.Reason != want {
					t.Errorf("Classify(%s) = %v (%s %q), want %v", addr, v.Reason, v.Block, v.BlockName, want)
				}
				if e := netip.AddrFrom4([4]byte{in.a, in.b, in.c, in.d}); v.Embedded != e && !(f.name == "teredo-server" && in.reason == Global) {
					t.Errorf("Embedded = %v, want %v", v.Embedded, e)
				}
			})
		}
	}
}

// TestEmbeddedLiterals checks the layouts against addresses written out by hand.
func TestEmbeddedLiterals(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		reason   Reason
		embedded string
	}{
		{"::ffff:127.0.0.1", Loopback, "127.0.0.1"},
		{"::ffff:7f00:1", Loopback, "127.0.0.1"},
		{"::ffff:8.8.8.8", Global, "8.8.8.8"},
		{"::127.0.0.1", Loopback, "127.0.0.1"},
		{"::8.8.8.8", Reserved, "8.8.8.8"},
		{"::2", Unspecified, "0.0.0.2"},
		{"64:ff9b::808:808", Global, "8.8.8.8"},
		{"64:ff9b::7f00:1", Loopback, "127.0.0.1"},
		{"64:ff9b::a9fe:a9fe", Metadata, "169.254.169.254"},
		{"64:ff9b::c0a8:101", Private, "192.168.1.1"},
		{"64:ff9b:1:7f00:0:100::", Loopback, "127.0.0.1"},
		{"64:ff9b:1:808:8:800::", SpecialPurpose, "8.8.8.8"},
		{"64:ff9b:1:a9fe:a9:fe00::", Metadata, "169.254.169.254"},
		{"2002:7f00:1::", Loopback, "127.0.0.1"},
		{"2002:a9fe:a9fe::", Metadata, "169.254.169.254"},
		{"2002:a00:1::1", Private, "10.0.0.1"},
		{"2002:808:808::1", Global, "8.8.8.8"},
		// RFC 4380's example: server 65.54.227.120, client 192.0.2.45 (documentation).
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", Documentation, "192.0.2.45"},
		{"2001:0:4136:e378:8000:63bf:5601:5601", Metadata, "169.254.169.254"}, // client a9fe:a9fe inverted
		{"2001:0:7f00:1:8000:63bf:f7f7:fbfb", Loopback, "127.0.0.1"},          // server 127.0.0.1
		{"2001:0:4136:e378:8000:63bf:f7f7:fbfb", Global, "8.8.4.4"},
		{"2001::", Broadcast, "255.255.255.255"}, // client 0.0.0.0 inverted
	} {
		t.Run(tc.addr, func(t *testing.T) {
			v := Classify(ip(tc.addr), Local{})
			if v.Reason != tc.reason || v.Embedded != ip(tc.embedded) {
				t.Errorf("Classify(%s) = %v embedding %v (%s %q), want %v embedding %s", tc.addr, v.Reason, v.Embedded, v.Block, v.BlockName, tc.reason, tc.embedded)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	for _, s := range wantMetadata {
		a := ip(s)
		t.Run(s, func(t *testing.T) {
			v := Classify(a, Local{})
			if v.Reason != Metadata || v.Block != netip.PrefixFrom(a, a.BitLen()) || v.BlockName == "" {
				t.Errorf("Classify(%s) = %+v, want metadata with the address as block", s, v)
			}
			if a.Is6() {
				if v := Classify(a.WithZone("eth0"), Local{}); v.Reason != Metadata {
					t.Errorf("with a zone: %v", v.Reason)
				}
				return
			}
			b := a.As4()
			for _, form := range []func(a, b, c, d byte) string{mapped, compat, nat64wk, nat64lu, sixto4, teredoClient, teredoServer} {
				s6 := form(b[0], b[1], b[2], b[3])
				if v := Classify(ip(s6), Local{}); v.Reason != Metadata || v.Embedded != a {
					t.Errorf("Classify(%s) = %v embedding %v, want metadata embedding %v", s6, v.Reason, v.Embedded, a)
				}
			}
		})
	}
	// Neighbours of the metadata addresses are what their blocks say.
	for _, tc := range []struct {
		addr   string
		reason Reason
	}{
		{"168.63.129.15", Global}, {"168.63.129.17", Global}, {"100.100.100.201", SharedCGNAT},
		{"192.0.0.193", SpecialPurpose}, {"fd00:ec2::255", Private}, {"169.254.169.123", LinkLocal},
	} {
		if v := Classify(ip(tc.addr), Local{}); v.Reason != tc.reason {
			t.Errorf("Classify(%s) = %v, want %v", tc.addr, v.Reason, tc.reason)
		}
	}
}

func TestOwnAddress(t *testing.T) {
	own := NewLocal([]netip.Addr{ip("8.8.8.8"), ip("2001:4860::1"), ip("10.0.0.1"), ip("::ffff:1.2.3.4"), ip("2002:102:304::5%eth0")})
	for _, tc := range []struct {
		addr     string
		reason   Reason
		embedded string
	}{
		{"8.8.8.8", OwnAddress, ""},
		{"8.8.4.4", Global, ""},
		{"::ffff:8.8.8.8", OwnAddress, "8.8.8.8"},
		{"64:ff9b::808:808", OwnAddress, "8.8.8.8"},
		{"2002:808:808::1", OwnAddress, "8.8.8.8"},
		{"2001:4860::1", OwnAddress, ""},
		{"2001:4860::1%eth0", OwnAddress, ""},
		{"2001:4860::2", Global, ""},
		{"10.0.0.1", Private, ""}, // the more specific rule decides
		{"1.2.3.4", OwnAddress, ""},
		{"2002:102:304::5", OwnAddress, "1.2.3.4"},
		{"2002:102:305::5", Global, "1.2.3.5"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			v := Classify(ip(tc.addr), own)
			var e netip.Addr
			if tc.embedded != "" {
				e = ip(tc.embedded)
			}
			if v.Reason != tc.reason || v.Embedded != e {
				t.Errorf("Classify(%s) = %v embedding %v, want %v embedding %v", tc.addr, v.Reason, v.Embedded, tc.reason, e)
			}
			if v.Reason == OwnAddress && v.BlockName != "own interface address" {
				t.Errorf("block name = %q", v.BlockName)
			}
		})
	}
	if (Local{}).Contains(ip("127.0.0.1")) {
		t.Error("the zero Local contains an address")
	}
}

func TestLoopbackAddrs(t *testing.T) {
	for _, a := range LoopbackAddrs {
		if v := Classify(a, Local{}); v.Reason != Loopback {
			t.Errorf("Classify(%s) = %v, want loopback", a, v.Reason)
		}
	}
}

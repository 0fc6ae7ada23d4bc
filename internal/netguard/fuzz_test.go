package netguard

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzClassify classifies the input's 16 bytes as an IPv6 address and its first 4 as an IPv4
// address, and checks every verdict against the registries in testdata and the reference model.
func FuzzClassify(f *testing.F) {
	seeds := []string{
		"::",                                   // unspecified
		"::1",                                  // loopback
		"::ffff:169.254.169.254",               // mapped metadata
		"::169.254.169.254",                    // compatible metadata
		"::8.8.8.8",                            // compatible public: reserved
		"64:ff9b::a9fe:a9fe",                   // NAT64 metadata
		"64:ff9b::808:808",                     // NAT64 public: global
		"64:ff9b:1:7f00:0:100::",               // local-use NAT64 loopback
		"2002:a9fe:a9fe::",                     // 6to4 metadata
		"2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo, documentation client
		"2001::",                               // Teredo, broadcast client
		"2001:1::1",                            // globally reachable inside a not reachable /23
		"2001:10::1",                           // deprecated ORCHID
		"fd00:ec2::254",                        // AWS IMDS
		"fe80::a9fe:a9fe",                      // OpenStack metadata, link-local
		"fec0::1",                              // site-local: outside 2000::/3
		"ff02::1",                              // multicast
		"2606:4700:4700::1111",                 // public
		"a9fe:a9fe::",                          // first 4 bytes 169.254.169.254
		"c000:9::",                             // first 4 bytes 192.0.0.9, globally reachable
		"ffff:ffff::",                          // first 4 bytes 255.255.255.255
		"e000:1::",                             // first 4 bytes 224.0.0.1
	}
	for _, s := range seeds {
		b := netip.MustParseAddr(s).As16()
		f.Add(b[:])
	}
	m := newModel(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var b [16]byte
		copy(b[:], data)
		a6 := netip.AddrFrom16(b)
		a4 := netip.AddrFrom4([4]byte(b[:4]))
		for _, a := range []netip.Addr{a6, a4} {
			v := Classify(a, Local{})
			if r := m.row(a); r != nil && (r.reach == "False" || r.reach == "") && r.prefix.String() != "::ffff:0.0.0.0/96" && v.IsGlobal() {
				t.Fatalf("Classify(%s) is global, but %s %q is not globally reachable", a, r.prefix, r.name)
			}
			if want := m.reason(a); v.Reason != want {
				t.Fatalf("Classify(%s) = %v (%s %q), model says %v", a, v.Reason, v.Block, v.BlockName, want)
			}
			if !v.IsGlobal() && (!v.Block.IsValid() || v.BlockName == "") {
				t.Fatalf("Classify(%s) = %+v: no block named", a, v)
			}
			if v.Block.IsValid() && !v.Block.Contains(a.Unmap()) && !v.Block.Contains(v.Embedded) && v.Block != globalUni6 {
				t.Fatalf("Classify(%s) = %+v: block holds neither the address nor the embedded one", a, v)
			}
			own := Classify(a, NewLocal([]netip.Addr{a}))
			if v.IsGlobal() && own.Reason != OwnAddress || !v.IsGlobal() && own != v {
				t.Fatalf("Classify(%s) = %v, as an own address %v", a, v.Reason, own.Reason)
			}
		}
		mv := Classify(netip.AddrFrom16(a4.As16()), Local{})
		if v4 := Classify(a4, Local{}); mv != embed(v4, a4) {
			t.Fatalf("mapped %s = %+v, IPv4 = %+v", a4, mv, v4)
		}
	})
}

// FuzzClassifyName checks that ClassifyName never panics and never gives a name a block.
func FuzzClassifyName(f *testing.F) {
	for _, s := range []string{
		"",                              // empty
		".",                             // a bare dot
		"localhost",                     // loopback
		"a.localhost",                   // under localhost
		"metadata.google.internal",      // metadata
		"instance-data.",                // prefix of the AWS form, nothing after it
		"instance-data.internal",        // the shortest AWS form
		"printer.local",                 // mDNS
		"router.home.arpa",              // home network
		"1.0.0.127.in-addr.arpa",        // reverse mapping
		"api.github.com",                // public
		"xn--bcher-kva.example",         // punycode under .example
		strings.Repeat("a.", 127) + "a", // a long name
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v := ClassifyName(name)
		if v.Block.IsValid() || v.Embedded.IsValid() || v.Reason > SpecialName {
			t.Fatalf("ClassifyName(%q) = %+v", name, v)
		}
		// Local-network and special-use names are whole domains: their subdomains are too.
		if sub := ClassifyName("x." + name); (v.Reason == Private || v.Reason == SpecialName) && sub.Reason != v.Reason {
			t.Fatalf("ClassifyName(%q) = %v, but x.%[1]s is %v", name, v.Reason, sub.Reason)
		}
	})
}

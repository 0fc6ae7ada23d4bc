package netguard

import "testing"

func TestClassifyName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason Reason
	}{
		{"api.github.com", Global},
		{"example.com", Global}, // a real, delegated name
		{"com", Global},
		{"", Global},
		{"printer", Global}, // single labels are judged by their addresses
		{"notlocalhost", Global},
		{"localhost.com", Global},
		{"mylocal", Global},
		{"internal.example.org", Global},
		{"metadata.google.com", Global},
		{"instance-data.example.com", Global},
		{"arpa.example.com", Global},

		{"localhost", Loopback},
		{"foo.localhost", Loopback},
		{"a.b.localhost", Loopback},
		{"localhost.localdomain", Loopback},
		{"localhost6", Loopback},
		{"localhost6.localdomain6", Loopback},
		{"ip6-localhost", Loopback},
		{"ip6-loopback", Loopback},

		{"metadata", Metadata},
		{"metadata.google.internal", Metadata},
		{"metadata.goog", Metadata},
		{"instance-data", Metadata},
		{"instance-data.ec2.internal", Metadata},
		{"instance-data.us-west-2.compute.internal", Metadata},
		{"metadata.tencentyun.com", Metadata},
		{"api.metadata.cloud.ibm.com", Metadata},

		{"local", Private},
		{"printer.local", Private},
		{"web.default.svc.cluster.local", Private},
		{"internal", Private},
		{"db.internal", Private},
		{"ip-10-0-0-1.us-west-2.compute.internal", Private},
		{"home.arpa", Private},
		{"router.home.arpa", Private},
		{"printer._ipp._tcp.service.arpa", Private},
		{"nas.lan", Private},
		{"router.home", Private},
		{"wiki.intranet", Private},
		{"dc1.corp", Private},
		{"x.private", Private},
		{"host.localdomain", Private},
		{"kubernetes.default.svc", Private},

		{"invalid", SpecialName},
		{"foo.invalid", SpecialName},
		{"foo.test", SpecialName},
		{"example", SpecialName},
		{"www.example", SpecialName},
		{"duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", SpecialName},
		{"x.alt", SpecialName},
		{"1.0.0.127.in-addr.arpa", SpecialName},
		{"in-addr.arpa", SpecialName},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa", SpecialName},
		{"ipv4only.arpa", SpecialName},
		{"arpa", SpecialName},
		{"homearpa.arpa", SpecialName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := ClassifyName(tc.name)
			if v.Reason != tc.reason {
				t.Errorf("ClassifyName(%q) = %v (%q), want %v", tc.name, v.Reason, v.BlockName, tc.reason)
			}
			if v.Block.IsValid() || v.Embedded.IsValid() {
				t.Errorf("ClassifyName(%q) has block %v, embedded %v", tc.name, v.Block, v.Embedded)
			}
			if (v.Reason == Global) != (v.BlockName == "") {
				t.Errorf("ClassifyName(%q) has block name %q for %v", tc.name, v.BlockName, v.Reason)
			}
		})
	}
}

func TestClassifyNameAllocs(t *testing.T) {
	for _, name := range []string{"api.github.com", "printer.local", "foo.test", "localhost", "metadata.google.internal"} {
		if n := testing.AllocsPerRun(100, func() { ClassifyName(name) }); n != 0 {
			t.Errorf("ClassifyName(%q) allocates %v times", name, n)
		}
	}
}

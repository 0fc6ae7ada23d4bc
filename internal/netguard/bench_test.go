package netguard

import (
	"net/netip"
	"testing"
)

var sinkVerdict Verdict

func BenchmarkClassify(b *testing.B) {
	for _, bc := range []struct{ name, addr string }{
		{"v4_public", "8.8.8.8"},
		{"v4_private", "192.168.1.10"},
		{"v6_public", "2606:4700:4700::1111"},
		{"v6_mapped", "::ffff:8.8.8.8"},
	} {
		a := netip.MustParseAddr(bc.addr)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkVerdict = Classify(a, Local{})
			}
		})
	}
}

func BenchmarkClassifyName(b *testing.B) {
	for _, bc := range []struct{ bench, name string }{
		{"public", "api.github.com"},
		{"local", "printer.local"},
		{"metadata", "metadata.google.internal"},
	} {
		b.Run(bc.bench, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkVerdict = ClassifyName(bc.name)
			}
		})
	}
}

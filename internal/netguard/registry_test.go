package netguard

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

// This file reads the registries in testdata on its own, independent of gen.go and the
// generated table, and builds from them a reference model of Classify's rules. The tests
// compare the generated table and Classify against both.

// tsvRow is one registry row as the test reads it.
type tsvRow struct {
	prefix netip.Prefix
	name   string
	reach  string // "True", "False", "N/A" or "" (terminated)
}

func readTSV(tb testing.TB, file string) []tsvRow {
	tb.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		tb.Fatal(err)
	}
	var rows []tsvRow
	var prefixCol, nameCol, reachCol int
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 {
			prefixCol, nameCol, reachCol = slices.Index(f, "prefix"), slices.Index(f, "name"), slices.Index(f, "globally_reachable")
			if prefixCol < 0 || nameCol < 0 || reachCol < 0 {
				tb.Fatalf("%s: header %q lacks prefix, name or globally_reachable", file, line)
			}
			continue
		}
		p, err := netip.ParsePrefix(f[prefixCol])
		if err != nil {
			tb.Fatalf("%s:%d: %v", file, i+1, err)
		}
		rows = append(rows, tsvRow{prefix: p, name: f[nameCol], reach: f[reachCol]})
	}
	if len(rows) == 0 {
		tb.Fatalf("%s: no rows", file)
	}
	return rows
}

// ownReason lists the blocks that have a reason of their own, as the design states it.
var ownReason = map[string]Reason{
	"0.0.0.0/8": Unspecified, "0.0.0.0/32": Unspecified, "::/128": Unspecified,
	"127.0.0.0/8": Loopback, "::1/128": Loopback,
	"10.0.0.0/8": Private, "172.16.0.0/12": Private, "192.168.0.0/16": Private, "fc00::/7": Private,
	"100.64.0.0/10":  SharedCGNAT,
	"169.254.0.0/16": LinkLocal, "fe80::/10": LinkLocal,
	"192.0.2.0/24": Documentation, "198.51.100.0/24": Documentation, "203.0.113.0/24": Documentation,
	"2001:db8::/32": Documentation, "3fff::/20": Documentation,
	"198.18.0.0/15": Benchmarking, "2001:2::/48": Benchmarking,
	"240.0.0.0/4":        Reserved,
	"255.255.255.255/32": Broadcast,
}

// rowReason is the reason the table must give a row.
func rowReason(r tsvRow) Reason {
	if reason, ok := ownReason[r.prefix.String()]; ok {
		return reason
	}
	switch r.reach {
	case "True", "N/A":
		return Global
	case "":
		return Reserved
	}
	return SpecialPurpose
}

// model is the reference model of the address rules, built from the registries.
type model struct {
	rows []tsvRow // both families
}

func newModel(tb testing.TB) model {
	return model{rows: append(readTSV(tb, "iana_special_v4.tsv"), readTSV(tb, "iana_special_v6.tsv")...)}
}

// row returns the most specific registry row holding a, or nil.
func (m model) row(a netip.Addr) *tsvRow {
	var best *tsvRow
	for i, r := range m.rows {
		if r.prefix.Contains(a) && (best == nil || r.prefix.Bits() > best.prefix.Bits()) {
			best = &m.rows[i]
		}
	}
	return best
}

// wantMetadata are the cloud metadata addresses, listed apart from the package's list.
var wantMetadata = []string{
	"169.254.169.254", "169.254.170.2", "169.254.170.23", "169.254.0.23", "169.254.42.42",
	"100.100.100.200", "168.63.129.16", "192.0.0.192",
	"fd00:ec2::254", "fd00:ec2::23", "fd20:ce::254", "fd00:c1::a9fe:a9fe", "fd00:a9fe:a9fe::1",
	"fd00:42::42", "fd00:100::100:200", "fe80::a9fe:a9fe",
}

func v4at(b [16]byte, i ...int) netip.Addr {
	return netip.AddrFrom4([4]byte{b[i[0]], b[i[1]], b[i[2]], b[i[3]]})
}

// reason is the reason the model gives a (without own addresses).
func (m model) reason(a netip.Addr) Reason {
	a = a.WithZone("").Unmap()
	if slices.Contains(wantMetadata, a.String()) {
		return Metadata
	}
	b := a.As16()
	r := m.row(a)
	var rp string
	if r != nil {
		rp = r.prefix.String()
	}
	switch {
	case a.Is4() && r == nil && b[12] >= 224 && b[12] < 240:
		return Multicast
	case a.Is4():
		if r == nil {
			return Global
		}
		return rowReason(*r)
	case r == nil && a.Compare(netip.MustParseAddr("::1")) > 0 && a.Compare(netip.MustParseAddr("::ffff:ffff")) <= 0:
		if in := m.reason(v4at(b, 12, 13, 14, 15)); in != Global {
			return in
		}
		return Reserved
	case rp == "64:ff9b::/96":
		return m.reason(v4at(b, 12, 13, 14, 15))
	case rp == "64:ff9b:1::/48":
		if in := m.reason(v4at(b, 6, 7, 9, 10)); in != Global {
			return in
		}
		return SpecialPurpose
	case rp == "2002::/16":
		return m.reason(v4at(b, 2, 3, 4, 5))
	case rp == "2001::/32":
		client := netip.AddrFrom4([4]byte{b[12] ^ 0xff, b[13] ^ 0xff, b[14] ^ 0xff, b[15] ^ 0xff})
		if in := m.reason(client); in != Global {
			return in
		}
		return m.reason(v4at(b, 4, 5, 6, 7))
	case r != nil && rowReason(*r) != Global:
		return rowReason(*r)
	case b[0] == 0xff:
		return Multicast
	case b[0]&0xe0 != 0x20:
		return Reserved
	}
	return Global
}

// TestTableMatchesRegistries is the differential check of the generated table against the
// registries in testdata: run go generate when it fails.
func TestTableMatchesRegistries(t *testing.T) {
	for _, tc := range []struct {
		file  string
		table []ianaBlock
	}{
		{"iana_special_v4.tsv", ianaV4},
		{"iana_special_v6.tsv", ianaV6},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rows := readTSV(t, tc.file)
			if len(rows) != len(tc.table) {
				t.Errorf("registry has %d rows, table %d", len(rows), len(tc.table))
			}
			reachOf := map[string]reach{"True": reachTrue, "False": reachFalse, "N/A": reachNA, "": reachNone}
			for _, r := range rows {
				i := slices.IndexFunc(tc.table, func(b ianaBlock) bool { return b.prefix == r.prefix })
				if i < 0 {
					t.Errorf("%s (%s) is not in the table", r.prefix, r.name)
					continue
				}
				b := tc.table[i]
				want := ianaBlock{prefix: r.prefix, name: r.name, reach: reachOf[r.reach], reason: rowReason(r)}
				if b != want {
					t.Errorf("table has %+v, registry says %+v", b, want)
				}
			}
			if !slices.IsSortedFunc(tc.table, func(a, b ianaBlock) int {
				if c := a.prefix.Addr().Compare(b.prefix.Addr()); c != 0 {
					return c
				}
				return a.prefix.Bits() - b.prefix.Bits()
			}) {
				t.Error("table is not sorted by prefix")
			}
		})
	}
}

// blockSamples returns the first, a middle and the last address of p.
func blockSamples(p netip.Prefix) []netip.Addr {
	first := p.Masked().Addr()
	b := first.As16()
	off := 128 - first.BitLen() // bit offset of the address in b
	last, mid := b, b
	for i := p.Bits(); i < first.BitLen(); i++ {
		last[(off+i)/8] |= 0x80 >> ((off + i) % 8)
	}
	if p.Bits() < first.BitLen() {
		i := off + p.Bits()
		mid[i/8] |= 0x80 >> (i % 8)
	}
	addr := func(b [16]byte) netip.Addr {
		if first.Is4() {
			return netip.AddrFrom4([4]byte(b[12:]))
		}
		return netip.AddrFrom16(b)
	}
	return []netip.Addr{first, addr(mid), addr(last)}
}

func TestBlockSamples(t *testing.T) {
	m := newModel(t)
	for _, r := range m.rows {
		for _, a := range blockSamples(r.prefix) {
			t.Run(r.prefix.String()+"/"+a.String(), func(t *testing.T) {
				got := Classify(a, Local{})
				if want := m.reason(a); got.Reason != want {
					t.Errorf("Classify(%s) = %v (%s %q), want %v", a, got.Reason, got.Block, got.BlockName, want)
				}
				// The registry's word alone: what is not globally reachable is never Global.
				if mr := m.row(a); mr.reach == "False" && mr.prefix.String() != "::ffff:0.0.0.0/96" && got.IsGlobal() {
					t.Errorf("Classify(%s) is global, but %s %q is not globally reachable", a, mr.prefix, mr.name)
				}
			})
		}
	}
}

func TestBlockSamplesHelper(t *testing.T) {
	got := blockSamples(netip.MustParsePrefix("10.0.0.0/8"))
	want := []netip.Addr{netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("10.128.0.0"), netip.MustParseAddr("10.255.255.255")}
	if !slices.Equal(got, want) {
		t.Errorf("blockSamples(10.0.0.0/8) = %v, want %v", got, want)
	}
	got = blockSamples(netip.MustParsePrefix("fe80::/10"))
	want = []netip.Addr{netip.MustParseAddr("fe80::"), netip.MustParseAddr("fea0::"), netip.MustParseAddr("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}
	if !slices.Equal(got, want) {
		t.Errorf("blockSamples(fe80::/10) = %v, want %v", got, want)
	}
}

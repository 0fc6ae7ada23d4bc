package host

import "golang.org/x/net/idna"

// profile maps names the way the WHATWG URL standard's "domain to ASCII" does with
// beStrict=false: UTS #46 nontransitional processing, CheckHyphens=false, CheckBidi=true,
// CheckJoiners=true, UseSTD3ASCIIRules=false, VerifyDnsLength=false. The ASCII characters that
// STD3 would forbid are checked after mapping by parseMapped instead, with clearer messages, and
// empty labels and lengths are checked there too. Later options override earlier ones, so the
// order matters: MapForLookup turns CheckHyphens and StrictDomainName on.
var profile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
	idna.CheckJoiners(true),
	idna.VerifyDNSLength(false),
)

// transitionalProfile is profile with IDNA2003-compatible transitional processing: it maps the
// four deviation characters (ß, ς, ZWJ, ZWNJ) away instead of keeping them. ParseTarget uses it
// only to detect names that IDNA2003 clients (Python's "idna" codec, Java's IDN) would send to a
// different host than browsers do.
var transitionalProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(true),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
	idna.CheckJoiners(true),
	idna.VerifyDNSLength(false),
)

// uts46ToASCII maps s the way browsers do (profile).
func uts46ToASCII(s string) (string, error) { return profile.ToASCII(s) }

// transitionalToASCII maps s the way IDNA2003 clients do (transitionalProfile).
func transitionalToASCII(s string) (string, error) { return transitionalProfile.ToASCII(s) }

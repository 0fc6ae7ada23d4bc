package host

import (
	"testing"
	"unicode/utf8"
)

// TestParseEveryCodePoint puts every code point of the planes with mappings (the BMP, plane 1
// and plane 14) and a sample of the others into a few host shapes and checks that whatever Parse
// accepts is canonical (see checkCanonical). It found that x/net/idna accepted "aℵb.com" (ℵ maps
// to a Hebrew letter) and then refused its own punycode.
func TestParseEveryCodePoint(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a quarter of a million code points")
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if plane := r >> 16; plane != 0 && plane != 1 && plane != 14 && r%97 != 0 || !utf8.ValidRune(r) {
			continue
		}
		c := string(r)
		for _, s := range [...]string{c, "a" + c + "b.com", "127.0.0." + c, "1" + c + "1", "xn--" + c} {
			if h, err := Parse(s); err == nil {
				checkCanonical(t, s, h)
			}
		}
	}
}

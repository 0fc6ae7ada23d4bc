package binding

import (
	"regexp"
	"testing"
)

func TestCharClassMatchers(t *testing.T) {
	for _, tt := range []struct {
		m  charClassMatcher
		re *regexp.Regexp
	}{
		{credentialName, regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)},
		{credentialKey, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,63}$`)},
	} {
		long := func(n int) string {
			b := make([]byte, n)
			for i := range b {
				b[i] = 'a'
			}
			return string(b)
		}
		for _, s := range []string{"", "a", "1", "_", ".", "-", "a.b", "a-b", "a_b", "lg-tv", "1abc", "a b", "é", "a\n", "tvIP", ".x", "-x", long(63), long(64), long(65), long(127), long(128), long(129)} {
			if got, want := tt.m.MatchString(s), tt.re.MatchString(s); got != want {
				t.Errorf("%s: %q = %v, want %v", tt.re, s, got, want)
			}
		}
	}
}

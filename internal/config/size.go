package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize parses a byte count as the config file writes one: a whole number of bytes, or one
// with a unit (B, KB, KiB, MB, MiB, GB, GiB), such as "10MiB" or "500KB". Command-line flags
// use it so that sizes are spelled alike everywhere.
func ParseSize(s string) (int64, error) {
	m := sizePattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size; %s", s, sizeFix)
	}
	unit := int64(1)
	if m[2] != "" {
		u, ok := sizeUnits[m[2]]
		if !ok {
			return 0, fmt.Errorf("%q: unknown unit %q; %s", s, m[2], sizeFix)
		}
		unit = u
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || v > math.MaxInt64/unit {
		return 0, fmt.Errorf("%q is too large; write a size below 8EiB", s)
	}
	return v * unit, nil
}

package codemode

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Source maps tell goja, in the worker, where a position of the code it runs comes from in the
// user's source. goja reads them through github.com/go-sourcemap/sourcemap, which has two
// quirks this file works around: it looks columns up with goja's 1-based columns while the
// format's are 0-based, and it drops every segment that points at line 1, column 0 of the
// source. So the maps built here use 1-based columns on both sides.

// vlqChars is the base64 alphabet of the "mappings" field.
const vlqChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

var vlqValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(vlqChars); i++ {
		t[vlqChars[i]] = int8(i)
	}
	return t
}()

// segment is one decoded mapping with absolute values; fields is 1, 4 or 5.
type segment struct {
	fields                             int
	genCol, src, srcLine, srcCol, name int
}

// maxMappingValue bounds every absolute value a map may hold, so that arithmetic on hostile or
// broken input cannot overflow.
const maxMappingValue = 1 << 30

var errMappings = errors.New("invalid source map mappings")

// decodeMappings parses a "mappings" string into lines of segments with absolute values.
func decodeMappings(s string) ([][]segment, error) {
	lines := [][]segment{nil}
	var genCol, src, srcLine, srcCol, name int
	var vals [5]int
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			lines = append(lines, nil)
			genCol = 0
			i++
			continue
		case ',':
			i++
			continue
		}
		n := 0
		for i < len(s) && s[i] != ',' && s[i] != ';' {
			if n == len(vals) {
				return nil, fmt.Errorf("%w: segment with more than 5 fields", errMappings)
			}
			v, used, err := decodeVLQ(s[i:])
			if err != nil {
				return nil, err
			}
			vals[n] = v
			n++
			i += used
		}
		if n != 1 && n != 4 && n != 5 {
			return nil, fmt.Errorf("%w: segment with %d fields", errMappings, n)
		}
		seg := segment{fields: n}
		genCol += vals[0]
		seg.genCol = genCol
		if n >= 4 {
			src += vals[1]
			srcLine += vals[2]
			srcCol += vals[3]
			seg.src, seg.srcLine, seg.srcCol = src, srcLine, srcCol
		}
		if n == 5 {
			name += vals[4]
			seg.name = name
		}
		for _, v := range []int{genCol, src, srcLine, srcCol, name} {
			if v < 0 || v > maxMappingValue {
				return nil, fmt.Errorf("%w: value %d out of range", errMappings, v)
			}
		}
		lines[len(lines)-1] = append(lines[len(lines)-1], seg)
	}
	return lines, nil
}

// decodeVLQ decodes one base64 VLQ value from the start of s and returns it with the number of
// bytes it used.
func decodeVLQ(s string) (v, used int, err error) {
	shift := 0
	for used < len(s) {
		d := vlqValue[s[used]]
		if d < 0 {
			return 0, 0, fmt.Errorf("%w: character %q", errMappings, s[used])
		}
		used++
		v |= int(d&0x1f) << shift
		if d&0x20 == 0 {
			if v&1 != 0 {
				return -(v >> 1), used, nil
			}
			return v >> 1, used, nil
		}
		shift += 5
		if shift > 30 {
			return 0, 0, fmt.Errorf("%w: value too long", errMappings)
		}
	}
	return 0, 0, fmt.Errorf("%w: value cut short", errMappings)
}

// encodeMappings is the inverse of decodeMappings.
func encodeMappings(lines [][]segment) string {
	var b strings.Builder
	var src, srcLine, srcCol, name int
	for li, line := range lines {
		if li > 0 {
			b.WriteByte(';')
		}
		genCol := 0
		for si, seg := range line {
			if si > 0 {
				b.WriteByte(',')
			}
			encodeVLQ(&b, seg.genCol-genCol)
			genCol = seg.genCol
			if seg.fields >= 4 {
				encodeVLQ(&b, seg.src-src)
				encodeVLQ(&b, seg.srcLine-srcLine)
				encodeVLQ(&b, seg.srcCol-srcCol)
				src, srcLine, srcCol = seg.src, seg.srcLine, seg.srcCol
			}
			if seg.fields == 5 {
				encodeVLQ(&b, seg.name-name)
				name = seg.name
			}
		}
	}
	return b.String()
}

func encodeVLQ(b *strings.Builder, v int) {
	u := v << 1
	if v < 0 {
		u = (-v)<<1 | 1
	}
	for {
		d := u & 0x1f
		u >>= 5
		if u != 0 {
			d |= 0x20
		}
		b.WriteByte(vlqChars[d])
		if u == 0 {
			return
		}
	}
}

// rawMap is the part of a version 3 source map that is rewritten here.
type rawMap struct {
	Version  int      `json:"version"`
	Sources  []string `json:"sources"`
	Names    []string `json:"names"`
	Mappings string   `json:"mappings"`
}

// fixEsbuildMap rewrites esbuild's source map of the wrapped code for goja: the one source is
// renamed name, the original columns on the first line lose the wrapper's prefix (prefix
// bytes), and every column becomes 1-based.
func fixEsbuildMap(esbuildMap []byte, name string, prefix int) ([]byte, error) {
	var m rawMap
	if err := json.Unmarshal(esbuildMap, &m); err != nil {
		return nil, fmt.Errorf("read esbuild's source map: %w", err)
	}
	lines, err := decodeMappings(m.Mappings)
	if err != nil {
		return nil, fmt.Errorf("read esbuild's source map: %w", err)
	}
	for _, line := range lines {
		for i := range line {
			s := &line[i]
			s.genCol++
			if s.fields >= 4 {
				if s.srcLine == 0 {
					s.srcCol = max(s.srcCol-prefix, 0)
				}
				s.srcCol++
			}
		}
	}
	m.Version = 3
	m.Sources = []string{name}
	if m.Names == nil {
		m.Names = []string{}
	}
	m.Mappings = encodeMappings(lines)
	return json.Marshal(m)
}

// maxIdentityColumns bounds the first-line map of firstLineMap: beyond it (a minified one-line
// script), positions on the first line are reported as goja sees them, prefix included.
const maxIdentityColumns = 4096

// firstLineMap returns the source map of code that is the user's source with prefix bytes
// added in front of its first line: an index map whose one section starts after the prefix and
// maps every column of the first line to itself. Lines after the first have no mapping, so
// goja reports them as they are, which is right.
func firstLineMap(name string, prefix, width int) []byte {
	width = min(max(width, 1), maxIdentityColumns)
	var b strings.Builder
	b.Grow(5*width + 16)
	b.WriteString("CAAC") // generated column 1 -> line 0, column 1
	for range width - 1 {
		b.WriteString(",CAAC")
	}
	type offset struct {
		Line   int `json:"line"`
		Column int `json:"column"`
	}
	type section struct {
		Offset offset `json:"offset"`
		Map    rawMap `json:"map"`
	}
	m := struct {
		Version  int       `json:"version"`
		Sections []section `json:"sections"`
	}{3, []section{{offset{0, prefix}, rawMap{3, []string{name}, []string{}, b.String()}}}}
	out, _ := json.Marshal(m) // plain values: cannot fail
	return out
}

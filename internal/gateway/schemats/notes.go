package schemats

import (
	"maps"
	"slices"
	"strings"
)

const (
	// maxCommentDesc is the length a property description is cut to.
	maxCommentDesc = 120
	// maxNotes is the length of the notes (default, constraints) after a description.
	maxNotes = 80
	// maxNoteValue is the longest default, format or pattern shown in a note.
	maxNoteValue = 40
)

// comment returns the text of the comment shown before a property: its description, then
// its default and simple constraints in parentheses, e.g. "Page number (default 1, 1–100)".
// A property that is only a $ref borrows what the definition says.
func (b *builder) comment(s any) string {
	m, ok := norm(s).(map[string]any)
	if !ok {
		return ""
	}
	desc, _ := m["description"].(string)
	notes := notesOf(m)
	if ref, ok := m["$ref"].(string); ok && (desc == "" || len(notes) == 0) {
		if t, _, _, ok := b.resolve(ref); ok {
			if tm, ok := norm(t).(map[string]any); ok {
				if desc == "" {
					desc, _ = tm["description"].(string)
				}
				if len(notes) == 0 {
					notes = notesOf(tm)
				}
			}
		}
	}
	text := commentText(desc, maxCommentDesc)
	note := commentText(notes, maxNotes)
	switch {
	case text == "":
		return note
	case note == "":
		return text
	}
	return text + " (" + note + ")"
}

// notesOf lists a schema's default and simple constraints, comma separated.
func notesOf(m map[string]any) string {
	var parts []string
	if d, ok := m["default"]; ok {
		if j, ok := compactJSON(d, maxNoteValue); ok {
			parts = append(parts, "default "+j)
		}
	}
	parts = numberRange(parts, m)
	parts = appendRange(parts, m, "minLength", "maxLength", "length ", " chars", "min length ", "max length ")
	parts = appendRange(parts, m, "minItems", "maxItems", "", " items", "min items ", "max items ")
	for _, k := range []string{"format", "pattern"} {
		if s, ok := m[k].(string); ok && s != "" && len(s) <= maxNoteValue {
			parts = append(parts, k+" "+s)
		}
	}
	if dep, _ := m["deprecated"].(bool); dep {
		parts = append(parts, "deprecated")
	}
	return strings.Join(parts, ", ")
}

// appendRange adds "lo–hi" (with prefix and suffix) when both bounds are there, else
// "min lo" or "max hi".
func appendRange(parts []string, m map[string]any, loKey, hiKey, prefix, suffix, loWord, hiWord string) []string {
	lo, hasLo := number(m[loKey])
	hi, hasHi := number(m[hiKey])
	switch {
	case hasLo && hasHi:
		return append(parts, prefix+lo+"–"+hi+suffix)
	case hasLo:
		return append(parts, loWord+lo)
	case hasHi:
		return append(parts, hiWord+hi)
	}
	return parts
}

// numberRange adds the bounds of a number: "1–100", or "min 1", "max 100", "> 0", "< 1".
// exclusiveMinimum and exclusiveMaximum are numbers (2019-09 and later) or, in draft 4,
// booleans that make minimum and maximum exclusive.
func numberRange(parts []string, m map[string]any) []string {
	lo, hasLo := number(m["minimum"])
	hi, hasHi := number(m["maximum"])
	loOp, hiOp := "min ", "max "
	if x, ok := number(m["exclusiveMinimum"]); ok {
		lo, hasLo, loOp = x, true, "> "
	} else if ex, _ := m["exclusiveMinimum"].(bool); ex {
		loOp = "> "
	}
	if x, ok := number(m["exclusiveMaximum"]); ok {
		hi, hasHi, hiOp = x, true, "< "
	} else if ex, _ := m["exclusiveMaximum"].(bool); ex {
		hiOp = "< "
	}
	if hasLo && hasHi && loOp == "min " && hiOp == "max " {
		return append(parts, lo+"–"+hi)
	}
	if hasLo {
		parts = append(parts, loOp+lo)
	}
	if hasHi {
		parts = append(parts, hiOp+hi)
	}
	return parts
}

// compactJSON writes v as compact JSON of at most max bytes; ok is false when it is longer.
func compactJSON(v any, max int) (string, bool) {
	var sb strings.Builder
	if !writeJSON(&sb, v, max) || sb.Len() > max {
		return "", false
	}
	return sb.String(), true
}

func writeJSON(sb *strings.Builder, v any, max int) bool {
	if sb.Len() > max {
		return false
	}
	switch x := norm(v).(type) {
	case nil:
		sb.WriteString("null")
	case bool:
		if x {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case string:
		if len(x) > max {
			return false
		}
		sb.WriteString(quote(x))
	case []any:
		sb.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				sb.WriteByte(',')
			}
			if !writeJSON(sb, e, max) {
				return false
			}
		}
		sb.WriteByte(']')
	case map[string]any:
		if len(x) > max {
			return false
		}
		sb.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				sb.WriteByte(',')
			}
			if len(k) > max {
				return false
			}
			sb.WriteString(quote(k))
			sb.WriteByte(':')
			if !writeJSON(sb, x[k], max) {
				return false
			}
		}
		sb.WriteByte('}')
	default:
		n, ok := number(x)
		if !ok {
			return false
		}
		sb.WriteString(n)
	}
	return sb.Len() <= max
}

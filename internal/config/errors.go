package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxErrors is how many problems one Parse reports at most; the rest are counted in a final
// "too many errors" line.
const MaxErrors = 20

// Error is one problem in a config file or a ToolHive profile, at a position. Its text is
// "FILE:LINE:COL: PATH: what is wrong; what to do" (PATH is left out when the problem concerns
// the whole document). Parse returns every Error it found joined with errors.Join; use
// errors.As to get at the first one.
type Error struct {
	File   string
	Line   int // 1-based
	Column int // 1-based
	// Path names the key the problem is at: "servers.github.network.allow[2]".
	Path string
	// Msg says what is wrong and, after "; ", what to do.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(e.Column))
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// errorList collects the problems of one file.
type errorList struct {
	file string
	errs []*Error
}

func (l *errorList) add(line, col int, path, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Column: col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// sorted returns the problems in document order, without repeats.
func (l *errorList) sorted() []*Error {
	errs := slices.Clone(l.errs)
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return slices.CompactFunc(errs, func(a, b *Error) bool { return *a == *b })
}

// err returns nil, or every problem in document order (at most MaxErrors, plus a count of the
// rest) joined.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	errs := l.sorted()
	out := make([]error, 0, MaxErrors+1)
	for i, e := range errs {
		if i == MaxErrors {
			out = append(out, &Error{File: l.file, Line: e.Line, Column: e.Column,
				Msg: fmt.Sprintf("too many errors (%d more not shown); fix the ones above first", len(errs)-MaxErrors)})
			break
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

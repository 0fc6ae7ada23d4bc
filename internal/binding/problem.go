package binding

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing wrong with a Declaration. Validate returns every Problem it finds,
// joined with errors.Join; a config loader maps Path to the line it came from.
type Problem struct {
	// Binding is the declaration's name (possibly invalid, or empty).
	Binding string
	// Path names the field, relative to the binding, in config-key form: "" for the binding
	// itself, "type", "network.allow[0]", "methods.setVolume.params[0].max",
	// "methods.setVolume.request.json.level".
	Path string
	// Msg says what is wrong and, after "; ", what to do.
	Msg string
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString("binding ")
	b.WriteString(p.Binding)
	if p.Path != "" {
		b.WriteString(": ")
		b.WriteString(p.Path)
	}
	b.WriteString(": ")
	b.WriteString(p.Msg)
	return b.String()
}

// Problems returns every *Problem in err (as returned by Validate, Declare or CreateBinding),
// in order.
func Problems(err error) []*Problem {
	var out []*Problem
	var walk func(error)
	walk = func(err error) {
		if multi, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range multi.Unwrap() {
				walk(e)
			}
			return
		}
		var p *Problem
		if errors.As(err, &p) {
			out = append(out, p)
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// problems collects the problems of one declaration.
type problems struct {
	binding string
	list    []*Problem
}

func (ps *problems) add(path, format string, args ...any) {
	ps.list = append(ps.list, &Problem{Binding: ps.binding, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	errs := make([]error, len(ps.list))
	for i, p := range ps.list {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// join appends a key to a problem path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

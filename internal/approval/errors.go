package approval

import (
	"errors"
	"fmt"
)

// ErrNotApproved is what every *NotApprovedError is (errors.Is).
var ErrNotApproved = errors.New("not approved")

// NotApprovedError says that a declaration was never approved, or changed since it was.
type NotApprovedError struct {
	Kind, Name string
	// Changed: it was approved, with digest Approved; its digest is now Current.
	Changed           bool
	Approved, Current string
	// ConfigPath is the config the declaration is in, for the command in the message; empty
	// when the store does not know it (the message then says CONFIG).
	ConfigPath string
}

func (e *NotApprovedError) Error() string {
	cfg := e.ConfigPath
	if cfg == "" {
		cfg = "CONFIG"
	}
	if e.Changed {
		return fmt.Sprintf("%s %s changed since it was approved (approved %s, now %s); review it with `airlock approve --config %s`", e.Kind, e.Name, short(e.Approved), short(e.Current), cfg)
	}
	return fmt.Sprintf("%s %s is not approved; run `airlock approve --config %s`", e.Kind, e.Name, cfg)
}

// Is makes errors.Is(err, ErrNotApproved) true.
func (e *NotApprovedError) Is(target error) bool { return target == ErrNotApproved }

//go:build unix

package approval

import (
	"fmt"
	"io/fs"
)

// checkNotWorldWritable refuses an approvals file every user may write: whoever can write it
// can approve a binding.
func checkNotWorldWritable(path string, fi fs.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o002 != 0 {
		return fmt.Errorf("%s can be written by every user (mode %04o), and whoever writes it approves bindings; run `chmod o-w %s`", path, perm, path)
	}
	return nil
}

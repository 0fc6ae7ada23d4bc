//go:build unix

package secrets

import (
	"io/fs"
	"os"
	"syscall"
)

// currentUID is the user a store and key file must belong to; a variable so that tests can
// pretend to be someone else without root.
var currentUID = os.Geteuid

// checkPrivate refuses a file that group or others may read or write, or that another user
// owns: the first may leak the ciphertext and the key, the second may have been planted.
func checkPrivate(path string, fi fs.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o066 != 0 {
		return errorOf(ErrInsecureFile, "%s can be read or written by group or others (mode %04o), and it holds secrets; run `chmod 600 %s`", path, perm, shellQuote(path))
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := currentUID(); int(st.Uid) != uid {
			return errorOf(ErrInsecureFile, "%s belongs to uid %d, not to you (uid %d); airlock uses only secrets files you own — check where it came from, then run `chown %d %s` and `chmod 600 %s`", path, st.Uid, uid, uid, shellQuote(path), shellQuote(path))
		}
	}
	return nil
}

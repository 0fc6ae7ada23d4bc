package secrets

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// readPrivate reads the file at path after checking, on the open file, that it is a regular
// file no one else may read or write and that the caller owns it (checkPrivate). Files larger
// than limit are refused.
func readPrivate(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // the caller tells "does not exist" apart
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file (%s)", path, fi.Mode().Type())
	}
	if err := checkPrivate(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes; this is not an airlock secrets or key file", path, limit)
	}
	return data, nil
}

// writeTemp writes data to a new file (mode 0600) in the directory of path, creating the
// directory with mode 0700 when it is missing, and syncs it. It returns the temporary file's
// name; on error nothing is left behind.
func writeTemp(path string, data []byte) (name string, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; say it, in case that ever changes.
	if err := f.Chmod(0o600); err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// writeFileAtomic replaces path with data (mode 0600): a temporary file in the same directory,
// synced, renamed over path, then the directory synced. Readers see the old file or the new
// one, never a mix; a crash leaves at most a stray ".NAME.tmp-*" file. A symbolic link at
// path is replaced by the file, not followed.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a rename or link in dir durable. Best effort: not every platform or file
// system can sync a directory, and the data itself is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}

// shellQuote quotes path for a command the user may copy into a POSIX shell.
func shellQuote(path string) string {
	if path != "" && strings.IndexFunc(path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@~", r))
	}) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}

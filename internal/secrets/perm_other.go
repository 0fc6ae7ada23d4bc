//go:build !unix

package secrets

import "io/fs"

// checkPrivate accepts every file: on this platform the permission bits and owner that the
// Unix check reads do not describe who may read the file (Windows uses ACLs; the user's
// profile directory is private by default).
func checkPrivate(string, fs.FileInfo) error { return nil }

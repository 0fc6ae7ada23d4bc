//go:build !linux

package codemode

import (
	"fmt"
	"os"
)

// workerMain refuses: a worker is isolated with Linux namespaces, and never runs without them.
func workerMain() int {
	fmt.Fprintln(os.Stderr, "airlock code-mode worker: code mode needs Linux namespaces")
	return exitConfine
}

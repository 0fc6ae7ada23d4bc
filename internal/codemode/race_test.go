//go:build race

package codemode

// raceEnabled: ThreadSanitizer's shadow memory counts towards RLIMIT_AS, so the memory limits
// cannot be tested in a -race build.
const raceEnabled = true

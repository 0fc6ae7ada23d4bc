//go:build !linux

package codemode

import (
	"os"
	"sync"
)

func spawn(*sync.WaitGroup, *testHooks, bool, int64) (*proc, error) { return nil, errUnsupported }

func signalCause(*os.ProcessState, bool, Limits) (string, string) { return "", "" }

//go:build !linux

package testworld

import (
	"errors"
	"os"
	"syscall"
	"time"
)

var errUnsupported = errors.New("test worlds need Linux network namespaces; not supported on this platform")

func inNetns(string, func() error) error { return errUnsupported }

func setSysctls() error { return errUnsupported }

func sysProcAttr() *syscall.SysProcAttr { return nil }

func killGroup(p *os.Process) error { return p.Kill() }

func probeNamespaces() error { return errUnsupported }

func reapGroup(int, time.Duration) error { return nil }

package testworld

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// netnsEtc is iproute2's per-namespace configuration directory: `ip netns exec NAME` bind-mounts
// every file of netnsEtc/NAME/ over the file of the same name in /etc, in the private mount
// namespace it gives the command.
var netnsEtc = "/etc/netns"

// SetResolvConf makes conf the /etc/resolv.conf of every process started afterwards with
// [World.Command] (and of what those processes start), e.g. "nameserver 10.77.0.53\n" for a
// test DNS server on a host of the world: a program that resolves names with the system
// resolver, run inside the world, then asks that server and no other. It writes
// /etc/netns/NAME/resolv.conf, which `ip netns exec` bind-mounts over /etc/resolv.conf; the
// test process itself and [World.Do] keep the machine's resolv.conf. Calling it again replaces
// the file for commands started later.
//
// Teardown removes /etc/netns/NAME/, and /etc/netns/ too when this world created it and it is
// empty then (another world's directory keeps it). Any error fails the test.
func (w *World) SetResolvConf(t testing.TB, conf string) {
	t.Helper()
	dir := filepath.Join(netnsEtc, w.Name)
	createdParent, err := mkdirNetnsEtc(dir)
	if err != nil {
		t.Fatalf("testworld: %v", err)
	}
	w.addCloser(func() error {
		err := os.RemoveAll(dir)
		if createdParent {
			// Fails harmlessly (ENOTEMPTY) while another world still uses it.
			os.Remove(netnsEtc)
		}
		return err
	})
	// Written whole and renamed, so a command starting meanwhile sees the old file or the new.
	tmp := filepath.Join(dir, ".resolv.conf.tmp")
	if err := os.WriteFile(tmp, []byte(conf), 0o644); err != nil {
		t.Fatalf("testworld: %v", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "resolv.conf")); err != nil {
		t.Fatalf("testworld: %v", err)
	}
}

// mkdirNetnsEtc creates dir (netnsEtc/NAME) and reports whether it had to create netnsEtc. It
// retries when another world's teardown removes an empty netnsEtc between the two mkdirs.
func mkdirNetnsEtc(dir string) (createdParent bool, err error) {
	for range 5 {
		err = os.Mkdir(netnsEtc, 0o755)
		switch {
		case err == nil:
			createdParent = true
		case !errors.Is(err, os.ErrExist):
			return false, fmt.Errorf("create %s: %w", netnsEtc, err)
		}
		err = os.Mkdir(dir, 0o755)
		if err == nil || errors.Is(err, os.ErrExist) {
			return createdParent, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	return createdParent, fmt.Errorf("create %s: %w", dir, err)
}

package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func fakeHost(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDiagnosis(t *testing.T) {
	const (
		maxNS    = "proc/sys/user/max_user_namespaces"
		unprivNS = "proc/sys/kernel/unprivileged_userns_clone"
		apparmor = "proc/sys/kernel/apparmor_restrict_unprivileged_userns"
	)
	for _, tc := range []struct {
		name      string
		files     map[string]string
		uid       int
		env       string
		step      string
		err       error
		refused   bool     // Preflight refuses without trying
		wantCause []string // substrings of Cause; nil means no explanation
		wantFix   []string
	}{
		{name: "user namespaces disabled", files: map[string]string{maxNS: "0\n"}, uid: 1000,
			step: "create namespaces", err: syscall.ENOSPC, refused: true,
			wantCause: []string{"user.max_user_namespaces is 0"}, wantFix: []string{"sysctl -w user.max_user_namespaces="}},
		{name: "Debian's unprivileged switch off", files: map[string]string{maxNS: "1000", unprivNS: "0"}, uid: 1000,
			step: "create namespaces", err: syscall.EPERM, refused: true,
			wantCause: []string{"kernel.unprivileged_userns_clone is 0"}, wantFix: []string{"kernel.unprivileged_userns_clone=1"}},
		{name: "Debian's switch does not bind root", files: map[string]string{maxNS: "1000", unprivNS: "0"}, uid: 0,
			step: "create namespaces", err: syscall.EPERM,
			wantCause: []string{"refuses new user namespaces"}, wantFix: []string{"allow user namespaces"}},
		{name: "Ubuntu AppArmor", files: map[string]string{maxNS: "1000", apparmor: "1"}, uid: 1000,
			step: "bring up lo", err: syscall.EPERM,
			wantCause: []string{"AppArmor", "kernel.apparmor_restrict_unprivileged_userns = 1"},
			wantFix:   []string{"sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0", "AppArmor profile"}},
		{name: "docker", files: map[string]string{maxNS: "1000", ".dockerenv": ""}, uid: 0,
			step: "create namespaces", err: syscall.EPERM,
			wantCause: []string{"container", "/.dockerenv"}, wantFix: []string{"--security-opt seccomp=unconfined", "--cap-add SYS_ADMIN", "on the host"}},
		{name: "kubernetes, proc mount refused", files: map[string]string{"proc/1/cgroup": "0::/kubepods/besteffort/pod1\n"}, uid: 0,
			step: "mount /proc", err: syscall.EPERM,
			wantCause: []string{"kubepods"}, wantFix: []string{"--security-opt seccomp=unconfined"}},
		{name: "podman", files: map[string]string{}, env: "podman", uid: 1000,
			step: "create namespaces", err: syscall.EPERM,
			wantCause: []string{"container=podman"}, wantFix: []string{"on the host"}},
		{name: "namespace limit reached", files: map[string]string{maxNS: "3"}, uid: 1000,
			step: "create namespaces", err: syscall.ENOSPC,
			wantCause: []string{"limit"}, wantFix: []string{"max_user_namespaces"}},
		{name: "kernel without namespaces", files: map[string]string{}, uid: 1000,
			step: "create namespaces", err: syscall.EINVAL,
			wantCause: []string{"lacks"}, wantFix: []string{"CONFIG_USER_NS"}},
		{name: "unexplained", files: map[string]string{maxNS: "1000"}, uid: 1000,
			step: "mount resolv.conf", err: errors.New("/etc/resolv.conf is not a regular file")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := readHostFactsFrom(fakeHost(t, tc.files), tc.uid, tc.env)
			if r := f.refuse(); (r != nil) != tc.refused {
				t.Errorf("refuse() = %v, want refused %v", r, tc.refused)
			}
			e := &Error{Step: tc.step, Err: tc.err}
			f.explain(e)
			if tc.wantCause == nil && (e.Cause != "" || e.Fix != "") {
				t.Errorf("explained as %q / %q, want no explanation", e.Cause, e.Fix)
			}
			for _, s := range tc.wantCause {
				if !strings.Contains(e.Cause, s) {
					t.Errorf("cause %q lacks %q", e.Cause, s)
				}
			}
			for _, s := range tc.wantFix {
				if !strings.Contains(e.Fix, s) {
					t.Errorf("fix %q lacks %q", e.Fix, s)
				}
			}
			if msg := e.Error(); !strings.HasPrefix(msg, "sandbox: "+tc.step+": ") || !strings.Contains(msg, e.Fix) {
				t.Errorf("message %q", msg)
			}
			if !errors.Is(e, tc.err) {
				t.Errorf("errors.Is(%v, %v) is false", e, tc.err)
			}
		})
	}
}

func TestStageErrorRoundTrip(t *testing.T) {
	err := (&os.PathError{Op: "chdir", Path: "/x", Err: syscall.ENOENT})
	got := newStageError("change directory", false, err).err("prog")
	if !errors.Is(got, syscall.ENOENT) || got.Error() != err.Error() {
		t.Errorf("got %v, want %v that is ENOENT", got, err)
	}
	if got := newStageError("bring up lo", true, syscall.EPERM).err("prog"); got != syscall.EPERM {
		t.Errorf("a bare errno came back as %#v", got)
	}
}

package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// hostFacts are what the host says about namespaces: read when Preflight starts and when setting
// a sandbox up failed, to tell the user why and what to change.
type hostFacts struct {
	uid int
	// Sysctls; -1 when the file does not exist (the kernel has no such knob) or is unreadable.
	unprivUsernsClone int // kernel.unprivileged_userns_clone (Debian's and older Ubuntu's patch)
	maxUserNamespaces int // user.max_user_namespaces
	apparmorRestrict  int // kernel.apparmor_restrict_unprivileged_userns (Ubuntu 23.10 and later)
	// container is the evidence that this runs in a container ("/.dockerenv", "/proc/1/cgroup
	// mentions kubepods", ...), or "".
	container string
}

func readHostFacts() hostFacts { return readHostFactsFrom("/", os.Getuid(), os.Getenv("container")) }

// readHostFactsFrom reads the facts below root (a test's fake tree, or "/").
func readHostFactsFrom(root string, uid int, containerEnv string) hostFacts {
	sysctl := func(name string) int {
		b, err := os.ReadFile(filepath.Join(root, "proc/sys", name))
		if err != nil {
			return -1
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return -1
		}
		return n
	}
	f := hostFacts{
		uid:               uid,
		unprivUsernsClone: sysctl("kernel/unprivileged_userns_clone"),
		maxUserNamespaces: sysctl("user/max_user_namespaces"),
		apparmorRestrict:  sysctl("kernel/apparmor_restrict_unprivileged_userns"),
	}
	for _, marker := range []string{".dockerenv", "run/.containerenv"} {
		if _, err := os.Stat(filepath.Join(root, marker)); err == nil {
			f.container = "/" + marker + " exists"
			return f
		}
	}
	if containerEnv != "" {
		f.container = "container=" + containerEnv + " in the environment"
		return f
	}
	if b, err := os.ReadFile(filepath.Join(root, "proc/1/cgroup")); err == nil {
		for _, word := range []string{"docker", "kubepods", "containerd", "libpod", "lxc"} {
			if strings.Contains(string(b), word) {
				f.container = "/proc/1/cgroup mentions " + word
				return f
			}
		}
	}
	return f
}

// refuse returns the error for a host whose sysctls forbid user namespaces outright, or nil.
func (f hostFacts) refuse() *Error {
	switch {
	case f.maxUserNamespaces == 0:
		return &Error{
			Step:  "check user namespaces",
			Err:   errors.New("user namespaces are disabled"),
			Cause: "the sysctl user.max_user_namespaces is 0",
			Fix:   "sudo sysctl -w user.max_user_namespaces=15000 (and persist it in /etc/sysctl.d/)",
		}
	case f.uid != 0 && f.unprivUsernsClone == 0:
		return &Error{
			Step:  "check user namespaces",
			Err:   errors.New("unprivileged user namespaces are disabled"),
			Cause: "the sysctl kernel.unprivileged_userns_clone is 0",
			Fix:   "sudo sysctl -w kernel.unprivileged_userns_clone=1 (and persist it in /etc/sysctl.d/)",
		}
	}
	return nil
}

// explain fills e.Cause and e.Fix for a failure to set up isolation, when the facts tell why.
func (f hostFacts) explain(e *Error) {
	if r := f.refuse(); r != nil {
		e.Cause, e.Fix = r.Cause, r.Fix
		return
	}
	refused := errors.Is(e.Err, syscall.EPERM) || errors.Is(e.Err, syscall.EACCES)
	switch {
	case refused && f.uid != 0 && f.apparmorRestrict == 1:
		e.Cause = "Ubuntu's AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)"
		e.Fix = "sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for airlock that allows userns"
	case refused && f.container != "":
		e.Cause = "airlock runs in a container (" + f.container + ") that may not create namespaces or mount /proc"
		e.Fix = "run the container with --security-opt seccomp=unconfined --security-opt apparmor=unconfined --cap-add SYS_ADMIN (or --privileged), or run airlock on the host"
	case refused && e.Step == "create namespaces":
		e.Cause = "the kernel or a security module (seccomp, AppArmor, SELinux) refuses new user namespaces to this process"
		e.Fix = "allow user namespaces for airlock, or run it where they are allowed"
	case errors.Is(e.Err, syscall.ENOSPC) && e.Step == "create namespaces":
		e.Cause = "the limit of user namespaces (user.max_user_namespaces) is reached"
		e.Fix = "raise it: sudo sysctl -w user.max_user_namespaces=15000"
	case errors.Is(e.Err, syscall.EINVAL) && e.Step == "create namespaces":
		e.Cause = "the kernel lacks user, network, mount or PID namespaces"
		e.Fix = "use a kernel built with CONFIG_USER_NS, CONFIG_NET_NS and CONFIG_PID_NS"
	}
}

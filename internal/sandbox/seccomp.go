package sandbox

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// This file builds the workload's seccomp filter. It is pure (no system calls), so the filter is
// built and tested the same way on every platform; only installing it is Linux-specific.

// Seccomp return actions and the layout of struct seccomp_data (linux/seccomp.h). Offsets are of
// 32-bit words as the kernel loads them: on the little-endian architectures supported here, the
// low half of a 64-bit argument is at the lower offset.
const (
	retKillProcess = 0x80000000
	retErrno       = 0x00050000
	retAllow       = 0x7fff0000

	offNr   = 0
	offArch = 4
	offArg0 = 16 // args[i] low word: offArg0 + 8*i
)

// Constants of the kernel ABI the filter tests, identical on amd64 and arm64.
const (
	auditArchX86_64  = 0xc000003e
	auditArchAarch64 = 0xc00000b7
	x32SyscallBit    = 0x40000000

	afUnix    = 1
	afInet    = 2
	afInet6   = 10
	afNetlink = 16
	afPacket  = 17

	sockStream  = 1
	sockRaw     = 3
	sockPacket  = 10 // obsolete AF_INET packet sockets
	sockTypeMsk = 0xf

	cloneNewUser = 0x10000000
	tiocsti      = 0x5412
	tioclinux    = 0x541c

	eperm        = 1
	enosys       = 38
	eafnosupport = 97
)

// seccompArch is one architecture the filter supports: its AUDIT_ARCH value and the numbers of
// the system calls the filter names.
type seccompArch struct {
	audit uint32
	// x32 is set on x86_64, where syscall numbers with bit 30 set select the x32 ABI, which has
	// its own table; the filter kills those rather than mapping a second table.
	x32 bool
	nr  map[string]uint32
}

// seccompArches maps GOARCH to the architecture the workload runs under. The numbers are
// checked against golang.org/x/sys/unix by a test on each architecture.
var seccompArches = map[string]seccompArch{
	"amd64": {audit: auditArchX86_64, x32: true, nr: map[string]uint32{
		"ioctl": 16, "socket": 41, "socketpair": 53, "clone": 56, "ptrace": 101, "syslog": 103,
		"pivot_root": 155, "acct": 163, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
		"reboot": 169, "init_module": 175, "delete_module": 176, "kexec_load": 246, "add_key": 248,
		"request_key": 249, "keyctl": 250, "unshare": 272, "perf_event_open": 298,
		"open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311,
		"finit_module": 313, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323,
		"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
		"move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
		"clone3": 435, "pidfd_getfd": 438, "mount_setattr": 442, "open_tree_attr": 467,
	}},
	"arm64": {audit: auditArchAarch64, nr: map[string]uint32{
		"ioctl": 29, "umount2": 39, "mount": 40, "pivot_root": 41, "acct": 89, "unshare": 97,
		"kexec_load": 104, "init_module": 105, "delete_module": 106, "syslog": 116, "ptrace": 117,
		"reboot": 142, "socket": 198, "socketpair": 199, "add_key": 217, "request_key": 218,
		"keyctl": 219, "clone": 220, "swapon": 224, "swapoff": 225, "perf_event_open": 241,
		"open_by_handle_at": 265, "setns": 268, "process_vm_readv": 270, "process_vm_writev": 271,
		"finit_module": 273, "bpf": 280, "userfaultfd": 282, "kexec_file_load": 294,
		"io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
		"move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
		"clone3": 435, "pidfd_getfd": 438, "mount_setattr": 442, "open_tree_attr": 467,
	}},
}

// deniedEPERM are the system calls that fail with EPERM whatever their arguments: leaving the
// namespaces (setns), inspecting other processes (ptrace, process_vm_*, pidfd_getfd), the kernel's
// administrative interfaces, and the mount API. Most need capabilities the workload no longer
// has; the filter denies them anyway so a kernel bug in a capability check is not enough.
var deniedEPERM = []string{
	"setns", "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
	"mount", "umount2", "pivot_root", "move_mount", "open_tree", "open_tree_attr", "fsopen",
	"fsconfig", "fsmount", "fspick", "mount_setattr", "open_by_handle_at",
	"swapon", "swapoff", "reboot", "syslog", "acct",
}

// deniedENOSYS fail as if the kernel lacked them, so that libraries fall back: io_uring (its
// operations bypass the filter; libuv falls back to the thread pool) and clone3 (whose flags live
// in memory the filter cannot read; glibc and Go fall back to clone, whose flags it can).
var deniedENOSYS = []string{"io_uring_setup", "io_uring_enter", "io_uring_register", "clone3"}

// filterOptions are the per-run choices the filter depends on.
type filterOptions struct {
	allowUnix bool // socket(AF_UNIX, ...) allowed (Spec.AllowUnixSockets not empty)
	// noSockets makes socket and socketpair fail with EPERM whatever their arguments, for a
	// process that talks only over descriptors it inherited (the code-mode worker). It takes
	// precedence over allowUnix.
	noSockets bool
}

// buildFilter returns the seccomp program for the workload on goarch:
//
//   - a foreign architecture (i386 via int 0x80, anything but the native one) or the x32 ABI:
//     the process is killed;
//   - socket: AF_INET and AF_INET6 allowed except SOCK_RAW and SOCK_PACKET (EPERM); AF_NETLINK
//     allowed (it is local to the network namespace; glibc's getaddrinfo uses it); AF_UNIX
//     allowed only with opts.allowUnix, else EPERM; AF_PACKET EPERM; every other family
//     EAFNOSUPPORT (AF_VSOCK in particular is not confined by the network namespace);
//   - socketpair: only SOCK_STREAM pairs (libuv uses them for child stdio); datagram and
//     seqpacket pairs (and SOCK_RAW, which AF_UNIX treats as datagram) EPERM;
//   - clone and unshare with CLONE_NEWUSER: EPERM;
//   - ioctl TIOCSTI and TIOCLINUX (typing into the caller's terminal): EPERM;
//   - deniedEPERM: EPERM; deniedENOSYS: ENOSYS;
//   - everything else allowed.
//
// With opts.noSockets, socket and socketpair fail with EPERM for every family and type (the
// checks of their arguments below are then not reached).
func buildFilter(goarch string, opts filterOptions) ([]bpf.Instruction, error) {
	arch, ok := seccompArches[goarch]
	if !ok {
		return nil, fmt.Errorf("no seccomp filter for GOARCH %s (supported: amd64, arm64)", goarch)
	}
	nr := func(name string) uint32 {
		n, ok := arch.nr[name]
		if !ok {
			panic("sandbox: no syscall number for " + name + " on " + goarch)
		}
		return n
	}
	var a assembler
	a.emit(bpf.LoadAbsolute{Off: offArch, Size: 4})
	a.jeq(arch.audit, "", "kill")
	a.emit(bpf.LoadAbsolute{Off: offNr, Size: 4})
	if arch.x32 {
		a.jset(x32SyscallBit, "kill", "")
	}
	if opts.noSockets {
		a.jeq(nr("socket"), "eperm", "")
		a.jeq(nr("socketpair"), "eperm", "")
	} else {
		a.jeq(nr("socket"), "socket", "")
		a.jeq(nr("socketpair"), "socketpair", "")
	}
	a.jeq(nr("clone"), "newuser", "")
	a.jeq(nr("unshare"), "newuser", "")
	a.jeq(nr("ioctl"), "ioctl", "")
	for _, name := range deniedEPERM {
		a.jeq(nr(name), "eperm", "")
	}
	for _, name := range deniedENOSYS {
		a.jeq(nr(name), "enosys", "")
	}
	a.ret(retAllow)

	a.label("socket")
	a.emit(bpf.LoadAbsolute{Off: offArg0, Size: 4}) // domain
	a.jeq(afInet, "inet", "")
	a.jeq(afInet6, "inet", "")
	a.jeq(afNetlink, "allow", "")
	if opts.allowUnix {
		a.jeq(afUnix, "allow", "")
	} else {
		a.jeq(afUnix, "eperm", "")
	}
	a.jeq(afPacket, "eperm", "")
	a.ret(retErrno | eafnosupport)

	a.label("inet")
	a.emit(bpf.LoadAbsolute{Off: offArg0 + 8, Size: 4}) // type, with SOCK_NONBLOCK|SOCK_CLOEXEC
	a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: sockTypeMsk})
	a.jeq(sockRaw, "eperm", "")
	a.jeq(sockPacket, "eperm", "")
	a.ret(retAllow)

	a.label("socketpair")
	a.emit(bpf.LoadAbsolute{Off: offArg0 + 8, Size: 4})
	a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: sockTypeMsk})
	a.jeq(sockStream, "allow", "eperm")

	a.label("newuser")
	a.emit(bpf.LoadAbsolute{Off: offArg0, Size: 4}) // clone's and unshare's flags
	a.jset(cloneNewUser, "eperm", "allow")

	a.label("ioctl")
	a.emit(bpf.LoadAbsolute{Off: offArg0 + 8, Size: 4}) // request
	a.jeq(tiocsti, "eperm", "")
	a.jeq(tioclinux, "eperm", "allow")

	a.label("allow")
	a.ret(retAllow)
	a.label("eperm")
	a.ret(retErrno | eperm)
	a.label("enosys")
	a.ret(retErrno | enosys)
	a.label("kill")
	a.ret(retKillProcess)
	return a.assemble()
}

// assembler writes a classic BPF program with forward jumps to named labels; "" means the next
// instruction.
type assembler struct {
	prog   []bpf.Instruction
	jumps  []pendingJump
	labels map[string]int
}

type pendingJump struct {
	at     int
	jt, jf string
}

func (a *assembler) emit(ins bpf.Instruction) { a.prog = append(a.prog, ins) }

func (a *assembler) ret(v uint32) { a.emit(bpf.RetConstant{Val: v}) }

func (a *assembler) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	if _, dup := a.labels[name]; dup {
		panic("sandbox: duplicate BPF label " + name)
	}
	a.labels[name] = len(a.prog)
}

func (a *assembler) jeq(v uint32, jt, jf string) { a.jump(bpf.JumpEqual, v, jt, jf) }

func (a *assembler) jset(v uint32, jt, jf string) { a.jump(bpf.JumpBitsSet, v, jt, jf) }

func (a *assembler) jump(cond bpf.JumpTest, v uint32, jt, jf string) {
	a.jumps = append(a.jumps, pendingJump{at: len(a.prog), jt: jt, jf: jf})
	a.emit(bpf.JumpIf{Cond: cond, Val: v})
}

func (a *assembler) assemble() ([]bpf.Instruction, error) {
	skip := func(from int, label string) (uint8, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := a.labels[label]
		if !ok {
			return 0, fmt.Errorf("BPF label %q not defined", label)
		}
		d := to - from - 1
		if d < 0 || d > 255 {
			return 0, fmt.Errorf("BPF jump from %d to %q (%d) out of range", from, label, to)
		}
		return uint8(d), nil
	}
	for _, j := range a.jumps {
		ins := a.prog[j.at].(bpf.JumpIf)
		var err error
		if ins.SkipTrue, err = skip(j.at, j.jt); err != nil {
			return nil, err
		}
		if ins.SkipFalse, err = skip(j.at, j.jf); err != nil {
			return nil, err
		}
		a.prog[j.at] = ins
	}
	if len(a.prog) > 4096 {
		return nil, fmt.Errorf("BPF program of %d instructions exceeds the kernel's 4096", len(a.prog))
	}
	return a.prog, nil
}

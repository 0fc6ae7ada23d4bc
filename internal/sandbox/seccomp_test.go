package sandbox

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/net/bpf"
)

// seccompData lays out struct seccomp_data for x/net/bpf's VM. The VM loads 32-bit words big
// endian, the kernel natively; writing each word big endian at the offset where the kernel finds
// it (an argument's low half first, as on little-endian machines) gives the filter the same view.
func seccompData(arch, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[offNr:], nr)
	binary.BigEndian.PutUint32(b[offArch:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[offArg0+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[offArg0+8*i+4:], uint32(a>>32))
	}
	return b
}

func actionName(v uint32) string {
	switch {
	case v == retAllow:
		return "allow"
	case v == retKillProcess:
		return "kill"
	case v&0xffff0000 == retErrno:
		return fmt.Sprintf("errno %d", v&0xffff)
	}
	return fmt.Sprintf("%#x", v)
}

func TestSeccompFilter(t *testing.T) {
	const (
		allow = "allow"
		kill  = "kill"
	)
	ePerm, eNoSys, eAfNoSupport := "errno 1", "errno 38", "errno 97"
	const (
		cloexec  = 0x80000
		nonblock = 0x800
		sigchld  = 17
	)
	// Numbers of calls the filter does not name, per architecture.
	other := map[string]map[string]uint32{
		"amd64": {"read": 0, "getpid": 39, "i386 socketcall": 102},
		"arm64": {"read": 63, "getpid": 172},
	}
	for goarch, arch := range seccompArches {
		for _, allowUnix := range []bool{false, true} {
			prog, err := buildFilter(goarch, filterOptions{allowUnix: allowUnix})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bpf.Assemble(prog); err != nil {
				t.Fatalf("%s: %v", goarch, err)
			}
			vm, err := bpf.NewVM(prog)
			if err != nil {
				t.Fatalf("%s: %v", goarch, err)
			}
			unixWant := ePerm
			if allowUnix {
				unixWant = allow
			}
			type tc struct {
				name string
				arch uint32
				nr   uint32
				args []uint64
				want string
			}
			nr := arch.nr
			cases := []tc{
				{"read", arch.audit, other[goarch]["read"], nil, allow},
				{"getpid", arch.audit, other[goarch]["getpid"], nil, allow},
				{"foreign architecture (i386)", 0x40000003, other[goarch]["getpid"], nil, kill},
				{"foreign architecture (arm)", 0x40000028, 0, nil, kill},
				{"socket AF_INET stream", arch.audit, nr["socket"], []uint64{afInet, sockStream | cloexec | nonblock}, allow},
				{"socket AF_INET6 dgram", arch.audit, nr["socket"], []uint64{afInet6, 2}, allow},
				{"socket AF_INET raw", arch.audit, nr["socket"], []uint64{afInet, sockRaw, 1}, ePerm},
				{"socket AF_INET raw|cloexec", arch.audit, nr["socket"], []uint64{afInet, sockRaw | cloexec, 1}, ePerm},
				{"socket AF_INET6 raw", arch.audit, nr["socket"], []uint64{afInet6, sockRaw, 58}, ePerm},
				{"socket AF_INET SOCK_PACKET", arch.audit, nr["socket"], []uint64{afInet, sockPacket}, ePerm},
				{"socket AF_INET, high bits in the domain (the kernel reads an int)", arch.audit, nr["socket"], []uint64{1<<32 | afInet, sockStream}, allow},
				{"socket AF_NETLINK raw", arch.audit, nr["socket"], []uint64{afNetlink, sockRaw | cloexec}, allow},
				{"socket AF_UNIX stream", arch.audit, nr["socket"], []uint64{afUnix, sockStream}, unixWant},
				{"socket AF_UNIX dgram", arch.audit, nr["socket"], []uint64{afUnix, 2}, unixWant},
				{"socket AF_PACKET", arch.audit, nr["socket"], []uint64{afPacket, sockRaw}, ePerm},
				{"socket AF_PACKET dgram", arch.audit, nr["socket"], []uint64{afPacket, 2}, ePerm},
				{"socket AF_VSOCK", arch.audit, nr["socket"], []uint64{40, sockStream}, eAfNoSupport},
				{"socket AF_BLUETOOTH", arch.audit, nr["socket"], []uint64{31, sockStream}, eAfNoSupport},
				{"socket AF_ALG", arch.audit, nr["socket"], []uint64{38, 5}, eAfNoSupport},
				{"socketpair stream", arch.audit, nr["socketpair"], []uint64{afUnix, sockStream | cloexec}, allow},
				{"socketpair dgram", arch.audit, nr["socketpair"], []uint64{afUnix, 2}, ePerm},
				{"socketpair seqpacket", arch.audit, nr["socketpair"], []uint64{afUnix, 5 | cloexec}, ePerm},
				{"socketpair raw", arch.audit, nr["socketpair"], []uint64{afUnix, sockRaw}, ePerm},
				{"clone (fork)", arch.audit, nr["clone"], []uint64{sigchld}, allow},
				{"clone (thread)", arch.audit, nr["clone"], []uint64{0x3d0f00}, allow},
				{"clone CLONE_NEWUSER", arch.audit, nr["clone"], []uint64{cloneNewUser | sigchld}, ePerm},
				{"clone CLONE_NEWUSER|CLONE_NEWNET", arch.audit, nr["clone"], []uint64{cloneNewUser | 0x40000000}, ePerm},
				{"unshare CLONE_NEWUSER", arch.audit, nr["unshare"], []uint64{cloneNewUser}, ePerm},
				{"unshare CLONE_FS", arch.audit, nr["unshare"], []uint64{0x200}, allow},
				{"ioctl TIOCSTI", arch.audit, nr["ioctl"], []uint64{0, tiocsti}, ePerm},
				{"ioctl TIOCLINUX", arch.audit, nr["ioctl"], []uint64{0, tioclinux}, ePerm},
				{"ioctl FIONREAD", arch.audit, nr["ioctl"], []uint64{0, 0x541b}, allow},
			}
			for _, name := range deniedEPERM {
				cases = append(cases, tc{name, arch.audit, nr[name], nil, ePerm})
			}
			for _, name := range deniedENOSYS {
				cases = append(cases, tc{name, arch.audit, nr[name], nil, eNoSys})
			}
			if arch.x32 {
				cases = append(cases,
					tc{"x32 getpid", arch.audit, x32SyscallBit | 39, nil, kill},
					tc{"x32 socket AF_INET", arch.audit, x32SyscallBit | 41, []uint64{afInet, sockStream}, kill},
					tc{"i386 socketcall", 0x40000003, other[goarch]["i386 socketcall"], nil, kill})
			}
			for _, c := range cases {
				t.Run(fmt.Sprintf("%s/allowUnix=%v/%s", goarch, allowUnix, c.name), func(t *testing.T) {
					v, err := vm.Run(seccompData(c.arch, c.nr, c.args...))
					if err != nil {
						t.Fatal(err)
					}
					if got := actionName(uint32(v)); got != c.want {
						t.Errorf("nr %d args %#x: %s, want %s", c.nr, c.args, got, c.want)
					}
				})
			}
		}
	}
}

func TestSeccompFilterUnknownArch(t *testing.T) {
	if _, err := buildFilter("riscv64", filterOptions{}); err == nil {
		t.Error("riscv64 got a filter; its syscall numbers are not in the table")
	}
}

func TestAssemblerRejectsBadJumps(t *testing.T) {
	var a assembler
	a.jeq(1, "nowhere", "")
	a.ret(retAllow)
	if _, err := a.assemble(); err == nil {
		t.Error("an undefined label assembled")
	}
	var b assembler
	b.jeq(1, "far", "")
	for range 300 {
		b.ret(retAllow)
	}
	b.label("far")
	b.ret(retAllow)
	if _, err := b.assemble(); err == nil {
		t.Error("a jump of 300 instructions assembled")
	}
}

// TestSeccompFilterNoSockets: with noSockets (the code-mode worker's filter) every socket and
// socketpair call fails with EPERM, whatever the family and type, and the rest of the filter is
// unchanged.
func TestSeccompFilterNoSockets(t *testing.T) {
	const cloexec = 0x80000
	for goarch, arch := range seccompArches {
		for _, allowUnix := range []bool{false, true} {
			prog, err := buildFilter(goarch, filterOptions{noSockets: true, allowUnix: allowUnix})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bpf.Assemble(prog); err != nil {
				t.Fatalf("%s: %v", goarch, err)
			}
			vm, err := bpf.NewVM(prog)
			if err != nil {
				t.Fatalf("%s: %v", goarch, err)
			}
			nr := arch.nr
			cases := []struct {
				name string
				nr   uint32
				args []uint64
				want string
			}{
				{"socket AF_INET stream", nr["socket"], []uint64{afInet, sockStream | cloexec}, "errno 1"},
				{"socket AF_INET6 dgram", nr["socket"], []uint64{afInet6, 2}, "errno 1"},
				{"socket AF_NETLINK", nr["socket"], []uint64{afNetlink, sockRaw}, "errno 1"},
				{"socket AF_UNIX", nr["socket"], []uint64{afUnix, sockStream}, "errno 1"},
				{"socket AF_PACKET", nr["socket"], []uint64{afPacket, sockRaw}, "errno 1"},
				{"socket AF_VSOCK", nr["socket"], []uint64{40, sockStream}, "errno 1"},
				{"socketpair stream", nr["socketpair"], []uint64{afUnix, sockStream}, "errno 1"},
				{"socketpair dgram", nr["socketpair"], []uint64{afUnix, 2}, "errno 1"},
				{"clone CLONE_NEWUSER", nr["clone"], []uint64{cloneNewUser}, "errno 1"},
				{"clone (thread)", nr["clone"], []uint64{0x3d0f00}, "allow"},
				{"ptrace", nr["ptrace"], nil, "errno 1"},
				{"io_uring_setup", nr["io_uring_setup"], nil, "errno 38"},
				{"ioctl TIOCSTI", nr["ioctl"], []uint64{0, tiocsti}, "errno 1"},
			}
			for _, c := range cases {
				t.Run(fmt.Sprintf("%s/allowUnix=%v/%s", goarch, allowUnix, c.name), func(t *testing.T) {
					v, err := vm.Run(seccompData(arch.audit, c.nr, c.args...))
					if err != nil {
						t.Fatal(err)
					}
					if got := actionName(uint32(v)); got != c.want {
						t.Errorf("nr %d args %#x: %s, want %s", c.nr, c.args, got, c.want)
					}
				})
			}
			if v, _ := vm.Run(seccompData(0x40000003, 39)); actionName(uint32(v)) != "kill" {
				t.Errorf("%s: a foreign architecture is not killed", goarch)
			}
		}
	}
}

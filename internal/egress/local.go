package egress

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/airlock-sh/airlock/internal/netguard"
)

// localRefresh is how long the machine's interface addresses are trusted before they are
// listed again.
const localRefresh = 30 * time.Second

// machine caches this machine's interface addresses for every Guard whose Local is nil: they
// are a property of the machine, not of a Guard.
var machine localCache

type localCache struct {
	cur  atomic.Pointer[localSnapshot] // read without the lock on every check
	mu   sync.Mutex                    // held while listing
	list func() ([]net.Addr, error)    // net.InterfaceAddrs; replaced in tests
}

type localSnapshot struct {
	set netguard.Local
	at  time.Time
}

// get returns the cached set, listing the interfaces again when it is older than localRefresh
// (or the clock went back). When listing fails the last good set is kept (the empty set if
// there never was one) and listing is tried again after localRefresh; the other address
// rules (loopback, private, link-local, ...) still apply without it.
func (c *localCache) get(now time.Time) netguard.Local {
	if s := c.cur.Load(); s != nil && fresh(s, now) {
		return s.set
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur.Load()
	if old != nil && fresh(old, now) { // another caller listed while we waited
		return old.set
	}
	list := c.list
	if list == nil {
		list = net.InterfaceAddrs
	}
	next := &localSnapshot{at: now}
	if old != nil {
		next.set = old.set
	}
	if ifaddrs, err := list(); err == nil {
		next.set = netguard.NewLocal(interfaceAddrs(ifaddrs))
	}
	c.cur.Store(next)
	return next.set
}

func fresh(s *localSnapshot, now time.Time) bool {
	age := now.Sub(s.at)
	return age >= 0 && age < localRefresh
}

func interfaceAddrs(ifaddrs []net.Addr) []netip.Addr {
	addrs := make([]netip.Addr, 0, len(ifaddrs))
	for _, ia := range ifaddrs {
		var ip net.IP
		switch v := ia.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			addrs = append(addrs, a.Unmap())
		}
	}
	return addrs
}

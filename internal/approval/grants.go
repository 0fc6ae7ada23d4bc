package approval

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Grant is a destination the user allowed for good at run time ("Allow always").
type Grant struct {
	Host      string // canonical host: a lower-case DNS name or an IP address (IPv6 without brackets)
	Port      uint16
	GrantedAt time.Time // UTC, whole seconds
}

// String is host:port, IPv6 in brackets.
func (g Grant) String() string {
	if a, err := netip.ParseAddr(g.Host); err == nil && a.Is6() {
		return "[" + g.Host + "]:" + strconv.Itoa(int(g.Port))
	}
	return g.Host + ":" + strconv.Itoa(int(g.Port))
}

// check accepts what airlock itself writes: a canonical host and a port.
func (g Grant) check() error {
	if g.Port == 0 {
		return errors.New("port 0 is not a destination")
	}
	if g.Host == "" || len(g.Host) > 253 {
		return fmt.Errorf("host %q: give a DNS name or an IP address", g.Host)
	}
	if _, err := netip.ParseAddr(g.Host); err == nil {
		return nil
	}
	for _, c := range []byte(g.Host) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return fmt.Errorf("host %q: give a lower-case DNS name (punycode for IDNs) or an IP address", g.Host)
		}
	}
	return nil
}

// checkScope accepts "codemode" and "server/NAME".
func checkScope(scope string) error {
	if scope == "codemode" {
		return nil
	}
	kind, name, ok := strings.Cut(scope, "/")
	if !ok || kind != KindServer {
		return fmt.Errorf("scope %q: use \"codemode\" or \"server/NAME\"", scope)
	}
	return checkKindName(kind, name)
}

// Granted reports whether scope ("server/NAME" or "codemode") may reach host:port by a grant.
func (s *Store) Granted(scope, host string, port uint16) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, g := range s.grants[scope] {
		if g.Host == host && g.Port == port {
			return true
		}
	}
	return false
}

// AddGrant records that the user allowed scope to reach host:port for good. Save writes it.
func (s *Store) AddGrant(scope, host string, port uint16, at time.Time) error {
	g := Grant{Host: host, Port: port, GrantedAt: at.UTC().Truncate(time.Second)}
	if err := checkScope(scope); err != nil {
		return err
	}
	if err := g.check(); err != nil {
		return err
	}
	if s.Granted(scope, host, port) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[scope] = append(s.grants[scope], g)
	return nil
}

// RevokeGrant forgets a grant and reports whether there was one.
func (s *Store) RevokeGrant(scope, host string, port uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.grants[scope]
	for i, g := range list {
		if g.Host == host && g.Port == port {
			s.grants[scope] = slices.Delete(list, i, i+1)
			return true
		}
	}
	return false
}

// Grants returns scope's grants, sorted by host and port.
func (s *Store) Grants(scope string) []Grant {
	s.mu.RLock()
	out := slices.Clone(s.grants[scope])
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Grant) int { return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Port, b.Port)) })
	return out
}

// GrantScopes returns the scopes that have grants, sorted.
func (s *Store) GrantScopes() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for scope, list := range s.grants {
		if len(list) > 0 {
			out = append(out, scope)
		}
	}
	slices.Sort(out)
	return out
}

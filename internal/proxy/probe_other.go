//go:build !unix

package proxy

import "net"

// probeIdle cannot look at a socket without blocking here: a pooled connection is not used
// for a request that could not be retried, which then gets a new connection.
func probeIdle(net.Conn) bool { return false }

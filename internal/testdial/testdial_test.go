package testdial

import (
	"context"
	"net"
	"net/netip"
	"testing"
)

func TestRecorderNeverLeavesLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx := context.Background()
	r := New(t)
	if _, err := r.Dial(ctx, "tcp", "10.0.0.1:80"); err == nil {
		t.Fatal("an unrouted private address was dialled")
	}
	if _, err := r.Dial(ctx, "tcp", ln.Addr().String()); err == nil {
		t.Fatal("loopback was dialled without AllowLoopback")
	}
	r.Route("93.184.216.34:80", ln.Addr().String())
	c, err := r.Dial(ctx, "tcp", "93.184.216.34:80")
	if err != nil {
		t.Fatalf("routed dial: %v", err)
	}
	c.Close()
	r.AllowLoopback = true
	c, err = r.Dial(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("loopback with AllowLoopback: %v", err)
	}
	c.Close()
	if !r.DialedAddr(netip.MustParseAddr("10.0.0.1")) || len(r.Dialed()) != 4 {
		t.Fatalf("recorded %v", r.Dialed())
	}
}

package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/airlock-sh/airlock/internal/policy"
)

// serveOn starts s on a new loopback HTTP listener and returns its address and a channel
// with ServeHTTPProxy's result.
func serveOn(t *testing.T, s *Server) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeHTTPProxy(ln, "") }()
	return ln.Addr().String(), done
}

func TestShutdown(t *testing.T) {
	t.Run("drains an in-flight slow request, closes idle connections", func(t *testing.T) {
		started := make(chan struct{})
		finish := make(chan struct{})
		up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(started)
				<-finish
			}
			io.WriteString(w, "done")
		})
		dial := loopbackDial(t)
		s := New(Options{Dial: dial.Dial, Local: noLocal})
		s.SetPolicies(mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port()}}), nil)
		addr, served := serveOn(t, s)

		// An idle keep-alive connection.
		idle, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer idle.Close()
		idleBR := bufio.NewReader(idle)
		io.WriteString(idle, "GET http://"+up.addr()+"/fast HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, err := http.ReadResponse(idleBR, nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("idle connection's request: %v %v", resp, err)
		}
		io.Copy(io.Discard, io.LimitReader(idleBR, 4))

		// A connection that has sent nothing yet.
		fresh, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()

		// An in-flight slow request.
		type result struct {
			resp *http.Response
			body string
			err  error
		}
		res := make(chan result, 1)
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				res <- result{err: err}
				return
			}
			defer c.Close()
			io.WriteString(c, "GET http://"+up.addr()+"/slow HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				res <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			res <- result{resp, string(b), err}
		}()
		<-started

		shut := make(chan error, 1)
		go func() { shut <- s.Shutdown(context.Background()) }()

		// The idle connection is closed at once; new connections are refused.
		idle.SetReadDeadline(time.Now().Add(20 * time.Second)) // a guard, not an assertion
		if _, err := idleBR.ReadByte(); err != io.EOF {
			t.Errorf("idle connection: %v, want EOF", err)
		}
		fresh.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := fresh.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("connection without a request: %v, want EOF", err)
		}
		if err := <-served; err != nil {
			t.Errorf("ServeHTTPProxy after Shutdown: %v, want nil", err)
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("a new connection was accepted during Shutdown")
		}
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned (%v) with a request in flight", err)
		default:
		}
		close(finish)
		r := <-res
		if r.err != nil || r.resp.StatusCode != 200 || r.body != "done" || !r.resp.Close {
			t.Errorf("in-flight request: %+v (want 200, done, Connection: close)", r)
		}
		if err := <-shut; err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})

	t.Run("closes what is left when the context ends", func(t *testing.T) {
		echo := startEcho(t)
		hung := make(chan struct{})
		defer close(hung)
		up := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hung:
			case <-r.Context().Done():
			}
		})
		dial := loopbackDial(t)
		s := New(Options{Dial: dial.Dial, Local: noLocal})
		s.SetPolicies(mustPolicy(t, policy.Spec{Allow: []string{"127.0.0.1:" + up.port(), "127.0.0.1:" + echo.port()}}), nil)
		baseG := runtime.NumGoroutine()
		addr, served := serveOn(t, s)
		tun, resp, body := connectTunnel(t, addr, echo.addr(), "")
		if tun == nil {
			t.Fatalf("CONNECT: %d %q", resp.StatusCode, body)
		}
		defer tun.Close()
		echoOnce(t, tun, "open")
		var wg sync.WaitGroup
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			io.WriteString(c, "GET http://"+up.addr()+"/hang HTTP/1.1\r\nHost: x\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			io.Copy(io.Discard, c)
		})
		if !waitFor(func() bool { return up.requests.Load() == 1 }) {
			t.Fatal("the hanging request did not arrive")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: %v, want context.DeadlineExceeded", err)
		}
		<-served
		tun.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := tun.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("tunnel after a forced shutdown: %v, want EOF", err)
		}
		wg.Wait()
		if !waitFor(func() bool { return runtime.NumGoroutine() <= baseG }) {
			t.Errorf("goroutines %d, %d before", runtime.NumGoroutine(), baseG)
		}
	})

	t.Run("Serve after Shutdown returns nil", func(t *testing.T) {
		s := New(Options{})
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ServeSOCKS(ln, ""); err != nil {
			t.Errorf("ServeSOCKS: %v", err)
		}
		if _, err := ln.Accept(); err == nil {
			t.Error("the listener is still open")
		}
	})
}

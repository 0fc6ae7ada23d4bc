// Command connectbench measures tunnel throughput for bench/proxy.sh: it opens a CONNECT tunnel
// through an HTTP proxy (or, without -proxy, a direct connection) to a bench/upstream source,
// asks it for N bytes, reads them all and prints the rate. It talks to loopback addresses only.
//
// Output, one line: "bytes=N seconds=S bytes_per_sec=R gib_per_sec=G".
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

func main() {
	proxy := flag.String("proxy", "", "HTTP proxy IP:port to CONNECT through; empty connects directly")
	target := flag.String("target", "", "bench/upstream source IP:port")
	n := flag.Int64("bytes", 2<<30, "bytes to read through the tunnel")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up after this long")
	bufSize := flag.Int("buf", 1<<20, "read buffer size")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("connectbench: ")

	for _, a := range []string{*proxy, *target} {
		if a == "" {
			continue
		}
		if err := checkLoopback(a); err != nil {
			log.Fatal(err)
		}
	}
	if *target == "" {
		log.Fatal("-target is required")
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	got, elapsed, err := run(ctx, *proxy, *target, *n, *bufSize)
	if err != nil {
		log.Fatalf("after %d of %d bytes: %v", got, *n, err)
	}
	s := elapsed.Seconds()
	fmt.Printf("bytes=%d seconds=%.6f bytes_per_sec=%.0f gib_per_sec=%.4f\n",
		got, s, float64(got)/s, float64(got)/s/(1<<30))
}

func checkLoopback(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want IP:port: %w", addr, err)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("address %q is not loopback; the benchmark stays on this machine", addr)
	}
	return nil
}

// run returns the bytes read and the time from asking for them to the last one.
func run(ctx context.Context, proxy, target string, n int64, bufSize int) (int64, time.Duration, error) {
	dialTo := target
	if proxy != "" {
		dialTo = proxy
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", dialTo)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}

	var r io.Reader = c
	if proxy != "" {
		br := bufio.NewReaderSize(c, 4096)
		if err := connect(c, br, target); err != nil {
			return 0, 0, err
		}
		r = br // it may hold nothing, but never drop what it does hold
	}

	start := time.Now()
	if _, err := io.WriteString(c, strconv.FormatInt(n, 10)+"\n"); err != nil {
		return 0, 0, fmt.Errorf("ask for bytes: %w", err)
	}
	buf := make([]byte, bufSize)
	var got int64
	for got < n {
		m, err := r.Read(buf)
		got += int64(m)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return got, time.Since(start), err
		}
	}
	return got, time.Since(start), nil
}

// connect sends a CONNECT request and reads the proxy's response head, which must be a 2xx.
func connect(w io.Writer, br *bufio.Reader, target string) error {
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n"
	if _, err := io.WriteString(w, req); err != nil {
		return fmt.Errorf("send CONNECT: %w", err)
	}
	status, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("read CONNECT response: %w", err)
	}
	f := strings.Fields(status)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/1.") || len(f[1]) != 3 || f[1][0] != '2' {
		return fmt.Errorf("proxy refused CONNECT %s: %q", target, strings.TrimSpace(status))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("read CONNECT response headers: %w", err)
		}
		if line == "\r\n" || line == "\n" {
			return nil
		}
	}
}

// Command upstream is the origin server for bench/proxy.sh: an HTTP/1.1 keep-alive server with
// fixed-size bodies and a raw TCP source for tunnel throughput. It listens on loopback only and
// exits by itself after -lifetime, so a benchmark that dies cannot leave it running for ever.
//
// HTTP (-http ADDR):
//
//	GET /100b            a 100-byte body
//	GET /1m              a 1 MiB body
//	GET /stream?bytes=N  an N-byte body, streamed without Content-Length buffering
//
// Source (-source ADDR): a TCP listener that reads one decimal line "N\n" from each
// connection, writes N bytes and closes. bench/connectbench drives it, directly or through a
// CONNECT tunnel.
//
// When both listeners are up it prints "ready http=ADDR source=ADDR" on standard output.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

const chunk = 256 << 10 // the write size of the stream and the source

var (
	body100 = fill(100)
	body1m  = fill(1 << 20)
	block   = fill(chunk)
)

func fill(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

func main() {
	httpAddr := flag.String("http", "127.0.0.1:0", "HTTP listen address (loopback)")
	sourceAddr := flag.String("source", "127.0.0.1:0", "raw TCP source listen address (loopback); empty for none")
	lifetime := flag.Duration("lifetime", 2*time.Hour, "exit after this long even if nobody stops us")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("upstream: ")

	hl, err := listenLoopback(*httpAddr)
	if err != nil {
		log.Fatal(err)
	}
	var sl net.Listener
	if *sourceAddr != "" {
		if sl, err = listenLoopback(*sourceAddr); err != nil {
			log.Fatal(err)
		}
		go serveSource(sl)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /100b", fixed(body100))
	mux.HandleFunc("GET /1m", fixed(body1m))
	mux.HandleFunc("GET /stream", stream)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0), // wrk's abrupt closes are not news
	}

	time.AfterFunc(*lifetime, func() {
		log.Printf("lifetime %s reached, exiting", *lifetime)
		os.Exit(0)
	})

	src := "none"
	if sl != nil {
		src = sl.Addr().String()
	}
	fmt.Printf("ready http=%s source=%s\n", hl.Addr(), src)
	if err := srv.Serve(hl); err != nil {
		log.Fatal(err)
	}
}

// listenLoopback listens on addr and refuses any address that is not a loopback IP, so the
// benchmark cannot be pointed off the machine by a typo.
func listenLoopback(addr string) (net.Listener, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q: want IP:port: %w", addr, err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("listen address %q is not loopback; the benchmark stays on this machine", addr)
	}
	return net.Listen("tcp", addr)
}

func fixed(b []byte) http.HandlerFunc {
	length := strconv.Itoa(len(b))
	return func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/octet-stream"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(b)
	}
}

func stream(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
	if err != nil || n < 0 {
		http.Error(w, "bytes=N wanted", http.StatusBadRequest)
		return
	}
	h := w.Header()
	h["Content-Type"] = []string{"application/octet-stream"}
	h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	_ = writeN(w, n)
}

func writeN(w io.Writer, n int64) error {
	for n > 0 {
		b := block
		if n < int64(len(b)) {
			b = b[:n]
		}
		m, err := w.Write(b)
		n -= int64(m)
		if err != nil {
			return err
		}
	}
	return nil
}

func serveSource(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			log.Printf("source: %v", err)
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			line, err := bufio.NewReaderSize(c, 64).ReadString('\n')
			if err != nil {
				return
			}
			n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
			if err != nil || n < 0 {
				return
			}
			_ = c.SetReadDeadline(time.Time{})
			_ = writeN(c, n)
		}()
	}
}

package proxy

import (
	"bufio"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// spliceMin is the body length from which a body is moved with splice(2) (TCPConn.ReadFrom
// between the two raw connections) instead of through the proxy's buffers.
const spliceMin = 64 << 10

// errBodyTooLarge is returned when a relayed body goes past the policy's size limit.
var errBodyTooLarge = errors.New("body larger than the policy allows")

// isTimeout reports whether err is a deadline or timeout error.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// relay moves a body from src (the bufio.Reader over ss) to dst (the bufio.Writer over ds).
// rerr is an error reading or a framing error of the source; werr an error writing. Before the
// copy would block reading src it flushes dst, so data streams through as it arrives and
// nothing is sent before the source has been read as far as it has arrived.
type relay struct {
	dst    *bufio.Writer
	ds     *side
	src    *bufio.Reader
	ss     *side
	idle   time.Duration
	now    *time.Time // the connection's clock: read once per step, not per write
	limit  int64      // body size limit; < 0 means none
	copied int64      // body bytes

	wrote   int64 // bytes written to dst, framing included
	flushed bool  // some bytes went out (flushed or spliced)
}

func (r *relay) flush() error {
	if r.dst.Buffered() == 0 {
		return nil
	}
	r.flushed = true
	r.ds.writeWithin(*r.now, r.idle)
	return r.dst.Flush()
}

// unsent reports whether nothing of the body copy, nor the pre bytes buffered in dst before
// it started, has left the process: dst never flushed (a bufio.Writer flushes on its own only
// when more than its size is written to it).
func (r *relay) unsent(pre int) bool {
	return !r.flushed && int64(pre)+r.wrote <= int64(r.dst.Size())
}

func (r *relay) write(b []byte) error {
	r.wrote += int64(len(b))
	_, err := r.dst.Write(b)
	return err
}

// fill waits for at least one byte from the source, flushing dst first.
func (r *relay) fill() (rerr, werr error) {
	if err := r.flush(); err != nil {
		return nil, err
	}
	r.ss.readWithin(*r.now, r.idle)
	_, err := r.src.Peek(1)
	*r.now = time.Now() // it may have blocked
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err, nil
	}
	return nil, nil
}

// copyN copies exactly n bytes.
func (r *relay) copyN(n int64) (rerr, werr error) {
	if r.limit >= 0 && r.copied+n > r.limit {
		return errBodyTooLarge, nil
	}
	for n > 0 {
		if r.src.Buffered() == 0 {
			if n >= spliceMin && r.ds.tcp != nil && r.ss.tcp != nil {
				if err := r.flush(); err != nil {
					return nil, err
				}
				r.flushed = true
				k, rerr, werr := spliceN(r.ds, r.ss, n, r.idle)
				r.copied += k
				if rerr == nil && werr == nil && k < n {
					rerr = io.ErrUnexpectedEOF
				}
				return rerr, werr
			}
			if rerr, werr := r.fill(); rerr != nil || werr != nil {
				return rerr, werr
			}
		}
		k := min(int64(r.src.Buffered()), n)
		b, _ := r.src.Peek(int(k))
		r.ds.writeWithin(*r.now, r.idle)
		if err := r.write(b); err != nil {
			return nil, err
		}
		_, _ = r.src.Discard(int(k))
		n -= k
		r.copied += k
	}
	return nil, nil
}

var (
	lastChunk = []byte("0\r\n\r\n")
	crlf      = []byte("\r\n")
)

// copyChunked decodes a chunked body; with rechunk it writes it chunked again (chunk
// extensions and trailers dropped), without it writes the bare data.
func (r *relay) copyChunked(rechunk bool, trailers *head, maxHeader int) (rerr, werr error) {
	for {
		if r.src.Buffered() == 0 {
			if rerr, werr := r.fill(); rerr != nil || werr != nil {
				return rerr, werr
			}
		}
		size, err := readChunkSize(r.src)
		if err != nil {
			return err, nil
		}
		if size == 0 {
			if err := readTrailers(r.src, trailers, maxHeader); err != nil {
				return err, nil
			}
			if rechunk {
				if err := r.write(lastChunk); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}
		if rechunk {
			b := strconv.AppendInt(r.dst.AvailableBuffer(), size, 16)
			b = append(b, '\r', '\n')
			if err := r.write(b); err != nil {
				return nil, err
			}
		}
		if rerr, werr := r.copyN(size); rerr != nil || werr != nil {
			return rerr, werr
		}
		if r.src.Buffered() < 2 {
			if rerr, werr := r.fill(); rerr != nil || werr != nil {
				return rerr, werr
			}
		}
		if err := readCRLF(r.src); err != nil {
			return err, nil
		}
		if rechunk {
			if err := r.write(crlf); err != nil {
				return nil, err
			}
		}
	}
}

// copyEOF copies until the source ends (a close-delimited response body).
func (r *relay) copyEOF() (rerr, werr error) {
	for {
		if r.src.Buffered() == 0 {
			if r.ds.tcp != nil && r.ss.tcp != nil {
				if err := r.flush(); err != nil {
					return nil, err
				}
				r.flushed = true
				n := int64(math.MaxInt64)
				if r.limit >= 0 {
					n = r.limit - r.copied + 1
				}
				k, rerr, werr := spliceN(r.ds, r.ss, n, r.idle)
				r.copied += k
				if rerr == nil && werr == nil && r.limit >= 0 && r.copied > r.limit {
					rerr = errBodyTooLarge
				}
				return rerr, werr
			}
			rerr, werr := r.fill()
			if rerr == io.ErrUnexpectedEOF {
				return nil, nil
			}
			if rerr != nil || werr != nil {
				return rerr, werr
			}
		}
		k := int64(r.src.Buffered())
		if r.limit >= 0 && r.copied+k > r.limit {
			return errBodyTooLarge, nil
		}
		b, _ := r.src.Peek(int(k))
		r.ds.writeWithin(*r.now, r.idle)
		if err := r.write(b); err != nil {
			return nil, err
		}
		_, _ = r.src.Discard(int(k))
		r.copied += k
	}
}

// spliceN moves up to n bytes from ss to ds with TCPConn.ReadFrom, which the runtime turns
// into splice(2) between the two sockets. It stops early, without error, when the source
// ends. The read deadline is idle and the write deadline 2×idle from each (re)start: a read
// timeout after progress restarts the copy (splice loses no data on a read timeout: the pipe
// is empty whenever it reads), a read timeout without progress is an idle body, and a write
// timeout is fatal.
func spliceN(ds, ss *side, n int64, idle time.Duration) (copied int64, rerr, werr error) {
	lr := &io.LimitedReader{R: ss.tcp, N: n}
	for lr.N > 0 {
		start := time.Now()
		wdl := start.Add(2 * idle)
		ss.setRead(start.Add(idle))
		ds.setWrite(wdl)
		k, err := ds.tcp.ReadFrom(lr)
		copied += k
		if err == nil {
			return copied, nil, nil // n bytes, or the source ended
		}
		if isTimeout(err) && time.Now().Before(wdl) {
			if k > 0 {
				continue
			}
			return copied, err, nil
		}
		// splice reports read and write failures alike; the caller closes both sides.
		return copied, nil, err
	}
	return copied, nil, nil
}

// Tunnels.

// copyBufs holds buffers for tunnels between connections that are not both TCP.
var copyBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// tunnel copies both ways between a and b until both directions have ended, then closes
// both. When one direction ends cleanly (EOF), the other side's write half is closed
// (CloseWrite) and the other direction goes on. Between two *net.TCPConn the copy is io.Copy
// on the raw connections, which the runtime does with splice(2): the connections are never
// wrapped.
//
// Idle timeout without wrapping: each direction copies with a read deadline of idle/2 on its
// source and a write deadline of 3×idle on its destination, set before each io.Copy. When
// the read deadline fires the direction records whether it moved bytes in that period and,
// if neither it nor the other direction has moved any for idle, ends the tunnel; otherwise it
// restarts io.Copy with fresh deadlines (no data is lost: splice reads only when its pipe is
// empty, and a plain copy writes what it read before it reads again). The write deadline is
// only reached when one write (at most a 1 MiB pipe, or 32 KiB) has been blocked for about
// 2.5×idle, that is a receiver that (nearly) stopped reading: the tunnel ends. It is what
// frees a tunnel whose two receivers both stopped reading. So a quiet tunnel is closed
// between idle and 1.5×idle after its last byte.
type tunnel struct {
	a, b      net.Conn
	idle      time.Duration
	abortOnce sync.Once
	lastA     atomicTime // last progress a→b
	lastB     atomicTime // last progress b→a
}

// run returns the bytes copied a→b and b→a.
func (t *tunnel) run() (ab, ba int64) {
	now := time.Now()
	t.lastA.store(now)
	t.lastB.store(now)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ba = t.pipe(t.a, t.b, &t.lastB, &t.lastA)
	}()
	ab = t.pipe(t.b, t.a, &t.lastA, &t.lastB)
	<-done
	t.a.Close()
	t.b.Close()
	return ab, ba
}

func (t *tunnel) abort() {
	t.abortOnce.Do(func() {
		t.a.Close()
		t.b.Close()
	})
}

// pipe copies src to dst; mine is this direction's progress clock, other the other's.
func (t *tunnel) pipe(dst, src net.Conn, mine, other *atomicTime) int64 {
	_, dtcp := dst.(*net.TCPConn)
	_, stcp := src.(*net.TCPConn)
	var buf *[32 << 10]byte
	if !dtcp || !stcp {
		buf = copyBufs.Get().(*[32 << 10]byte)
		defer copyBufs.Put(buf)
	}
	period := max(t.idle/2, time.Millisecond)
	var total int64
	for {
		start := time.Now()
		wdl := start.Add(3 * t.idle)
		_ = src.SetReadDeadline(start.Add(period))
		_ = dst.SetWriteDeadline(wdl)
		var n int64
		var err error
		if buf == nil {
			n, err = io.Copy(dst, src)
		} else {
			n, err = io.CopyBuffer(dst, src, buf[:])
		}
		total += n
		now := time.Now()
		if n > 0 {
			mine.store(now)
		}
		if err == nil { // src ended: pass the half-close on
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				return total
			}
			t.abort()
			return total
		}
		if isTimeout(err) && now.Before(wdl) {
			last := max(mine.ns.Load(), other.ns.Load())
			if n > 0 || now.UnixNano()-last < int64(t.idle) {
				continue
			}
		}
		t.abort()
		return total
	}
}

// atomicTime is a time.Time stored as Unix nanoseconds.
type atomicTime struct{ ns atomic.Int64 }

func (a *atomicTime) store(t time.Time) { a.ns.Store(t.UnixNano()) }

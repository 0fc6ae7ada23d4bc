package codemode

import (
	"os"
	"time"
)

// print implements nativeSide: console output, buffered, within the output limit, counted as
// the host counts it (each line its length plus a newline).
func (w *worker) print(level, text string) {
	if len(text) > maxLine {
		w.dropped.Add(int64(len(text) - maxLine))
		text = truncateUTF8(text, maxLine)
	}
	room := w.lim.Output - w.sent
	if need := int64(len(text)) + 1; need > room {
		keep := ""
		if room > 1 {
			keep = truncateUTF8(text, int(room-1))
		}
		w.dropped.Add(int64(len(text) - len(keep)))
		if room < 1 || (keep == "" && text != "") {
			return
		}
		text = keep
	}
	w.sent += int64(len(text)) + 1
	w.consoleMu.Lock()
	w.lines = append(w.lines, consoleMsg{Level: level, Text: text})
	w.lineBytes += len(text) + 1
	// The first line after a quiet spell goes out at once (output just before a crash is
	// not lost); a burst is batched.
	now := w.lineBytes >= consoleBatch || time.Since(w.lastFlush) >= consoleFlushEvery
	w.consoleMu.Unlock()
	if now {
		w.flush()
	}
}

// flush sends the buffered console lines. The loop flushes before every call and at the end;
// the flusher every consoleFlushEvery, so that output reaches the host before a worker is
// killed.
func (w *worker) flush() {
	w.consoleMu.Lock()
	defer w.consoleMu.Unlock()
	if len(w.lines) == 0 || w.finished.Load() {
		return
	}
	m := &message{T: msgConsole, Lines: w.lines}
	w.lines, w.lineBytes, w.lastFlush = nil, 0, time.Now()
	if err := w.out.write(m); err != nil {
		os.Exit(exitProtocol)
	}
}

// consoleFlushEvery is how long console output may wait in the worker.
const consoleFlushEvery = 20 * time.Millisecond

// flusher flushes the console periodically until the run is done.
func (w *worker) flusher() {
	t := time.NewTicker(consoleFlushEvery)
	defer t.Stop()
	for range t.C {
		if w.finished.Load() {
			return
		}
		w.flush()
	}
}

// truncateUTF8 cuts s to at most n bytes, on a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

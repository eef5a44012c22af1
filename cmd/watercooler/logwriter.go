package main

import (
	"io"
	"sync"
	"time"
)

// A request line written straight to standard error was a write system call per request, a
// tenth of the CPU of serving a small cached document. Log lines are gathered instead and written
// together, after logFlushDelay at the latest: a crash may lose that much of the log, never more.
const (
	logFlushDelay = 20 * time.Millisecond
	logFlushBytes = 32 << 10
)

// batchedWriter gathers what is written to it and writes it to w in batches; safe for concurrent
// use. Every Write is kept whole, so lines never interleave.
type batchedWriter struct {
	w io.Writer

	mu      sync.Mutex
	buf     []byte
	pending *time.Timer // set while buf waits for its timed flush
}

func newBatchedWriter(w io.Writer) *batchedWriter { return &batchedWriter{w: w} }

func (b *batchedWriter) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= logFlushBytes {
		return len(p), b.flushLocked()
	}
	if b.pending == nil {
		b.pending = time.AfterFunc(logFlushDelay, func() { _ = b.Flush() })
	}
	return len(p), nil
}

// Flush writes what is gathered now.
func (b *batchedWriter) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *batchedWriter) flushLocked() error {
	if b.pending != nil {
		b.pending.Stop()
		b.pending = nil
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

package testrig

import (
	"bytes"
	"strings"
	"sync"
)

// LogBuffer is a log destination that a test reads while servers and processes write to it.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines is everything written so far, a line each.
func (b *LogBuffer) Lines() []string { return strings.Split(b.String(), "\n") }

package federation

import "testing"

// ConnCounter lets the external tests use the listener that proves nothing connected to it.
type ConnCounter struct{ c *connCounter }

// NewConnCounter listens on a free 127.0.0.1 port until the test ends.
func NewConnCounter(t testing.TB) ConnCounter { return ConnCounter{newConnCounter(t)} }

// Addr is the listener's host:port.
func (c ConnCounter) Addr() string { return c.c.ln.Addr().String() }

// AssertUntouched fails the test if any connection reached the listener so far.
func (c ConnCounter) AssertUntouched(t testing.TB) { t.Helper(); c.c.assertUntouched(t) }

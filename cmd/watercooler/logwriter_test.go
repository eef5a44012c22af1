package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"watercooler/testrig"
)

// TestBatchedWriterKeepsLinesWholeAndFlushesOnItsOwn writes lines from several goroutines and
// checks that each arrives whole, in its writer's order, without anyone calling Flush.
func TestBatchedWriterKeepsLinesWholeAndFlushesOnItsOwn(t *testing.T) {
	var out testrig.LogBuffer
	w := newBatchedWriter(&out)
	const writers, lines = 4, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(w, "writer=%d line=%d %s\n", g, i, strings.Repeat("x", 40))
			}
		}()
	}
	wg.Wait()
	// The timed flush runs logFlushDelay after the first line left waiting; a loaded machine may
	// run it late, never not at all.
	testrig.Eventually(t, 10*time.Second, "every line written out", func() bool {
		return strings.Count(out.String(), "\n") == writers*lines
	})
	next := make([]int, writers)
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var g, i int
		var rest string
		if _, err := fmt.Sscanf(line, "writer=%d line=%d %s", &g, &i, &rest); err != nil || rest != strings.Repeat("x", 40) {
			t.Fatalf("line %q is not whole (%v)", line, err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d after line %d", g, i, next[g]-1)
		}
		next[g]++
	}
}

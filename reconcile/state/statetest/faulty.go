// Package statetest holds what every state.Store must prove: the
// conformance suite (Run) and a Store wrapper that dies at its n-th write
// (Faulty), the crash injection the guarantee tests loop over.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/recordctl/recordctl/reconcile/state"
)

// ErrCrashed marks a write refused because the simulated process died.
// It also matches state.ErrFenced: a dead process makes no further
// provider call, which is what a fenced writer must do too.
var ErrCrashed = errors.New("simulated crash")

type crashError struct{ n int }

func (e crashError) Error() string {
	return fmt.Sprintf("statetest: the process died at state write %d (%v)", e.n, state.ErrFenced)
}

func (e crashError) Is(target error) bool { return target == ErrCrashed || target == state.ErrFenced }

// Mode is where, around the n-th write, the simulated crash lands.
type Mode int

const (
	// BeforeWrite: write n never reaches the store (a kill -9 just
	// before an intent or a result is written).
	BeforeWrite Mode = iota
	// AfterWrite: write n is durable but its caller never hears so (a
	// kill -9 between the fsync and the next instruction).
	AfterWrite
)

func (m Mode) String() string {
	if m == AfterWrite {
		return "after"
	}
	return "before"
}

// Faulty wraps a Store and dies at its n-th write (counting from 1): that
// write and every later one fail with an error matching ErrCrashed and
// state.ErrFenced. n <= 0 never dies (it only counts writes).
type Faulty struct {
	inner state.Store
	n     int
	mode  Mode

	mu     sync.Mutex
	writes int
	dead   bool
}

// FailAt wraps inner so that its n-th write crashes in mode.
func FailAt(inner state.Store, n int, mode Mode) *Faulty {
	return &Faulty{inner: inner, n: n, mode: mode}
}

// Writes is how many writes were attempted (the crashing one included).
func (f *Faulty) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// Crashed reports whether the crash happened.
func (f *Faulty) Crashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dead
}

// Snapshot reads through (a dead process could not, but nothing it reads
// then can reach a provider: every write fails).
func (f *Faulty) Snapshot(ctx context.Context) (*state.State, error) { return f.inner.Snapshot(ctx) }

// Update counts writes and dies at the n-th. Updates that change nothing
// are not writes.
func (f *Faulty) Update(ctx context.Context, fn func(*state.Tx) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dead {
		return crashError{f.writes}
	}
	changed := false
	wrapped := func(tx *state.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		changed = !tx.Changes().Empty()
		if changed && f.n > 0 && f.writes+1 == f.n && f.mode == BeforeWrite {
			return crashError{f.n}
		}
		return nil
	}
	err := f.inner.Update(ctx, wrapped)
	if changed {
		f.writes++
	}
	if changed && f.n > 0 && f.writes == f.n {
		f.dead = true
		return crashError{f.n}
	}
	return err
}

// Close closes the inner store.
func (f *Faulty) Close() error { return f.inner.Close() }

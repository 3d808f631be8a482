package providers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/recordctl/recordctl/internal/clock"
)

// Memo caches the answer of a call per key for TTL on a clock, and makes
// concurrent lookups of one key share a single call: a check that costs
// calls (Alibaba's record configuration, Huawei's COMMAND_RECORD rules) is
// made once per domain, not once per stream. Errors are not cached. Safe
// for concurrent use.
type Memo[K comparable, V any] struct {
	TTL   time.Duration
	Clock clock.Clock // nil: the wall clock

	mu      sync.Mutex
	entries map[K]*memoEntry[V]
}

type memoEntry[V any] struct {
	done    chan struct{} // closed when the call has returned
	val     V
	err     error
	fetched time.Time
}

// Get returns key's cached value, or calls fetch once for every caller
// that asks for key meanwhile. A caller whose ctx ends stops waiting.
func (m *Memo[K, V]) Get(ctx context.Context, key K, fetch func(context.Context) (V, error)) (V, error) {
	return m.Within(ctx, key, m.TTL, fetch)
}

// Within is Get for an answer at most maxAge old (at most TTL): a caller
// about to act on a cached answer asks for a fresher one.
func (m *Memo[K, V]) Within(ctx context.Context, key K, maxAge time.Duration, fetch func(context.Context) (V, error)) (V, error) {
	clk := clock.Or(m.Clock)
	maxAge = min(maxAge, m.TTL)
	for {
		m.mu.Lock()
		if m.entries == nil {
			m.entries = map[K]*memoEntry[V]{}
		}
		e := m.entries[key]
		if e != nil {
			select {
			case <-e.done:
				if e.err == nil && clk.Since(e.fetched) < maxAge {
					m.mu.Unlock()
					return e.val, nil
				}
				e = nil // expired or failed: fetch again
			default:
			}
		}
		if e == nil {
			e = &memoEntry[V]{done: make(chan struct{})}
			m.entries[key] = e
			m.mu.Unlock()
			e.val, e.err = fetch(ctx)
			e.fetched = clk.Now()
			close(e.done)
			return e.val, e.err
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		case <-e.done:
			if ctx.Err() == nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
				continue // the fetching caller gave up; fetch for this one
			}
			return e.val, e.err
		}
	}
}

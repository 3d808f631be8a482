package ha

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
)

// Held is the leadership of several providers at once (apply and plan):
// its Store fences every write on all of them.
type Held struct {
	e      *Elector
	leases []*Lease
	store  *etcdstate.Store
}

// Store is the state, every write fenced on all the leaderships held; its
// Close releases them.
func (h *Held) Store() *etcdstate.Store { return h.store }

// Release resigns every leadership and closes the session.
func (h *Held) Release() error { return h.e.Close() }

// Acquire takes the leadership of every provider (sorted, so two
// acquirers never deadlock), waiting at most wait for each; a provider
// still held by another replica after that is an error naming the holder.
func Acquire(ctx context.Context, cfg Config, providers []string, wait time.Duration) (*Held, error) {
	cfg.Replica = false
	e, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ps := append([]string(nil), providers...)
	sort.Strings(ps)
	h := &Held{e: e}
	var fences []etcdstate.Fence
	for _, p := range ps {
		if len(fences) > 0 && p == fences[len(fences)-1].Name {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, wait)
		l, err := e.campaign(cctx, p)
		cancel()
		if err != nil {
			e.Close()
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
				holder, herr := e.Holder(hctx, p)
				hcancel()
				if herr != nil || holder == "" {
					holder = "another recordctl"
				}
				return nil, fmt.Errorf("provider %s is led by %s (waited %s): a daemon or another apply reconciles it; stop it, or wait and try again", p, holder, wait)
			}
			return nil, err
		}
		h.leases = append(h.leases, l)
		fences = append(fences, etcdstate.Fence{Key: l.Key(), Rev: l.Rev(), Name: p})
	}
	h.store = cfg.Store.Fenced(fences...).OnClose(h.Release)
	return h, nil
}

// Lost is closed when any of the leaderships held ends.
func (h *Held) Lost() <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	for _, l := range h.leases {
		go func() {
			select {
			case <-l.done:
				once.Do(func() { close(ch) })
			case <-h.e.ctx.Done():
			}
		}()
	}
	return ch
}

// Providers are the providers held, sorted.
func (h *Held) Providers() []string {
	out := make([]string, len(h.leases))
	for i, l := range h.leases {
		out[i] = l.provider
	}
	return out
}

// Crash abandons the leaderships as a killed process would (tests).
func (h *Held) Crash() { h.e.cancel() }

package daemon

import (
	"context"

	"github.com/recordctl/recordctl/reconcile/state"
)

// Elector decides which replica reconciles which Provider document. The
// daemon runs one worker per Provider document it leads: it campaigns for
// every provider in the documents, starts that provider's worker when a
// Campaign returns, and stops the worker (making no further provider call)
// when the lease's Done channel closes.
//
// Local is the single-process elector (one daemon per local state file,
// guaranteed by the store's lock); the etcd elector (concurrency.Election
// per provider, fencing on the election key's create revision) lets N
// replicas share the providers.
type Elector interface {
	// Campaign blocks until this process leads provider, or ctx ends.
	Campaign(ctx context.Context, provider string) (Lease, error)
}

// Lease is leadership of one provider.
type Lease interface {
	// Store is the state store to use while leading: on etcd every write
	// through it is conditioned on this leadership (the fencing token) and
	// fails with state.ErrFenced once it is lost.
	Store() state.Store
	// Done is closed when leadership is lost (lease expired, resigned, or
	// handed over to spread load); the worker stops at once.
	Done() <-chan struct{}
	// Resign gives leadership up (SIGTERM, or a hand-over to spread load).
	Resign(ctx context.Context) error
}

// Local is the Elector of a single process: it leads every provider at
// once, on one store.
type Local struct{ Store state.Store }

// Campaign returns at once.
func (l Local) Campaign(ctx context.Context, provider string) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return localLease{store: l.Store}, nil
}

type localLease struct{ store state.Store }

func (l localLease) Store() state.Store           { return l.store }
func (l localLease) Done() <-chan struct{}        { return nil }
func (l localLease) Resign(context.Context) error { return nil }

package state

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Store is the contract every state backend meets (the local file store,
// etcd). The conformance suite in statetest checks it; a backend that
// passes it can carry apply and run.
//
//   - Every call takes a context and reports errors, reads included.
//   - Update makes what its function changed durable before returning;
//     readers (Snapshot, later Updates) see a change only once it is
//     durable. On error nothing changed.
//   - A write costs what it changed: the Tx carries the records put and
//     dropped, never a whole-state diff.
//   - ErrFenced (errors.Is) means this process may no longer write the
//     store (it lost its lock, lease or leadership): the caller aborts the
//     whole apply or cycle and makes no further provider call.
type Store interface {
	// Snapshot returns a copy of the durable state.
	Snapshot(ctx context.Context) (*State, error)
	// Update runs fn in a transaction over the current state and makes its
	// changes durable. fn may run more than once (a backend may retry on
	// conflict), so it must have no effect outside the Tx. An error from
	// fn aborts the transaction and is returned.
	Update(ctx context.Context, fn func(tx *Tx) error) error
	// Close releases the store (lock, lease, connection). Pending writes
	// are durable already; Close may compact.
	Close() error
}

// ErrFenced is returned (wrapped) by a Store write that this process is no
// longer allowed to make.
var ErrFenced = errors.New("this process may no longer write the state")

// FencedError says why a write was refused.
type FencedError struct{ Reason string }

func (e *FencedError) Error() string {
	return fmt.Sprintf("state: %s: %s", ErrFenced.Error(), e.Reason)
}

func (e *FencedError) Unwrap() error { return ErrFenced }

// IsFenced reports whether err means the store refused this writer.
func IsFenced(err error) bool { return errors.Is(err, ErrFenced) }

// Tx is one Update's view of the state: the state as it was when the
// transaction began, plus what the transaction put and dropped. Records
// obtained from Get are copies; changes reach the store only through Put.
type Tx struct {
	base  *State
	puts  map[string]*Record
	order []string // ids in order of first Put
	drops map[string]bool
	last  *time.Time
}

// NewTx starts a transaction over base (for Store implementations).
func NewTx(base *State) *Tx {
	return &Tx{base: base, puts: map[string]*Record{}, drops: map[string]bool{}}
}

// Base is the state as it was when the transaction began (read-only).
func (t *Tx) Base() *State { return t.base }

// Get returns a copy of the record with id as the transaction sees it, or nil.
func (t *Tx) Get(id string) *Record {
	if t.drops[id] {
		return nil
	}
	if r, ok := t.puts[id]; ok {
		c := *r
		return &c
	}
	if r := t.base.Find(id); r != nil {
		c := *r
		return &c
	}
	return nil
}

// Put stores (a copy of) r, by its ID.
func (t *Tx) Put(r *Record) {
	c := *r
	if _, ok := t.puts[r.ID]; !ok {
		t.order = append(t.order, r.ID)
	}
	t.puts[r.ID] = &c
	delete(t.drops, r.ID)
}

// Drop removes the record with id.
func (t *Tx) Drop(id string) {
	if _, ok := t.puts[id]; ok {
		delete(t.puts, id)
		for i, x := range t.order {
			if x == id {
				t.order = append(t.order[:i], t.order[i+1:]...)
				break
			}
		}
	}
	if t.base.Find(id) != nil {
		t.drops[id] = true
	}
}

// SetLastReconcile records when a reconcile completed.
func (t *Tx) SetLastReconcile(at time.Time) { t.last = &at }

// Changes is what a transaction changed, for a Store to persist.
type Changes struct {
	Put           []*Record
	Drop          []string
	LastReconcile *time.Time
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool { return len(c.Put) == 0 && len(c.Drop) == 0 && c.LastReconcile == nil }

// Changes returns what the transaction changed (ids dropped in sorted order).
func (t *Tx) Changes() Changes {
	c := Changes{LastReconcile: t.last}
	for _, id := range t.order {
		c.Put = append(c.Put, t.puts[id])
	}
	for id := range t.drops {
		c.Drop = append(c.Drop, id)
	}
	sort.Strings(c.Drop)
	return c
}

// Apply folds changes into s, keeping record order (new records last).
func (s *State) Apply(c Changes) {
	s.index()
	for _, r := range c.Put {
		if i, ok := s.idx[r.ID]; ok {
			s.Records[i] = r
		} else {
			s.idx[r.ID] = len(s.Records)
			s.Records = append(s.Records, r)
		}
	}
	if len(c.Drop) > 0 {
		drop := make(map[string]bool, len(c.Drop))
		for _, id := range c.Drop {
			drop[id] = true
		}
		out := s.Records[:0]
		for _, r := range s.Records {
			if !drop[r.ID] {
				out = append(out, r)
			}
		}
		clear(s.Records[len(out):])
		s.Records = out
		s.idx = nil
		s.index()
	}
	if c.LastReconcile != nil {
		s.LastReconcile = *c.LastReconcile
	}
}

// index builds the id index if missing.
func (s *State) index() {
	if s.idx != nil && len(s.idx) == len(s.Records) {
		return
	}
	s.idx = make(map[string]int, len(s.Records))
	for i, r := range s.Records {
		s.idx[r.ID] = i
	}
}

// ReadOnly is a Store over a fixed state that refuses every write (plan,
// state list): it needs no lock.
type ReadOnly struct{ St *State }

// Snapshot returns a copy of the fixed state.
func (r ReadOnly) Snapshot(context.Context) (*State, error) { return r.St.Clone(), nil }

// Update refuses.
func (r ReadOnly) Update(context.Context, func(*Tx) error) error {
	return errors.New("state: read-only here (plan and list never write the state)")
}

// Close does nothing.
func (r ReadOnly) Close() error { return nil }

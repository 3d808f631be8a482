package statetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/reconcile/state"
)

// Backend is one set of backing data for a store under test (a folder, an
// etcd prefix) and the ways the world can treat it.
type Backend interface {
	// Open opens a store over the backing data (again, after a Close or
	// a Crash): the store a restarted process would get.
	Open(t *testing.T) (state.Store, error)
	// Crash abandons s as a killed process would: no Close, no
	// compaction; whatever guards the data against a second writer (a
	// lock, a lease) is released as the kernel or the lease TTL would.
	Crash(t *testing.T, s state.Store)
	// Fence makes s lose its right to write (its lock broken, its lease
	// lost) while it keeps running.
	Fence(t *testing.T, s state.Store)
	// FailWrites makes s's next writes fail the way the backend's medium
	// fails (a full disk writing part of an entry, a failed commit) until
	// heal is called. ok false: the backend cannot be made to (skipped).
	FailWrites(t *testing.T, s state.Store) (heal func(), ok bool)
	// DamageTail leaves the data as a crash in the middle of a write
	// would (torn true), or appends garbage followed by an acknowledged
	// entry (torn false: corruption that must not pass silently). ok
	// false: the backend's writes are atomic (skipped).
	DamageTail(t *testing.T, torn bool) (ok bool)
}

// Run is the conformance suite every state.Store passes. newBackend
// returns fresh backing data for each test.
func Run(t *testing.T, newBackend func(t *testing.T) Backend) {
	ctx := context.Background()
	open := func(t *testing.T, b Backend) state.Store {
		t.Helper()
		s, err := b.Open(t)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	}
	snap := func(t *testing.T, s state.Store) *state.State {
		t.Helper()
		st, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		return st
	}

	t.Run("NewStoreHasLineage", func(t *testing.T) {
		b := newBackend(t)
		s := open(t, b)
		st := snap(t, s)
		if st.Lineage == "" || len(st.Records) != 0 || st.Serial != 0 {
			t.Fatalf("new store: lineage %q, %d records, serial %d; want a lineage, no records, serial 0", st.Lineage, len(st.Records), st.Serial)
		}
		s.Close()
		other := open(t, newBackend(t))
		defer other.Close()
		if l := snap(t, other).Lineage; l == st.Lineage {
			t.Fatalf("two new stores share lineage %q: a plan made on one would apply to the other", l)
		}
		s = open(t, b)
		defer s.Close()
		if l := snap(t, s).Lineage; l != st.Lineage {
			t.Fatalf("lineage changed on reopen: %q -> %q", st.Lineage, l)
		}
	})

	t.Run("PutGetDropSerial", func(t *testing.T) {
		s := open(t, newBackend(t))
		defer s.Close()
		mustUpdate(t, s, func(tx *state.Tx) error {
			for i := range 3 {
				tx.Put(rec(i, state.Pending))
			}
			return nil
		})
		st := snap(t, s)
		if len(st.Records) != 3 || st.Serial != 1 {
			t.Fatalf("after one write: %d records serial %d, want 3 and 1", len(st.Records), st.Serial)
		}
		mustUpdate(t, s, func(tx *state.Tx) error {
			r := tx.Get("r1")
			if r == nil {
				return errors.New("r1 not visible in the transaction")
			}
			r.Phase = state.Active
			tx.Put(r)
			if got := tx.Get("r1"); got.Phase != state.Active {
				return errors.New("a put is not visible to a Get in the same transaction")
			}
			tx.Drop("r2")
			if tx.Get("r2") != nil {
				return errors.New("a dropped record is still visible in the same transaction")
			}
			return nil
		})
		st = snap(t, s)
		if st.Serial != 2 || len(st.Records) != 2 || st.Find("r1").Phase != state.Active || st.Find("r2") != nil {
			t.Fatalf("after the second write: %s", dump(st))
		}
		mustUpdate(t, s, func(tx *state.Tx) error { return nil })
		if got := snap(t, s).Serial; got != 2 {
			t.Fatalf("a write that changes nothing moved the serial to %d", got)
		}
		boom := errors.New("boom")
		if err := s.Update(ctx, func(tx *state.Tx) error { tx.Put(rec(9, state.Active)); return boom }); !errors.Is(err, boom) {
			t.Fatalf("fn's error not returned: %v", err)
		}
		if st := snap(t, s); st.Find("r9") != nil || st.Serial != 2 {
			t.Fatalf("a failed transaction changed the state: %s", dump(st))
		}
		at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		mustUpdate(t, s, func(tx *state.Tx) error { tx.SetLastReconcile(at); return nil })
		if got := snap(t, s).LastReconcile; !got.Equal(at) {
			t.Fatalf("last reconcile %v, want %v", got, at)
		}
	})

	t.Run("SnapshotIsACopy", func(t *testing.T) {
		s := open(t, newBackend(t))
		defer s.Close()
		mustUpdate(t, s, func(tx *state.Tx) error { tx.Put(rec(1, state.Active)); return nil })
		st := snap(t, s)
		st.Records[0].Phase = state.Done
		st.Records = nil
		if got := snap(t, s); len(got.Records) != 1 || got.Records[0].Phase != state.Active {
			t.Fatalf("changing a snapshot changed the store: %s", dump(got))
		}
	})

	t.Run("DurableAcrossCloseAndCrash", func(t *testing.T) {
		b := newBackend(t)
		s := open(t, b)
		want := runScript(t, s, len(script))
		s.Close()
		s = open(t, b)
		sameState(t, "after Close and reopen", snap(t, s), want)
		mustUpdate(t, s, func(tx *state.Tx) error { tx.Put(rec(50, state.Active)); return nil })
		want = snap(t, s)
		b.Crash(t, s)
		s = open(t, b)
		defer s.Close()
		sameState(t, "after a crash and reopen", snap(t, s), want)
	})

	for _, mode := range []Mode{BeforeWrite, AfterWrite} {
		t.Run("CrashAtEveryWrite/"+mode.String(), func(t *testing.T) {
			// The expected state after k writes, from an uninterrupted run.
			ref := open(t, newBackend(t))
			var after []*state.State
			after = append(after, snap(t, ref))
			for k := 1; k <= len(script); k++ {
				after = append(after, runScript(t, ref, 1, k-1))
			}
			ref.Close()
			for n := 1; n <= len(script); n++ {
				b := newBackend(t)
				inner := open(t, b)
				lineage := snap(t, inner).Lineage
				f := FailAt(inner, n, mode)
				err := tryScript(f)
				if !errors.Is(err, ErrCrashed) || !state.IsFenced(err) {
					t.Fatalf("crash at write %d: script ended with %v, want the crash (matching ErrFenced)", n, err)
				}
				b.Crash(t, inner)
				s := open(t, b)
				want := *after[n-1]
				if mode == AfterWrite {
					want = *after[n]
				}
				want.Lineage = lineage
				sameState(t, fmt.Sprintf("crash %s write %d", mode, n), snap(t, s), &want)
				s.Close()
			}
		})
	}

	t.Run("ConcurrentUpdatesAllDurable", func(t *testing.T) {
		b := newBackend(t)
		s := open(t, b)
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Update(ctx, func(tx *state.Tx) error { tx.Put(rec(i, state.Active)); return nil }); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		b.Crash(t, s)
		s = open(t, b)
		defer s.Close()
		if st := snap(t, s); len(st.Records) != 40 || st.Serial != 40 {
			t.Fatalf("after 40 concurrent writes and a crash: %d records, serial %d", len(st.Records), st.Serial)
		}
	})

	t.Run("InjectedWriteFailures", func(t *testing.T) {
		b := newBackend(t)
		s := open(t, b)
		runScript(t, s, 3)
		before := snap(t, s)
		heal, ok := b.FailWrites(t, s)
		if !ok {
			s.Close()
			t.Skip("this backend's writes cannot be made to fail")
		}
		for i := range 3 {
			if err := s.Update(ctx, func(tx *state.Tx) error { tx.Put(rec(60+i, state.Active)); return nil }); err == nil {
				t.Fatalf("write %d on a failing medium reported success", i)
			}
			sameState(t, "after a failed write", snap(t, s), before)
		}
		heal()
		mustUpdate(t, s, func(tx *state.Tx) error { tx.Put(rec(70, state.Active)); return nil })
		want := snap(t, s)
		if want.Find("r70") == nil || want.Find("r60") != nil {
			t.Fatalf("after healing: %s", dump(want))
		}
		b.Crash(t, s)
		s = open(t, b)
		sameState(t, "reopened after failed writes", snap(t, s), want)
		mustUpdate(t, s, func(tx *state.Tx) error { tx.Put(rec(71, state.Active)); return nil })
		want = snap(t, s)
		b.Crash(t, s)
		s = open(t, b)
		defer s.Close()
		sameState(t, "one more write, reopened", snap(t, s), want)
	})

	t.Run("TornTail", func(t *testing.T) {
		b := newBackend(t)
		s := open(t, b)
		want := runScript(t, s, 5)
		b.Crash(t, s)
		if !b.DamageTail(t, true) {
			t.Skip("this backend's writes are atomic")
		}
		s = open(t, b)
		sameState(t, "after a torn write", snap(t, s), want)
		mustUpdate(t, s, func(tx *state.Tx) error { tx.Put(rec(80, state.Active)); return nil })
		want = snap(t, s)
		b.Crash(t, s)
		s = open(t, b)
		defer s.Close()
		sameState(t, "a write after the torn one, reopened", snap(t, s), want)
	})

	t.Run("CorruptTailIsLoud", func(t *testing.T) {
		b := newBackend(t)
		s := open(t, b)
		runScript(t, s, 5)
		b.Crash(t, s)
		if !b.DamageTail(t, false) {
			t.Skip("this backend's writes are atomic")
		}
		s, err := b.Open(t)
		if err == nil {
			s.Close()
			t.Fatal("corrupt data followed by acknowledged entries opened without an error")
		}
	})

	t.Run("TwoWriters", func(t *testing.T) {
		b := newBackend(t)
		s := open(t, b)
		defer s.Close()
		mustUpdate(t, s, func(tx *state.Tx) error { tx.Put(rec(1, state.Active)); return nil })
		s2, err := b.Open(t)
		if err == nil {
			defer s2.Close()
			err = s2.Update(ctx, func(tx *state.Tx) error { tx.Put(rec(2, state.Active)); return nil })
			if err == nil {
				t.Fatal("a second writer opened and wrote while the first holds the store")
			}
		}
		mustUpdate(t, s, func(tx *state.Tx) error { tx.Put(rec(3, state.Active)); return nil })
		if st := snap(t, s); st.Find("r2") != nil || st.Find("r3") == nil {
			t.Fatalf("state with two writers: %s", dump(st))
		}
	})

	t.Run("FencedWriterIsRefused", func(t *testing.T) {
		b := newBackend(t)
		s := open(t, b)
		mustUpdate(t, s, func(tx *state.Tx) error { tx.Put(rec(1, state.Active)); return nil })
		b.Fence(t, s)
		err := s.Update(ctx, func(tx *state.Tx) error { tx.Put(rec(2, state.Active)); return nil })
		if !state.IsFenced(err) {
			t.Fatalf("write after losing the right to write: %v, want ErrFenced", err)
		}
		b.Crash(t, s)
		s = open(t, b)
		defer s.Close()
		if st := snap(t, s); st.Find("r2") != nil || st.Find("r1") == nil {
			t.Fatalf("after a refused write: %s", dump(st))
		}
	})

	t.Run("ClosedStoreIsRefused", func(t *testing.T) {
		s := open(t, newBackend(t))
		s.Close()
		if err := s.Update(ctx, func(tx *state.Tx) error { tx.Put(rec(1, state.Active)); return nil }); !state.IsFenced(err) {
			t.Fatalf("write after Close: %v, want ErrFenced", err)
		}
	})
}

func mustUpdate(t *testing.T, s state.Store, fn func(*state.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

var base = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func rec(i int, p state.Phase) *state.Record {
	id := "r" + strconv.Itoa(i)
	at := base.Add(time.Duration(i) * time.Hour)
	return &state.Record{ID: id, Key: "rec" + strconv.Itoa(i) + "@" + at.Format(time.RFC3339), Window: "rec" + strconv.Itoa(i) + "@" + at.Format(time.RFC3339),
		Recording: "rec" + strconv.Itoa(i), Provider: "p", Type: "tencent", Start: at, End: at.Add(time.Hour), Phase: p, Created: base, Updated: base}
}

// script is a sequence of writes shaped like an apply: intents, results,
// a forget, a prune and the reconcile time.
var script = []func(tx *state.Tx) error{
	func(tx *state.Tx) error { tx.Put(rec(1, state.Pending)); return nil },
	func(tx *state.Tx) error { tx.Put(rec(2, state.Pending)); tx.Put(rec(3, state.Pending)); return nil },
	func(tx *state.Tx) error { return set(tx, "r1", state.Active, "created") },
	func(tx *state.Tx) error { return set(tx, "r2", state.Waiting, "waiting") },
	func(tx *state.Tx) error { return set(tx, "r3", state.Failed, "TaskConflict") },
	func(tx *state.Tx) error { tx.Put(rec(4, state.Pending)); return set(tx, "r2", state.Active, "started") },
	func(tx *state.Tx) error { tx.Drop("r3"); return nil },
	func(tx *state.Tx) error { return set(tx, "r1", state.Done, "stopped") },
	func(tx *state.Tx) error { tx.SetLastReconcile(base.Add(time.Hour)); return nil },
	func(tx *state.Tx) error { tx.Prune(base.Add(48 * time.Hour)); return nil },
	func(tx *state.Tx) error { tx.Put(rec(5, state.Active)); tx.Drop("r4"); return nil },
	func(tx *state.Tx) error { return set(tx, "r5", state.Done, "deleted") },
}

func set(tx *state.Tx, id string, p state.Phase, reason string) error {
	r := tx.Get(id)
	if r == nil {
		return fmt.Errorf("record %s missing", id)
	}
	r.Phase, r.Reason, r.Updated = p, reason, r.Updated.Add(time.Minute)
	tx.Put(r)
	return nil
}

// runScript applies count steps of the script (from step from) and returns the state.
func runScript(t *testing.T, s state.Store, count int, from ...int) *state.State {
	t.Helper()
	start := 0
	if len(from) > 0 {
		start = from[0]
	}
	for _, step := range script[start : start+count] {
		mustUpdate(t, s, step)
	}
	st, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func tryScript(s state.Store) error {
	for _, step := range script {
		if err := s.Update(context.Background(), step); err != nil {
			return err
		}
	}
	return nil
}

// sameState compares what a user of the state relies on: lineage, serial,
// last reconcile and every record.
func sameState(t *testing.T, when string, got, want *state.State) {
	t.Helper()
	if got.Lineage != want.Lineage || got.Serial != want.Serial || !got.LastReconcile.Equal(want.LastReconcile) {
		t.Fatalf("%s: lineage/serial/last %q/%d/%v, want %q/%d/%v", when, got.Lineage, got.Serial, got.LastReconcile, want.Lineage, want.Serial, want.LastReconcile)
	}
	g, w := byID(got), byID(want)
	if len(g) != len(w) {
		t.Fatalf("%s: records\n got %s\nwant %s", when, dump(got), dump(want))
	}
	for id, r := range w {
		gr, ok := g[id]
		if !ok || !sameRecord(gr, r) {
			t.Fatalf("%s: record %s\n got %+v\nwant %+v", when, id, gr, r)
		}
	}
}

func sameRecord(a, b *state.Record) bool {
	ac, bc := *a, *b
	if !ac.Start.Equal(bc.Start) || !ac.End.Equal(bc.End) || !ac.Created.Equal(bc.Created) || !ac.Updated.Equal(bc.Updated) {
		return false
	}
	ac.Start, ac.End, ac.Created, ac.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	bc.Start, bc.End, bc.Created, bc.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(ac, bc)
}

func byID(st *state.State) map[string]*state.Record {
	m := map[string]*state.Record{}
	for _, r := range st.Records {
		m[r.ID] = r
	}
	return m
}

func dump(st *state.State) string {
	var ids []string
	for _, r := range st.Records {
		ids = append(ids, r.ID+":"+string(r.Phase))
	}
	sort.Strings(ids)
	return fmt.Sprintf("serial %d %v", st.Serial, ids)
}

package state

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLocalStoreRoundTripLockAndMode(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "state")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx *Tx) error {
		tx.Put(&Record{ID: "a", Key: "news@2026-11-21T11:00:00Z", Phase: Active, Updated: time.Now()})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + ".journal")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode %v, want 0600", fi.Mode().Perm())
	}
	// A second writer gets a clear error naming the holder's pid.
	_, err = Open(path)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want LockedError", err)
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("lock error does not name the holder: %v", err)
	}
	// Readers need no lock and see the whole state.
	st, err := Read(path)
	if err != nil || len(st.Records) != 1 || st.Serial != 1 || st.Lineage == "" {
		t.Fatalf("Read: %+v, %v", st, err)
	}
	s.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot after Close: %v (mode %v), want 0600", err, fi.Mode().Perm())
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	defer s2.Close()
	first, _ := s2.Snapshot(ctx)
	lineage := first.Lineage
	if err := s2.Update(ctx, func(tx *Tx) error { r := tx.Get("a"); r.Phase = Done; tx.Put(r); return nil }); err != nil {
		t.Fatal(err)
	}
	snap, _ := s2.Snapshot(ctx)
	if snap.Serial != 2 || snap.Lineage != lineage || snap.Records[0].Phase != Done {
		t.Fatalf("serial/lineage not kept: %+v", snap)
	}
	// No temp files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".state-") {
			t.Fatalf("temp file left: %s", e.Name())
		}
	}
}

func TestConcurrentUpdatesAreAllDurable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := s.Update(ctx, func(tx *Tx) error {
				tx.Put(&Record{ID: strconv.Itoa(i), Phase: Active})
				return nil
			}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	st, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Records) != 50 {
		t.Fatalf("durable records = %d, want 50", len(st.Records))
	}
	if st.Serial == 0 || st.Serial > 50 {
		t.Fatalf("serial %d out of range", st.Serial)
	}
}

func TestCorruptStateIsAnErrorNotEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt state read as %v", err)
	}
}

func TestPruneKeepsLiveAndRecent(t *testing.T) {
	now := time.Now()
	st := &State{Records: []*Record{
		{ID: "old-done", Phase: Done, Updated: now.Add(-30 * 24 * time.Hour)},
		{ID: "old-live", Phase: Active, Updated: now.Add(-30 * 24 * time.Hour)},
		{ID: "new-done", Phase: Done, Updated: now},
	}}
	tx := NewTx(st)
	tx.Prune(now.Add(-7 * 24 * time.Hour))
	st.Apply(tx.Changes())
	if len(st.Records) != 2 || st.Find("old-done") != nil {
		t.Fatalf("prune kept %v", st.Records)
	}
}

func TestJournalReplayTornLineAndCompaction(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := s.Update(ctx, func(tx *Tx) error {
			tx.Put(&Record{ID: strconv.Itoa(i), Phase: Pending})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(ctx, func(tx *Tx) error { r := tx.Get("3"); r.Phase = Active; tx.Put(r); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx *Tx) error { tx.Prune(time.Now()); tx.Drop("0"); return nil }); err != nil {
		t.Fatal(err)
	}
	// Only the changed record is appended, not the whole state.
	j, _ := os.ReadFile(path + ".journal")
	lines := strings.Split(strings.TrimSpace(string(j)), "\n")
	if !strings.Contains(lines[10], `"id":"3"`) || strings.Contains(lines[10], `"id":"4"`) {
		t.Fatalf("journal entry carries more than the changed record: %s", lines[10])
	}
	// A reader (no lock) sees the journal replayed over the snapshot.
	st, err := Read(path)
	if err != nil || len(st.Records) != 9 || st.Find("3").Phase != Active || st.Find("0") != nil || st.Serial != 12 {
		t.Fatalf("replayed state: %+v %v", st, err)
	}
	// A crash mid-append leaves a torn last line: it was never acknowledged and is ignored.
	f, _ := os.OpenFile(path+".journal", os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"serial":13,"lineage":"x","put":[{"id":"zz`)
	f.Close()
	if st, err = Read(path); err != nil || len(st.Records) != 9 || st.Serial != 12 {
		t.Fatalf("torn line: %v %+v", err, st)
	}
	// A kill -9 (no Close): the next Open folds the journal into the snapshot.
	s.lock.Close()
	s.lock = nil
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if snap, _ := s2.Snapshot(ctx); len(snap.Records) != 9 || snap.Serial != 12 {
		t.Fatalf("after reopen: %+v", snap)
	}
	if b, _ := os.ReadFile(path + ".journal"); len(b) != 0 {
		t.Fatalf("journal not folded on open: %d bytes", len(b))
	}
}

// BenchmarkUpdateOneOf10k: one record changes in a state of 10,000 (an
// intent or a result during a large apply); the journal writes just that
// record, so the cost does not grow with the size of the state.
func BenchmarkUpdateOneOf10k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state")
	s, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	s.Update(ctx, func(tx *Tx) error {
		for i := 0; i < 10000; i++ {
			tx.Put(&Record{ID: strconv.Itoa(i), Key: "rec@2026-11-21T10:00:00Z#" + strconv.Itoa(i), Phase: Active})
		}
		return nil
	})
	i := 0
	b.ResetTimer()
	for b.Loop() {
		id := strconv.Itoa(i % 10000)
		i++
		if err := s.Update(ctx, func(tx *Tx) error { r := tx.Get(id); r.Reason = "x" + strconv.Itoa(i); tx.Put(r); return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// A lock this process released can stay held for a moment by a child that
// shares the open file (between fork and exec, with parallel tests or a
// daemon spawning hooks): reopening waits for it instead of failing.
func TestReopenWhileChildHoldsReleasedLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "0.3")
	child.ExtraFiles = []*os.File{s.lock} // the child shares the locked file
	if err := child.Start(); err != nil {
		t.Skipf("cannot start a child: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen while a child of ours held the released lock: %v", err)
	}
	s2.Close()
	<-done
}

// A plan made before the state existed pins the lineage its apply finds:
// Ensure creates the store once, with its lineage, and never again.
func TestEnsureFixesTheLineageOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	if err := Ensure(path); err != nil {
		t.Fatal(err)
	}
	a, err := Read(path)
	if err != nil || a.Lineage == "" {
		t.Fatalf("after Ensure: %+v %v", a, err)
	}
	if err := Ensure(path); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b, _ := s.Snapshot(context.Background())
	if b.Lineage != a.Lineage {
		t.Fatalf("lineage moved from %q to %q", a.Lineage, b.Lineage)
	}
}

// A journal written by a recordctl that did not cut torn appends back has
// the next acknowledged entry fused onto the torn one: it is recovered,
// and a garbage line between entries stays an error.
func TestReplayRecoversEntryFusedOntoTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	j := `{"serial":1,"lineage":"L","put":[{"id":"a","phase":"pending"}]}` + "\n" +
		`{"serial":2,"lineage":"L","put":[{"id":"b","ph` + `{"serial":2,"lineage":"L","put":[{"id":"a","phase":"active"}]}` + "\n" +
		`{"serial":3,"lineage":"L","put":[{"id":"c","phase":"active"}]}` + "\n"
	if err := os.WriteFile(path+".journal", []byte(j), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Serial != 3 || st.Find("a").Phase != Active || st.Find("b") != nil || st.Find("c") == nil {
		t.Fatalf("replayed: serial %d records %v", st.Serial, st.Records)
	}
	bad := `{"serial":1,"lineage":"L"}` + "\nnot json\n" + `{"serial":2,"lineage":"L"}` + "\n"
	os.WriteFile(path+".journal", []byte(bad), 0o600)
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "corrupt journal line 2") {
		t.Fatalf("garbage between entries read as %v", err)
	}
}

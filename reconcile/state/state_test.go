package state

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLocalStoreRoundTripLockAndMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "state")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(st *State) {
		st.Records = append(st.Records, &Record{ID: "a", Key: "news@2026-11-21T11:00:00Z", Phase: Active, Updated: time.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, want 0600", fi.Mode().Perm())
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
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	defer s2.Close()
	lineage := s2.Snapshot().Lineage
	if err := s2.Update(func(st *State) { st.Records[0].Phase = Done }); err != nil {
		t.Fatal(err)
	}
	snap := s2.Snapshot()
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
			if err := s.Update(func(st *State) {
				st.Records = append(st.Records, &Record{ID: strconv.Itoa(i), Phase: Active})
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
	st.Prune(now.Add(-7 * 24 * time.Hour))
	if len(st.Records) != 2 || st.Find("old-done") != nil {
		t.Fatalf("prune kept %v", st.Records)
	}
}

package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Local is the default store: one JSON file written with fsync and an
// atomic rename (mode 0600), guarded by an exclusive lock file so two
// processes cannot write it at once. Readers need no lock (see Read).
type Local struct {
	path string
	lock *os.File

	mu      sync.Mutex // guards st and gen
	st      *State
	gen     uint64     // bumped on every Update
	saveMu  sync.Mutex // serialises writes; waiters share one fsync (group commit)
	savedAt uint64
}

// ErrLocked is returned when another process holds the state lock.
var ErrLocked = errors.New("state is locked by another recordctl process")

// LockedError names the process holding the lock.
type LockedError struct {
	Path string
	PID  int
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("state %s is locked by another recordctl process (pid %d); only one apply or daemon may write it at a time", e.Path, e.PID)
	}
	return fmt.Sprintf("state %s is locked by another recordctl process; only one apply or daemon may write it at a time", e.Path)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// Open locks and loads the store at path, creating it (and its folder,
// mode 0700) if missing. Close releases the lock.
func Open(path string) (*Local, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	lf, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path + ".lock")
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		lf.Close()
		return nil, &LockedError{Path: path, PID: pid}
	}
	_ = lf.Truncate(0)
	_, _ = lf.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	st, err := Read(path)
	if err != nil {
		lf.Close()
		return nil, err
	}
	return &Local{path: path, lock: lf, st: st}, nil
}

// Read loads the state at path without locking (writes are atomic renames,
// so a reader always sees a whole state). A missing file is an empty state.
func Read(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	var st State
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("state %s: corrupt: %v", path, err)
	}
	if st.Version > 1 {
		return nil, fmt.Errorf("state %s: version %d is newer than this recordctl understands", path, st.Version)
	}
	return &st, nil
}

// Snapshot returns a copy of the current state.
func (l *Local) Snapshot() *State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Clone()
}

// Update applies fn to the state and makes the result durable before
// returning. Concurrent callers share fsyncs.
func (l *Local) Update(fn func(*State)) error {
	l.mu.Lock()
	fn(l.st)
	l.gen++
	my := l.gen
	l.mu.Unlock()

	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	if l.savedAt >= my {
		return nil // a later save already covered this change
	}
	l.mu.Lock()
	if l.st.Lineage == "" {
		l.st.Lineage = NewID()
	}
	if l.st.Version == 0 {
		l.st.Version = 1
	}
	l.st.Serial++
	gen := l.gen
	b, err := json.MarshalIndent(l.st, "", " ")
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := writeAtomic(l.path, b); err != nil {
		return err
	}
	l.savedAt = gen
	return nil
}

// Close releases the lock.
func (l *Local) Close() error {
	if l.lock == nil {
		return nil
	}
	err := l.lock.Close()
	l.lock = nil
	return err
}

// Path is the state file.
func (l *Local) Path() string { return l.path }

func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

package state

import (
	"bufio"
	"bytes"
	"context"
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
	"time"
)

// Local is the default store: a JSON snapshot plus an append-only journal
// beside it (PATH and PATH.journal, mode 0600), guarded by an exclusive lock
// file so two processes cannot write at once. Each Update appends only the
// records it changed and fsyncs; the snapshot is rewritten (fsync + atomic
// rename) when the journal grows past the state's size, and on Close.
// Readers need no lock (see Read).
type Local struct {
	path string
	lock *os.File

	mu sync.Mutex // guards st
	st *State

	saveMu  sync.Mutex // serialises writes
	journal *os.File
	entries int // journal lines since the last snapshot
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

// entry is one journal line: the state's header and the records an Update
// changed or dropped.
type entry struct {
	Serial  uint64    `json:"serial"`
	Lineage string    `json:"lineage"`
	Last    string    `json:"last_reconcile,omitempty"`
	Put     []*Record `json:"put,omitempty"`
	Drop    []string  `json:"drop,omitempty"`
}

// ownLockWait bounds how long Open waits for a lock that names this very
// process: one it released a moment ago (Close, then Open again) can still
// be held by a child of ours between fork and exec, which shares the open
// file. A lock naming another process fails at once.
const ownLockWait = 2 * time.Second

// lock takes the exclusive lock on lf without blocking on another holder.
func lock(lf *os.File) error {
	deadline := time.Now().Add(ownLockWait)
	for {
		err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return fmt.Errorf("state: locking %s: %w", lf.Name(), err)
		}
		b, _ := os.ReadFile(lf.Name())
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid != os.Getpid() || time.Now().After(deadline) {
			return &LockedError{Path: strings.TrimSuffix(lf.Name(), ".lock"), PID: pid}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

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
	if err := lock(lf); err != nil {
		lf.Close()
		return nil, err
	}
	_ = lf.Truncate(0)
	_, _ = lf.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	st, err := Read(path)
	if err != nil {
		lf.Close()
		return nil, err
	}
	l := &Local{path: path, lock: lf, st: st}
	// Fold a journal left by a previous process into a fresh snapshot.
	if err := l.compact(); err != nil {
		lf.Close()
		return nil, err
	}
	return l, nil
}

// Read loads the state at path without locking: the snapshot, then the
// journal replayed on top. Snapshots change by atomic rename, so a reader
// that raced a compaction notices the new snapshot and reads again. A
// missing file is an empty state.
func Read(path string) (*State, error) {
	for try := 0; ; try++ {
		st, snap, err := readSnapshot(path)
		if err != nil {
			return nil, err
		}
		if err := replay(path+".journal", st); err != nil {
			return nil, err
		}
		again, _ := os.Stat(path)
		if try >= 4 || sameFile(snap, again) {
			return st, nil
		}
	}
}

func sameFile(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b)
}

func readSnapshot(path string) (*State, fs.FileInfo, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: 1}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	var st State
	if err := json.NewDecoder(bufio.NewReader(f)).Decode(&st); err != nil {
		return nil, nil, fmt.Errorf("state %s: corrupt: %v", path, err)
	}
	if st.Version > 1 {
		return nil, nil, fmt.Errorf("state %s: version %d is newer than this recordctl understands", path, st.Version)
	}
	return &st, fi, nil
}

// replay applies journal entries newer than the snapshot. A torn last line
// (a crash mid-append, before its fsync returned) was never acknowledged
// and is ignored.
func replay(path string, st *State) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	idx := map[string]int{}
	for i, r := range st.Records {
		idx[r.ID] = i
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(line, &e); err != nil {
			if i == len(lines)-1 {
				break // torn last line: never acknowledged
			}
			return fmt.Errorf("state %s: corrupt journal line %d: %v", path, i+1, err)
		}
		if e.Serial <= st.Serial {
			continue // already in the snapshot
		}
		st.Serial, st.Lineage = e.Serial, e.Lineage
		if e.Last != "" {
			_ = st.LastReconcile.UnmarshalText([]byte(e.Last))
		}
		for _, r := range e.Put {
			if i, ok := idx[r.ID]; ok {
				st.Records[i] = r
			} else {
				idx[r.ID] = len(st.Records)
				st.Records = append(st.Records, r)
			}
		}
		if len(e.Drop) > 0 {
			drop := map[string]bool{}
			for _, id := range e.Drop {
				drop[id] = true
			}
			out := st.Records[:0]
			for _, r := range st.Records {
				if !drop[r.ID] {
					out = append(out, r)
				}
			}
			st.Records = out
			idx = map[string]int{}
			for i, r := range st.Records {
				idx[r.ID] = i
			}
		}
	}
	return nil
}

// Snapshot returns a copy of the durable state.
func (l *Local) Snapshot(ctx context.Context) (*State, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Clone(), nil
}

// Update runs fn over the state and appends what it changed to the
// journal (fsync) before the change reaches memory.
func (l *Local) Update(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	l.mu.Lock()
	tx := NewTx(l.st)
	err := fn(tx)
	lineage, serial, n := l.st.Lineage, l.st.Serial, len(l.st.Records)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	c := tx.Changes()
	if c.Empty() {
		return nil
	}
	if lineage == "" {
		lineage = NewID()
	}
	e := entry{Serial: serial + 1, Lineage: lineage, Put: c.Put, Drop: c.Drop}
	if c.LastReconcile != nil {
		b, _ := c.LastReconcile.MarshalText()
		e.Last = string(b)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := l.append(append(line, '\n')); err != nil {
		return err
	}
	l.mu.Lock()
	l.st.Apply(c)
	l.st.Serial, l.st.Lineage = e.Serial, lineage
	if l.st.Version == 0 {
		l.st.Version = 1
	}
	l.mu.Unlock()
	if l.entries > max(256, n) {
		return l.compact()
	}
	return nil
}

func (l *Local) append(b []byte) error {
	if l.journal == nil {
		f, err := os.OpenFile(l.path+".journal", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("state: %w", err)
		}
		l.journal = f
	}
	if _, err := l.journal.Write(b); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := l.journal.Sync(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	l.entries++
	return nil
}

// compact writes the whole state as the new snapshot and empties the
// journal. Replaying a journal over a snapshot that already holds it is a
// no-op (entries carry serials), so a crash in between loses nothing.
// Callers hold saveMu (or own l exclusively, as Open does).
func (l *Local) compact() error {
	l.mu.Lock()
	b, err := json.MarshalIndent(l.st, "", " ")
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if _, err := os.Stat(l.path + ".journal"); errors.Is(err, fs.ErrNotExist) && l.entries == 0 {
		if _, err := os.Stat(l.path); err == nil || len(l.st.Records) == 0 {
			return nil // nothing to fold in
		}
	}
	if err := writeAtomic(l.path, b); err != nil {
		return err
	}
	if l.journal != nil {
		l.journal.Close()
		l.journal = nil
	}
	if err := os.Truncate(l.path+".journal", 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state: %w", err)
	}
	l.entries = 0
	return nil
}

// Close folds the journal into the snapshot and releases the lock.
func (l *Local) Close() error {
	if l.lock == nil {
		return nil
	}
	l.saveMu.Lock()
	err := l.compact()
	if l.journal != nil {
		l.journal.Close()
		l.journal = nil
	}
	l.saveMu.Unlock()
	if cerr := l.lock.Close(); err == nil {
		err = cerr
	}
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

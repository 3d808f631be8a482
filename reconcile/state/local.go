package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/recordctl/recordctl/internal/clock"
)

// Local is the default store: a JSON snapshot plus an append-only journal
// beside it (PATH and PATH.journal, mode 0600), guarded by an exclusive lock
// file so two processes cannot write at once. Each Update appends only the
// records it changed and fsyncs before the change reaches memory; an append
// that fails (disk full, I/O error) is cut back to the journal's last good
// length, so nothing acknowledged is ever lost and the store works again
// once the disk does. The snapshot is rewritten (fsync + atomic rename) when
// the journal grows past the state's size, and on Close. Readers need no
// lock (see Read).
type Local struct {
	path string
	lock *os.File
	opts Options

	mu sync.Mutex // guards st
	st *State

	saveMu  sync.Mutex // serialises writes
	journal File
	good    int64 // journal length after the last acknowledged append
	cut     bool  // a failed append could not be cut back yet
	entries int   // journal lines since the last snapshot
	closed  bool
}

// File is the journal as Local appends to it (an *os.File opened with
// O_APPEND). Options.OpenJournal may wrap it (tests inject a full disk).
type File interface {
	Write(b []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Options tune OpenWith.
type Options struct {
	// Clock paces the wait for a lock this process just released (nil: real time).
	Clock clock.Clock
	// OpenJournal opens the journal for appending (nil: the file on disk).
	OpenJournal func(path string) (File, error)
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
func lock(lf *os.File, c clock.Clock) error {
	deadline := c.Now().Add(ownLockWait)
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
		if pid != os.Getpid() || c.Now().After(deadline) {
			return &LockedError{Path: strings.TrimSuffix(lf.Name(), ".lock"), PID: pid}
		}
		_ = c.Sleep(context.Background(), 10*time.Millisecond)
	}
}

// Open locks and loads the store at path, creating it (and its folder,
// mode 0700) if missing. Close releases the lock.
func Open(path string) (*Local, error) { return OpenWith(path, Options{}) }

// OpenWith is Open with options. A store created here gets its lineage at
// once, so even an empty state is told apart from every other one.
func OpenWith(path string, opts Options) (*Local, error) {
	opts.Clock = clock.Or(opts.Clock)
	if opts.OpenJournal == nil {
		opts.OpenJournal = func(path string) (File, error) {
			return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	lf, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if err := lock(lf, opts.Clock); err != nil {
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
	st.index()
	l := &Local{path: path, lock: lf, st: st, opts: opts}
	fresh := st.Lineage == ""
	if fresh {
		st.Lineage, st.Version = NewID(), 1
	}
	// Fold a journal left by a previous process into a fresh snapshot
	// (and write a new store's lineage down).
	if err := l.compact(fresh); err != nil {
		lf.Close()
		return nil, err
	}
	return l, nil
}

// Ensure creates the store at path if it does not exist yet, so that its
// lineage is fixed before anything reads it (a plan made on a state that
// did not exist must pin the lineage its apply will find). A store that
// exists, or is being created by another process, is left alone.
func Ensure(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if _, err := os.Stat(path + ".journal"); err == nil {
		return nil
	}
	l, err := Open(path)
	if errors.Is(err, ErrLocked) {
		return nil
	}
	if err != nil {
		return err
	}
	return l.Close()
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
			// A torn append that an older recordctl did not cut back has
			// the next, acknowledged entry fused onto it: keep that one.
			j := bytes.LastIndex(line, []byte(`{"serial":`))
			if j <= 0 || json.Unmarshal(line[j:], &e) != nil {
				return fmt.Errorf("state %s: corrupt journal line %d: %v", path, i+1, err)
			}
		}
		if e.Serial <= st.Serial {
			continue // already in the snapshot
		}
		st.Serial, st.Lineage = e.Serial, e.Lineage
		c := Changes{Put: e.Put, Drop: e.Drop}
		if e.Last != "" {
			var last time.Time
			if last.UnmarshalText([]byte(e.Last)) == nil {
				c.LastReconcile = &last
			}
		}
		st.Apply(c)
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
	if l.closed {
		return &FencedError{Reason: "the local state " + l.path + " was closed; this process no longer holds its lock"}
	}
	if err := l.stillLocked(); err != nil {
		return err
	}
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
		// The write above is durable; a failed compaction leaves the
		// journal as it is and is retried at the next threshold.
		_ = l.compact(false)
	}
	return nil
}

// append writes b to the journal and fsyncs it. A failed or short write
// (a full disk) or a failed fsync is cut back to the last good length, so
// the next append does not fuse with a torn line and nothing acknowledged
// is lost.
func (l *Local) append(b []byte) error {
	if l.journal == nil {
		f, err := l.opts.OpenJournal(l.path + ".journal")
		if err != nil {
			return fmt.Errorf("state: %w", err)
		}
		if fi, err := os.Stat(l.path + ".journal"); err == nil {
			l.good = fi.Size()
		}
		l.journal = f
	}
	if l.cut {
		if err := l.cutBack(); err != nil {
			return err
		}
	}
	n, err := l.journal.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = l.journal.Sync()
	}
	if err != nil {
		l.cut = true
		if cerr := l.cutBack(); cerr != nil {
			return fmt.Errorf("state: writing %s.journal: %w (and cutting the partial write back failed: %v; retried before the next write)", l.path, err, cerr)
		}
		return fmt.Errorf("state: writing %s.journal: %w (nothing was recorded; the journal is as it was)", l.path, err)
	}
	l.good += int64(len(b))
	l.entries++
	return nil
}

// cutBack truncates the journal to its last good length.
func (l *Local) cutBack() error {
	if err := l.journal.Truncate(l.good); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if err := l.journal.Sync(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	l.cut = false
	return nil
}

// compact writes the whole state as the new snapshot and empties the
// journal. Replaying a journal over a snapshot that already holds it is a
// no-op (entries carry serials), so a crash in between loses nothing.
// Callers hold saveMu (or own l exclusively, as Open does). force writes
// the snapshot even when there is nothing to fold in.
func (l *Local) compact(force bool) error {
	l.mu.Lock()
	b, err := json.MarshalIndent(l.st, "", " ")
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if _, err := os.Stat(l.path + ".journal"); !force && errors.Is(err, fs.ErrNotExist) && l.entries == 0 {
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
	l.entries, l.good, l.cut = 0, 0, false
	return nil
}

// Close folds the journal into the snapshot and releases the lock.
func (l *Local) Close() error {
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	if l.lock == nil {
		return nil
	}
	l.closed = true
	var err error
	if l.stillLocked() == nil { // never fold into a state another process may own now
		err = l.compact(false)
	}
	if l.journal != nil {
		l.journal.Close()
		l.journal = nil
	}
	if cerr := l.lock.Close(); err == nil {
		err = cerr
	}
	l.lock = nil
	return err
}

// stillLocked checks that the lock file this process holds is still the
// one at the lock path: if it was removed or replaced (a cleanup, a broken
// lock), another process may be writing, and this one must stop.
func (l *Local) stillLocked() error {
	held, err := l.lock.Stat()
	if err != nil {
		return &FencedError{Reason: fmt.Sprintf("the lock on %s is gone: %v", l.path, err)}
	}
	now, err := os.Stat(l.path + ".lock")
	if err != nil || !os.SameFile(held, now) {
		return &FencedError{Reason: "the lock file " + l.path + ".lock was removed or replaced; another process may write this state"}
	}
	return nil
}

// Abandon lets the store go as a killed process would: the lock is
// released (as the kernel releases it), the journal is not folded, and
// every later write is refused. Crash tests use it; shutdown uses Close.
func (l *Local) Abandon() {
	l.saveMu.Lock()
	defer l.saveMu.Unlock()
	l.closed = true
	if l.journal != nil {
		l.journal.Close()
		l.journal = nil
	}
	if l.lock != nil {
		l.lock.Close()
		l.lock = nil
	}
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

package state_test

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/statetest"
)

// The local store passes the conformance suite every Store must pass.
func TestLocalConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) statetest.Backend {
		return &localBackend{path: filepath.Join(t.TempDir(), "state")}
	})
}

// localBackend is a state folder on disk whose journal can be made to
// behave like a full disk.
type localBackend struct {
	path string
	mu   sync.Mutex
	full bool // appends write half their bytes, then fail with ENOSPC
}

func (b *localBackend) Open(t *testing.T) (state.Store, error) {
	return state.OpenWith(b.path, state.Options{OpenJournal: func(path string) (state.File, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		return &diskFile{File: f, b: b}, nil
	}})
}

func (b *localBackend) Crash(t *testing.T, s state.Store) { s.(*state.Local).Abandon() }

// Fence removes the lock file, as a cleanup script or a second process
// breaking the lock would.
func (b *localBackend) Fence(t *testing.T, s state.Store) {
	if err := os.Remove(b.path + ".lock"); err != nil {
		t.Fatal(err)
	}
}

func (b *localBackend) FailWrites(t *testing.T, s state.Store) (func(), bool) {
	b.mu.Lock()
	b.full = true
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		b.full = false
		b.mu.Unlock()
	}, true
}

func (b *localBackend) DamageTail(t *testing.T, torn bool) bool {
	f, err := os.OpenFile(b.path+".journal", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if torn {
		_, err = f.WriteString(`{"serial":99,"lineage":"x","put":[{"id":"torn`)
	} else {
		_, err = f.WriteString("\x00\x00 not an entry\n{\"serial\":1000,\"lineage\":\"x\"}\n")
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// diskFile is the journal on a disk that may be full: a write then lands
// only in part, as write(2) does when space runs out mid-buffer.
type diskFile struct {
	*os.File
	b *localBackend
}

func (f *diskFile) Write(p []byte) (int, error) {
	f.b.mu.Lock()
	full := f.b.full
	f.b.mu.Unlock()
	if !full {
		return f.File.Write(p)
	}
	n, _ := f.File.Write(p[:len(p)/2])
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

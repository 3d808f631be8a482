package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recordctl/recordctl/reconcile/state"
)

// lockedBuffer is an output sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A second daemon on the same state gets the lock holder's pid and exit 1.
func TestRunSecondDaemonLockError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	st, err := state.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out, errb bytes.Buffer
	code := run([]string{"run", filepath.Join("..", "..", "examples", "quickstart"), "--state", path, "--listen", ""}, strings.NewReader(""), &out, &errb)
	want := "locked by another recordctl process (pid " + strconv.Itoa(os.Getpid()) + ")"
	if code != 1 || !strings.Contains(errb.String(), want) {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errb.String(), want)
	}
}

func TestRunNeedsADirectory(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"run", filepath.Join(t.TempDir(), "missing"), "--listen", ""}, strings.NewReader(""), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "missing: folder does not exist") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// The quickstart on the emulator: tasks are created at start; SIGTERM ends
// the daemon with exit 0 and no task is stopped or deleted.
func TestRunQuickstartEmulateSIGTERM(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	var out lockedBuffer
	errb := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"run", filepath.Join("..", "..", "examples", "quickstart"), "--emulate", "--lookahead", "10m",
			"--state", path, "--listen", "127.0.0.1:0"}, strings.NewReader(""), &out, errb)
	}()
	deadline := time.Now().Add(20 * time.Second)
	// Each provider's worker logs its own start reconcile: wait until one
	// has created a task.
	for !strings.Contains(errb.String(), "result=created") {
		if time.Now().After(deadline) {
			t.Fatalf("no reconcile logged:\n%s", errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("exited early with %d:\n%s", code, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after SIGTERM:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit after SIGTERM")
	}
	logs := errb.String()
	for _, want := range []string{"EMULATOR MODE", "action=create", "result=created", "daemon stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "action=stop") || strings.Contains(logs, "action=delete") {
		t.Errorf("tasks were stopped on shutdown:\n%s", logs)
	}
	st, err := state.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Live()) == 0 {
		t.Fatalf("no live task in the state after the run")
	}
	for _, r := range st.Live() {
		if r.Intent != "" || r.Task == nil {
			t.Errorf("record %s left with intent %q, task %v", r.Key, r.Intent, r.Task)
		}
	}
}

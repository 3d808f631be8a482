package daemon

import (
	"context"
	"fmt"
	"github.com/recordctl/recordctl/internal/clock/clocktest"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/recordctl/recordctl/spec"
)

func newTestWatcher(t *testing.T, debounce time.Duration) (*watcher, *atomic.Int64) {
	t.Helper()
	var events atomic.Int64
	w, err := newWatcher(slog.New(slog.DiscardHandler), debounce, func(kind string) {
		if kind == "event" {
			events.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go w.run(ctx)
	t.Cleanup(func() {
		cancel()
		w.close()
	})
	return w, &events
}

// A burst of writes becomes fewer signals than events (usually one).
func TestWatcherDebounces(t *testing.T) {
	dir := t.TempDir()
	w, events := newTestWatcher(t, 200*time.Millisecond)
	if n := w.sync(spec.Walk(dir).Dirs); n != 1 {
		t.Fatalf("watching %d folders, want 1", n)
	}
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.yaml", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-w.changed:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal after a burst of writes")
	}
	signals := int64(1)
	for {
		select {
		case <-w.changed:
			signals++
			continue
		case <-time.After(500 * time.Millisecond):
		}
		break
	}
	if signals >= events.Load() {
		t.Fatalf("%d signals for %d events: not debounced", signals, events.Load())
	}
}

// An event overflow asks for a rescan at once.
func TestWatcherOverflowRescans(t *testing.T) {
	w, _ := newTestWatcher(t, time.Hour)
	w.fs.Errors <- fsnotify.ErrEventOverflow
	select {
	case <-w.changed:
	case <-time.After(10 * time.Second):
		t.Fatal("no rescan signal after an overflow")
	}
}

// sync drops folders that are gone and adds new ones.
func TestWatcherSync(t *testing.T) {
	dir := t.TempDir()
	w, _ := newTestWatcher(t, time.Hour)
	w.sync(spec.Walk(dir).Dirs)
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	if n := w.sync(spec.Walk(dir).Dirs); n != 2 {
		t.Fatalf("added %d folders, want 2", n)
	}
	os.RemoveAll(filepath.Join(dir, "a"))
	w.sync(spec.Walk(dir).Dirs)
	if len(w.watched) != 1 {
		t.Fatalf("watched = %v", w.watched)
	}
}

// When the spec directory is a symlink that gets re-pointed (git-sync),
// the swap is seen.
func TestSymlinkedRootSwap(t *testing.T) {
	h := newHarness(t)
	h.providers()
	start := secs(time.Now()).Add(time.Hour)
	base := t.TempDir()
	v1, v2 := filepath.Join(base, "v1"), filepath.Join(base, "v2")
	for _, v := range []string{v1, v2} {
		os.MkdirAll(v, 0o755)
		b, _ := os.ReadFile(filepath.Join(h.dir, "providers.yaml"))
		os.WriteFile(filepath.Join(v, "providers.yaml"), b, 0o644)
	}
	os.WriteFile(filepath.Join(v1, "a.yaml"), []byte(rec("a", "tx", "a", start, start.Add(time.Hour))), 0o644)
	os.WriteFile(filepath.Join(v2, "a.yaml"), []byte(rec("a", "tx", "a", start, start.Add(time.Hour))+"---\n"+rec("b", "tx", "b", start, start.Add(time.Hour))), 0o644)
	link := filepath.Join(base, "current")
	if err := os.Symlink(v1, link); err != nil {
		t.Fatal(err)
	}
	h.dir = link
	h.start()
	h.waitReconcile(0)
	h.waitFor("a", func() bool { return h.liveTx()["a"] == 1 })
	tmp := filepath.Join(base, "current.tmp")
	os.Symlink(v2, tmp)
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	h.waitFor("b after the swap", func() bool { return h.liveTx()["b"] == 1 })
}

// The clock is injectable: edges and the edge gauge follow Config.Now.
func TestInjectedClock(t *testing.T) {
	h := newHarness(t)
	now := ts("2026-11-21T18:30:00Z")
	h.cfg.Clock = clocktest.New(now)
	h.providers()
	h.write("a.yaml", rec("a", "ali", "a", ts("2026-11-21T19:00:00Z"), ts("2026-11-21T20:00:00Z")))
	d := h.start()
	h.waitReconcile(0)
	if e := d.NextEdge(); !e.At.Equal(ts("2026-11-21T19:00:00Z")) {
		t.Fatalf("next edge = %+v", e)
	}
	if v := metricValue(scrape(t, d), "recordctl_next_window_edge_seconds"); v != "1800" {
		t.Fatalf("recordctl_next_window_edge_seconds = %q, want 1800", v)
	}
	if n := len(h.aliCalls.find("", "", time.Time{})); n != 0 {
		t.Fatalf("%d calls before the window opened", n)
	}
}

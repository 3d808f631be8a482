package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watcher turns fsnotify events under the spec directory into one
// debounced "something changed" signal. fsnotify is not recursive, so it
// watches folders, not files: an editor's atomic save (write a temporary
// file, rename it over the old one) and a Kubernetes ConfigMap update (a
// new hidden folder, then the `..data` symlink renamed over the old one)
// are events in a watched folder like any other write. The daemon calls
// sync after every walk, which adds folders created since and drops
// vanished ones. An event overflow asks for a full rescan at once.
type watcher struct {
	fs       *fsnotify.Watcher
	log      *slog.Logger
	debounce time.Duration
	// maxDelay bounds how long a steady stream of events can postpone the signal.
	maxDelay time.Duration
	changed  chan struct{} // capacity 1: a pending signal absorbs later ones
	watched  map[string]bool
	count    func(kind string) // metrics hook: "event", "overflow", "error"
}

func newWatcher(log *slog.Logger, debounce time.Duration, count func(string)) (*watcher, error) {
	fw, err := fsnotify.NewBufferedWatcher(1024)
	if err != nil {
		return nil, err
	}
	return &watcher{fs: fw, log: log, debounce: debounce, maxDelay: 10 * debounce,
		changed: make(chan struct{}, 1), watched: map[string]bool{}, count: count}, nil
}

// sync watches exactly dirs and returns how many were newly added. Only
// the daemon's loop calls it.
func (w *watcher) sync(dirs []string) int {
	want := make(map[string]bool, len(dirs))
	added := 0
	for _, d := range dirs {
		want[d] = true
		if w.watched[d] {
			continue
		}
		if err := w.fs.Add(d); err != nil {
			w.log.Warn("cannot watch folder; changes in it are seen at the next full reload", "folder", d, "error", err.Error())
			w.count("error")
			continue
		}
		w.watched[d] = true
		added++
	}
	for d := range w.watched {
		if !want[d] {
			_ = w.fs.Remove(d) // may be gone already (the kernel drops watches of deleted folders)
			delete(w.watched, d)
		}
	}
	return added
}

// run forwards events until ctx ends: each event (re)arms a timer of
// w.debounce; the signal goes out when it fires, or w.maxDelay after the
// first event of a burst at the latest.
func (w *watcher) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var first time.Time
	signal := func() {
		first = time.Time{}
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue // metadata only; atime and touch-without-write
			}
			w.count("event")
			now := time.Now()
			if first.IsZero() {
				first = now
			}
			d := w.debounce
			if rest := first.Add(w.maxDelay).Sub(now); rest < d {
				d = max(rest, 0)
			}
			timer.Reset(d)
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.count("overflow")
				w.log.Warn("file watch events overflowed; rescanning the whole spec directory")
				timer.Stop()
				signal()
				continue
			}
			w.count("error")
			w.log.Warn("file watch error", "error", err.Error())
		case <-timer.C:
			signal()
		}
	}
}

func (w *watcher) close() error { return w.fs.Close() }

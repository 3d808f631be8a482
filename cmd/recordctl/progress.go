package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
)

// progressInterval is how often a terminal's progress line is redrawn
// while nothing finishes (throttled or slow providers).
const progressInterval = 500 * time.Millisecond

// rateWindow is the span the current rate is measured over.
const rateWindow = 5 * time.Second

// progress shows a long apply on a terminal: one status line (done/total,
// failures so far, current rate, throttles), redrawn in place on every
// outcome and every tick, and a line per failure as it happens. It is also
// the writer for everything else bound for the terminal (logs), which it
// keeps from being garbled by the status line. Without a terminal it is a
// plain pass-through and the per-action log lines tell the story.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	color bool
	now   func() time.Time

	observing           int // providers being observed (planning); 0 while applying
	total, done, failed int
	throttles, retries  int
	start               time.Time
	finished            []time.Time // completion times within rateWindow
	shown               bool        // the status line is on screen (no newline yet)
}

func newProgress(w io.Writer, tty, color bool, now func() time.Time) *progress {
	return &progress{w: w, tty: tty, color: color, now: now}
}

// Write passes other output through, clearing the status line first.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	return p.w.Write(b)
}

func (p *progress) clearLocked() {
	if p.shown {
		io.WriteString(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// observe shows, on a terminal, that n providers are being observed
// (planning under throttling can take minutes) until stop is called; the
// line is then cleared for the plan.
func (p *progress) observe(ctx context.Context, n int, ticks <-chan time.Time) (stop func()) {
	p.mu.Lock()
	p.observing, p.start = n, p.now()
	p.drawLocked()
	p.mu.Unlock()
	stopTicks := p.tick(ctx, ticks)
	return func() {
		stopTicks()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.clearLocked()
		p.observing, p.throttles, p.retries = 0, 0, 0
	}
}

// begin starts counting total actions and, on a terminal, redraws on
// every tick until ctx ends or stop is called.
func (p *progress) begin(ctx context.Context, total int, ticks <-chan time.Time) (stop func()) {
	p.mu.Lock()
	p.total, p.start = total, p.now()
	p.drawLocked()
	p.mu.Unlock()
	stopTicks := p.tick(ctx, ticks)
	return func() {
		stopTicks()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.tty {
			p.drawLocked()
			if p.shown {
				io.WriteString(p.w, "\n")
				p.shown = false
			}
		}
	}
}

// tick redraws on every tick (terminal only) until ctx ends or the
// returned stop is called.
func (p *progress) tick(ctx context.Context, ticks <-chan time.Time) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	if p.tty && ticks != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-done:
					return
				case <-ticks:
					p.mu.Lock()
					p.drawLocked()
					p.mu.Unlock()
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// outcome counts a finished action; a failure gets its own line at once.
func (p *progress) outcome(o reconcile.Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.done++
	p.finished = append(p.finished, now)
	if o.Result == "failed" {
		p.failed++
		if p.tty {
			a := o.Action
			p.clearLocked()
			fmt.Fprintf(p.w, "%s %s %s (%s, %s): %v\n", p.paint("\x1b[31m", "failed:"), a.Action, a.Key, a.Provider, a.Stream, o.Err)
		}
	}
	p.drawLocked()
}

// call counts a provider call's answer (the executor's Observe hook):
// throttles, and the retries other errors lead to.
func (p *progress) call(a reconcile.Action, err error, took time.Duration) {
	if err == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if providers.ClassOf(err) == providers.Throttled {
		p.throttles++
	}
	if providers.IsRetryable(err) {
		p.retries++
	}
}

func (p *progress) paint(code, s string) string {
	if !p.color {
		return s
	}
	return code + s + "\x1b[0m"
}

// line is the status line's text.
func (p *progress) line() string {
	now := p.now()
	keep := p.finished[:0]
	for _, t := range p.finished {
		if now.Sub(t) < rateWindow {
			keep = append(keep, t)
		}
	}
	p.finished = keep
	// Over the last rateWindow, and never less than a second: a burst of
	// quick answers right at the start is not a rate of thousands a second.
	span := max(time.Second, min(rateWindow, now.Sub(p.start)))
	rate := float64(len(keep)) / span.Seconds()
	failed := fmt.Sprintf("%d failed", p.failed)
	if p.failed > 0 {
		failed = p.paint("\x1b[31m", failed)
	}
	var b strings.Builder
	if p.observing > 0 {
		fmt.Fprintf(&b, "Observing %d provider(s): %d throttled, %d retried, %s elapsed",
			p.observing, p.throttles, p.retries, now.Sub(p.start).Round(time.Second))
		return b.String()
	}
	fmt.Fprintf(&b, "Applying: %d/%d done, %s, %.1f/s, %d throttled, %d retried, %s elapsed",
		p.done, p.total, failed, rate, p.throttles, p.retries, now.Sub(p.start).Round(time.Second))
	return b.String()
}

func (p *progress) drawLocked() {
	if !p.tty {
		return
	}
	io.WriteString(p.w, "\r\x1b[K"+p.line())
	p.shown = true
}

// dropHandler leaves out log records with one message (the executor's
// per-action line, which the terminal progress replaces).
type dropHandler struct {
	slog.Handler
	msg string
}

func (h dropHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h dropHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return dropHandler{h.Handler.WithAttrs(as), h.msg}
}

func (h dropHandler) WithGroup(n string) slog.Handler {
	return dropHandler{h.Handler.WithGroup(n), h.msg}
}

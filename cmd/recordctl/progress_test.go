package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/spec"
)

// syncBuf is a bytes.Buffer safe for the ticker goroutine and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeClock is the progress printer's injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The status line counts outcomes, failures, throttles and retries, gives
// the rate over the last seconds, is redrawn on every tick while nothing
// finishes, and is cleared before other output (log lines) is written.
func TestProgressLine(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	var out syncBuf
	p := newProgress(&out, true, false, clk.now)
	ticks := make(chan time.Time)
	stop := p.begin(context.Background(), 4, ticks)
	throttled := &providers.Error{Class: providers.Throttled, Code: "RequestLimitExceeded"}
	a := reconcile.Action{Action: reconcile.Create, Key: "news@2026-11-21T11:00:00Z", Provider: "tc",
		Stream: spec.Stream{Domain: "push.example.com", App: "live", Name: "news"}}
	p.call(a, throttled, time.Millisecond)
	p.call(a, throttled, time.Millisecond)
	clk.add(2 * time.Second)
	ticks <- clk.now() // the ticker goroutine draws; the next send proves it is done
	ticks <- clk.now()
	if s := out.String(); !strings.HasSuffix(s, "\r\x1b[KApplying: 0/4 done, 0 failed, 0.0/s, 2 throttled, 2 retried, 2s elapsed") {
		t.Fatalf("tick while throttled: %q", s)
	}
	p.outcome(reconcile.Outcome{Action: a, Result: "created"})
	clk.add(time.Second)
	p.outcome(reconcile.Outcome{Action: a, Result: "failed", Err: errors.New("boom")})
	s := out.String()
	if !strings.Contains(s, "\r\x1b[Kfailed: create news@2026-11-21T11:00:00Z (tc, push.example.com/live/news): boom\n") {
		t.Fatalf("no failure line: %q", s)
	}
	if !strings.HasSuffix(s, "Applying: 2/4 done, 1 failed, 0.7/s, 2 throttled, 2 retried, 3s elapsed") {
		t.Fatalf("after two outcomes in 3 s: %q", s)
	}
	// Other output clears the line first; the next draw brings it back.
	out.mu.Lock()
	out.b.Reset()
	out.mu.Unlock()
	p.Write([]byte("level=WARN msg=something\n"))
	if s := out.String(); s != "\r\x1b[Klevel=WARN msg=something\n" {
		t.Fatalf("log line over the status line: %q", s)
	}
	clk.add(10 * time.Second) // the rate forgets outcomes older than 5 s
	p.outcome(reconcile.Outcome{Action: a, Result: "created"})
	p.outcome(reconcile.Outcome{Action: a, Result: "created"})
	stop()
	if s := out.String(); !strings.HasSuffix(s, "Applying: 4/4 done, 1 failed, 0.4/s, 2 throttled, 2 retried, 13s elapsed\n") {
		t.Fatalf("final line: %q", s)
	}
}

// Without a terminal the printer draws nothing and passes output through.
func TestProgressWithoutTerminal(t *testing.T) {
	var out syncBuf
	p := newProgress(&out, false, false, time.Now)
	stop := p.begin(context.Background(), 1, nil)
	p.outcome(reconcile.Outcome{Result: "failed", Err: errors.New("x")})
	p.Write([]byte("log line\n"))
	stop()
	if s := out.String(); s != "log line\n" {
		t.Fatalf("non-terminal output: %q", s)
	}
}

// While the providers are observed (planning), a terminal shows that and
// the throttles; the line is cleared before the plan is printed.
func TestProgressWhileObserving(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	var out syncBuf
	p := newProgress(&out, true, false, clk.now)
	ticks := make(chan time.Time)
	stop := p.observe(context.Background(), 4, ticks)
	p.call(reconcile.Action{Action: "list"}, &providers.Error{Class: providers.Throttled}, time.Millisecond)
	clk.add(3 * time.Second)
	ticks <- clk.now()
	ticks <- clk.now()
	if s := out.String(); !strings.HasSuffix(s, "\r\x1b[KObserving 4 provider(s): 1 throttled, 1 retried, 3s elapsed") {
		t.Fatalf("observing: %q", s)
	}
	stop()
	if s := out.String(); !strings.HasSuffix(s, "3s elapsed\r\x1b[K") {
		t.Fatalf("the observing line is not cleared: %q", s)
	}
}

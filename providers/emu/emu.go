// Package emu is the plumbing every provider emulator shares: its
// configuration (clock, faults), the Emulator interface that
// providers/emulate serves, the fault injector, persistence, and the
// signing-vector loader for the emulators' verifier tests.
package emu

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/recordctl/recordctl/spec"
)

// Config is shared by every provider emulator.
type Config struct {
	// Now is the emulator's clock (injectable for tests); nil means time.Now.
	Now func() time.Time
	// Faults is the fault injector consulted on every request; nil means none.
	Faults *Faults
	// Served, if set, is called after every request an emulator served
	// (tests and benchmarks wait for it instead of polling).
	Served func()
}

// Clock returns c.Now or time.Now.
func (c Config) Clock() func() time.Time {
	if c.Now != nil {
		return c.Now
	}
	return time.Now
}

// Emulator is a provider's wire-compatible fake service on loopback.
type Emulator interface {
	// Handlers returns one handler per listener the emulator needs, in
	// endpoint order (agora: primary and fallback domains).
	Handlers() []http.Handler
	// DemoCredentials maps credential field names (as in the Provider
	// document, e.g. "secretId") to the demo values the emulator accepts.
	DemoCredentials() map[string]string
	// DemoFields maps the Provider-document fields that name the
	// emulator's demo account (region, projectId, appId ...) to their
	// values; the provider package's Registration.PointAt applies them.
	DemoFields() map[string]string
	// PrepareStream sets up what the cloud needs before a stream can be
	// recorded (aliyun: a recording configuration; huawei: a COMMAND_RECORD
	// rule), as a user would in the console; nothing where none is needed.
	PrepareStream(s spec.Stream)
}

// Faults injects failures into emulator responses. Safe for concurrent use;
// tests and `recordctl emulate` flags change it at run time.
type Faults struct {
	mu        sync.Mutex
	errorRate float64       // probability of a 5xx-class failure
	timeouts  float64       // probability of hanging until the client gives up
	latency   time.Duration // added to every request
	throttle  bool          // answer every request with the throttling error
	lost      float64       // probability that the service acts but its answer is lost
	injected  int           // faults injected so far
	rng       *rand.Rand
}

// NewFaults returns an injector with no faults; seed makes it repeatable.
func NewFaults(seed uint64) *Faults {
	return &Faults{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Set changes the fault settings.
func (f *Faults) Set(errorRate float64, latency time.Duration, throttle bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errorRate, f.latency, f.throttle = errorRate, latency, throttle
}

// SetTimeoutRate sets the probability that a request hangs (up to 30 s or
// until the client disconnects), standing in for a network timeout.
func (f *Faults) SetTimeoutRate(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timeouts = p
}

// SetLostAnswerRate sets the probability that a request is carried out and
// then its connection dropped before the answer is written: the caller
// sees a network error although the service acted (the case that makes a
// blind retry duplicate a task).
func (f *Faults) SetLostAnswerRate(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost = p
}

// LoseAnswers wraps an emulator's handler with the lost-answer fault. The
// admin API under /_emulator/ is never affected. A nil *Faults returns h.
func (f *Faults) LoseAnswers(h http.Handler) http.Handler {
	if f == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok || strings.HasPrefix(r.URL.Path, "/_emulator") || !f.loseOne() {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(discard{header: http.Header{}}, r)
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
		}
	})
}

// loseOne decides whether to lose this request's answer, and counts it.
func (f *Faults) loseOne() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	lose := f.lost > 0 && f.rng.Float64() < f.lost
	if lose {
		f.injected++
	}
	return lose
}

// Injected returns how many faults have been injected so far (tests check
// that the injection reached the clients).
func (f *Faults) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// discard is a ResponseWriter that throws the answer away.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}

// Fault is what the injector decided for one request.
type Fault int

const (
	FaultNone     Fault = iota
	FaultError          // answer with the provider's internal (retryable) error
	FaultThrottle       // answer with the provider's throttling error
	FaultTimeout        // hang: the caller handles the timeout
)

// Decide sleeps the configured latency (or until r's context ends) and
// returns the fault to inject for this request. A nil *Faults injects nothing.
func (f *Faults) Decide(r *http.Request) Fault {
	if f == nil {
		return FaultNone
	}
	f.mu.Lock()
	lat, fault := f.latency, FaultNone
	switch x, y := f.rng.Float64(), f.rng.Float64(); {
	case f.throttle:
		fault = FaultThrottle
	case x < f.timeouts:
		fault = FaultTimeout
	case y < f.errorRate:
		fault = FaultError
	}
	if fault != FaultNone {
		f.injected++
	}
	f.mu.Unlock()
	wait(r, lat)
	if fault == FaultTimeout {
		wait(r, 30*time.Second)
	}
	return fault
}

// wait sleeps d or until r's caller goes away.
func wait(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// Persistent is an emulator whose state can be saved and restored, so the
// tasks it holds survive a restart (`recordctl emulate --data DIR`,
// `--emulate`). Only what a cloud would keep is saved: tasks, sessions,
// recordings, configurations and rules, not fault settings or counters.
type Persistent interface {
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error
}

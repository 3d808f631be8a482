package agora

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// chaos is a client transport that injects, from a seeded source, the two
// failures that make a recorder's fate unknown: a 5xx answered by Agora's
// gateway without acting, and an answer lost after Agora acted.
type chaos struct {
	base            http.RoundTripper
	mu              sync.Mutex
	rng             *rand.Rand
	errRate, lostRt float64
	injected        int
}

func (c *chaos) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	x, y := c.rng.Float64(), c.rng.Float64()
	fail, lose := x < c.errRate, y < c.lostRt
	if fail || lose {
		c.injected++
	}
	c.mu.Unlock()
	if fail {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(`{"message":"Service Unavailable"}`)), Request: r}, nil
	}
	resp, err := c.base.RoundTrip(r)
	if err == nil && lose {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer (answer lost)")
	}
	return resp, err
}

func (c *chaos) set(errRate, lost float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errRate, c.lostRt = errRate, lost
}

// chaosProvider is a provider (a recordctl process) whose requests go
// through c.
func (e *env) chaosProvider(c *chaos) *Provider {
	e.t.Helper()
	p, err := New(e.doc, providers.Options{HTTPClient: &http.Client{Transport: c, Timeout: 10 * time.Second},
		Clock: sleepingClock{e.clock.Fake, e.sleeps}})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.(*Provider)
}

// twoRecorders returns a description of two recorders that overlapped in
// channel cname at any time (the emulator's own record), or "".
func twoRecorders(e *env, cname string) string {
	type span struct {
		sid, uid string
		from, to time.Time
	}
	var ss []span
	for _, s := range e.emu.Sessions() {
		if s.Channel != cname {
			continue
		}
		to := s.Ended
		if to.IsZero() {
			to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		ss = append(ss, span{s.SID, s.UID, s.Started, to})
	}
	for i := range ss {
		for j := i + 1; j < len(ss); j++ {
			a, b := ss[i], ss[j]
			if a.from.Before(b.to) && b.from.Before(a.to) {
				until := func(x span) string {
					if x.to.Year() == 9999 {
						return "running"
					}
					return x.to.Format(time.TimeOnly)
				}
				return fmt.Sprintf("recorders %s (uid %s, %s-%s) and %s (uid %s, %s-%s) overlap", a.sid, a.uid, a.from.Format(time.TimeOnly),
					until(a), b.sid, b.uid, b.from.Format(time.TimeOnly), until(b))
			}
		}
	}
	return ""
}

// liveIn lists the recorders running in cname now.
func liveIn(e *env, cname string) []string {
	var out []string
	for _, s := range e.emu.Sessions() {
		if s.Channel == cname && s.Ended.IsZero() {
			out = append(out, s.SID+"/"+s.UID)
		}
	}
	return out
}

// loseStartAnswers makes the first start act and the answers to it and to
// its retries get lost (n: how many start answers are lost).
func loseStartAnswers(e *env, n int) {
	armed, starts := false, 0
	e.tap.after = func(h hit) {
		switch {
		case strings.HasSuffix(h.path, "/acquire") && !armed:
			armed = true
			e.faults.SetLostAnswerRate(1)
		case strings.HasSuffix(h.path, "/start"):
			if starts++; starts == n {
				e.faults.SetLostAnswerRate(0)
				e.tap.after = nil
			}
		}
	}
}

// A start whose answer is lost leaves a recorder that recordctl cannot see.
// Its retry on the same resourceId answers 7, or, when every answer of that
// Create was lost, the engine's resumed Create gets 53: either way the
// recorder is adopted by the sid Agora echoes, and the stop at the window's
// end stops that very recorder.
func TestLostStartAnswerThenStopStopsTheRecorder(t *testing.T) {
	for _, tc := range []struct {
		name string
		lost int // start answers lost
	}{{"the retry's 7 finds it", 1}, {"the resumed Create's 53 finds it", 4}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rec := e.recording("lost-then-stop", nil)
			loseStartAnswers(e, tc.lost)
			now := e.clock.Now()
			req := providers.CreateRequest{Key: "lost-then-stop@" + now.Format(time.RFC3339), Recording: rec, Stream: rec.Spec.Stream,
				Start: now, End: now.Add(time.Hour), Now: now}
			task, err := e.prov.Create(context.Background(), req)
			if tc.lost > 1 {
				if !providers.OutcomeUnknown(err) {
					t.Fatalf("Create with every start answer lost = %v, want an error of unknown outcome", err)
				}
				if running := liveIn(e, "lost-then-stop"); len(running) != 1 {
					t.Fatalf("recorders after the lost answers: %v, want the one the start made", running)
				}
				req.Resume = true
				task, err = e.prov.Create(context.Background(), req)
			}
			if pe := classOf(t, err); pe.Class != providers.AlreadyExists || task.Handle["sid"] == "" || task.Handle["unaddressable"] != "" {
				t.Fatalf("Create = %+v, %v; want the running recorder adopted with its sid", task, err)
			}
			e.clock.Advance(time.Minute)
			stopped, err := e.prov.Stop(context.Background(), task)
			if err != nil || stopped.Status != providers.StatusStopped {
				t.Fatalf("Stop = %+v, %v", stopped, err)
			}
			if live := liveIn(e, "lost-then-stop"); len(live) != 0 {
				t.Fatalf("recorders still running after the stop: %v", live)
			}
			if s := e.session(task.Handle["sid"]); s.Status != 7 || len(e.emu.Sessions()) != 1 {
				t.Errorf("the adopted recorder's status is %d (want 7, stopped by the API); sessions %+v", s.Status, e.emu.Sessions())
			}
		})
	}
}

// A stop that cannot find the recorder by its sid (a stale handle) or has
// no sid at all (a task adopted before Agora echoed sids) looks it up by
// channel and uid, and stops the recorder that runs; it never reports
// "gone" while one of ours records.
func TestStopLooksUpByChannelAndUID(t *testing.T) {
	for name, mangle := range map[string]func(h map[string]string){
		"stale sid": func(h map[string]string) { h["sid"] = "00000000000000000000000000000000" },
		"no sid": func(h map[string]string) {
			delete(h, "sid")
			h["unaddressable"] = "1"
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			task := e.mustCreate(e.recording("lookup", nil), nil)
			sid := task.ID
			e.clock.Advance(time.Minute)
			h := map[string]string{}
			for k, v := range task.Handle {
				h[k] = v
			}
			mangle(h)
			task.Handle = h
			got, err := e.prov.Stop(context.Background(), task)
			if err != nil || got.Status != providers.StatusStopped {
				t.Fatalf("Stop = %+v, %v", got, err)
			}
			if s := e.session(sid); s.Status != 7 {
				t.Errorf("the running recorder has status %d after the stop, want 7", s.Status)
			}
			if got.Handle["sid"] != sid || len(got.Files) != 1 || got.Files[0] != sid+"_lookup.m3u8" {
				t.Errorf("stopped task %+v, want sid %s and its file", got, sid)
			}
			if live := liveIn(e, "lookup"); len(live) != 0 {
				t.Errorf("recorders still running: %v", live)
			}
		})
	}
}

// TestChaosNeverTwoRecordersInAChannel drives one window through a
// simulated engine (retries with Resume after unknown outcomes, a state
// lost at a random moment, observation, the stop at the end) with seeded
// 5xx and lost answers, 100 times. The emulator's own record must never
// show two recorders of the channel at once, and none may run after the
// window's stop.
func TestChaosNeverTwoRecordersInAChannel(t *testing.T) {
	runs := 100
	if testing.Short() {
		runs = 20
	}
	injected := 0
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		n := chaosRun(t, seed)
		t.Logf("seed %d: %d faults injected", seed, n)
		injected += n
		if t.Failed() {
			t.Fatalf("seed %d failed (rerun: go test ./providers/agora -run 'TestChaos' and look at seed %d)", seed, seed)
		}
	}
	if injected < runs {
		t.Fatalf("only %d faults injected over %d runs: the chaos did not reach the client", injected, runs)
	}
}

// chaosRun is one seeded run; it returns the faults it injected.
func chaosRun(t *testing.T, seed uint64) int {
	e := newEnv(t)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	ch := &chaos{base: e.tap, rng: rand.New(rand.NewPCG(seed, 0xc4a05))}
	ch.set(0.15, 0.15)
	const cname = "chaos"
	rec := e.recording(cname, nil)
	start := e.clock.Now()
	end := start.Add(30 * time.Minute)
	key := cname + "@" + start.Format(time.RFC3339)

	p := e.chaosProvider(ch) // the process
	var task *providers.Task // what its state holds
	pending := false         // an intent whose outcome is unknown
	lossAt := rng.IntN(12)   // the step at which the state is lost
	ctx := context.Background()
	fail := func(format string, a ...any) int {
		t.Errorf("seed %d: %s", seed, fmt.Sprintf(format, a...))
		return ch.injected
	}
	for step := 0; e.clock.Now().Before(end); step++ {
		if step == lossAt {
			// A fresh state and process over whatever runs (apply --state s2).
			p, task, pending = e.chaosProvider(ch), nil, false
		}
		if step == 14 {
			ch.set(0, 0) // a healthy reconcile before the window closes
		}
		now := e.clock.Now()
		if task != nil {
			ts, err := p.List(ctx, providers.Scope{Managed: []providers.Task{*task}})
			if err == nil {
				switch ts[0].Status {
				case providers.StatusGone, providers.StatusFailed, providers.StatusStopped:
					prev := ts[0]
					nt, err := p.Create(ctx, providers.CreateRequest{Key: key, Recording: rec, Stream: rec.Spec.Stream,
						Start: now, End: end, Now: now, Previous: &prev})
					task, pending = handle(nt, err, task, &pending)
				}
			}
		} else {
			nt, err := p.Create(ctx, providers.CreateRequest{Key: key, Recording: rec, Stream: rec.Spec.Stream,
				Start: now, End: end, Now: now, Resume: pending})
			if providers.ClassOf(err) == providers.Permanent && err != nil {
				return fail("Create: %v", err)
			}
			task, pending = handle(nt, err, task, &pending)
		}
		if s := twoRecorders(e, cname); s != "" {
			return fail("at step %d: %s", step, s)
		}
		e.clock.Advance(time.Duration(30+rng.IntN(90)) * time.Second)
	}
	if task == nil {
		return fail("the window closed with no recorder adopted (pending %v); running: %v", pending, liveIn(e, cname))
	}
	ch.set(0.15, 0.15)
	for try := 0; ; try++ {
		_, err := p.Stop(ctx, *task)
		if err == nil {
			break
		}
		if !providers.IsRetryable(err) || try > 20 {
			return fail("Stop: %v", err)
		}
		e.clock.Advance(10 * time.Second)
	}
	if s := twoRecorders(e, cname); s != "" {
		return fail("after the stop: %s", s)
	}
	if live := liveIn(e, cname); len(live) != 0 {
		return fail("recorders still running after the stop: %v", live)
	}
	return ch.injected
}

// handle reads a Create's answer as the engine's executor does: a task or
// an adopted one is recorded; a retryable failure leaves the intent pending
// (the next Create resumes it).
func handle(nt providers.Task, err error, old *providers.Task, pending *bool) (*providers.Task, bool) {
	switch {
	case err == nil || providers.ClassOf(err) == providers.AlreadyExists && nt.ID != "":
		return &nt, false
	case providers.IsRetryable(err):
		return nil, true
	}
	return old, *pending
}

package emulate_test

import (
	"context"
	"fmt"
	"github.com/recordctl/recordctl/providers/emu"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/reconcile/daemon"
	"github.com/recordctl/recordctl/spec"
)

// A daemon run of many short windows on all four providers under 20% 5xx,
// 20% timeouts, 10% lost answers and latency: every window gets exactly one
// accepted start, no start is accepted at or after its window's end, and
// no recording runs on past its window (the stop follows the end within
// the few seconds a retried stop takes). The daemon, the engine and the
// emulators share one fake clock that only the test moves, one second at a
// time, once every worker waits on it; the fault seed is logged.
func TestGuaranteeDaemonShortWindowsUnderFaults(t *testing.T) {
	t.Parallel() // slow (many worlds, timeouts): overlap with the rest
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("RECORDCTL_TEST_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (rerun with RECORDCTL_TEST_SEED=%d)", seed, seed)
	w := newWorldFaults(t, "2026-11-21T10:00:00Z", emu.NewFaults(seed))
	// Emulators, provider clients and engine on one clock; the engine's
	// backoffs wait for the test to move it (the bare Fake, not the Sim).
	w.exec.CallTimeout = 300 * time.Millisecond
	w.exec.RetryBudget = 30 * time.Second
	w.open()
	w.eng.Clock = w.clk.Fake
	w.write("providers.yaml", w.providerDocs(200))

	type win struct {
		name, prov string
		start, end time.Time
	}
	base := w.clk.Now()
	rng := rand.New(rand.NewPCG(seed, 11))
	var wins []win
	var docs strings.Builder
	for i, p := range []string{"tc", "ali", "hw", "ag"} {
		for k := 0; k < 4; k++ {
			s := base.Add(time.Minute + time.Duration(k)*3*time.Minute + time.Duration(i)*7*time.Second + time.Duration(rng.IntN(20))*time.Second)
			x := win{fmt.Sprintf("%s-%d", p, k), p, s, s.Add(2 * time.Minute)}
			wins = append(wins, x)
			stream, opts := "{domain: push.example.com, app: live, name: "+x.name+"}", ""
			switch p {
			case "ag":
				stream, opts = "{channel: "+x.name+"}", agoraOptions
			case "tc":
				stream = tcStreamYAML(x.name)
			}
			docs.WriteString(recDoc(x.name, p, stream, opts, window{x.start, x.end}))
		}
	}
	w.write("recs.yaml", docs.String())
	w.faults.Set(0.2, 20*time.Millisecond, false)
	w.faults.SetTimeoutRate(0.2)
	w.faults.SetLostAnswerRate(0.1)

	var mu sync.Mutex
	started := map[string]bool{}
	d, err := daemon.New(daemon.Config{Dir: w.dir, Engine: w.eng, Clock: w.clk.Fake, Resync: time.Minute, Reload: -1, NoWatch: true,
		Prepare: w.srv.Point, OnReconcile: func(r daemon.Report) {
			mu.Lock()
			started[r.Provider] = true
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	// quiet waits until every worker waits on the clock (4 lead timers, or
	// backoffs in their place).
	quiet := func() {
		t.Helper()
		qctx, qcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer qcancel()
		if err := w.clk.BlockUntil(qctx, 4); err != nil {
			t.Fatalf("the workers never all waited on the clock at %s", w.clk.Now().Format(time.RFC3339))
		}
	}
	last := wins[0].end
	for _, x := range wins {
		if x.end.After(last) {
			last = x.end
		}
	}
	for now := base; now.Before(last.Add(time.Minute)); now = now.Add(time.Second) {
		quiet()
		w.clk.Set(now)
	}
	quiet()
	cancel()
	<-done
	if w.faults.Injected() == 0 {
		t.Fatal("no fault was injected")
	}

	slack := 10 * time.Second // a stop retried through faults
	unaddressable := map[string]bool{}
	for _, r := range w.snapshot().Records {
		if r.Task != nil && strings.HasPrefix(r.Task.ID, "unaddressable:") {
			unaddressable[r.Recording] = true
		}
	}
	for _, x := range wins {
		type run struct{ start, end time.Time }
		var runs []run
		s := spec.Stream{Domain: "push.example.com", App: "live", Name: x.name}
		switch x.prov {
		case "tc":
			for _, tk := range w.tencent().Tasks() {
				if tk.Stream.Name == x.name && !tk.Deleted {
					runs = append(runs, run{tk.Created, tk.EndTime})
				}
			}
		case "ali":
			for _, r := range w.aliyun().Recordings(s) {
				runs = append(runs, run{r.Started, r.Ended})
			}
		case "hw":
			for _, r := range w.huawei().Recordings(s) {
				runs = append(runs, run{r.Started, r.Ended})
			}
		case "ag":
			for _, ss := range w.agora().Sessions() {
				if ss.Channel == x.name {
					runs = append(runs, run{ss.Started, ss.Ended})
				}
			}
		}
		if len(runs) != 1 {
			t.Errorf("%s [%s, %s): %d accepted starts, want exactly 1: %+v", x.name, x.start.Format("15:04:05"), x.end.Format("15:04:05"), len(runs), runs)
			continue
		}
		r := runs[0]
		if !r.start.Before(x.end) {
			t.Errorf("%s: start accepted at %s, at or after the window's end %s", x.name, r.start.Format("15:04:05"), x.end.Format("15:04:05"))
		}
		if x.prov == "ag" && r.end.IsZero() && unaddressable[x.name] {
			// Agora's known limit: a start whose answer was lost is adopted
			// by uid without its sid, and Agora offers no stop by uid; the
			// recorder leaves after maxIdleTime in an empty channel.
			t.Logf("%s: the recorder could not be stopped by API (start answer lost, adopted without sid)", x.name)
			continue
		}
		if x.prov != "tc" && (r.end.IsZero() || r.end.After(x.end.Add(slack))) {
			t.Errorf("%s: recording ended at %v, window ended %s", x.name, r.end, x.end.Format("15:04:05"))
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", w.log.String())
	}
}

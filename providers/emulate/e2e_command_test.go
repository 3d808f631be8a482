package emulate_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers/huawei"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// recSession is a recording as the aliyun and huawei emulators report it.
type recSession struct {
	Started, Ended time.Time
	EndReason      string
}

// cmdEmu is what these tests need of the two command-driven emulators.
type cmdEmu struct {
	provider   string // Provider document name
	startOp    string // call counter of a start
	stopOp     string
	online     func(s spec.Stream, on bool)
	recording  func(s spec.Stream) bool
	recordings func(s spec.Stream) []recSession
	calls      func(op string) int
}

func (w *world) cmdEmus() []cmdEmu {
	ali, hw := w.aliyun(), w.huawei()
	return []cmdEmu{
		{provider: "ali", startOp: "RealTimeRecordCommand/start", stopOp: "RealTimeRecordCommand/stop",
			online: ali.SetStreamOnline, recording: ali.IsRecording, calls: ali.Calls,
			recordings: func(s spec.Stream) []recSession {
				var out []recSession
				for _, r := range ali.Recordings(s) {
					out = append(out, recSession{r.Started, r.Ended, r.EndReason})
				}
				return out
			}},
		{provider: "hw", startOp: "RunRecord/START", stopOp: "RunRecord/STOP",
			online: hw.SetStreamOnline, recording: hw.IsRecording, calls: hw.Calls,
			recordings: func(s spec.Stream) []recSession {
				var out []recSession
				for _, r := range hw.Recordings(s) {
					out = append(out, recSession{r.Started, r.Ended, r.EndReason})
				}
				return out
			}},
	}
}

// forEachCommandProvider runs f once for aliyun and once for huawei, each
// in a fresh world at now.
func forEachCommandProvider(t *testing.T, now string, f func(t *testing.T, w *world, e cmdEmu)) {
	for i, name := range []string{"aliyun", "huawei"} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, now)
			f(t, w, w.cmdEmus()[i])
		})
	}
}

var cmdStream = spec.Stream{Domain: "push.example.com", App: "live", Name: "desk"}

const cmdStreamYAML = "{domain: push.example.com, app: live, name: desk}"

// outcomes renders a result's outcomes as "action key result".
func outcomes(res *reconcile.Result) string {
	var b []string
	for _, o := range res.Outcomes {
		b = append(b, string(o.Action.Action)+" "+o.Action.Key+" "+o.Result)
	}
	return strings.Join(b, "; ")
}

// Window open: start; later reconciles inside the window start nothing new;
// window end: stop, at the end time; then nothing is left to do.
func TestCommandWindowStartsAndStopsOnce(t *testing.T) {
	forEachCommandProvider(t, "2026-11-21T10:00:00Z", func(t *testing.T, w *world, e cmdEmu) {
		w.write("rec.yaml", recDoc("desk", e.provider, cmdStreamYAML, "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
		_, res := w.mustReconcile()
		if res.Created != 1 || !e.recording(cmdStream) {
			t.Fatalf("window open: %s; recording=%v", outcomes(res), e.recording(cmdStream))
		}
		w.assertConverged("right after the start")
		for _, at := range []string{"2026-11-21T10:00:30Z", "2026-11-21T10:20:00Z", "2026-11-21T10:59:59Z"} {
			w.clk.Set(ts(at))
			if p, res := w.mustReconcile(); p.HasChanges() || res.Created != 0 {
				t.Fatalf("re-apply at %s: %s", at, actions(p))
			}
		}
		if recs := e.recordings(cmdStream); len(recs) != 1 || !recs[0].Ended.IsZero() {
			t.Fatalf("inside the window: recordings %+v, want one, running", recs)
		}
		if n := e.calls(e.stopOp); n != 0 {
			t.Fatalf("%d stops inside the window", n)
		}
		w.clk.Set(ts("2026-11-21T11:00:00Z"))
		_, res = w.mustReconcile()
		if res.Stopped != 1 || e.recording(cmdStream) {
			t.Fatalf("window end: %s; recording=%v", outcomes(res), e.recording(cmdStream))
		}
		recs := e.recordings(cmdStream)
		if len(recs) != 1 || !recs[0].Ended.Equal(ts("2026-11-21T11:00:00Z")) || recs[0].EndReason != "stop" {
			t.Fatalf("after the window: %+v", recs)
		}
		if len(w.live()) != 0 {
			t.Fatalf("state still has live records after the window: %+v", w.live())
		}
		w.clk.Add(time.Minute)
		if p, _ := w.mustReconcile(); p.HasChanges() {
			t.Fatalf("after the window: %s", actions(p))
		}
		if n := e.calls(e.stopOp); n != 1 {
			t.Fatalf("%d stops, want 1", n)
		}
	})
}

// A stream that is not pushed when the window opens is waited for (state
// and logs say so), and recorded as soon as it is pushed.
func TestCommandOfflineStreamWaitsThenStarts(t *testing.T) {
	forEachCommandProvider(t, "2026-11-21T10:00:00Z", func(t *testing.T, w *world, e cmdEmu) {
		w.write("rec.yaml", recDoc("desk", e.provider, cmdStreamYAML, "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
		e.online(cmdStream, false)
		for i := 0; i < 3; i++ {
			_, res := w.mustReconcile()
			if res.Waiting != 1 || res.Failed != 0 {
				t.Fatalf("offline, try %d: %s", i, outcomes(res))
			}
			r := w.live()["desk@2026-11-21T10:00:00Z"]
			if r == nil || r.Phase != state.Waiting || !strings.Contains(r.Reason, "waiting") {
				t.Fatalf("state while offline: %+v", r)
			}
			w.clk.Add(15 * time.Second)
		}
		if !strings.Contains(w.log.String(), "result=waiting") {
			t.Errorf("the log does not say the recording waits for the stream:\n%s", w.log.String())
		}
		if n := len(e.recordings(cmdStream)); n != 0 {
			t.Fatalf("%d recordings of an offline stream", n)
		}
		e.online(cmdStream, true)
		pushed := w.clk.Now()
		_, res := w.mustReconcile()
		if res.Created != 1 {
			t.Fatalf("once pushed: %s", outcomes(res))
		}
		recs := e.recordings(cmdStream)
		if len(recs) != 1 || !recs[0].Started.Equal(pushed) {
			t.Fatalf("once pushed: recordings %+v, want one started at %s", recs, pushed)
		}
		if r := w.live()["desk@2026-11-21T10:00:00Z"]; r == nil || r.Phase != state.Active || r.Task == nil {
			t.Fatalf("state once recording: %+v", r)
		}
		w.clk.Add(time.Minute)
		w.mustReconcile()
		if n := len(e.recordings(cmdStream)); n != 1 {
			t.Fatalf("%d recordings after another reconcile", n)
		}
	})
}

// A stream that drops mid-window ends the recording (for Huawei only when
// it stays away longer than 10 s); the next reconcile after it comes back
// starts it again, and only once.
func TestCommandStreamDropIsRestartedOnResync(t *testing.T) {
	forEachCommandProvider(t, "2026-11-21T10:00:00Z", func(t *testing.T, w *world, e cmdEmu) {
		w.write("rec.yaml", recDoc("desk", e.provider, cmdStreamYAML, "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
		w.mustReconcile()
		if e.provider == "hw" {
			// A 5 s interruption: Huawei keeps recording; nothing restarts.
			w.clk.Set(ts("2026-11-21T10:05:00Z"))
			e.online(cmdStream, false)
			w.clk.Add(5 * time.Second)
			e.online(cmdStream, true)
			_, res := w.mustReconcile()
			if recs := e.recordings(cmdStream); len(recs) != 1 || !recs[0].Ended.IsZero() {
				t.Fatalf("after a 5 s drop: %+v (%s)", recs, outcomes(res))
			}
		}
		w.clk.Set(ts("2026-11-21T10:10:00Z"))
		e.online(cmdStream, false)
		w.clk.Add(30 * time.Second)
		_, res := w.mustReconcile() // still offline: the recording has ended, waiting for the stream
		if e.recording(cmdStream) || strings.Contains(outcomes(res), "restarted") {
			t.Fatalf("offline: %s", outcomes(res))
		}
		e.online(cmdStream, true)
		w.clk.Add(30 * time.Second)
		back := w.clk.Now()
		_, res = w.mustReconcile()
		if !strings.Contains(outcomes(res), "reassert desk@2026-11-21T10:00:00Z restarted") {
			t.Fatalf("stream back: %s", outcomes(res))
		}
		recs := e.recordings(cmdStream)
		if len(recs) != 2 || recs[0].EndReason != "interrupted" || !recs[1].Started.Equal(back) || !recs[1].Ended.IsZero() {
			t.Fatalf("recordings after the drop: %+v", recs)
		}
		if !strings.Contains(w.log.String(), "stream dropped mid-window") {
			t.Errorf("the gap is not logged:\n%s", w.log.String())
		}
		w.clk.Add(time.Minute)
		w.mustReconcile()
		if n := len(e.recordings(cmdStream)); n != 2 {
			t.Fatalf("%d recordings after one more reconcile, want 2", n)
		}
		w.clk.Set(ts("2026-11-21T11:00:00Z"))
		w.mustReconcile()
		if e.recording(cmdStream) {
			t.Fatal("still recording after the window")
		}
	})
}

// Two windows of one Recording 5 s apart on Huawei: one recording through
// both (a STOP then START within 10 s would get LIVE.100011022), stopped
// once at the end of the second.
func TestHuaweiAdjacentWindowsAreOneRecording(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.write("rec.yaml", recDoc("desk", "hw", cmdStreamYAML, "",
		win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z"), win("2026-11-21T11:00:05Z", "2026-11-21T12:00:00Z")))
	for _, at := range []string{"2026-11-21T10:30:00Z", "2026-11-21T10:59:59Z", "2026-11-21T11:00:00Z",
		"2026-11-21T11:00:03Z", "2026-11-21T11:00:05Z", "2026-11-21T11:00:10Z", "2026-11-21T11:30:00Z"} {
		w.clk.Set(ts(at))
		p, res := w.mustReconcile()
		if p.Summary.Stop != 0 || (at != "2026-11-21T10:30:00Z" && res.Created != 0) {
			t.Fatalf("at %s: %s", at, actions(p))
		}
		if !w.huawei().IsRecording(cmdStream) {
			t.Fatalf("at %s: not recording", at)
		}
	}
	if n := w.huawei().Calls("RunRecord/STOP"); n != 0 {
		t.Fatalf("%d STOPs between the windows", n)
	}
	w.clk.Set(ts("2026-11-21T12:00:00Z"))
	w.mustReconcile()
	recs := w.huawei().Recordings(cmdStream)
	if len(recs) != 1 || !recs[0].Started.Equal(ts("2026-11-21T10:30:00Z")) || !recs[0].Ended.Equal(ts("2026-11-21T12:00:00Z")) {
		t.Fatalf("recordings: %+v, want one from 10:30 to 12:00", recs)
	}
}

// finalizeImmediately sends cancel_delay after the stop, so the file is
// there at once; without it the plan says the file comes 180 s later.
func TestAliyunFinalizeImmediately(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:00:00Z")
	fast := spec.Stream{Domain: "push.example.com", App: "live", Name: "fast"}
	slow := spec.Stream{Domain: "push.example.com", App: "live", Name: "slow"}
	w.write("rec.yaml",
		recDoc("fast", "ali", "{domain: push.example.com, app: live, name: fast}", "{finalizeImmediately: true}",
			win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z"))+
			recDoc("slow", "ali", "{domain: push.example.com, app: live, name: slow}", "",
				win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
	w.mustReconcile()
	w.clk.Set(ts("2026-11-21T11:00:00Z"))
	var text bytes.Buffer
	if err := reconcile.WriteText(&text, w.plan()); err != nil {
		t.Fatal(err)
	}
	var fastLines, slowLines []string
	lines := strings.Split(text.String(), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "- stop") {
			block := l
			if i+1 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+1]), "note:") {
				block += "\n" + lines[i+1]
			}
			if strings.Contains(l, "fast@") {
				fastLines = append(fastLines, block)
			} else if strings.Contains(l, "slow@") {
				slowLines = append(slowLines, block)
			}
		}
	}
	if len(slowLines) != 1 || !(strings.Contains(slowLines[0], "180") || strings.Contains(slowLines[0], "3m0s")) {
		t.Errorf("the plan does not say slow's file comes 180 s after the stop:\n%s", text.String())
	}
	if len(fastLines) != 1 || strings.Contains(fastLines[0], "note:") {
		t.Errorf("the plan should stop fast without a delay note:\n%s", text.String())
	}
	_, res := w.mustReconcile()
	if res.Stopped != 2 {
		t.Fatalf("window end: %s", outcomes(res))
	}
	if n := w.aliyun().Calls("RealTimeRecordCommand/cancel_delay"); n != 1 {
		t.Fatalf("cancel_delay sent %d times, want once (for fast only)", n)
	}
	if f := w.aliyun().Files(fast); len(f) != 1 {
		t.Errorf("fast: files at the stop %v, want one at once", f)
	}
	if f := w.aliyun().Files(slow); len(f) != 0 {
		t.Errorf("slow: files at the stop %v, want none before 180 s", f)
	}
	w.clk.Add(180 * time.Second)
	if f := w.aliyun().Files(slow); len(f) != 1 {
		t.Errorf("slow: files 180 s after the stop %v", f)
	}
}

// BenchmarkWindowStartLag measures, on the emulators over loopback, the
// time from the reconcile at a window's opening instant to the start call
// arriving at the provider (plan, the fsynced intent write, the call), and
// reports p50/p99; "disk" keeps the state on the test's temp folder,
// "tmpfs" on /dev/shm, to tell fsync latency from the engine's own.
func BenchmarkWindowStartLag(b *testing.B) {
	for _, typ := range []string{"aliyun", "huawei"} {
		for _, where := range []string{"disk", "tmpfs"} {
			b.Run(typ+"/"+where, func(b *testing.B) { benchStartLag(b, typ, where) })
		}
	}
}

func benchStartLag(b *testing.B, typ, where string) {
	w := newWorld(b, "2026-11-21T00:00:00Z")
	if where == "tmpfs" {
		dir, err := os.MkdirTemp("/dev/shm", "recordctl-e2e-")
		if err != nil {
			b.Skip("no /dev/shm:", err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		w.statePath = filepath.Join(dir, "state")
		w.open()
	}
	tap := newStartTap(w.srv.Emulators[typ].Handlers()[0])
	b.Cleanup(tap.close)
	name := map[string]string{"aliyun": "ali", "huawei": "hw"}[typ]
	// Point the provider at the tap (same emulator, one hop that timestamps starts).
	docs := strings.Replace(w.providerDocs(1000), w.srv.URLs[typ][0], tap.url(), 1)
	w.write("providers.yaml", docs)
	w.write("rec.yaml", fmt.Sprintf(`apiVersion: recordctl/v1
kind: Recording
metadata: {name: desk}
spec:
  provider: %s
  stream: %s
  schedule: {cron: "0 * * * *", duration: 30m}
`, name, cmdStreamYAML))
	set := w.load()
	ctx := b.Context()
	lags := make([]time.Duration, 0, b.N)
	open := ts("2026-11-21T01:00:00Z")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.clk.Set(open)
		t0 := time.Now()
		if res, err := w.eng.Reconcile(ctx, reconcile.Request{Provider: name, At: open, Set: set}); err != nil || res.Created != 1 {
			b.Fatalf("window %s: %v %v", open, err, res)
		}
		at, ok := tap.take()
		if !ok {
			b.Fatal("no start call arrived")
		}
		lags = append(lags, at.Sub(t0))
		w.clk.Set(open.Add(30 * time.Minute))
		if res, err := w.eng.Reconcile(ctx, reconcile.Request{Provider: name, At: w.clk.Now(), Set: set}); err != nil || res.Stopped != 1 {
			b.Fatalf("window end: %v %v", err, res)
		}
		open = open.Add(time.Hour)
	}
	b.StopTimer()
	p50, p99 := percentile(lags, 50), percentile(lags, 99)
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
}

// startTap is a loopback hop in front of an emulator that notes when each
// start command (aliyun Command=start, huawei action=START) arrives.
type startTap struct {
	srv *httptest.Server
	mu  sync.Mutex
	at  []time.Time
}

func newStartTap(h http.Handler) *startTap {
	tap := &startTap{}
	tap.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("Command") == "start" || q.Get("action") == "START" {
			now := time.Now()
			tap.mu.Lock()
			tap.at = append(tap.at, now)
			tap.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	return tap
}

func (tap *startTap) url() string { return tap.srv.URL }
func (tap *startTap) close()      { tap.srv.Close() }

// take returns the first start seen since the last take.
func (tap *startTap) take() (time.Time, bool) {
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if len(tap.at) == 0 {
		return time.Time{}, false
	}
	first := tap.at[0]
	tap.at = tap.at[:0]
	return first, true
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

// Checking a plan's Huawei create for a stream no COMMAND_RECORD rule
// covers (ListRecordRules, as `recordctl plan` does) warns on the create
// before apply fails; once the rule exists the warning is gone.
func TestHuaweiPlanWarnsWithoutCommandRule(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.write("rec.yaml", recDoc("desk", "hw", "{domain: norule.example.com, app: live, name: desk}", "",
		win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
	p := w.plan()
	if len(p.Actions) != 1 || p.Actions[0].Action != reconcile.Create || p.Actions[0].Note != "" {
		t.Fatalf("plan %s (note %q), want one create without checks", actions(p), p.Actions[0].Note)
	}
	w.eng.CheckStreams(context.Background(), w.load(), p)
	var text bytes.Buffer
	if err := reconcile.WriteText(&text, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Actions[0].Note, "no COMMAND_RECORD recording rule covers norule.example.com/live/desk") ||
		!strings.Contains(text.String(), "note: will fail") {
		t.Fatalf("no warning about the missing rule:\n%s", text.String())
	}
	if w.huawei().Calls("RunRecord/START") != 0 {
		t.Fatal("planning sent a START")
	}
	w.huawei().AddRule("norule.example.com", "live", "*", "COMMAND_RECORD")
	w.clk.Add(huawei.RulesTTL) // the domain's rules, once read, are trusted this long
	p = w.plan()
	w.eng.CheckStreams(context.Background(), w.load(), p)
	if len(p.Actions) != 1 || p.Actions[0].Note != "" {
		t.Fatalf("with the rule: %s note %q", actions(p), p.Actions[0].Note)
	}
}

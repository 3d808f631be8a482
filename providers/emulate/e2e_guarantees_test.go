package emulate_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/statetest"
	"github.com/recordctl/recordctl/spec"
)

// mixedDocs is a directory using all four providers: Tencent windows open
// now, later today and a 30 h one; Aliyun (one with finalizeImmediately),
// Huawei and Agora windows open now, plus a cron Recording in Shanghai time.
func mixedDocs(w *world) {
	w.write("mixed.yaml",
		recDoc("tc-open", "tc", tcStreamYAML("open"), "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z"))+
			recDoc("tc-later", "tc", tcStreamYAML("later"), "", win("2026-11-21T14:00:00Z", "2026-11-21T15:00:00Z"))+
			recDoc("tc-long", "tc", tcStreamYAML("long"), "", win("2026-11-21T12:00:00Z", "2026-11-22T18:00:00Z"))+
			eveningCron+
			recDoc("ali-desk", "ali", "{domain: push.example.com, app: live, name: ali-desk}", "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z"))+
			recDoc("ali-fast", "ali", "{domain: push.example.com, app: live, name: ali-fast}", "{finalizeImmediately: true}", win("2026-11-21T10:15:00Z", "2026-11-21T10:45:00Z"))+
			recDoc("hw-desk", "hw", "{domain: push.example.com, app: live, name: hw-desk}", "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z"))+
			recDoc("ag-int", "ag", "{channel: "+agoraChannel+"}", agoraOptions, win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
}

// Convergence: at every instant, including window edges, apply then plan
// at the same instant shows no changes, on a directory using all four
// providers.
func TestGuaranteeConvergenceAllProviders(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:30:00Z")
	mixedDocs(w)
	for _, at := range []string{"2026-11-21T10:30:00Z", "2026-11-21T10:30:05Z", "2026-11-21T10:45:00Z",
		"2026-11-21T11:00:00Z", "2026-11-21T12:00:00Z", "2026-11-22T12:00:00Z", "2026-11-22T18:00:00Z"} {
		w.clk.Set(ts(at))
		w.mustReconcile()
		w.assertConverged("apply then plan")
	}
	// Only the daily cron's next window is left.
	for key, r := range w.live() {
		if r.Recording != "evening" || !r.Start.After(w.clk.Now()) {
			t.Errorf("live record %s (%s, phase %s) after its window closed", key, r.Provider, r.Phase)
		}
	}
}

// recorded reports, per window of mixedDocs open at 10:30, how many
// recordings the emulators hold now (live ones for command providers,
// live or scheduled tasks for Tencent).
func recorded(w *world) map[string]int {
	out := map[string]int{}
	for _, tk := range liveTencent(w.tencent()) {
		out["tc "+tk.Stream.Name+" "+tk.EndTime.Format(time.RFC3339)]++
	}
	for _, name := range []string{"ali-desk", "ali-fast"} {
		s := spec.Stream{Domain: "push.example.com", App: "live", Name: name}
		for _, r := range w.aliyun().Recordings(s) {
			if r.Ended.IsZero() {
				out["ali "+name]++
			}
		}
	}
	hs := spec.Stream{Domain: "push.example.com", App: "live", Name: "hw-desk"}
	for _, r := range w.huawei().Recordings(hs) {
		if r.Ended.IsZero() {
			out["hw hw-desk"]++
		}
	}
	out["ag "+agoraChannel] = len(liveAgora(w.agora(), agoraChannel))
	return out
}

var wantRecorded = map[string]int{
	"tc open 2026-11-21T11:00:00Z":    1,
	"tc later 2026-11-21T15:00:00Z":   1,
	"tc long 2026-11-22T12:00:00Z":    1, // first 24 h link
	"tc long 2026-11-22T18:00:00Z":    1, // the next link: a window is scheduled whole
	"tc evening 2026-11-21T12:30:00Z": 1,
	"ali ali-desk":                    1,
	"ali ali-fast":                    1,
	"hw hw-desk":                      1,
	"ag " + agoraChannel:              1,
}

func sameCounts(got, want map[string]int) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	for k, v := range got {
		if want[k] != v {
			return false
		}
	}
	return true
}

// No loss: with 20% of requests answered 5xx, 20% hanging until the client
// times out (short CallTimeout) and 10% carried out with their answer lost,
// repeated reconciles record every window, and never twice.
func TestGuaranteeNoLossUnderFaults(t *testing.T) {
	t.Parallel() // slow (real processes, timeouts): overlap with the rest
	w := newWorld(t, "2026-11-21T10:30:00Z")
	w.exec.CallTimeout = 250 * time.Millisecond
	w.exec.RetryBudget = time.Second
	w.open()
	mixedDocs(w)
	w.faults.Set(0.2, 0, false)
	w.faults.SetTimeoutRate(0.2)
	w.faults.SetLostAnswerRate(0.1)
	var got map[string]int
	for round := 0; round < 30; round++ {
		w.reconcile()
		got = recorded(w)
		for k, n := range got {
			if n > 1 {
				t.Fatalf("round %d: %s is recorded %d times", round, k, n)
			}
		}
		if sameCounts(got, wantRecorded) && round >= 3 {
			break
		}
		w.clk.Add(5 * time.Second)
	}
	if w.faults.Injected() == 0 {
		t.Fatal("no fault was injected: the injection did not reach the emulators")
	}
	if !sameCounts(got, wantRecorded) {
		t.Fatalf("after repeated reconciles under faults:\n got  %v\n want %v", got, wantRecorded)
	}
	w.faults.Set(0, 0, false)
	w.faults.SetTimeoutRate(0)
	w.faults.SetLostAnswerRate(0)
	w.mustReconcile()
	w.assertConverged("once the faults stopped")
	if got := recorded(w); !sameCounts(got, wantRecorded) {
		t.Fatalf("after the faults stopped: %v", got)
	}
}

// lossyHop sits in front of an emulator and, for the first n requests that
// match, lets the emulator act and then drops the connection before the
// answer reaches the client: the call succeeded but its result was lost,
// as with a timeout after the service acted.
type lossyHop struct {
	srv   *httptest.Server
	mu    sync.Mutex
	n     int
	drops int
}

func newLossyHop(h http.Handler, n int, match func(r *http.Request) bool) *lossyHop {
	l := &lossyHop{n: n}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		drop := l.n > 0 && match(r)
		if drop {
			l.n--
			l.drops++
		}
		l.mu.Unlock()
		if !drop {
			h.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(httptest.NewRecorder(), r)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	return l
}

func (l *lossyHop) dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.drops
}

// No duplicates when the answer to a create is lost (the service created
// the task, the client saw a broken connection): the retry or the next
// reconcile must find the first task, not add a second.
func TestGuaranteeLostCreateAnswerDoesNotDuplicate(t *testing.T) {
	cases := []struct {
		typ, provider, doc string
		match              func(r *http.Request) bool
		count              func(w *world) int
	}{
		{"tencent", "tc", recDoc("news", "tc", tcStreamYAML("news"), "", win("2026-11-21T11:00:00Z", "2026-11-21T12:00:00Z")),
			func(r *http.Request) bool { return r.Header.Get("X-TC-Action") == "CreateRecordTask" },
			func(w *world) int { return len(liveTencent(w.tencent())) }},
		{"aliyun", "ali", recDoc("desk", "ali", cmdStreamYAML, "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")),
			func(r *http.Request) bool { return r.URL.Query().Get("Command") == "start" },
			func(w *world) int { return len(w.aliyun().Recordings(cmdStream)) }},
		{"huawei", "hw", recDoc("desk", "hw", cmdStreamYAML, "", win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")),
			func(r *http.Request) bool { return r.URL.Query().Get("action") == "START" },
			func(w *world) int { return len(w.huawei().Recordings(cmdStream)) }},
		{"agora", "ag", recDoc("interviews", "ag", "{channel: "+agoraChannel+"}", agoraOptions, win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")),
			func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/start") },
			func(w *world) int { return len(liveAgora(w.agora(), agoraChannel)) }},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			w := newWorld(t, "2026-11-21T10:30:00Z")
			hop := newLossyHop(w.srv.Emulators[tc.typ].Handlers()[0], 1, tc.match)
			t.Cleanup(hop.srv.Close)
			w.write("providers.yaml", strings.Replace(w.providerDocs(200), w.srv.URLs[tc.typ][0], hop.srv.URL, 1))
			w.write("rec.yaml", tc.doc)
			var log []string
			for i := 0; i < 3; i++ {
				p, res := w.reconcile()
				log = append(log, actions(p)+" => "+outcomes(res))
				w.clk.Add(10 * time.Second)
			}
			if hop.dropped() != 1 {
				t.Fatalf("the hop dropped %d answers, want 1", hop.dropped())
			}
			if n := tc.count(w); n != 1 {
				t.Fatalf("%d tasks/recordings for one window after a lost create answer, want 1\n%s\nemulator calls: %v",
					n, strings.Join(log, "\n"), emuCalls(w, tc.typ))
			}
			w.assertConverged("after the lost answer")
		})
	}
}

// emuCalls returns an emulator's call counters, for failure messages.
func emuCalls(w *world, typ string) any {
	switch typ {
	case "tencent":
		return w.tencent().Calls()
	case "aliyun":
		return w.aliyun().CallCounts()
	case "huawei":
		return w.huawei().CallCounts()
	}
	return w.agora().Calls()
}

// crashAtEveryWrite applies the world's documents with the state store
// dying at its n-th write, for every n and both sides of the write (the
// write lost, or durable but unheard), as a kill -9 at that point would;
// then a new process applies again and check must find every window
// recorded once. The loop ends at the first n past the apply's last write.
func crashAtEveryWrite(t *testing.T, mk func(t *testing.T) *world, check func(w *world, at string)) {
	t.Helper()
	for _, mode := range []statetest.Mode{statetest.BeforeWrite, statetest.AfterWrite} {
		for n := 1; ; n++ {
			w := mk(t)
			faulty := statetest.FailAt(w.store, n, mode)
			w.eng.Store = faulty
			set := w.load()
			p, err := w.eng.Plan(context.Background(), set, w.clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.eng.Apply(context.Background(), set, p)
			at := fmt.Sprintf("crash %s write %d", mode, n)
			if !faulty.Crashed() {
				if err != nil {
					t.Fatalf("%s: apply without a crash failed: %v", at, err)
				}
				if n == 1 {
					t.Fatal("the apply wrote nothing")
				}
				t.Logf("%s: covered %d write points", mode, n-1)
				break
			}
			if !state.IsFenced(err) {
				t.Fatalf("%s: the crash must abort the apply with the store's refusal, got %v", at, err)
			}
			w.open() // a new process on the same state file
			w.clk.Add(10 * time.Second)
			p2, res := w.reconcile()
			if res.Err != nil {
				t.Fatalf("%s: recovery failed (plan %s): %v", at, actions(p2), res.Err)
			}
			check(w, at)
			if t.Failed() {
				t.Fatalf("%s: recovery plan %s", at, actions(p2))
			}
			w.assertConverged(at + ": after recovery")
		}
	}
}

// No duplicate at any crash point, on a fleet of all four providers: the
// state store dies at every write of one apply in turn.
func TestGuaranteeNoDuplicateAtAnyCrashPoint(t *testing.T) {
	t.Parallel() // slow (many worlds, timeouts): overlap with the rest
	crashAtEveryWrite(t, func(t *testing.T) *world {
		w := newWorld(t, "2026-11-21T10:30:00Z")
		mixedDocs(w)
		return w
	}, func(w *world, at string) {
		if got := recorded(w); !sameCounts(got, wantRecorded) {
			w.t.Errorf("%s: recorded %v, want %v", at, got, wantRecorded)
		}
	})
}

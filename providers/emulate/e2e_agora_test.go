package emulate_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
)

const agoraChannel = "interviews"

// agoraWorld is a world at 10:00 with one agora Recording whose window is
// 10:00-11:00 in channel "interviews".
func agoraWorld(t *testing.T) *world {
	w := newWorld(t, "2026-11-21T10:00:00Z")
	w.write("rec.yaml", recDoc("interviews", "ag", "{channel: "+agoraChannel+"}", agoraOptions,
		win("2026-11-21T10:00:00Z", "2026-11-21T11:00:00Z")))
	return w
}

const agoraKey = "interviews@2026-11-21T10:00:00Z"

// record returns the state record of key, live or not (the latest one).
func (w *world) record(key string) *state.Record {
	var out *state.Record
	for _, r := range w.snapshot().Records {
		if r.Key == key {
			out = r
		}
	}
	return out
}

// agoraLifecycle runs a window from open to close and checks what a user
// cares about: one recorder, confirmed, stopped by its own sid at the end,
// its files in the state.
func agoraLifecycle(t *testing.T, w *world) {
	t.Helper()
	emu := w.agora()
	_, res := w.mustReconcile()
	if res.Created != 1 {
		t.Fatalf("window open: %s", outcomes(res))
	}
	ss := emu.Sessions()
	if len(ss) != 1 || ss[0].UID != "1001" || ss[0].Channel != agoraChannel || ss[0].StorageBucket != "e2e-bucket" {
		t.Fatalf("sessions after the start: %+v", ss)
	}
	sid := ss[0].SID
	r := w.live()[agoraKey]
	if r == nil || r.Task == nil || r.Task.ID != sid || r.Task.Handle["resourceId"] != ss[0].ResourceID {
		t.Fatalf("state does not hold the sid and resourceId: %+v", r)
	}
	w.assertConverged("right after the start (not yet confirmed)")
	queries := emu.Calls()["query"]
	w.clk.Add(5 * time.Second)
	if p, _ := w.mustReconcile(); p.HasChanges() {
		t.Fatalf("5 s later: %s", actions(p))
	}
	if emu.Calls()["query"] == queries {
		t.Fatal("no query confirmed the start")
	}
	if s := liveAgora(emu, agoraChannel); len(s) != 1 || s[0].Status != 5 {
		t.Fatalf("recorder not confirmed: %+v", s)
	}
	// Past the 90 s start deadline a confirmed recorder is left alone.
	w.clk.Set(ts("2026-11-21T10:02:00Z"))
	if p, _ := w.mustReconcile(); p.HasChanges() {
		t.Fatalf("at 10:02: %s", actions(p))
	}
	w.clk.Set(ts("2026-11-21T11:00:00Z"))
	_, res = w.mustReconcile()
	if res.Stopped != 1 {
		t.Fatalf("window end: %s", outcomes(res))
	}
	ss = emu.Sessions()
	if len(ss) != 1 || ss[0].SID != sid || ss[0].Status != 7 {
		t.Fatalf("sessions after the window: %+v (want %s stopped)", ss, sid)
	}
	done := w.record(agoraKey)
	want := sid + "_" + agoraChannel + ".m3u8"
	if done == nil || done.Phase != state.Done || done.Task == nil || len(done.Task.Files) != 1 || done.Task.Files[0] != want {
		t.Fatalf("state after the stop: %+v, want files [%s]", done, want)
	}
	if !bytes.Contains(w.stateBytes(), []byte(want)) {
		t.Fatalf("the state file does not list %s", want)
	}
	w.clk.Add(time.Minute)
	w.assertConverged("after the window")
}

// Window open -> acquire+start -> query confirms -> window end -> stop
// with the same sid, files recorded in state.
func TestAgoraWindowLifecycle(t *testing.T) {
	w := agoraWorld(t)
	agoraLifecycle(t, w)
	if c := w.agora().Calls(); c["acquire"] != 1 || c["start"] != 1 || c["stop"] != 1 {
		t.Fatalf("calls %v, want one acquire, start and stop", c)
	}
}

// With the primary domain down, the same lifecycle runs on the fallback.
func TestAgoraPrimaryDownEverythingOnFallback(t *testing.T) {
	w := agoraWorld(t)
	w.agora().SetPrimaryDown(true)
	agoraLifecycle(t, w)
	if lc := w.agora().ListenerCalls(); lc["fallback"] < 4 {
		t.Fatalf("listener calls %v: acquire, start, query and stop should have reached the fallback", lc)
	}
}

// Start answering 5xx: retried with the same parameters (seed 004: three
// retries at 3, 6, 9 s); when all of them fail, acquire again with the same
// uid (its 53 would reveal a recorder a 5xx hid), and only when that fails
// too (no recorder found), with the backup uid.
func TestAgoraStart5xxRetriedThenBackupUID(t *testing.T) {
	for _, tc := range []struct {
		fails         int
		uid           string
		acquires, sts int
	}{
		{fails: 3, uid: "1001", acquires: 1, sts: 4}, // the third retry succeeds
		{fails: 4, uid: "1001", acquires: 2, sts: 5}, // all retries fail: the lookup's start succeeds
		{fails: 8, uid: "1002", acquires: 3, sts: 9}, // the lookup fails too: backup uid
	} {
		t.Run(strings.Repeat("5xx", tc.fails), func(t *testing.T) {
			w := agoraWorld(t)
			w.agora().FailNextStarts(tc.fails)
			_, res := w.mustReconcile()
			if res.Created != 1 {
				t.Fatalf("start: %s", outcomes(res))
			}
			ss := w.agora().Sessions()
			if len(ss) != 1 || ss[0].UID != tc.uid {
				t.Fatalf("sessions %+v, want one with uid %s", ss, tc.uid)
			}
			if c := w.agora().Calls(); c["acquire"] != tc.acquires || c["start"] != tc.sts {
				t.Fatalf("calls %v, want %d acquire and %d start", c, tc.acquires, tc.sts)
			}
			if r := w.live()[agoraKey]; r == nil || r.Task.Handle["uid"] != tc.uid {
				t.Fatalf("state: %+v", r)
			}
			w.clk.Add(5 * time.Second)
			w.mustReconcile()
			w.assertConverged("once confirmed")
		})
	}
}

// A start whose status never reaches 4/5 within 90 s is stopped and
// started again (with the other uid) while the window is open.
func TestAgoraUnconfirmedStartIsRetried(t *testing.T) {
	w := agoraWorld(t)
	emu := w.agora()
	emu.SetNeverReady(true)
	w.mustReconcile()
	emu.SetNeverReady(false) // only the first recorder hangs
	first := emu.Sessions()[0]
	w.clk.Add(30 * time.Second)
	if p, _ := w.mustReconcile(); p.HasChanges() {
		t.Fatalf("30 s after the start, within the 90 s deadline: %s", actions(p))
	}
	w.clk.Set(ts("2026-11-21T10:01:31Z"))
	_, res := w.mustReconcile()
	if res.Created != 1 {
		t.Fatalf("after the deadline: %s", outcomes(res))
	}
	ss := emu.Sessions()
	if len(ss) != 2 || ss[0].SID != first.SID || ss[0].Status != 7 || ss[1].UID == first.UID || !ss[1].Ended.IsZero() {
		t.Fatalf("sessions %+v: want the hung recorder stopped and a new one with the other uid", ss)
	}
	if r := w.live()[agoraKey]; r == nil || r.Task.ID != ss[1].SID {
		t.Fatalf("state does not follow the new recorder: %+v", r)
	}
	w.clk.Add(5 * time.Second)
	w.mustReconcile()
	w.assertConverged("once the retry is confirmed")
	if n := len(liveAgora(emu, agoraChannel)); n != 1 {
		t.Fatalf("%d recorders in the channel", n)
	}
}

// A recorder that leaves mid-window (idle timeout while the channel was
// empty) is started again on the next reconcile.
func TestAgoraRecorderExitIsRestarted(t *testing.T) {
	w := agoraWorld(t)
	emu := w.agora()
	w.mustReconcile()
	w.clk.Add(5 * time.Second)
	w.mustReconcile()
	w.clk.Set(ts("2026-11-21T10:10:00Z"))
	emu.SetChannelActive(agoraChannel, false) // maxIdleTime 60 s: it leaves at 10:11
	w.clk.Set(ts("2026-11-21T10:12:00Z"))
	emu.SetChannelActive(agoraChannel, true) // the broadcaster is back
	if n := len(liveAgora(emu, agoraChannel)); n != 0 {
		t.Fatalf("the recorder did not leave: %+v", emu.Sessions())
	}
	// The 404 is believed once rechecks 5, 10 and 15 s apart confirm it
	// (seed 004): scheduled by the provider, never slept inside a List.
	for _, d := range []time.Duration{0, 5 * time.Second, 10 * time.Second} {
		w.clk.Add(d)
		if _, res := w.mustReconcile(); res.Created != 0 {
			t.Fatalf("restarted before the 404 was confirmed: %s", outcomes(res))
		}
	}
	w.clk.Add(15 * time.Second)
	_, res := w.mustReconcile()
	if res.Created != 1 {
		t.Fatalf("after the exit: %s", outcomes(res))
	}
	ss := emu.Sessions()
	if len(ss) != 2 || ss[0].Status != 8 || !ss[1].Ended.IsZero() {
		t.Fatalf("sessions %+v: want the old recorder gone (8) and a new one", ss)
	}
	w.clk.Add(5 * time.Second)
	w.mustReconcile()
	w.assertConverged("after the restart")
	w.clk.Set(ts("2026-11-21T11:00:00Z"))
	w.mustReconcile()
	if n := len(liveAgora(emu, agoraChannel)); n != 0 {
		t.Fatalf("%d recorders after the window", n)
	}
}

// A crash at any state write of an apply (after a start was answered and
// before its sid reached the state included): the next apply must not
// leave two recorders in the channel.
func TestAgoraCrashAtEveryWriteLeavesOneRecorder(t *testing.T) {
	crashAtEveryWrite(t, agoraWorld, func(w *world, at string) {
		if live := liveAgora(w.agora(), agoraChannel); len(live) != 1 {
			t.Fatalf("%s: %d recorders in the channel: %+v", at, len(live), live)
		}
	})
}

// No secret value (customer id/secret, token, storage keys) appears in
// logs, plan text/JSON/markdown, the apply summary or the state file.
func TestAgoraSecretsNeverShown(t *testing.T) {
	w := agoraWorld(t)
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)
	w.agora().FailNextStarts(4) // retries and errors are where secrets leak
	var out bytes.Buffer
	render := func(p *reconcile.Plan) {
		for _, f := range []func(*bytes.Buffer, *reconcile.Plan) error{
			func(b *bytes.Buffer, p *reconcile.Plan) error { return reconcile.WriteText(b, p) },
			func(b *bytes.Buffer, p *reconcile.Plan) error { return reconcile.WriteJSON(b, p) },
			func(b *bytes.Buffer, p *reconcile.Plan) error { return reconcile.WriteMarkdown(b, p) },
		} {
			if err := f(&out, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, at := range []string{"2026-11-21T10:00:00Z", "2026-11-21T10:00:05Z", "2026-11-21T11:00:00Z"} {
		w.clk.Set(ts(at))
		render(w.plan())
		p, res := w.reconcile()
		render(p)
		out.WriteString(res.Summary())
		if res.Err != nil {
			out.WriteString(res.Err.Error())
		}
	}
	// A start refused for a bad token: the error path quotes the request.
	badToken := strings.Replace(agoraOptions, "RECORDCTL_E2E_AGORA_TOKEN", "RECORDCTL_E2E_BAD_TOKEN", 1)
	w.write("rec.yaml", recDoc("interviews", "ag", "{channel: "+agoraChannel+"}", badToken,
		win("2026-11-21T12:00:00Z", "2026-11-21T13:00:00Z")))
	w.clk.Set(ts("2026-11-21T12:00:00Z"))
	p, res := w.reconcile()
	render(p)
	if res.Err == nil {
		t.Fatalf("a start with an expired token did not fail: %s", outcomes(res))
	}
	out.WriteString(res.Err.Error())
	if len(w.agora().Sessions()) < 1 {
		t.Fatalf("the test did not record: %+v", w.agora().Sessions())
	}
	assertNoSecrets(t, "plan and apply output", out.Bytes())
	assertNoSecrets(t, "logs", []byte(w.log.String()))
	assertNoSecrets(t, "state file", w.stateBytes())
}

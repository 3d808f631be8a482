package emulate_test

import (
	"path/filepath"
	"testing"
	"time"
)

// A fresh state over a running recorder (apply --state s1, then apply
// --state s2): the second apply adopts the recorder the first started (its
// 53 names it) instead of starting the backup uid beside it, and stops it
// at the window's end.
func TestAgoraFreshStateAdoptsTheRunningRecorder(t *testing.T) {
	w := agoraWorld(t)
	emu := w.agora()
	if _, res := w.mustReconcile(); res.Created != 1 {
		t.Fatalf("first state: %s", outcomes(res))
	}
	first := liveAgora(emu, agoraChannel)
	w.clk.Add(10 * time.Second)
	w.statePath = filepath.Join(t.TempDir(), "s2")
	w.open()
	_, res := w.mustReconcile()
	live := liveAgora(emu, agoraChannel)
	if len(first) != 1 || len(live) != 1 || live[0].SID != first[0].SID {
		t.Fatalf("after an apply with a fresh state (%s): recorders %+v, want only %+v", outcomes(res), live, first)
	}
	if r := w.live()[agoraKey]; r == nil || r.Task == nil || r.Task.ID != first[0].SID {
		t.Fatalf("the fresh state does not hold the running recorder's sid: %+v", r)
	}
	w.clk.Add(5 * time.Second)
	w.assertConverged("after the adoption")
	w.clk.Set(ts("2026-11-21T11:00:00Z"))
	if _, res := w.mustReconcile(); res.Stopped != 1 {
		t.Fatalf("window end: %s", outcomes(res))
	}
	if live := liveAgora(emu, agoraChannel); len(live) != 0 {
		t.Fatalf("recorders after the window: %+v", live)
	}
	for _, s := range emu.Sessions() {
		if s.UID != "1001" {
			t.Errorf("a recorder with uid %s was started: %+v", s.UID, s)
		}
	}
}

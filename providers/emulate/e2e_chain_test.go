package emulate_test

import (
	"testing"
	"time"
)

// The report, on the Tencent emulator: touching quarter-hour windows
// (one 09:00-10:00 window), applied every 5 minutes with an 8-minute
// lookahead. The window is created once, whole, and never stopped or
// replaced as the lookahead moves through it.
func TestTencentChainAppliedOftenWithShortLookahead(t *testing.T) {
	w := newWorld(t, "2026-11-21T08:50:00Z")
	w.eng.Lookahead = 8 * time.Minute
	w.write("tencent.yaml", `---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: quarters}
spec:
  provider: tc
  stream: {domain: push.example.com, app: live, name: quarters}
  schedule: {cron: "*/15 9 * * *", duration: 15m}
`)
	for w.clk.Now().Before(ts("2026-11-21T10:05:00Z")) {
		p, _ := w.mustReconcile()
		for _, a := range p.Actions {
			if a.Action != "create" {
				t.Fatalf("at %s: %s %s  # %s", w.clk.Now().Format(time.RFC3339), a.Action, a.Key, a.Reason)
			}
		}
		w.clk.Add(5 * time.Minute)
	}
	if n := w.tencent().Calls()["CreateRecordTask"]; n != 1 {
		t.Fatalf("CreateRecordTask called %d times, want 1", n)
	}
	tasks := w.tencent().Tasks()
	if len(tasks) != 1 || !tasks[0].StartTime.Equal(ts("2026-11-21T09:00:00Z")) || !tasks[0].EndTime.Equal(ts("2026-11-21T10:00:00Z")) {
		t.Fatalf("tasks: %+v", tasks)
	}
}

package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/spec"
)

// randomRecording is a schedule drawn from shapes that chain, merge, cross
// DST changes, pad and exclude.
func randomRecording(r *rand.Rand, w *world, i int) *spec.Recording {
	crons := []string{"*/15 9 * * *", "0 19 * * MON-FRI", "0 * * * *", "30 1 * * *", "*/10 * * * *", "@every 10m",
		"@every 7h", "0 */2 * * *", "45 23 * * *", "0 0 * * SUN", "*/20 * * * * *", "@daily"}
	durs := []time.Duration{20 * time.Second, 10 * time.Minute, 15 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour, 30 * time.Hour}
	pads := []time.Duration{0, 0, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe", "Asia/Shanghai"}
	loc, _ := time.LoadLocation(zones[r.IntN(len(zones))])
	prov := "sched"
	if r.IntN(3) == 0 {
		prov = "cmd"
	}
	s := spec.Stream{Domain: "push.example.com", App: "live", Name: fmt.Sprintf("s%d", i)}
	rec := w.rec(fmt.Sprintf("r%d", i), prov, s, crons[r.IntN(len(crons))], durs[r.IntN(len(durs))])
	sc := rec.Spec.Schedule
	sc.Location, sc.Timezone = loc, loc.String()
	sc.Padding = spec.Padding{Before: pads[r.IntN(len(pads))], After: pads[r.IntN(len(pads))]}
	if r.IntN(2) == 0 {
		day := w.clk.Now().Truncate(24*time.Hour).AddDate(0, 0, r.IntN(5))
		sc.Exclude = append(sc.Exclude, spec.Exclusion{From: day, To: day.AddDate(0, 0, r.IntN(2))})
	}
	if r.IntN(4) == 0 {
		sc.Exclude = append(sc.Exclude, spec.Exclusion{Cron: []string{"* * * * SAT,SUN", "0 * * * *", "* 2 * * *"}[r.IntN(3)]})
	}
	return rec
}

// Property: for random schedules and random planning instants and
// lookaheads, every window two plans both show has the same start and end,
// and replanning after apply at any later instant never stops or deletes a
// task because its schedule changed.
func TestWindowsAreStableAcrossPlans(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("RECORDCTL_TEST_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (rerun with RECORDCTL_TEST_SEED=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 7))
	lookaheads := []time.Duration{10 * time.Minute, 8 * time.Minute, time.Hour, 24 * time.Hour, 3 * 24 * time.Hour, 6 * 24 * time.Hour}
	for iter := 0; iter < 12; iter++ {
		start := ts("2026-03-01T00:00:00Z").Add(time.Duration(r.Int64N(int64(300 * 24 * time.Hour)))).Truncate(time.Second)
		w := newWorld(t, start.Format(time.RFC3339))
		var names []string
		for i := 0; i < 3; i++ {
			rec := randomRecording(r, w, i)
			names = append(names, fmt.Sprintf("%s %q %s %s pad %s/%s exclude %d", rec.Metadata.Name, rec.Spec.Schedule.Cron, rec.Spec.Schedule.Duration,
				rec.Spec.Schedule.Location, rec.Spec.Schedule.Padding.Before, rec.Spec.Schedule.Padding.After, len(rec.Spec.Schedule.Exclude)))
		}
		seen := map[string]Span{} // window id -> scheduled span
		check := func(p *Plan, step int) {
			for _, a := range p.Actions {
				if a.Reason == "schedule changed" {
					t.Fatalf("seed %d iter %d step %d at %s: %s %s because the schedule changed (recordings %v)", seed, iter, step, w.clk.Now(), a.Action, a.Key, names)
				}
				if a.Action != Create && a.Action != Adopt || a.Window.Start.IsZero() {
					continue
				}
				id := a.Key
				if i := strings.IndexByte(id, '#'); i >= 0 {
					id = id[:i]
				}
				if prev, ok := seen[id]; ok && prev != a.Window {
					t.Fatalf("seed %d iter %d step %d at %s: window %s was %s..%s, now %s..%s (recordings %v)", seed, iter, step, w.clk.Now(), id,
						prev.Start, prev.End, a.Window.Start, a.Window.End, names)
				}
				seen[id] = a.Window
			}
		}
		for step := 0; step < 25; step++ {
			w.eng.Lookahead = lookaheads[r.IntN(len(lookaheads))]
			p, res := w.apply()
			check(p, step)
			if res.Err != nil {
				t.Fatalf("seed %d iter %d step %d: apply: %v (recordings %v)", seed, iter, step, res.Err, names)
			}
			// A plan right after the apply, with any lookahead, has nothing to stop.
			w.eng.Lookahead = lookaheads[r.IntN(len(lookaheads))]
			check(w.plan(), step)
			w.clk.Set(w.clk.Now().Add(time.Duration(r.Int64N(int64(6 * time.Hour)))).Truncate(time.Second))
		}
	}
}

// A 30 h and a 6½-day Tencent window: one apply creates every piece within
// Tencent's horizon (StartTime within 6 days); the rest are pending in the
// plan and created once in reach.
func TestLongWindowsScheduledWhole(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:00:00Z")
	marathon := w.rec("marathon", "sched", newsStream, "", 0)
	marathon.Spec.Schedule = nil
	marathon.Spec.Windows = []spec.Window{{Start: ts("2026-11-21T11:00:00Z"), End: ts("2026-11-22T17:00:00Z")}} // 30 h
	expo := w.rec("expo", "sched", sportStream, "", 0)
	expo.Spec.Schedule = nil
	expo.Spec.Windows = []spec.Window{{Start: ts("2026-11-21T11:00:00Z"), End: ts("2026-11-27T23:00:00Z")}} // 6½ days
	p, res := w.apply()
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	var created []string
	for _, a := range p.Actions {
		created = append(created, a.Key+" "+a.Piece.Start.Format("02T15")+"-"+a.Piece.End.Format("02T15"))
	}
	want := []string{
		"expo@2026-11-21T11:00:00Z 21T11-22T11", "marathon@2026-11-21T11:00:00Z 21T11-22T11",
		"expo@2026-11-21T11:00:00Z#1 22T11-23T11", "marathon@2026-11-21T11:00:00Z#1 22T11-22T17",
		"expo@2026-11-21T11:00:00Z#2 23T11-24T11", "expo@2026-11-21T11:00:00Z#3 24T11-25T11",
		"expo@2026-11-21T11:00:00Z#4 25T11-26T11", "expo@2026-11-21T11:00:00Z#5 26T11-27T11",
	}
	if strings.Join(created, "\n") != strings.Join(want, "\n") {
		t.Fatalf("one apply creates:\n%s\nwant\n%s", strings.Join(created, "\n"), strings.Join(want, "\n"))
	}
	// The last piece starts 6 days and 1 hour ahead: pending, in JSON and text.
	var buf bytes.Buffer
	if err := WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Pending []struct {
			Recording, Key string
			Piece          Span
			CreateFrom     time.Time `json:"create_from"`
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Pending) != 1 || doc.Pending[0].Recording != "expo" || doc.Pending[0].Key != "expo@2026-11-21T11:00:00Z#6" ||
		!doc.Pending[0].Piece.Start.Equal(ts("2026-11-27T11:00:00Z")) || !doc.Pending[0].Piece.End.Equal(ts("2026-11-27T23:00:00Z")) ||
		!doc.Pending[0].CreateFrom.Equal(ts("2026-11-21T11:00:01Z")) {
		t.Fatalf("pending: %s", buf.String())
	}
	buf.Reset()
	WriteText(&buf, p)
	if !strings.Contains(buf.String(), "~ expo@2026-11-21T11:00:00Z#6 sched 2026-11-27 11:00-23:00 UTC pending  # created from 2026-11-21 11:00 UTC") {
		t.Fatalf("text plan:\n%s", buf.String())
	}
	// Before the last piece is in reach nothing changes; once it is, it is created.
	w.clk.Set(ts("2026-11-21T11:00:00Z"))
	if p, _ := w.apply(); p.HasChanges() || len(p.Pending) != 1 {
		t.Fatalf("not yet in reach: %s, %d pending", kinds(p), len(p.Pending))
	}
	w.clk.Set(ts("2026-11-21T11:00:01Z"))
	p, res = w.apply()
	if res.Err != nil || kinds(p) != "create expo@2026-11-21T11:00:00Z#6" || len(p.Pending) != 0 {
		t.Fatalf("in reach: %s %v", kinds(p), res.Err)
	}
	if n := len(w.sched.live(sportStream)); n != 7 {
		t.Fatalf("expo has %d tasks, want 7", n)
	}
}

// A lookahead shorter than the one used at apply deletes and stops nothing.
func TestShorterLookaheadRemovesNothing(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:00:00Z")
	w.rec("news", "sched", newsStream, "0 */4 * * *", time.Hour)
	w.rec("sport", "sched", sportStream, "30 10 * * SAT", 30*time.Hour) // two pieces
	w.eng.Lookahead = 24 * time.Hour
	p, res := w.apply()
	if res.Err != nil || p.Summary.Create < 6 {
		t.Fatalf("apply: %s %v", kinds(p), res.Err)
	}
	for _, la := range []time.Duration{10 * time.Minute, time.Minute, time.Hour} {
		w.eng.Lookahead = la
		if p := w.plan(); p.HasChanges() {
			t.Fatalf("lookahead %s after a 24h apply: %s", la, kinds(p))
		}
	}
	w.clk.Set(ts("2026-11-21T13:00:00Z"))
	w.eng.Lookahead = 10 * time.Minute
	if p, res := w.apply(); p.Summary.Stop+p.Summary.Delete != 0 || res.Err != nil {
		t.Fatalf("later, lookahead 10m: %s %v", kinds(p), res.Err)
	}
	// Removing the recording still removes its tasks, lookahead or not.
	w.set.Recordings = w.set.Recordings[:1]
	if p := w.plan(); p.Summary.Delete != 1 || p.Summary.Stop != 1 {
		t.Fatalf("sport removed: %s", kinds(p))
	}
}

// Padding is part of the task (the provider call), not of the identity.
func TestPaddedWindowKeepsItsIdentity(t *testing.T) {
	w := newWorld(t, "2026-11-21T10:00:00Z")
	r := w.rec("news", "sched", newsStream, "0 19 * * *", 90*time.Minute)
	r.Spec.Schedule.Location, _ = time.LoadLocation("Asia/Shanghai")
	r.Spec.Schedule.Padding = spec.Padding{Before: 2 * time.Minute, After: 10 * time.Minute}
	p, res := w.apply()
	if res.Err != nil || len(p.Actions) != 1 {
		t.Fatalf("%s %v", kinds(p), res.Err)
	}
	a := p.Actions[0]
	if a.Key != "news@2026-11-21T11:00:00Z" || !a.Window.Start.Equal(ts("2026-11-21T11:00:00Z")) || !a.Window.End.Equal(ts("2026-11-21T12:30:00Z")) ||
		!a.Piece.Start.Equal(ts("2026-11-21T10:58:00Z")) || !a.Piece.End.Equal(ts("2026-11-21T12:40:00Z")) {
		t.Fatalf("action %+v", a)
	}
	live := w.sched.live(newsStream)
	if len(live) != 1 || !live[0].Start.Equal(ts("2026-11-21T10:58:00Z")) || !live[0].End.Equal(ts("2026-11-21T12:40:00Z")) {
		t.Fatalf("provider got %+v", live)
	}
	var buf bytes.Buffer
	WriteText(&buf, p)
	if !strings.Contains(buf.String(), "18:58-20:40 Asia/Shanghai (window 19:00-20:30)") {
		t.Fatalf("text plan:\n%s", buf.String())
	}
}

// Text plans show the UTC offset where a local time is ambiguous or a
// window crosses a change of offset, and seconds where minutes mislead.
func TestReadableEdges(t *testing.T) {
	at := ts("2026-11-01T04:00:00Z")
	cases := []struct {
		span       Span
		zone, want string
	}{
		{Span{ts("2026-11-01T05:30:00Z"), ts("2026-11-01T06:30:00Z")}, "America/New_York", "01:30 EDT-01:30 EST"},
		{Span{ts("2026-11-01T13:07:00Z"), ts("2026-11-01T13:07:20Z")}, "UTC", "13:07:00-13:07:20"},
		{Span{ts("2026-11-01T13:07:30Z"), ts("2026-11-01T14:07:30Z")}, "UTC", "13:07:30-14:07:30"},
		{Span{ts("2026-11-01T14:00:00Z"), ts("2026-11-01T15:30:00Z")}, "America/New_York", "09:00-10:30"},
		// Lord Howe's 30-minute change keeps the abbreviation: show offsets.
		{Span{ts("2026-04-04T14:45:00Z"), ts("2026-04-04T15:45:00Z")}, "Australia/Lord_Howe", "2026-04-05 01:45 +11:00-02:15 +10:30"},
	}
	for _, c := range cases {
		if got := localRange(c.span, c.zone, at); got != c.want {
			t.Errorf("%s in %s: got %q want %q", c.span.Start, c.zone, got, c.want)
		}
	}
}

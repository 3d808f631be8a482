package calendar

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
)

// dstCases are 7-day ranges around each 2027 DST change of a northern and
// a southern zone: spring forward (a start time in the gap) and fall back
// (a start time that occurs twice).
var dstCases = []struct {
	name, zone, from string
	want             string // the window whose start the change moves (gap) or pins (twice)
}{
	{"new-york-spring-forward", "America/New_York", "2027-03-11T00:00:00-05:00", "tx-gap@2027-03-14T07:00:00Z"}, // 02:30 -> 03:00 EDT
	{"new-york-fall-back", "America/New_York", "2027-11-04T00:00:00-04:00", "hw-night@2027-11-07T05:15:00Z"},    // 01:15 EDT, once
	{"sydney-fall-back", "Australia/Sydney", "2027-04-01T00:00:00+11:00", "tx-gap@2027-04-03T15:30:00Z"},        // 02:30 AEDT, once
	{"sydney-spring-forward", "Australia/Sydney", "2027-09-30T00:00:00+10:00", "tx-gap@2027-10-02T16:00:00Z"},   // 02:30 -> 03:00 AEDT
}

// dstDocs are recordings whose windows start at DST-sensitive local times
// on every provider kind: Tencent (pieces, a 30 h one-off crossing the
// change), Huawei (windows 5 s apart merge), Alibaba (continuous too).
func dstDocs(zone string, from time.Time) []string {
	loc, _ := time.LoadLocation(zone)
	day := func(d int, h, m, s int) string {
		f := from.In(loc)
		return time.Date(f.Year(), f.Month(), f.Day()+d, h, m, s, 0, loc).Format(time.RFC3339)
	}
	return []string{
		cronRec("tx-gap", "tx", "gap", "30 2 * * *", "1h30m", zone),
		cronRec("tx-evening", "tx", "evening", "0 19 * * *", "2h", zone),
		winRec("tx-long", "tx", "long", day(2, 12, 0, 0), day(3, 18, 0, 0)),
		cronRec("hw-night", "hw", "night", "15 1 * * *", "1h30m", zone),
		winRec("hw-pair", "hw", "pair", day(1, 1, 0, 0), day(1, 2, 0, 0), day(1, 2, 0, 5), day(1, 3, 0, 0)),
		cronRec("ali-hourly", "ali", "hourly", "0 */3 * * *", "45m", zone),
		contRec("ali-24x7", "ali", "channel"),
	}
}

// TestWindowsEqualPlanAcrossDST: at every instant a plan is made (every 7
// minutes and at every window edge), each window and task the plan
// contains is in the calendar with the same identity and extent, and each
// calendar window open at that instant is in the plan.
func TestWindowsEqualPlanAcrossDST(t *testing.T) {
	for _, tc := range dstCases {
		t.Run(tc.name, func(t *testing.T) {
			from := mustTime(t, tc.from)
			set := loadSet(t, from.Add(-30*24*time.Hour), dstDocs(tc.zone, from)...)
			cal, err := Build(set, Options{From: from, Days: 7, Now: from})
			if err != nil {
				t.Fatal(err)
			}
			if len(cal.DST) != 1 || cal.DST[0].Zone != tc.zone {
				t.Fatalf("DST changes = %+v, want one in %s", cal.DST, tc.zone)
			}
			byID := map[string]*Window{}
			pieces := map[string]Piece{}
			for i := range cal.Windows {
				w := &cal.Windows[i]
				byID[w.ID] = w
				for _, p := range w.Pieces {
					pieces[p.Key] = p
				}
			}
			lookahead := reconcile.DefaultLookahead
			instants := map[time.Time]bool{}
			for at := from.Add(-lookahead); at.Before(cal.To); at = at.Add(7 * time.Minute) {
				instants[at] = true
			}
			for _, w := range cal.Windows {
				instants[maxT(w.Start, cal.From)] = true
				instants[minT(w.End, cal.To).Add(-time.Second)] = true
				for _, p := range w.Pieces {
					instants[p.Start.Add(-time.Minute)] = true
				}
			}
			checked := 0
			for at := range instants {
				desired := reconcile.Desired(set, reconcile.RegisteredCaps, at, lookahead)
				inPlan := map[string]bool{}
				for _, p := range desired {
					inPlan[p.Window] = true
					if !p.WStart.Before(cal.To) || !p.WEnd.After(cal.From) {
						continue // the window is outside the range
					}
					w := byID[p.Window]
					if w == nil {
						t.Fatalf("plan at %s has window %s [%s, %s); the calendar does not", at.UTC().Format(time.RFC3339), p.Window, p.WStart.UTC(), p.WEnd.UTC())
					}
					if !w.Start.Equal(p.WStart) || !w.End.Equal(p.WEnd) {
						t.Fatalf("window %s: calendar [%s, %s), plan at %s [%s, %s)", p.Window, w.Start, w.End, at.UTC(), p.WStart.UTC(), p.WEnd.UTC())
					}
					if p.End.After(cal.From) && p.Start.Before(cal.To) {
						cp, ok := pieces[p.Key]
						if !ok || !cp.Start.Equal(p.Start) || !cp.End.Equal(p.End) {
							t.Fatalf("task %s: plan at %s has [%s, %s); calendar has %+v (found %v)", p.Key, at.UTC(), p.Start.UTC(), p.End.UTC(), cp, ok)
						}
					}
					checked++
				}
				if at.Before(cal.From) {
					continue
				}
				for _, w := range cal.Windows {
					if !w.Start.After(at) && at.Before(w.End) && !inPlan[w.ID] {
						t.Fatalf("calendar window %s [%s, %s) is open at %s but not in the plan", w.ID, w.Start, w.End, at.UTC())
					}
				}
			}
			if checked < 1000 {
				t.Fatalf("only %d plan windows compared", checked)
			}
			t.Logf("%d plan windows compared", checked)
			gap := 0
			for _, w := range cal.Windows {
				if w.Recording == "tx-gap" {
					gap++
				}
			}
			if gap != 7 {
				t.Errorf("tx-gap has %d windows in 7 days, want 7 (one per day, even across the change)", gap)
			}
			if byID[tc.want] == nil {
				t.Errorf("no window %s", tc.want)
			}
			long := 0
			for _, w := range cal.Windows {
				if w.Recording == "tx-long" {
					long = len(w.Pieces)
				}
			}
			if long != 2 {
				t.Errorf("the 30 h one-off has %d tasks, want 2", long)
			}
		})
	}
}

// TestLongWindowPiecesAndClipping: a window longer than a Tencent task is
// shown with its 24 h tasks; a continuous window is clipped to the range
// under its own identity.
func TestLongWindowPiecesAndClipping(t *testing.T) {
	from := mustTime(t, "2027-03-11T00:00:00Z")
	set := loadSet(t, from.Add(-30*24*time.Hour),
		winRec("gala", "tx", "gala", "2027-03-12T06:00:00Z", "2027-03-13T12:00:00Z"),
		contRec("always", "ali", "always"))
	cal, err := Build(set, Options{From: from, Days: 7, Now: from})
	if err != nil {
		t.Fatal(err)
	}
	var gala, always *Window
	for i := range cal.Windows {
		switch cal.Windows[i].Recording {
		case "gala":
			gala = &cal.Windows[i]
		case "always":
			always = &cal.Windows[i]
		}
	}
	if gala == nil || len(gala.Pieces) != 2 || gala.Pieces[1].Key != "gala@2027-03-12T06:00:00Z#1" ||
		!gala.Pieces[1].End.Equal(mustTime(t, "2027-03-13T12:00:00Z")) {
		t.Fatalf("gala = %+v, want two tasks 06:00+24h and #1 to 12:00 next day", gala)
	}
	if always == nil || always.ID != "always@2000-01-01T00:00:00Z" || !always.ShownStart.Equal(cal.From) || !always.ShownEnd.Equal(cal.To) || !always.Continuous {
		t.Fatalf("continuous window = %+v, want its own identity clipped to the range", always)
	}
}

// TestConflicts: each kind of conflict is found and attached to the windows concerned.
func TestConflicts(t *testing.T) {
	from := mustTime(t, "2027-03-11T00:00:00Z")
	var docs []string
	for i := range 4 { // four recordings of one Tencent stream: 4 overlapping tasks
		docs = append(docs, winRec(fmt.Sprintf("quad-%d", i), "tx", "quad", "2027-03-12T10:00:00Z", "2027-03-12T11:00:00Z"))
	}
	docs = append(docs,
		winRec("hw-a", "hw", "relay", "2027-03-13T10:00:00Z", "2027-03-13T11:00:00Z"),
		winRec("hw-b", "hw", "relay", "2027-03-13T11:00:05Z", "2027-03-13T12:00:00Z"),
		winRec("tx-week", "tx", "week", "2027-03-11T06:00:00Z", "2027-03-17T20:00:00Z"),
		winRec("tx-ok", "tx", "ok", "2027-03-12T06:00:00Z", "2027-03-12T08:00:00Z"),
	)
	// Loaded a month earlier: spec's own two-recordings check looks 14 days ahead.
	set := loadSet(t, from.Add(-30*24*time.Hour), docs...)
	cal, err := Build(set, Options{From: from, Days: 7, Now: from})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[ConflictKind][]Conflict{}
	for _, c := range cal.Conflicts {
		kinds[c.Kind] = append(kinds[c.Kind], c)
	}
	if n := len(kinds[SameStream]); n != 6 {
		t.Errorf("same-stream conflicts = %d, want 6 (every pair of the four)", n)
	}
	if ol := kinds[OverlapLimit]; len(ol) != 1 || len(ol[0].Windows) != 4 || !ol[0].Start.Equal(mustTime(t, "2027-03-12T10:00:00Z")) {
		t.Errorf("overlap-limit = %+v, want one over the four windows from 10:00", ol)
	}
	if rg := kinds[RestartGap]; len(rg) != 1 || strings.Join(rg[0].Recordings, ",") != "hw-a,hw-b" {
		t.Errorf("restart-gap = %+v, want hw-b 5 s after hw-a", rg)
	}
	if bh := kinds[BeyondHorizon]; len(bh) != 1 || bh[0].Windows[0] != "tx-week@2027-03-11T06:00:00Z" {
		t.Errorf("beyond-horizon = %+v, want tx-week (6 d 14 h)", bh)
	}
	for _, w := range cal.Windows {
		if w.Recording == "tx-ok" && len(w.Conflicts) > 0 {
			t.Errorf("tx-ok has conflicts %v", w.Conflicts)
		}
	}
}

// TestStatusFromState: a state's records give each window its status.
func TestStatusFromState(t *testing.T) {
	now := mustTime(t, "2027-03-12T12:00:00Z")
	set := loadSet(t, now.Add(-30*24*time.Hour),
		cronRec("daily", "ali", "daily", "0 10 * * *", "3h", "UTC"),
		cronRec("evening", "tx", "evening", "0 20 * * *", "1h", "UTC"))
	task := &providers.Task{ID: "t1"}
	st := &state.State{Lineage: "l", LastReconcile: now.Add(-time.Minute), Records: []*state.Record{
		{Window: "daily@2027-03-10T10:00:00Z", Phase: state.Done, Task: task, Created: now.Add(-50 * time.Hour)},
		{Window: "daily@2027-03-12T10:00:00Z", Phase: state.Active, Task: task, Created: now.Add(-2 * time.Hour)},
		{Window: "evening@2027-03-10T20:00:00Z", Phase: state.Failed, Created: now.Add(-40 * time.Hour)},
		{Window: "evening@2027-03-12T20:00:00Z", Phase: state.Active, Task: task, Created: now.Add(-time.Hour)},
	}}
	cal, err := Build(set, Options{From: mustTime(t, "2027-03-10T00:00:00Z"), Days: 4, Now: now, State: st})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Status{}
	for _, w := range cal.Windows {
		got[w.ID] = w.Status
	}
	want := map[string]Status{
		"daily@2027-03-10T10:00:00Z":   Recorded,
		"daily@2027-03-11T10:00:00Z":   Missed,
		"daily@2027-03-12T10:00:00Z":   Recording,
		"daily@2027-03-13T10:00:00Z":   Planned,
		"evening@2027-03-10T20:00:00Z": Failed,
		"evening@2027-03-11T20:00:00Z": Missed,
		"evening@2027-03-12T20:00:00Z": Scheduled,
		"evening@2027-03-13T20:00:00Z": Planned,
	}
	for id, s := range want {
		if got[id] != s {
			t.Errorf("%s: status %q, want %q", id, got[id], s)
		}
	}
}

// TestRangeAndFilters: --recording narrows the view; an unknown name and a bad day count are errors.
func TestRangeAndFilters(t *testing.T) {
	from := mustTime(t, "2027-03-11T00:00:00Z")
	set := loadSet(t, from.Add(-30*24*time.Hour),
		cronRec("a", "ali", "a", "0 10 * * *", "1h", "Europe/Berlin"),
		cronRec("b", "ali", "b", "0 10 * * *", "1h", "Europe/Berlin"))
	cal, err := Build(set, Options{From: from, Days: 2, Recordings: []string{"b"}, Now: from})
	if err != nil {
		t.Fatal(err)
	}
	if len(cal.Lanes) != 1 || cal.Lanes[0].Recording != "b" || len(cal.Windows) != 2 || !cal.To.Equal(from.Add(48*time.Hour)) {
		t.Fatalf("lanes %+v windows %d to %s", cal.Lanes, len(cal.Windows), cal.To)
	}
	if _, err := Build(set, Options{From: from, Recordings: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown recording: err = %v", err)
	}
	if _, err := Build(set, Options{From: from, Days: -1}); err == nil {
		t.Errorf("--days -1 accepted")
	}
	d, err := ParseFrom("2027-03-28", from, nil, set, nil)
	if err != nil || !d.Equal(mustTime(t, "2027-03-28T00:00:00+01:00")) {
		t.Errorf("ParseFrom(date) = %s, %v; want midnight in the recordings' zone (Berlin)", d, err)
	}
	if _, err := ParseFrom("next tuesday", from, nil, set, nil); err == nil {
		t.Errorf("ParseFrom accepted garbage")
	}
}

package spec

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// naiveWindows is the definition, computed the slow way: every start in a
// wide range, exclusions dropped, windows padded and merged. Windows that
// reach the edges of the range may be cut and are left out by the caller.
func naiveWindows(sc *Schedule, from, to time.Time) []Interval {
	sched, _ := cachedCron(sc.Cron)
	loc := sc.Location
	x := sc.expander()
	var fires []time.Time
	if x.spec != nil {
		// One by one, each excluded by its scheduled local time.
		for date := x.dateOf(from); !date.After(x.dateOf(to)); date = date.AddDate(0, 0, 1) {
			if !x.skipDate(date) {
				fires = append(fires, x.listDay(date, from, to)...)
			}
		}
	} else {
		for _, f := range Fires(sched, loc, from, to) {
			if !x.excluded(f) {
				fires = append(fires, f)
			}
		}
	}
	var iv []Interval
	for _, f := range fires {
		iv = append(iv, Interval{f.Add(-sc.Padding.Before), f.Add(sc.Duration + sc.Padding.After), f, f.Add(sc.Duration)})
	}
	return Merge(iv)
}

// testSeed is RECORDCTL_TEST_SEED when set (to replay a failure), else the clock.
func testSeed() uint64 {
	if v, err := strconv.ParseUint(os.Getenv("RECORDCTL_TEST_SEED"), 10, 64); err == nil {
		return v
	}
	return uint64(time.Now().UnixNano())
}

func show(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func showIv(iv Interval) string {
	return fmt.Sprintf("%s/%s (scheduled %s/%s)", show(iv.Start), show(iv.End), show(iv.NomStart), show(iv.NomEnd))
}

// skipDate: the schedule's day fields or a date exclusion leave date out.
func (x *expander) skipDate(date time.Time) bool {
	if x.spec.Month&(1<<uint(date.Month())) == 0 || !dayMatches(x.spec, date) {
		return true
	}
	for _, r := range x.ranges {
		if !date.Before(r.From) && !date.After(r.To) {
			return true
		}
	}
	return false
}

// excluded applies every exclusion to one start (test helper).
func (x *expander) excluded(t time.Time) bool {
	d := x.dateOf(t)
	for _, r := range x.ranges {
		if !d.Before(r.From) && !d.After(r.To) {
			return true
		}
	}
	return x.excludedByCron(t)
}

var testZones = []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Shanghai", "America/Santiago", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata"}

func randomSchedule(r *rand.Rand) *Schedule {
	crons := []string{
		"0 19 * * MON-FRI", "*/15 9 * * *", "0 * * * *", "30 2 * * *", "30 1 * * *", "0,30 1-3 * * *",
		"*/10 * * * *", "0 0 1 * *", "15 2 * * SUN", "0 */2 * * *", "@daily", "@hourly",
		"@every 10m", "@every 1h", "@every 7h", "*/20 * * * * *", "0 0-23/3 * * *", "0 9 * 3,4,9,10 *", "45 23 * * *",
	}
	durs := []time.Duration{time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 90 * time.Minute, 3 * time.Hour, 20 * time.Second, 25 * time.Hour, 30 * time.Hour}
	pads := []time.Duration{0, 0, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour}
	loc, _ := time.LoadLocation(testZones[r.IntN(len(testZones))])
	sc := &Schedule{Cron: crons[r.IntN(len(crons))], Duration: durs[r.IntN(len(durs))], Location: loc,
		Padding: Padding{Before: pads[r.IntN(len(pads))], After: pads[r.IntN(len(pads))]}}
	sc.Timezone = loc.String()
	if r.IntN(2) == 0 {
		day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(730))
		sc.Exclude = append(sc.Exclude, Exclusion{From: day, To: day.AddDate(0, 0, r.IntN(3))})
	}
	if r.IntN(3) == 0 {
		ex := []string{"* * * * SAT,SUN", "0 * * * *", "* 2 * * *", "0 0 25 12 *"}
		sc.Exclude = append(sc.Exclude, Exclusion{Cron: ex[r.IntN(len(ex))]})
	}
	return sc
}

func describe(sc *Schedule) string {
	var ex []string
	for _, e := range sc.Exclude {
		if e.Cron != "" {
			ex = append(ex, e.Cron)
		} else {
			ex = append(ex, e.From.Format(time.DateOnly)+".."+e.To.Format(time.DateOnly))
		}
	}
	return fmt.Sprintf("cron %q duration %s zone %s padding %s/%s exclude %v", sc.Cron, sc.Duration, sc.Location, sc.Padding.Before, sc.Padding.After, ex)
}

// The fast expansion (days crossed whole) agrees with the definition for
// random schedules, zones (DST both hemispheres, 30-minute DST), padding
// and exclusions.
func TestWindowsMatchTheDefinition(t *testing.T) {
	seed := testSeed()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 11))
	for i := 0; i < 100; i++ {
		sc := randomSchedule(r)
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(700 * 24 * time.Hour))))
		if _, change := from.In(sc.Location).ZoneBounds(); !change.IsZero() && r.IntN(2) == 0 {
			from = change.Add(-time.Duration(r.Int64N(int64(36 * time.Hour)))) // around a change of offset
		}
		to := from.Add(time.Duration(r.Int64N(int64(72 * time.Hour))))
		wide0, wide1 := from.Add(-4*24*time.Hour), to.Add(4*24*time.Hour)
		want := map[string]string{}
		for _, w := range naiveWindows(sc, wide0, wide1) {
			// A window within w of the range's edges may go on beyond them.
			margin := sc.Duration + sc.Padding.Before + sc.Padding.After + time.Second
			if w.Start.Sub(wide0) > margin && wide1.Sub(w.End) > margin && w.End.After(from) && w.Start.Before(to) {
				want[show(w.NomStart)] = showIv(w)
			}
		}
		got := sc.Windows(from, to)
		for _, g := range got {
			if w, ok := want[show(g.NomStart)]; ok {
				if w != showIv(g) {
					t.Fatalf("%s [%s, %s):\n got  %s\n want %s", describe(sc), show(from), show(to), showIv(g), w)
				}
				delete(want, show(g.NomStart))
			}
		}
		for _, w := range want {
			var gs []string
			for _, g := range got {
				gs = append(gs, showIv(g))
			}
			t.Fatalf("%s [%s, %s): window %s missing (got %v)", describe(sc), show(from), show(to), w, gs)
		}
	}
}

// The example: touching quarter-hour windows are one 09:00-10:00
// window whatever range it is looked at through.
func TestChainExtentIndependentOfRange(t *testing.T) {
	sc := &Schedule{Cron: "*/15 9 * * *", Duration: 15 * time.Minute, Location: time.UTC}
	for _, q := range [][2]string{
		{"2026-11-21T08:00:00Z", "2026-11-21T09:08:00Z"},
		{"2026-11-21T09:00:00Z", "2026-11-21T09:20:00Z"},
		{"2026-11-21T09:40:00Z", "2026-11-21T09:41:00Z"},
		{"2026-11-21T05:00:00Z", "2026-11-22T05:00:00Z"},
	} {
		got := starts(sc.Windows(utc(q[0]), utc(q[1])))
		if strings.Join(got, " ") != "2026-11-21T09:00:00Z/2026-11-21T10:00:00Z" {
			t.Errorf("through %v: %v", q, got)
		}
	}
}

// Padding and exclusions across DST changes in the southern hemisphere
// (Santiago springs forward at midnight; Sydney) and on Lord Howe Island,
// whose clocks move by 30 minutes.
func TestPaddingAndExclusionsAcrossSouthernDST(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	cases := []struct {
		name, zone, cron string
		dur              time.Duration
		pad              Padding
		exclude          []Exclusion
		from, to         string
		want             []string // extent (scheduled)
	}{
		{
			// 2026-09-06 00:00 -04 becomes 01:00 -03: 00:15 does not exist and
			// starts at 01:00 -03 (04:00Z); padding is elapsed time around it.
			name: "Santiago spring-forward at midnight, padded, a date excluded", zone: "America/Santiago", cron: "15 0 * * *",
			dur: time.Hour, pad: Padding{Before: 30 * time.Minute, After: 10 * time.Minute},
			exclude: []Exclusion{{From: day("2026-09-07"), To: day("2026-09-07")}},
			from:    "2026-09-05T00:00:00Z", to: "2026-09-09T00:00:00Z",
			want: []string{
				"2026-09-05T03:45:00Z/2026-09-05T05:25:00Z (scheduled 2026-09-05T04:15:00Z/2026-09-05T05:15:00Z)",
				"2026-09-06T03:30:00Z/2026-09-06T05:10:00Z (scheduled 2026-09-06T04:00:00Z/2026-09-06T05:00:00Z)",
				"2026-09-08T02:45:00Z/2026-09-08T04:25:00Z (scheduled 2026-09-08T03:15:00Z/2026-09-08T04:15:00Z)",
			},
		},
		{
			// 2026-04-05 00:00 -03 falls back to 23:00 -04 on the 4th: 23:30
			// occurs twice and starts once, at its first occurrence (-03),
			// not again an hour later; padding does not change that.
			name: "Santiago fall-back at midnight, padded", zone: "America/Santiago", cron: "30 23 * * *",
			dur: 20 * time.Minute, pad: Padding{Before: 5 * time.Minute, After: 5 * time.Minute},
			from: "2026-04-04T00:00:00Z", to: "2026-04-06T12:00:00Z",
			want: []string{
				"2026-04-04T02:25:00Z/2026-04-04T02:55:00Z (scheduled 2026-04-04T02:30:00Z/2026-04-04T02:50:00Z)",
				"2026-04-05T02:25:00Z/2026-04-05T02:55:00Z (scheduled 2026-04-05T02:30:00Z/2026-04-05T02:50:00Z)",
				"2026-04-06T03:25:00Z/2026-04-06T03:55:00Z (scheduled 2026-04-06T03:30:00Z/2026-04-06T03:50:00Z)",
			},
		},
		{
			// Lord Howe falls back 30 minutes on 2026-04-05 (02:00 +11 -> 01:30
			// +10:30): 01:45 occurs twice and starts at its first occurrence.
			name: "Lord Howe 30-minute fall-back, padded, a date excluded", zone: "Australia/Lord_Howe", cron: "45 1 * * *",
			dur: 30 * time.Minute, pad: Padding{Before: 15 * time.Minute},
			exclude: []Exclusion{{From: day("2026-04-06"), To: day("2026-04-06")}},
			from:    "2026-04-03T12:00:00Z", to: "2026-04-07T00:00:00Z",
			want: []string{
				"2026-04-03T14:30:00Z/2026-04-03T15:15:00Z (scheduled 2026-04-03T14:45:00Z/2026-04-03T15:15:00Z)",
				"2026-04-04T14:30:00Z/2026-04-04T15:15:00Z (scheduled 2026-04-04T14:45:00Z/2026-04-04T15:15:00Z)",
				"2026-04-06T15:00:00Z/2026-04-06T15:45:00Z (scheduled 2026-04-06T15:15:00Z/2026-04-06T15:45:00Z)",
			},
		},
		{
			// Lord Howe springs forward 30 minutes on 2026-10-04 (02:00 +10:30
			// -> 02:30 +11): 02:15 does not exist and starts at 02:30 +11.
			name: "Lord Howe 30-minute spring-forward gap, padded", zone: "Australia/Lord_Howe", cron: "15 2 * * *",
			dur: time.Hour, pad: Padding{Before: 10 * time.Minute, After: 10 * time.Minute},
			from: "2026-10-02T12:00:00Z", to: "2026-10-04T12:00:00Z",
			want: []string{
				"2026-10-02T15:35:00Z/2026-10-02T16:55:00Z (scheduled 2026-10-02T15:45:00Z/2026-10-02T16:45:00Z)",
				"2026-10-03T15:20:00Z/2026-10-03T16:40:00Z (scheduled 2026-10-03T15:30:00Z/2026-10-03T16:30:00Z)",
			},
		},
		{
			// Sydney springs forward on 2026-10-04; weekends excluded by cron.
			// A window that started before an excluded day is not cut.
			name: "Sydney weekday evenings across spring-forward, weekend excluded", zone: "Australia/Sydney", cron: "0 22 * * *",
			dur: 3 * time.Hour, pad: Padding{After: 15 * time.Minute},
			exclude: []Exclusion{{Cron: "* * * * SAT,SUN"}},
			from:    "2026-10-02T00:00:00Z", to: "2026-10-06T00:00:00Z",
			want: []string{
				"2026-10-02T12:00:00Z/2026-10-02T15:15:00Z (scheduled 2026-10-02T12:00:00Z/2026-10-02T15:00:00Z)", // Fri 22:00 AEST, runs into Saturday
				"2026-10-05T11:00:00Z/2026-10-05T14:15:00Z (scheduled 2026-10-05T11:00:00Z/2026-10-05T14:00:00Z)", // Mon 22:00 AEDT
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc := mustLoc(t, c.zone)
			sc := &Schedule{Cron: c.cron, Duration: c.dur, Location: loc, Padding: c.pad, Exclude: c.exclude}
			var got []string
			for _, w := range sc.Windows(utc(c.from), utc(c.to)) {
				got = append(got, showIv(w))
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// A chain of 30 h windows every 7 h broken by an excluded day: walking
// back from the first window after the gap stops at the gap, whichever
// side is looked at first. (Walking back used to take the excluded day's
// starts as the previous day's, joining the two chains into one endless
// window, and plans made at other instants disagreed on the windows.)
func TestEveryChainWalksBackAcrossAnExcludedDay(t *testing.T) {
	lh, err := time.LoadLocation("Australia/Lord_Howe")
	if err != nil {
		t.Fatal(err)
	}
	day, _ := time.Parse(time.DateOnly, "2026-05-14")
	sc := &Schedule{Cron: "@every 7h", Duration: 30 * time.Hour, Location: lh, Timezone: lh.String(),
		Padding: Padding{Before: 2 * time.Minute}, Exclude: []Exclusion{{From: day, To: day}}}
	after := sc.Windows(utc("2026-05-14T20:00:00Z"), utc("2026-05-14T21:00:00Z"))
	before := sc.Windows(utc("2026-05-12T00:00:00Z"), utc("2026-05-12T01:00:00Z"))
	if len(after) != 1 || len(before) != 1 {
		t.Fatalf("windows after the gap %v, before it %v: want one each", after, before)
	}
	if got := show(after[0].Start); got != "2026-05-14T18:58:00Z" {
		t.Errorf("the chain after the excluded day starts %s, want 2026-05-14T18:58:00Z (19:00 less 2 min of padding)", got)
	}
	if got := show(before[0].End); got != "2026-05-14T14:00:00Z" {
		t.Errorf("the chain before the excluded day ends %s, want 2026-05-14T14:00:00Z", got)
	}
	// And the definition agrees, seen from a wide range.
	for _, w := range naiveWindows(sc, utc("2026-05-10T00:00:00Z"), utc("2026-05-18T00:00:00Z")) {
		if w.End.Equal(before[0].End) || w.Start.Equal(after[0].Start) {
			continue
		}
		if w.Start.After(before[0].End) && w.End.Before(after[0].Start) {
			t.Errorf("the definition has a window %s inside the gap", showIv(w))
		}
	}
}

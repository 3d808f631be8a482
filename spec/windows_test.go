package spec

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func schedRec(cron string, d time.Duration, loc *time.Location) *Recording {
	return &Recording{Metadata: Metadata{Name: "r"}, Spec: RecordingSpec{
		Schedule: &Schedule{Cron: cron, Duration: d, Location: loc}}}
}

func starts(iv []Interval) []string {
	out := make([]string, len(iv))
	for i, x := range iv {
		out[i] = x.Start.UTC().Format(time.RFC3339) + "/" + x.End.UTC().Format(time.RFC3339)
	}
	return out
}

func TestWindows(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	ber := mustLoc(t, "Europe/Berlin")
	sha := mustLoc(t, "Asia/Shanghai")
	cases := []struct {
		name     string
		cron     string
		dur      time.Duration
		loc      *time.Location
		from, to string
		want     []string
	}{
		{"weekday evening in Shanghai", "0 19 * * MON-FRI", 90 * time.Minute, sha,
			"2026-11-20T00:00:00Z", "2026-11-24T00:00:00Z",
			[]string{"2026-11-20T11:00:00Z/2026-11-20T12:30:00Z", "2026-11-23T11:00:00Z/2026-11-23T12:30:00Z"}},
		// New York springs forward 2026-03-08 02:00 -> 03:00: 02:30 does not exist
		// and starts at the first instant after the gap (03:00 EDT = 07:00Z).
		{"NY spring-forward gap starts after the gap", "30 2 * * *", time.Hour, ny,
			"2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z",
			[]string{"2026-03-07T07:30:00Z/2026-03-07T08:30:00Z", "2026-03-08T07:00:00Z/2026-03-08T08:00:00Z", "2026-03-09T06:30:00Z/2026-03-09T07:30:00Z"}},
		// New York falls back 2026-11-01 02:00 -> 01:00: 01:30 occurs twice and
		// starts once, at its first occurrence (EDT, 05:30Z).
		{"NY fall-back twice-occurring time starts once, first", "30 1 * * *", time.Hour, ny,
			"2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z",
			[]string{"2026-11-01T05:30:00Z/2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z/2026-11-02T07:30:00Z"}},
		// Durations are elapsed time: 00:30 + 3h across the fall-back ends 02:30 local (EST).
		{"NY duration is elapsed time across fall-back", "30 0 1 11 *", 3 * time.Hour, ny,
			"2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z",
			[]string{"2026-11-01T04:30:00Z/2026-11-01T07:30:00Z"}},
		// Berlin springs forward 2026-03-29 02:00 -> 03:00.
		{"Berlin spring-forward gap", "15 2 * * *", 30 * time.Minute, ber,
			"2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z",
			[]string{"2026-03-28T01:15:00Z/2026-03-28T01:45:00Z", "2026-03-29T01:00:00Z/2026-03-29T01:30:00Z"}},
		// Berlin falls back 2026-10-25 03:00 -> 02:00: 02:15 twice, first is CEST (00:15Z).
		{"Berlin fall-back", "15 2 * * *", 30 * time.Minute, ber,
			"2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z",
			[]string{"2026-10-25T00:15:00Z/2026-10-25T00:45:00Z", "2026-10-26T01:15:00Z/2026-10-26T01:45:00Z"}},
		{"every 15 minutes inside the NY gap collapse to one start", "*/20 2 8 3 *", 10 * time.Minute, ny,
			"2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z",
			[]string{"2026-03-08T07:00:00Z/2026-03-08T07:10:00Z"}},
		{"month end: day 31 skips short months", "0 12 31 * *", time.Hour, time.UTC,
			"2026-01-15T00:00:00Z", "2026-05-15T00:00:00Z",
			[]string{"2026-01-31T12:00:00Z/2026-01-31T13:00:00Z", "2026-03-31T12:00:00Z/2026-03-31T13:00:00Z"}},
		{"last day of February in a leap year", "0 0 29 2 *", time.Hour, time.UTC,
			"2027-01-01T00:00:00Z", "2028-12-31T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z/2028-02-29T01:00:00Z"}},
		{"@every is anchored at the Unix epoch", "@every 6h", time.Hour, sha,
			"2026-11-21T01:00:00Z", "2026-11-21T13:00:00Z",
			[]string{"2026-11-21T06:00:00Z/2026-11-21T07:00:00Z", "2026-11-21T12:00:00Z/2026-11-21T13:00:00Z"}},
		{"seconds field", "30 */2 * * * *", time.Minute, time.UTC,
			"2026-11-21T10:00:00Z", "2026-11-21T10:05:00Z",
			[]string{"2026-11-21T10:00:30Z/2026-11-21T10:01:30Z", "2026-11-21T10:02:30Z/2026-11-21T10:03:30Z", "2026-11-21T10:04:30Z/2026-11-21T10:05:30Z"}},
		{"window open at from is included", "0 10 * * *", 2 * time.Hour, time.UTC,
			"2026-11-21T11:00:00Z", "2026-11-21T11:30:00Z",
			[]string{"2026-11-21T10:00:00Z/2026-11-21T12:00:00Z"}},
		{"overlapping windows merge", "0,30 10 * * *", 45 * time.Minute, time.UTC,
			"2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z",
			[]string{"2026-11-21T10:00:00Z/2026-11-21T11:15:00Z"}},
		{"touching windows merge", "0 10,11 * * *", time.Hour, time.UTC,
			"2026-11-21T10:30:00Z", "2026-11-21T11:30:00Z",
			[]string{"2026-11-21T10:00:00Z/2026-11-21T12:00:00Z"}},
		{"endless chains anchor like continuous recordings", "0 * * * *", time.Hour, time.UTC,
			"2026-11-21T10:30:00Z", "2026-11-21T11:30:00Z",
			[]string{"2000-01-01T00:00:00Z/3000-01-01T00:00:00Z"}},
		{"@daily", "@daily", 30 * time.Minute, time.UTC,
			"2026-11-21T00:10:00Z", "2026-11-22T00:10:00Z",
			[]string{"2026-11-21T00:00:00Z/2026-11-21T00:30:00Z", "2026-11-22T00:00:00Z/2026-11-22T00:30:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := starts(schedRec(c.cron, c.dur, c.loc).Windows(utc(c.from), utc(c.to)))
			if len(got) != len(c.want) {
				t.Fatalf("got %v\nwant %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("window %d: got %s want %s (all %v)", i, got[i], c.want[i], got)
				}
			}
		})
	}
}

func TestTouchingChainIdentityIsStable(t *testing.T) {
	// Hourly 1h windows on 2026-11-21 only: one merged window whose start
	// must not depend on the instant we look from.
	r := schedRec("0 * 21 11 *", time.Hour, time.UTC)
	a := r.Windows(utc("2026-11-21T03:10:00Z"), utc("2026-11-21T03:20:00Z"))
	b := r.Windows(utc("2026-11-21T20:10:00Z"), utc("2026-11-21T20:20:00Z"))
	if len(a) != 1 || len(b) != 1 || !a[0].Start.Equal(b[0].Start) || !a[0].Start.Equal(utc("2026-11-21T00:00:00Z")) {
		t.Fatalf("merged window start moved: %v vs %v", starts(a), starts(b))
	}
}

func TestExplicitAndContinuousWindows(t *testing.T) {
	r := &Recording{Spec: RecordingSpec{Windows: []Window{
		{Start: utc("2026-12-31T14:00:00Z"), End: utc("2026-12-31T17:00:00Z")},
		{Start: utc("2026-12-31T16:00:00Z"), End: utc("2026-12-31T18:00:00Z")},
		{Start: utc("2027-01-05T00:00:00Z"), End: utc("2027-01-05T01:00:00Z")},
	}}}
	got := starts(r.Windows(utc("2026-12-01T00:00:00Z"), utc("2027-01-02T00:00:00Z")))
	if len(got) != 1 || got[0] != "2026-12-31T14:00:00Z/2026-12-31T18:00:00Z" {
		t.Fatalf("explicit windows: %v", got)
	}
	c := &Recording{Spec: RecordingSpec{Continuous: true}}
	w := c.Windows(utc("2026-11-21T00:00:00Z"), utc("2026-11-22T00:00:00Z"))
	if len(w) != 1 || !w[0].Start.Equal(ContinuousStart) {
		t.Fatalf("continuous: %v", starts(w))
	}
	if id := WindowID("news", utc("2026-11-21T11:00:00Z")); id != "news@2026-11-21T11:00:00Z" {
		t.Fatalf("WindowID = %s", id)
	}
}

func BenchmarkScheduleWindows(b *testing.B) {
	r := schedRec("0 19 * * MON-FRI", 90*time.Minute, time.UTC)
	from := utc("2026-11-21T00:00:00Z")
	for b.Loop() {
		r.Windows(from, from.Add(48*time.Hour))
	}
}

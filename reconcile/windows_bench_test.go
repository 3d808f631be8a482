package reconcile

import (
	"fmt"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// tinyPeriodSet is 100 recordings of one cron with duration d on the
// scheduling and the command fake provider.
func tinyPeriodSet(cron string, d time.Duration, salt int) *spec.Set {
	set := &spec.Set{Providers: []*spec.Provider{
		{Metadata: spec.Metadata{Name: "cmd"}, Spec: spec.ProviderSpec{Type: "fakecmd"}},
		{Metadata: spec.Metadata{Name: "sched"}, Spec: spec.ProviderSpec{Type: "fakesched"}},
	}}
	ny, _ := time.LoadLocation("America/New_York")
	for i := 0; i < 100; i++ {
		prov := "sched"
		if i%2 == 0 {
			prov = "cmd"
		}
		set.Recordings = append(set.Recordings, &spec.Recording{Metadata: spec.Metadata{Name: fmt.Sprintf("r%03d", i)},
			Spec: spec.RecordingSpec{Provider: prov, Stream: spec.Stream{Domain: "d.example.com", App: "live", Name: fmt.Sprintf("s%d", i)},
				// salt makes each schedule new to the chain memo (a cold start).
				Schedule: &spec.Schedule{Cron: cron, Duration: d + time.Duration(salt)*time.Nanosecond, Location: ny}}})
	}
	return set
}

// BenchmarkPlanTinyPeriods plans @every 1s and "* * * * * *" with 1 s
// windows (which touch: one endless window) against @daily with 1 s windows,
// in the same process, and reports the ratios. "warm": plans one after
// another as time moves on (a minute per plan), as apply and the daemon do;
// "cold": every plan sees its schedules for the first time.
func BenchmarkPlanTinyPeriods(b *testing.B) {
	caps := func(typ string) providers.Capabilities {
		if typ == "fakesched" {
			return schedCaps
		}
		return cmdCaps
	}
	now := ts("2026-11-21T10:30:00Z")
	salt := 0
	actions := map[string]int{}
	run := func(cron string, cold bool, n int) time.Duration {
		var total time.Duration
		set := tinyPeriodSet(cron, time.Second, 0)
		for i := 0; i < n; i++ {
			if cold {
				salt++
				set = tinyPeriodSet(cron, time.Second, salt)
			}
			start := time.Now()
			p := NewPlan(Input{Set: set, Caps: caps, Now: now.Add(time.Duration(i) * time.Minute), Lookahead: DefaultLookahead})
			total += time.Since(start)
			actions[cron] = len(p.Actions)
		}
		return total / time.Duration(n)
	}
	for _, mode := range []string{"warm", "cold"} {
		b.Run(mode, func(b *testing.B) {
			cold := mode == "cold"
			var daily, every, secs time.Duration
			for b.Loop() {
				daily += run("@daily", cold, 10)
				every += run("@every 1s", cold, 10)
				secs += run("* * * * * *", cold, 10)
			}
			n := float64(b.N)
			b.ReportMetric(float64(daily.Microseconds())/n, "daily-µs/plan")
			b.ReportMetric(float64(every.Microseconds())/n, "every1s-µs/plan")
			b.ReportMetric(float64(secs.Microseconds())/n, "sec-µs/plan")
			b.ReportMetric(float64(every)/float64(daily), "every1s/daily")
			b.ReportMetric(float64(secs)/float64(daily), "sec/daily")
			// The tiny periods make one endless window per recording, which
			// on the scheduling provider is 7 daily tasks: more actions.
			b.ReportMetric(float64(actions["@daily"]), "daily-actions")
			b.ReportMetric(float64(actions["@every 1s"]), "every1s-actions")
		})
	}
}

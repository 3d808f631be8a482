package reconcile

import (
	"fmt"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// benchInput builds 10,000 recordings with mixed schedules over two
// providers (scheduling and command), and the state and observations that
// a previous apply left: every desired piece already has its task.
func benchInput(b *testing.B, n int) Input {
	now := ts("2026-11-21T10:30:00Z")
	caps := func(typ string) providers.Capabilities {
		if typ == "fakesched" {
			return schedCaps
		}
		return cmdCaps
	}
	set := &spec.Set{Providers: []*spec.Provider{
		{Metadata: spec.Metadata{Name: "cmd"}, Spec: spec.ProviderSpec{Type: "fakecmd"}},
		{Metadata: spec.Metadata{Name: "sched"}, Spec: spec.ProviderSpec{Type: "fakesched"}},
	}}
	zones := []string{"UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York"}
	crons := []string{"0 19 * * MON-FRI", "30 */2 * * *", "0 8,12,18 * * *", "@every 4h", "15 10 * * *"}
	for i := 0; i < n; i++ {
		loc, _ := time.LoadLocation(zones[i%len(zones)])
		prov := "sched"
		if i%3 == 0 {
			prov = "cmd"
		}
		r := &spec.Recording{Metadata: spec.Metadata{Name: fmt.Sprintf("rec-%05d", i)},
			Spec: spec.RecordingSpec{Provider: prov, Stream: spec.Stream{Domain: "push.example.com", App: "live", Name: fmt.Sprintf("s%05d", i)}}}
		switch i % 10 {
		case 9:
			r.Spec.Continuous = true
		case 8:
			r.Spec.Windows = []spec.Window{{Start: now.Add(time.Duration(i) * time.Second), End: now.Add(2 * time.Hour)}}
		default:
			r.Spec.Schedule = &spec.Schedule{Cron: crons[i%len(crons)], Duration: 45 * time.Minute, Location: loc}
		}
		set.Recordings = append(set.Recordings, r)
	}
	st := &state.State{Lineage: "bench", Serial: 1}
	obs := map[string][]providers.Task{}
	for _, d := range Desired(set, caps, now, DefaultLookahead) {
		t := providers.Task{ID: "t-" + d.Key, Stream: d.Stream, Start: d.Start, End: d.End, Status: providers.StatusScheduled}
		st.Records = append(st.Records, &state.Record{ID: state.NewID(), Key: d.Key, Window: d.Window, Recording: d.Recording.Metadata.Name,
			Provider: d.Provider.Metadata.Name, Type: d.Provider.Spec.Type, Stream: d.Stream, Start: d.Start, End: d.End, Task: &t, Phase: state.Active})
		obs[d.Provider.Metadata.Name] = append(obs[d.Provider.Metadata.Name], t)
		if len(st.Records) >= n {
			break
		}
	}
	return Input{Set: set, State: st, Observed: obs, Caps: caps, Now: now, Lookahead: DefaultLookahead}
}

// BenchmarkPlan: 10,000 recordings and 10,000 existing tasks, provider I/O excluded.
func BenchmarkPlan(b *testing.B) {
	in := benchInput(b, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		NewPlan(in)
	}
}

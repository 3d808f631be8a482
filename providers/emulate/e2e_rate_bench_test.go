package emulate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// BenchmarkApply400Creates: `apply` of 400 Alibaba starts (documented 50
// requests/s, enforced by the emulator) with no added latency and with
// 200 ms on every call: the achieved rate as a fraction of the documented
// one (the baseline), and the throttles drawn.
func BenchmarkApply400Creates(b *testing.B) {
	for _, lat := range []time.Duration{0, 200 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", lat), func(b *testing.B) {
			var frac float64
			var throttles int64
			for b.Loop() {
				faults := emu.NewFaults(1)
				srv, err := emulate.Start("127.0.0.1", 0, emu.Config{Faults: faults})
				if err != nil {
					b.Fatal(err)
				}
				dir := b.TempDir()
				docs := strings.Replace(providerDocs(srv, 50), "rateLimit: 50\n", "rateLimit: 50\n", -1)
				var recs strings.Builder
				now := time.Now()
				for i := range 400 {
					name := fmt.Sprintf("r%03d", i)
					recs.WriteString(recDoc(name, "ali", "{domain: push.example.com, app: live, name: "+name+"}", "", window{now.Add(-time.Minute), now.Add(time.Hour)}))
				}
				if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(docs), 0o600); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(recs.String()), 0o600); err != nil {
					b.Fatal(err)
				}
				set, err := spec.LoadAt(dir, now)
				if err != nil {
					b.Fatal(err)
				}
				if err := srv.Point(set); err != nil {
					b.Fatal(err)
				}
				st, err := state.Open(filepath.Join(b.TempDir(), "state"))
				if err != nil {
					b.Fatal(err)
				}
				var thr atomic.Int64
				eng := &reconcile.Engine{Store: st, Exec: reconcile.Executor{Observe: func(a reconcile.Action, err error, _ time.Duration) {
					if providers.ClassOf(err) == providers.Throttled {
						thr.Add(1)
					}
				}}}
				p, err := eng.Plan(context.Background(), set, now)
				if err != nil {
					b.Fatal(err)
				}
				faults.Set(0, lat, false)
				t0 := time.Now()
				res, err := eng.Apply(context.Background(), set, p)
				took := time.Since(t0)
				if err != nil || res.Created != 400 {
					b.Fatalf("apply: %v, created %d: %v", err, res.Created, res.Err)
				}
				frac = 400 / took.Seconds() / 50
				throttles = thr.Load()
				st.Close()
				srv.Close()
			}
			b.ReportMetric(frac*100, "%-of-documented-rate")
			b.ReportMetric(float64(throttles), "throttles")
		})
	}
}

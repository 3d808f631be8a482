package ha_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/ha"
	"github.com/recordctl/recordctl/spec"
)

const failoverFleet = `apiVersion: recordctl/v1
kind: Provider
metadata: {name: tx}
spec: {type: tencent, region: ap-guangzhou, credentials: {secretId: {env: X_ID}, secretKey: {env: X_KEY}}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali}
spec: {type: aliyun, region: cn-shanghai, credentials: {accessKeyId: {env: X_ID}, accessKeySecret: {env: X_KEY}}}
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: tx-news}
spec:
  provider: tx
  stream: {domain: push.example.com, app: live, name: tx-news}
  schedule: {cron: "@every 10s", duration: 5s}
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: ali-news}
spec:
  provider: ali
  stream: {domain: push.example.com, app: live, name: ali-news}
  schedule: {cron: "@every 4s", duration: 2s}
`

func pct(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// BenchmarkFailover: three replicas reconcile a Tencent and an Alibaba
// provider on the emulator through leases (one worker per led provider,
// every write fenced); 20 times the leader of a random provider is killed
// (its lease left to expire) at a random moment, and a new replica joins.
// Reported: failover time p50/p99 against the TTL (the target is TTL+1s),
// duplicate tasks, windows never started, and the lateness of Alibaba
// windows that opened meanwhile. go test -run '^$' -bench Failover -benchtime 1x ./reconcile/ha
func BenchmarkFailover(b *testing.B) {
	const ttl = time.Second
	const kills = 20
	var failovers, late []time.Duration
	dups, never := 0, 0
	for range b.N {
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(failoverFleet), 0o644); err != nil {
			b.Fatal(err)
		}
		set, err := spec.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		emu, err := emulate.Start("127.0.0.1", 0, emu.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if err := emu.Point(set); err != nil {
			b.Fatal(err)
		}
		seed := uint64(time.Now().UnixNano())
		b.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, seed))
		prefix := newPrefix(b)
		provs := []string{"ali", "tx"}
		events := make(chan event, 10000)
		ls := &leaders{t: b, cur: map[string]int{}}
		work := func(ctx context.Context, r *replica, p string, l *ha.Lease) {
			eng := &reconcile.Engine{Store: l.Store(), Lookahead: time.Minute, Exec: reconcile.Executor{Grace: time.Millisecond}}
			sub := only(set, p)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for ctx.Err() == nil {
				_, _ = eng.Reconcile(ctx, reconcile.Request{Provider: p, At: time.Now(), Set: sub})
				select {
				case <-ctx.Done():
				case <-t.C:
				}
			}
		}
		var rs []*replica
		for i := range 3 {
			rs = append(rs, startReplica(b, i, prefix, ttl, provs, events, work))
		}
		// Kill moments are state writes (intents, results, reconcile
		// times): the victim dies right after the n-th write since the last
		// failover, that is mid-reconcile, at a random one of them.
		wctx, wcancel := context.WithCancel(context.Background())
		writes := srv.Client(b).Watch(wctx, prefix+"/state/", clientv3.WithPrefix())
		afterWrites := func(n int) {
			for n > 0 {
				resp, ok := <-writes
				if !ok {
					return
				}
				n -= len(resp.Events)
			}
		}
		t0 := time.Now()
		waitUntil(b, events, ls, 10*time.Second, "first leaders", func() bool { return len(ls.cur) == 2 })
		for k := range kills {
			afterWrites(1 + rng.IntN(30))
			p := provs[rng.IntN(2)]
			victim := ls.cur[p]
			var led []string
			for q, r := range ls.cur {
				if r == victim {
					led = append(led, q)
				}
			}
			killed := time.Now()
			rs[victim].stop(true)
			for _, q := range led {
				delete(ls.cur, q)
			}
			rs = append(rs, startReplica(b, len(rs), prefix, ttl, provs, events, work))
			waitUntil(b, events, ls, 20*time.Second, fmt.Sprintf("failover %d", k), func() bool { return len(ls.cur) == 2 })
			failovers = append(failovers, time.Since(killed))
		}
		tEnd := time.Now()
		wcancel()
		// Stopping a replica finishes its calls under way: every start of
		// a window before tEnd is then at the emulator.
		for _, r := range rs {
			r.stop(false)
		}
		// Tencent: one task per window, none missing.
		txEmu := emu.Emulators["tencent"].(*tencentemu.Emulator)
		byStart := map[time.Time]int{}
		for _, t := range txEmu.Tasks() {
			if !t.Deleted {
				byStart[t.StartTime.UTC()]++
			}
		}
		for w := t0.Truncate(10 * time.Second).Add(10 * time.Second); w.Before(tEnd); w = w.Add(10 * time.Second) {
			switch n := byStart[w.UTC()]; {
			case n == 0:
				fmt.Fprintf(os.Stderr, "tencent window %s never started\n", w.UTC().Format(time.RFC3339))
				never++
			case n > 1:
				dups += n - 1
			}
		}
		// Alibaba: one start per window, inside it.
		recs := emu.Emulators["aliyun"].(*aliyunemu.Emulator).Recordings(spec.Stream{})
		for w := t0.Truncate(4 * time.Second).Add(4 * time.Second); w.Add(2 * time.Second).Before(tEnd); w = w.Add(4 * time.Second) {
			n := 0
			for _, r := range recs {
				if !r.Started.Before(w) && r.Started.Before(w.Add(2*time.Second)) {
					n++
					late = append(late, r.Started.Sub(w))
				}
			}
			switch {
			case n == 0:
				fmt.Fprintf(os.Stderr, "aliyun window %s never started (%s after the first leaders, %s before the end)\n", w.UTC().Format(time.RFC3339Nano), w.Sub(t0), tEnd.Sub(w))
				never++
			case n > 1:
				dups += n - 1
			}
		}
		emu.Close()
	}
	b.ReportMetric(float64(len(failovers)), "failovers")
	b.ReportMetric(pct(failovers, 0.5).Seconds(), "failover-p50-s")
	b.ReportMetric(pct(failovers, 0.99).Seconds(), "failover-p99-s")
	b.ReportMetric(pct(failovers, 0.99).Seconds()/ttl.Seconds(), "failover-p99/ttl")
	b.ReportMetric(float64(dups), "duplicates")
	b.ReportMetric(float64(never), "never-started")
	b.ReportMetric(pct(late, 0.5).Seconds(), "ali-lateness-p50-s")
	b.ReportMetric(pct(late, 0.99).Seconds(), "ali-lateness-p99-s")
}

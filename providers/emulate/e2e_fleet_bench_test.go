package emulate_test

import (
	"context"
	"fmt"
	"github.com/recordctl/recordctl/providers/emu"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/agora/agoraemu"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/providers/huawei/huaweiemu"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/daemon"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// fleetRun is one daemon run over a fleet, on the wall clock, against the
// emulators at their documented rates.
type fleetRun struct {
	lag      map[string][]time.Duration // window start -> accepted start, by provider doc
	edit     []time.Duration            // file written -> accepted start
	firstWin time.Duration              // daemon start -> first accepted start of an open window
	missed   int
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(max(int(float64(len(s))*p/100+0.999999)-1, 0), len(s)-1)]
}

// runFleet seeds a fleet of scale × (6,250 Tencent recordings with 4
// windows a day: 25,000 scheduled tasks; 500 open Alibaba and 500 open
// Huawei recordings; 100 open Agora recordings; the rest of 10,000 with
// windows tomorrow) at the emulators and in the state, starts a daemon and
// measures probe windows: one per provider already open at start, five per
// provider opening 8-16 s later, and one per command provider added by an
// edit once those are done.
func runFleet(b *testing.B, scale float64) fleetRun {
	served := newWakeup()
	srv, err := emulate.Start("127.0.0.1", 0, emu.Config{Served: served.signal})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	dir := b.TempDir()
	statePath := filepath.Join(b.TempDir(), "state")
	docs := providerDocs(srv, 0)
	for _, r := range []string{"20", "50", "20", "10"} { // tc, ali, hw, ag: the documented (or default) rates
		docs = strings.Replace(docs, "rateLimit: 0\n", "rateLimit: "+r+"\n", 1)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	write("providers.yaml", docs)
	now := time.Now().Truncate(time.Second)
	n := func(x int) int { return int(float64(x) * scale) }
	cmdStream := func(name string) string { return "{domain: push.example.com, app: live, name: " + name + "}" }
	var bulk strings.Builder
	count := 0
	for i := range n(6250) {
		name := fmt.Sprintf("tcb%05d", i)
		fmt.Fprintf(&bulk, "---\napiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: %s}\nspec:\n  provider: tc\n  stream: %s\n  schedule: {cron: \"%d */6 * * *\", duration: 1h}\n",
			name, tcStreamYAML(name), i%60)
		count++
	}
	open := window{now.Add(-time.Hour), now.Add(6 * time.Hour)}
	for _, p := range []struct {
		prov string
		k    int
	}{{"ali", 500}, {"hw", 500}, {"ag", 100}} {
		for i := range n(p.k) {
			name := fmt.Sprintf("%sb%04d", p.prov, i)
			stream, opts := cmdStream(name), ""
			if p.prov == "ag" {
				stream, opts = "{channel: "+name+"}", agoraOptions
			}
			bulk.WriteString(recDoc(name, p.prov, stream, opts, open))
			count++
		}
	}
	for i := 0; count < n(10000); i++ {
		p := []string{"ali", "hw"}[i%2]
		name := fmt.Sprintf("%sf%04d", p, i)
		bulk.WriteString(recDoc(name, p, cmdStream(name), "", window{now.Add(26 * time.Hour), now.Add(27 * time.Hour)}))
		count++
	}
	// Spec files are at most 1 MiB: split the fleet at document boundaries.
	for i, part := range splitDocs(bulk.String(), 512<<10) {
		write(fmt.Sprintf("bulk-%03d.yaml", i), part)
	}
	set, err := spec.LoadAt(dir, now)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Point(set); err != nil {
		b.Fatal(err)
	}
	// Seed what a daemon that has run for a while holds: every desired
	// piece has its task, at the emulator and in the state.
	srv.Emulators["aliyun"].(*aliyunemu.Emulator).SetRateLimit(0)
	clients := map[string]providers.Provider{}
	for _, p := range set.Providers {
		c, err := providers.New(p, providers.Options{})
		if err != nil {
			b.Fatal(err)
		}
		clients[p.Metadata.Name] = c
	}
	var recs []*state.Record
	for _, d := range reconcile.Desired(set, reconcile.RegisteredCaps, now, reconcile.DefaultLookahead) {
		var t providers.Task
		if d.Provider.Spec.Type == "tencent" {
			et := w0(srv).InjectTask(d.Stream, d.Start, d.End)
			t = providers.Task{ID: et.TaskID, Stream: d.Stream, Start: d.Start, End: d.End, Status: providers.StatusScheduled}
		} else {
			t, err = clients[d.Provider.Metadata.Name].Create(context.Background(), providers.CreateRequest{Key: d.Key, Recording: d.Recording, Stream: d.Stream, Start: d.Start, End: d.End, Now: now})
			if err != nil {
				b.Fatalf("seeding %s: %v", d.Key, err)
			}
		}
		recs = append(recs, &state.Record{ID: state.NewID(), Key: d.Key, Window: d.Window, Recording: d.Recording.Metadata.Name,
			Provider: d.Provider.Metadata.Name, Type: d.Provider.Spec.Type, Stream: d.Stream, Start: d.Start, End: d.End,
			Task: &t, Phase: state.Active, Created: now, Updated: now})
	}
	srv.Emulators["aliyun"].(*aliyunemu.Emulator).SetRateLimit(aliyunemu.DefaultQPS)
	st, err := state.Open(statePath)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Update(context.Background(), func(tx *state.Tx) error {
		for _, r := range recs {
			tx.Put(r)
		}
		tx.SetLastReconcile(now)
		return nil
	}); err != nil {
		b.Fatal(err)
	}

	// Probe windows, each on its own stream.
	type probe struct {
		name, prov string
		start      time.Time
		edit       bool
	}
	var probes []probe
	var pdoc strings.Builder
	t0 := time.Now()
	for i, p := range []string{"tc", "ali", "hw", "ag"} {
		add := func(name string, start time.Time) {
			stream, opts := cmdStream(name), ""
			switch p {
			case "tc":
				stream = tcStreamYAML(name)
			case "ag":
				stream, opts = "{channel: "+name+"}", agoraOptions
			}
			pdoc.WriteString(recDoc(name, p, stream, opts, window{start, start.Add(10 * time.Minute)}))
			probes = append(probes, probe{name: name, prov: p, start: start})
		}
		add("open-"+p, t0.Truncate(time.Second).Add(-time.Second))
		for k := range 5 {
			add(fmt.Sprintf("lag-%s-%d", p, k), t0.Truncate(time.Second).Add(time.Duration(8+2*k+i)*time.Second))
		}
	}
	write("probes.yaml", pdoc.String())
	log := slog.New(slog.DiscardHandler)
	if p := os.Getenv("RECORDCTL_FLEET_LOG"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		log = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	eng := &reconcile.Engine{Store: st, Log: log, Options: providers.Options{UserAgent: "recordctl-bench"}}
	d, err := daemon.New(daemon.Config{Dir: dir, Engine: eng, Resync: time.Minute, Prepare: srv.Point})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	accepted := func(pr probe) (time.Time, bool) {
		s := spec.Stream{Domain: "push.example.com", App: "live", Name: pr.name}
		switch pr.prov {
		case "tc":
			for _, t := range w0(srv).Tasks() {
				if t.Stream.Name == pr.name {
					if t.Created.After(t.StartTime) {
						return t.Created, true // created after its start: it starts when created
					}
					return t.StartTime, true
				}
			}
		case "ali":
			for _, r := range srv.Emulators["aliyun"].(*aliyunemu.Emulator).Recordings(s) {
				return r.Started, true
			}
		case "hw":
			for _, r := range hw0(srv).Recordings(s) {
				return r.Started, true
			}
		case "ag":
			for _, x := range ag0(srv).Sessions() {
				if x.Channel == pr.name {
					return x.Started, true
				}
			}
		}
		return time.Time{}, false
	}
	// waitAll checks the probes each time an emulator has served a request
	// (a start is accepted only then), until all are accepted or limit.
	seen := map[string]bool{}
	waitAll := func(ps []probe, limit time.Duration) {
		deadline := time.After(limit)
		for {
			next := served.next()
			all := true
			for _, p := range ps {
				if seen[p.name] {
					continue
				}
				if _, ok := accepted(p); ok {
					seen[p.name] = true
				} else {
					all = false
				}
			}
			if all {
				return
			}
			select {
			case <-next:
			case <-deadline:
				return
			}
		}
	}
	waitAll(probes, 45*time.Second)
	res := fleetRun{lag: map[string][]time.Duration{}}
	for _, p := range probes {
		at, ok := accepted(p)
		if !ok {
			res.missed++
			continue
		}
		if strings.HasPrefix(p.name, "open-") {
			if p.prov != "tc" && (res.firstWin == 0 || at.Sub(start) < res.firstWin) {
				res.firstWin = at.Sub(start)
			}
			continue
		}
		res.lag[p.prov] = append(res.lag[p.prov], max(at.Sub(p.start), 0))
	}
	// Edits: one new open window per command provider, one file each.
	for _, p := range []string{"ali", "hw", "ag"} {
		for k := range 3 {
			name := fmt.Sprintf("edit-%s-%d", p, k)
			stream, opts := cmdStream(name), ""
			if p == "ag" {
				stream, opts = "{channel: "+name+"}", agoraOptions
			}
			pr := probe{name: name, prov: p, edit: true}
			t1 := time.Now()
			pr.start = t1
			write(name+".yaml", recDoc(name, p, stream, opts, window{t1.Truncate(time.Second).Add(-time.Minute), t1.Add(time.Hour)}))
			waitAll([]probe{pr}, 20*time.Second)
			if at, ok := accepted(pr); ok {
				res.edit = append(res.edit, at.Sub(t1))
			} else {
				res.missed++
			}
		}
	}
	return res
}

// BenchmarkMixedFleetDaemon: `recordctl run` over the mixed fleet
// (10,000 recordings, 25,000 scheduled Tencent tasks, 500 + 500 open
// Alibaba and Huawei recordings, 100 open Agora recordings), against the
// emulators at their documented rates, beside a baseline run of the same
// probes with no fleet, in the same process. Reports window-start lag p99
// per provider (and its ratio to the baseline), missed windows, edit ->
// accepted start p99, and daemon start -> first served window.
// RECORDCTL_FLEET_SCALE scales the fleet (default 1). Run with -benchtime 1x.
func BenchmarkMixedFleetDaemon(b *testing.B) {
	if testing.Short() {
		b.Skip("long scenario")
	}
	scale := 1.0
	if v := os.Getenv("RECORDCTL_FLEET_SCALE"); v != "" {
		scale, _ = strconv.ParseFloat(v, 64)
	}
	for b.Loop() {
		base := runFleet(b, 0)
		full := runFleet(b, scale)
		for _, p := range []string{"tc", "ali", "hw", "ag"} {
			bp, fp := pct(base.lag[p], 99), pct(full.lag[p], 99)
			b.ReportMetric(float64(fp.Milliseconds()), "lag-p99-ms-"+p)
			b.ReportMetric(float64(bp.Milliseconds()), "base-lag-p99-ms-"+p)
			b.Logf("%s: lag p99 %s (baseline %s), samples %d", p, fp, bp, len(full.lag[p]))
		}
		b.ReportMetric(float64(full.missed), "missed")
		b.ReportMetric(float64(base.missed), "base-missed")
		b.ReportMetric(float64(pct(full.edit, 99).Milliseconds()), "edit-p99-ms")
		b.ReportMetric(float64(pct(base.edit, 99).Milliseconds()), "base-edit-p99-ms")
		b.ReportMetric(float64(full.firstWin.Milliseconds()), "start-first-window-ms")
		b.ReportMetric(float64(base.firstWin.Milliseconds()), "base-start-first-window-ms")
		b.Logf("edit p99 %s (baseline %s); start -> first served window %s (baseline %s); missed %d (baseline %d)",
			pct(full.edit, 99), pct(base.edit, 99), full.firstWin, base.firstWin, full.missed, base.missed)
	}
}

func w0(srv *emulate.Server) *tencentemu.Emulator {
	return srv.Emulators["tencent"].(*tencentemu.Emulator)
}
func hw0(srv *emulate.Server) *huaweiemu.Emulator {
	return srv.Emulators["huawei"].(*huaweiemu.Emulator)
}
func ag0(srv *emulate.Server) *agoraemu.Emulator { return srv.Emulators["agora"].(*agoraemu.Emulator) }

// splitDocs cuts a multi-document YAML stream into parts of about size
// bytes, at "---" document boundaries.
func splitDocs(all string, size int) []string {
	var parts []string
	for len(all) > size {
		cut := strings.Index(all[size:], "\n---\n")
		if cut < 0 {
			break
		}
		parts = append(parts, all[:size+cut+1])
		all = all[size+cut+1:]
	}
	return append(parts, all)
}

// wakeup wakes its waiters on every signal.
type wakeup struct {
	mu sync.Mutex
	ch chan struct{}
}

func newWakeup() *wakeup { return &wakeup{ch: make(chan struct{})} }

func (w *wakeup) signal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.ch)
	w.ch = make(chan struct{})
}

func (w *wakeup) next() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

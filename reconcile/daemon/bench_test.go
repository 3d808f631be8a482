package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func reportPercentiles(b *testing.B, name string, ds []time.Duration) {
	b.ReportMetric(float64(percentile(ds, 50))/1e6, name+"-p50-ms")
	b.ReportMetric(float64(percentile(ds, 99))/1e6, name+"-p99-ms")
	b.Logf("%s over %d samples: p50 %s p99 %s max %s", name, len(ds), percentile(ds, 50), percentile(ds, 99), percentile(ds, 100))
}

// BenchmarkEditToProviderCall: from writing an edited file to the
// provider calls it causes (default 100 ms debounce, 21 recordings on the
// tencent emulator). "first" is the first call of any kind (the List that
// starts the reconcile); "create" is the CreateRecordTask of the edited
// recording (its old scheduled task is deleted first). Run with
// -benchtime 200x for a meaningful p99.
func BenchmarkEditToProviderCall(b *testing.B) {
	h := newHarness(b)
	h.cfg.Debounce = 0   // the default
	h.tx.SetRateLimit(0) // the tencent client lists stream by stream, unpaced: 21 streams exceed the 20/s limit
	h.providers()
	start := secs(time.Now()).Add(time.Hour)
	for i := range 20 {
		n := fmt.Sprintf("base%02d", i)
		h.write(n+".yaml", rec(n, "tx", n, start, start.Add(time.Hour)))
	}
	h.write("edit.yaml", rec("e", "tx", "e", start, start.Add(time.Hour)))
	h.start()
	h.waitReconcile(0)
	var first, create []time.Duration
	b.ResetTimer()
	for i := range b.N {
		n := h.reportCount()
		t0 := time.Now()
		h.write("edit.yaml", rec("e", "tx", "e", start, start.Add(time.Hour+time.Duration(i+1)*time.Minute)))
		h.waitFor("create after the edit", func() bool { return len(h.txCalls.find("CreateRecordTask", "e", t0)) > 0 })
		create = append(create, h.txCalls.find("CreateRecordTask", "e", t0)[0].at.Sub(t0))
		first = append(first, h.txCalls.find("", "", t0)[0].at.Sub(t0))
		h.waitReconcile(n)
	}
	b.StopTimer()
	reportPercentiles(b, "first", first)
	reportPercentiles(b, "create", create)
}

// recNano is rec with sub-second window times.
func recNano(name, prov, stream string, start, end time.Time) string {
	return fmt.Sprintf(`apiVersion: recordctl/v1
kind: Recording
metadata: {name: %s}
spec:
  provider: %s
  stream: {domain: push.example.com, app: live, name: %s}
  windows:
    - {start: "%s", end: "%s"}
`, name, prov, stream, start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
}

// BenchmarkWindowStartLag: command provider (aliyun emulator), from a
// window's start to the start command reaching the provider. Each
// iteration adds 20 windows opening 100 ms apart (each 1.5 s long, so
// starts, stops and re-assertions interleave). Run with -benchtime 10x.
func BenchmarkWindowStartLag(b *testing.B) {
	h := newHarness(b)
	h.cfg.Debounce = 0
	h.providers()
	h.start()
	h.waitReconcile(0)
	const k = 20
	var lags []time.Duration
	b.ResetTimer()
	for i := range b.N {
		base := time.Now().Add(800 * time.Millisecond).Truncate(time.Millisecond)
		var doc strings.Builder
		starts := map[string]time.Time{}
		for j := range k {
			s := base.Add(time.Duration(j) * 100 * time.Millisecond)
			name := fmt.Sprintf("l%d-%d", i, j)
			starts[name] = s
			if j > 0 {
				doc.WriteString("---\n")
			}
			doc.WriteString(recNano(name, "ali", name, s, s.Add(1500*time.Millisecond)))
		}
		t0 := time.Now()
		h.write(fmt.Sprintf("lag%d.yaml", i), doc.String())
		h.waitFor("every window stopped", func() bool { return len(h.aliCalls.find("RealTimeRecordCommand stop", "", t0)) >= k })
		for name, s := range starts {
			c := h.aliCalls.find("RealTimeRecordCommand start", name, t0)
			if len(c) == 0 {
				b.Fatalf("no start for %s", name)
			}
			lags = append(lags, c[0].at.Sub(s))
		}
	}
	b.StopTimer()
	reportPercentiles(b, "lag", lags)
}

// BenchmarkReload10k: the periodic safety-net reload of 10,000 unchanged
// Recordings in 100 files (walk, read, hash; nothing parsed).
func BenchmarkReload10k(b *testing.B) {
	dir := b.TempDir()
	writeFleet(b, dir, "http://127.0.0.1:1", "http://127.0.0.1:2", 10000)
	l := newLoader(dir, time.Now)
	if d, _ := l.load(spec.Walk(dir), false); len(d.Set.Recordings) != 10000 || len(d.Errors) != 0 {
		b.Fatalf("loaded %d recordings, errors %v", len(d.Set.Recordings), d.Errors)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, changed := l.load(spec.Walk(dir), false); changed {
			b.Fatal("unchanged files read as changed")
		}
	}
}

// writeFleet writes n Recordings (half tencent, half aliyun) in files of
// 100, all with a window open from an hour ago for the next five hours.
func writeFleet(tb testing.TB, dir, txURL, aliURL string, n int) {
	tb.Helper()
	prov := fmt.Sprintf(`apiVersion: recordctl/v1
kind: Provider
metadata: {name: tx}
spec:
  type: tencent
  region: ap-guangzhou
  endpoint: %s
  rateLimit: 100000
  credentials: {secretId: {env: %s}, secretKey: {env: %s}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali}
spec:
  type: aliyun
  region: cn-shanghai
  endpoint: %s
  rateLimit: 100000
  credentials: {accessKeyId: {env: %s}, accessKeySecret: {env: %s}}
`, txURL, envTxID, envTxKey, aliURL, envAliID, envAliKey)
	if err := os.WriteFile(filepath.Join(dir, "providers.yaml"), []byte(prov), 0o644); err != nil {
		tb.Fatal(err)
	}
	start := secs(time.Now()).Add(-time.Hour)
	for f := 0; f < n/100; f++ {
		var b strings.Builder
		p := "tx"
		if f%2 == 1 {
			p = "ali"
		}
		for i := range 100 {
			name := fmt.Sprintf("r%05d", f*100+i)
			if i > 0 {
				b.WriteString("---\n")
			}
			b.WriteString(rec(name, p, name, start, start.Add(6*time.Hour)))
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("team%03d.yaml", f)), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// seedFleet puts the fleet's tasks at the emulators and in the state in
// one write, as a daemon that has been running for a while would have
// them (creating 10,000 tasks through the executor rewrites the whole
// state file twice per task).
func seedFleet(b *testing.B, h *harness) {
	b.Helper()
	l := newLoader(h.dir, time.Now)
	docs, _ := l.load(spec.Walk(h.dir), false)
	if len(docs.Set.Recordings) != 10000 || len(docs.Errors) != 0 {
		b.Fatalf("fleet: %d recordings, errors %v", len(docs.Set.Recordings), docs.Errors)
	}
	ali, err := providers.New(docs.Set.Provider("ali"), providers.Options{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var recs []*state.Record
	for _, r := range docs.Set.Recordings {
		w := r.Spec.Windows[0]
		key := spec.WindowID(r.Metadata.Name, w.Start)
		rc := &state.Record{ID: state.NewID(), Key: key, Window: key, Recording: r.Metadata.Name, Provider: r.Spec.Provider,
			Stream: r.Spec.Stream, Start: w.Start, End: w.End, Phase: state.Active, Created: now, Updated: now}
		if r.Spec.Provider == "tx" {
			t := h.tx.InjectTask(r.Spec.Stream, w.Start, w.End)
			rc.Type = "tencent"
			rc.Task = &providers.Task{ID: t.TaskID, Stream: r.Spec.Stream, Start: w.Start, End: w.End, Status: providers.StatusRecording}
		} else {
			t, err := ali.Create(context.Background(), providers.CreateRequest{Key: key, Recording: r, Stream: r.Spec.Stream, Start: w.Start, End: w.End, Now: now})
			if err != nil {
				b.Fatal(err)
			}
			rc.Type = "aliyun"
			rc.Task = &t
		}
		recs = append(recs, rc)
	}
	st, err := state.Open(h.statePath)
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
}

// TestDaemonProcess is the daemon process of BenchmarkIdle10k (skipped
// unless that benchmark starts it): a plain daemon on the directory and
// state named by the environment, until SIGTERM; SIGHUP triggers a reconcile.
func TestDaemonProcess(t *testing.T) {
	if os.Getenv("RECORDCTL_DAEMON_PROCESS") == "" {
		t.Skip("helper process of BenchmarkIdle10k")
	}
	st, err := state.Open(os.Getenv("RECORDCTL_STATE"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	resync, _ := time.ParseDuration(os.Getenv("RECORDCTL_RESYNC"))
	eng := &reconcile.Engine{Store: st, Options: providers.Options{UserAgent: "recordctl-bench"}}
	d, err := New(Config{Dir: os.Getenv("RECORDCTL_DIR"), Engine: eng, Resync: resync, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(os.Getenv("RECORDCTL_ADDR_FILE"), []byte(d.Addr()), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("RECORDCTL_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			d.Trigger()
		}
	}()
	if err := d.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("RECORDCTL_HEAPPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		runtime.GC()
		_ = pprof.WriteHeapProfile(f)
	}
}

// procStat returns a process's CPU time (user+system) and resident set.
func procStat(tb testing.TB, pid int) (time.Duration, int64) {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64) // utime is field 14, f[0] is field 3
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	cpu := time.Duration(ut+stt) * time.Second / hz
	s, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	var rss int64
	sc := bufio.NewScanner(s)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			rss = kb * 1024
		}
	}
	return cpu, rss
}

// metricValue reads one sample from a /metrics page ("" when absent).
func metricValue(page, series string) string {
	for _, l := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v
		}
	}
	return ""
}

// BenchmarkIdle10k: a daemon process (this test binary re-executed) with
// 10,000 Recordings (5,000 tencent tasks recording, 5,000 aliyun
// recordings, seeded), windows open for hours, resync off: its CPU over an idle
// period (RECORDCTL_IDLE_SECONDS, default 20) and resident memory; then
// the CPU of one full resync reconcile (SIGHUP), to amortise over --resync.
func BenchmarkIdle10k(b *testing.B) {
	if testing.Short() {
		b.Skip("long scenario")
	}
	idle := 20 * time.Second
	if s := os.Getenv("RECORDCTL_IDLE_SECONDS"); s != "" {
		n, _ := strconv.Atoi(s)
		idle = time.Duration(n) * time.Second
	}
	h := newHarness(b)
	h.tx.SetRateLimit(0)
	h.ali.SetRateLimit(0)
	h.tx.SetPageSize(100)
	writeFleet(b, h.dir, h.txURL, h.aliURL, 10000)
	seedFleet(b, h)
	addrFile := filepath.Join(b.TempDir(), "addr")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDaemonProcess$")
	cmd.Env = append(os.Environ(), "RECORDCTL_DAEMON_PROCESS=1", "RECORDCTL_DIR="+h.dir, "RECORDCTL_STATE="+h.statePath,
		"RECORDCTL_ADDR_FILE="+addrFile, "RECORDCTL_RESYNC=-1s")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	get := func(path string) (int, string) {
		addr, _ := os.ReadFile(addrFile)
		if len(addr) == 0 {
			return 0, ""
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+string(addr)+path, nil)
		req.Header.Set("Accept-Encoding", "identity") // no gzip: keep the scrape cheap for the daemon
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	t0 := time.Now()
	for {
		if code, _ := get("/readyz"); code == http.StatusOK {
			break
		}
		if time.Since(t0) > 5*time.Minute {
			_, body := get("/readyz")
			b.Fatalf("the daemon did not become ready: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	startup := time.Since(t0)
	if n := len(h.liveTx()); n != 5000 || len(h.tx.Tasks()) != 5000 {
		b.Fatalf("%d live tencent tasks of %d, want 5000 (none created by the daemon)", n, len(h.tx.Tasks()))
	}
	time.Sleep(2 * time.Second) // let the start settle
	pid := cmd.Process.Pid
	cpu0, _ := procStat(b, pid)
	w0 := time.Now()
	time.Sleep(idle)
	cpu1, rss := procStat(b, pid)
	wall := time.Since(w0)
	share := float64(cpu1-cpu0) / float64(wall) * 100

	_, page := get("/metrics")
	before := metricValue(page, `recordctl_reconciles_total{result="ok",trigger="signal"}`)
	r0 := time.Now()
	_ = cmd.Process.Signal(syscall.SIGHUP)
	for {
		_, page = get("/metrics")
		if v := metricValue(page, `recordctl_reconciles_total{result="ok",trigger="signal"}`); v != "" && v != before {
			break
		}
		if time.Since(r0) > 5*time.Minute {
			b.Fatalf("no resync reconcile")
		}
		time.Sleep(250 * time.Millisecond)
	}
	resyncWall := time.Since(r0)
	cpu2, rss2 := procStat(b, pid)
	resyncCPU := cpu2 - cpu1
	for _, m := range []string{"go_memstats_heap_inuse_bytes", "go_memstats_heap_alloc_bytes", "go_memstats_sys_bytes"} {
		if v, err := strconv.ParseFloat(metricValue(page, m), 64); err == nil {
			b.Logf("%s %.1f MB", m, v/(1<<20))
		}
	}

	b.ReportMetric(share, "idle-cpu-%")
	b.ReportMetric(float64(rss)/(1<<20), "idle-rss-MB")
	b.ReportMetric(resyncCPU.Seconds(), "resync-cpu-s")
	b.ReportMetric(float64(rss2)/(1<<20), "rss-after-resync-MB")
	b.Logf("startup (list 5,000 + re-assert 5,000) %s; idle %s: cpu %s (%.3f%% of a core), rss %.1f MB; one resync: wall %s, cpu %s (%.2f%% of a core at --resync 1m), rss after %.1f MB",
		startup.Round(time.Millisecond), wall.Round(time.Millisecond), cpu1-cpu0, share, float64(rss)/(1<<20),
		resyncWall.Round(time.Millisecond), resyncCPU, resyncCPU.Seconds()/60*100, float64(rss2)/(1<<20))
}

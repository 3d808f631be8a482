package ha_test

import (
	"context"
	"fmt"
	"github.com/recordctl/recordctl/internal/clock"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/daemon"
	"github.com/recordctl/recordctl/reconcile/ha"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
)

// calls logs the requests an emulator served: op and stream, at arrival.
type calls struct {
	mu  sync.Mutex
	log []struct {
		at         time.Time
		op, stream string
	}
}

func (c *calls) wrap(h http.Handler, op func(*http.Request) (string, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		o, s := op(r)
		h.ServeHTTP(w, r)
		c.mu.Lock()
		c.log = append(c.log, struct {
			at         time.Time
			op, stream string
		}{at, o, s})
		c.mu.Unlock()
		wake.signal()
	})
}

// wakeup wakes the waiters of waitCond whenever a call is logged or a
// reconcile reported: the benchmark waits for events, not durations.
type wakeup struct {
	mu sync.Mutex
	ch chan struct{}
}

var wake = &wakeup{ch: make(chan struct{})}

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

// first is the arrival of the first op call for stream at or after since.
func (c *calls) first(op, stream string, since time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best time.Time
	for _, x := range c.log {
		if x.op == op && x.stream == stream && !x.at.Before(since) && (best.IsZero() || x.at.Before(best)) {
			best = x.at
		}
	}
	return best, !best.IsZero()
}

func (c *calls) count(op string, since time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, x := range c.log {
		if x.op == op && !x.at.Before(since) {
			n++
		}
	}
	return n
}

var dumpCalls func() string

func waitCond(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.After(20 * time.Second)
	for {
		next := wake.next()
		if cond() {
			return
		}
		select {
		case <-next:
		case <-deadline:
			if dumpCalls != nil {
				b.Log(dumpCalls())
			}
			b.Fatalf("%s: not within 20s", what)
		}
	}
}

func recDoc(name, prov string, start, end time.Time) string {
	return fmt.Sprintf("apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: %s}\nspec:\n  provider: %s\n  stream: {domain: push.example.com, app: live, name: %s}\n  windows:\n    - {start: %q, end: %q}\n",
		name, prov, name, start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
}

// steady runs the daemon on store against fresh emulators and measures
// edit -> CreateRecordTask (tencent) and window start -> start command
// (aliyun) over n edits and n×20 windows.
func steady(b *testing.B, store state.Store, n int) (edit, lag []time.Duration) {
	tx := tencentemu.NewEmulator(emu.Config{})
	tx.SetRateLimit(0)
	ali := aliyunemu.NewEmulator(emu.Config{})
	ali.AddRecordConfig("push.example.com", "live")
	var txCalls, aliCalls calls
	txSrv := httptest.NewServer(txCalls.wrap(tx, func(r *http.Request) (string, string) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		s := ""
		if i := strings.Index(string(body), `"StreamName":"`); i >= 0 {
			s = strings.SplitN(string(body)[i+14:], `"`, 2)[0]
		}
		return r.Header.Get("X-TC-Action"), s
	}))
	defer txSrv.Close()
	aliSrv := httptest.NewServer(aliCalls.wrap(ali, func(r *http.Request) (string, string) {
		q, _ := url.ParseQuery(r.URL.RawQuery)
		return strings.TrimSpace(q.Get("Action") + " " + q.Get("Command")), q.Get("StreamName")
	}))
	defer aliSrv.Close()
	dumpCalls = func() string {
		aliCalls.mu.Lock()
		defer aliCalls.mu.Unlock()
		var sb strings.Builder
		for _, x := range aliCalls.log {
			fmt.Fprintf(&sb, "%s %s %s\n", x.at.Format("15:04:05.000"), x.op, x.stream)
		}
		return sb.String()
	}
	os.Setenv("X_TX_ID", tencentemu.DemoSecretID)
	os.Setenv("X_TX_KEY", tencentemu.DemoSecretKey)
	os.Setenv("X_ALI_ID", aliyunemu.DemoAccessKeyID)
	os.Setenv("X_ALI_KEY", aliyunemu.DemoAccessKeySecret)
	dir := b.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("providers.yaml", fmt.Sprintf(`apiVersion: recordctl/v1
kind: Provider
metadata: {name: tx}
spec: {type: tencent, region: ap-guangzhou, endpoint: %s, rateLimit: 1000, credentials: {secretId: {env: X_TX_ID}, secretKey: {env: X_TX_KEY}}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali}
spec: {type: aliyun, region: cn-shanghai, endpoint: %s, rateLimit: 1000, credentials: {accessKeyId: {env: X_ALI_ID}, accessKeySecret: {env: X_ALI_KEY}}}
`, txSrv.URL, aliSrv.URL))
	start := time.Now().Add(time.Hour).Truncate(time.Second)
	for i := range 20 {
		write(fmt.Sprintf("base%02d.yaml", i), recDoc(fmt.Sprintf("base%02d", i), "tx", start, start.Add(time.Hour)))
	}
	write("edit.yaml", recDoc("e", "tx", start, start.Add(time.Hour)))
	var mu sync.Mutex
	reports := 0
	eng := &reconcile.Engine{Store: store, Log: slog.New(slog.DiscardHandler), Options: providers.Options{UserAgent: "recordctl-bench"},
		Exec: reconcile.Executor{Clock: noSleep{clock.Real}}}
	d, err := daemon.New(daemon.Config{Dir: dir, Engine: eng, Resync: time.Hour, Reload: time.Hour, Grace: 5 * time.Second,
		OnReconcile: func(daemon.Report) { mu.Lock(); reports++; mu.Unlock(); wake.signal() }})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	nrep := func() int { mu.Lock(); defer mu.Unlock(); return reports }
	waitCond(b, "first reconcile", func() bool { return nrep() > 0 })
	for i := range n {
		k := nrep()
		t0 := time.Now()
		write("edit.yaml", recDoc("e", "tx", start, start.Add(time.Hour+time.Duration(i+1)*time.Minute)))
		var at time.Time
		waitCond(b, "create after the edit", func() bool { var ok bool; at, ok = txCalls.first("CreateRecordTask", "e", t0); return ok })
		edit = append(edit, at.Sub(t0))
		waitCond(b, "reconcile after the edit", func() bool { return nrep() > k })
	}
	for i := range n {
		base := time.Now().Add(800 * time.Millisecond).Truncate(time.Millisecond)
		var doc strings.Builder
		starts := map[string]time.Time{}
		for j := range 20 {
			s := base.Add(time.Duration(j) * 100 * time.Millisecond)
			name := fmt.Sprintf("l%d-%d", i, j)
			starts[name] = s
			if j > 0 {
				doc.WriteString("---\n")
			}
			doc.WriteString(recDoc(name, "ali", s, s.Add(1500*time.Millisecond)))
		}
		t0 := time.Now()
		write(fmt.Sprintf("lag%d.yaml", i), doc.String())
		waitCond(b, "every window stopped", func() bool { return aliCalls.count("RealTimeRecordCommand stop", t0) >= 20 })
		for name, s := range starts {
			at, ok := aliCalls.first("RealTimeRecordCommand start", name, t0)
			if !ok {
				b.Fatalf("no start for %s", name)
			}
			lag = append(lag, at.Sub(s))
		}
	}
	return edit, lag
}

// BenchmarkSteadyStateEtcdVsLocal: the same daemon workload on the local
// store and on etcd (every write fenced on the leadership of both
// providers), in one run: edit -> first create p99 and window-start lag
// p99, and their etcd/local ratios (target <= 1.5).
// go test -run '^$' -bench SteadyState -benchtime 20x ./reconcile/ha
func BenchmarkSteadyStateEtcdVsLocal(b *testing.B) {
	local, err := state.Open(filepath.Join(b.TempDir(), "state"))
	if err != nil {
		b.Fatal(err)
	}
	defer local.Close()
	st := etcdstate.New(srv.Client(b), newPrefix(b), etcdstate.Options{})
	if err := st.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	h, err := ha.Acquire(context.Background(), ha.Config{Store: st, TTL: 10 * time.Second}, []string{"ali", "tx"}, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Release()
	n := max(b.N, 3)
	b.ResetTimer()
	le, ll := steady(b, local, n)
	ee, el := steady(b, h.Store(), n)
	b.StopTimer()
	for _, m := range []struct {
		name       string
		local, etc []time.Duration
	}{{"edit-create", le, ee}, {"start-lag", ll, el}} {
		lp, ep := pct(m.local, 0.99), pct(m.etc, 0.99)
		b.ReportMetric(float64(lp)/1e6, m.name+"-local-p99-ms")
		b.ReportMetric(float64(ep)/1e6, m.name+"-etcd-p99-ms")
		b.ReportMetric(float64(ep)/float64(max(lp, time.Millisecond)), m.name+"-etcd/local")
	}
}

// noSleep is the wall clock on which retry backoffs pass at once.
type noSleep struct{ clock.Clock }

func (noSleep) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	_ "github.com/recordctl/recordctl/providers/all"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
)

// call is one request an emulator received.
type call struct {
	at     time.Time
	op     string // tencent X-TC-Action; aliyun "RealTimeRecordCommand <command>"
	stream string // stream name
}

// recorder logs the requests an emulator has served.
type recorder struct {
	mu    sync.Mutex
	calls []call
	hook  func(call) // called before the request is served (tests block here)
}

func (r *recorder) wrap(h http.Handler, tencentAPI bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c := call{at: time.Now()}
		if tencentAPI {
			body, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
			var b struct{ StreamName string }
			_ = json.Unmarshal(body, &b)
			c.op, c.stream = req.Header.Get("X-TC-Action"), b.StreamName
		} else {
			q := req.URL.Query()
			c.op, c.stream = strings.TrimSpace(q.Get("Action")+" "+q.Get("Command")), q.Get("StreamName")
		}
		if strings.HasPrefix(req.URL.Path, "/_emulator") || c.op == "" {
			h.ServeHTTP(w, req)
			return
		}
		r.mu.Lock()
		hook := r.hook
		r.mu.Unlock()
		if hook != nil {
			hook(c)
		}
		h.ServeHTTP(w, req)
		// Logged once served, so a test that saw the call also sees its
		// effect in the emulator; at stays the arrival time.
		r.mu.Lock()
		r.calls = append(r.calls, c)
		r.mu.Unlock()
	})
}

// find returns the calls of op (prefix) for stream ("" any) received at or
// after since, in order of arrival.
func (r *recorder) find(op, stream string, since time.Time) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []call
	for _, c := range r.calls {
		if strings.HasPrefix(c.op, op) && (stream == "" || c.stream == stream) && !c.at.Before(since) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

func (r *recorder) setHook(h func(call)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = h
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness runs a daemon on a temp spec directory against the tencent and
// aliyun emulators over loopback HTTP.
type harness struct {
	t         testing.TB
	dir       string
	statePath string
	tx        *tencentemu.Emulator
	ali       *aliyunemu.Emulator
	txCalls   recorder
	aliCalls  recorder
	txURL     string
	aliURL    string
	logs      *syncBuffer
	cfg       Config // template for start (Dir, Engine, Log are filled in)

	mu      sync.Mutex
	reports []Report
	store   *state.Local
	d       *Daemon
	cancel  context.CancelFunc
	done    chan error
}

const (
	envTxID, envTxKey   = "RECORDCTL_TEST_TX_ID", "RECORDCTL_TEST_TX_KEY"
	envAliID, envAliKey = "RECORDCTL_TEST_ALI_ID", "RECORDCTL_TEST_ALI_KEY"
)

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), statePath: filepath.Join(t.TempDir(), "state"), logs: &syncBuffer{}}
	h.tx = tencentemu.NewEmulator(emu.Config{})
	h.tx.SetPageSize(100)
	h.ali = aliyunemu.NewEmulator(emu.Config{})
	txSrv := httptest.NewServer(h.txCalls.wrap(h.tx, true))
	aliSrv := httptest.NewServer(h.aliCalls.wrap(h.ali, false))
	t.Cleanup(txSrv.Close)
	t.Cleanup(aliSrv.Close)
	h.txURL, h.aliURL = txSrv.URL, aliSrv.URL
	os.Setenv(envTxID, tencentemu.DemoSecretID)
	os.Setenv(envTxKey, tencentemu.DemoSecretKey)
	os.Setenv(envAliID, aliyunemu.DemoAccessKeyID)
	os.Setenv(envAliKey, aliyunemu.DemoAccessKeySecret)
	h.cfg = Config{Resync: time.Hour, Reload: time.Hour, Debounce: 20 * time.Millisecond, Grace: 5 * time.Second}
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("daemon log:\n%s", h.logs.String())
		}
	})
	return h
}

// providers writes both Provider documents to providers.yaml.
func (h *harness) providers() { h.providersAt(1000) }

// providersAt writes both Provider documents, paced at rate requests/s.
func (h *harness) providersAt(rate int) {
	h.write("providers.yaml", fmt.Sprintf(`apiVersion: recordctl/v1
kind: Provider
metadata: {name: tx}
spec:
  type: tencent
  region: ap-guangzhou
  endpoint: %s
  rateLimit: %d
  credentials: {secretId: {env: %s}, secretKey: {env: %s}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali}
spec:
  type: aliyun
  region: cn-shanghai
  endpoint: %s
  rateLimit: %d
  credentials: {accessKeyId: {env: %s}, accessKeySecret: {env: %s}}
`, h.txURL, rate, envTxID, envTxKey, h.aliURL, rate, envAliID, envAliKey))
}

// rec renders a Recording with one explicit window on provider prov ("tx" or "ali").
func rec(name, prov, stream string, start, end time.Time) string {
	return fmt.Sprintf(`apiVersion: recordctl/v1
kind: Recording
metadata: {name: %s}
spec:
  provider: %s
  stream: {domain: push.example.com, app: live, name: %s}
  windows:
    - {start: %s, end: %s}
`, name, prov, stream, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
}

func (h *harness) write(rel, content string) {
	h.t.Helper()
	p := filepath.Join(h.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) remove(rel string) {
	h.t.Helper()
	if err := os.Remove(filepath.Join(h.dir, filepath.FromSlash(rel))); err != nil {
		h.t.Fatal(err)
	}
}

// start opens the state and runs a daemon on it.
func (h *harness) start() *Daemon {
	h.t.Helper()
	st, err := state.Open(h.statePath)
	if err != nil {
		h.t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := &reconcile.Engine{Store: st, Log: log, Options: providers.Options{UserAgent: "recordctl-test"}}
	cfg := h.cfg
	cfg.Dir, cfg.Engine, cfg.Log = h.dir, eng, log
	user := cfg.OnReconcile
	cfg.OnReconcile = func(r Report) {
		h.mu.Lock()
		h.reports = append(h.reports, r)
		h.mu.Unlock()
		if user != nil {
			user(r)
		}
	}
	d, err := New(cfg)
	if err != nil {
		st.Close()
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h.mu.Lock()
	h.store, h.d, h.cancel, h.done, h.reports = st, d, cancel, done, nil
	h.mu.Unlock()
	go func() { done <- d.Run(ctx) }()
	return d
}

// stop cancels the daemon, waits for Run to return and releases the state.
func (h *harness) stop() error {
	h.mu.Lock()
	cancel, done, st := h.cancel, h.done, h.store
	h.cancel, h.done, h.store = nil, nil, nil
	h.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		h.t.Errorf("daemon did not stop within 30 s")
	}
	st.Close()
	return err
}

// waitFor polls cond (generous timeout: no timing assertion).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reportCount returns how many reconciles have finished.
func (h *harness) reportCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reports)
}

// lastReport returns the last reconcile's report.
func (h *harness) lastReport() Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reports) == 0 {
		return Report{}
	}
	return h.reports[len(h.reports)-1]
}

// waitReconcile waits for a reconcile after the n-th; waitReconcile(0)
// waits until every provider's worker has made its first reconcile.
func (h *harness) waitReconcile(n int) Report {
	h.t.Helper()
	if n == 0 {
		h.waitFor("every provider's first reconcile", func() bool {
			d := h.daemon()
			if d == nil || d.Documents().Set == nil {
				return false
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			seen := map[string]bool{}
			for _, r := range h.reports {
				seen[r.Provider] = true
			}
			for _, p := range d.Documents().Set.Providers {
				if !seen[p.Metadata.Name] {
					return false
				}
			}
			return len(h.reports) > 0
		})
		return h.lastReport()
	}
	h.waitFor(fmt.Sprintf("reconcile #%d", n+1), func() bool { return h.reportCount() > n })
	return h.lastReport()
}

func (h *harness) daemon() *Daemon {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.d
}

// readyz fetches /readyz from the handler.
func (h *harness) readyz() (int, string) {
	rec := httptest.NewRecorder()
	h.d.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code, rec.Body.String()
}

// liveTx returns the tencent emulator's tasks that are not stopped or deleted, by stream name.
func (h *harness) liveTx() map[string]int {
	out := map[string]int{}
	for _, t := range h.tx.Tasks() {
		if t.Stopped.IsZero() && !t.Deleted {
			out[t.Stream.Name]++
		}
	}
	return out
}

// secs truncates to whole seconds (documents carry RFC 3339 seconds).
func secs(t time.Time) time.Time { return t.Truncate(time.Second) }

// readState reads the state file without locking it.
func readState(path string) (*state.State, error) { return state.Read(path) }

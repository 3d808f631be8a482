package emulate_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/internal/clock/clocktest"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/agora/agoraemu"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	_ "github.com/recordctl/recordctl/providers/all"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/providers/huawei/huaweiemu"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// Secret values of recording options (agora token and storage keys). They
// are set in the environment for every test and must never show up in any
// output, plan or state.
const (
	secretToken     = "e2e-token-Zq8PxR4tVw"
	secretStorageAK = "e2e-storage-ak-Hn3Ly7Ke"
	secretStorageSK = "e2e-storage-sk-Tb6Wm2Jc9s"
	// secretBadToken is a token the agora emulator refuses (code 110).
	secretBadToken = "expired-e2e-token-Qm5Vr8Lp"
	// secretWrong is a wrong credential secret (signatures fail with it).
	secretWrong = "wrong-secret-e2e-Vb7Nq2Xd"
)

var secretEnv = map[string]string{
	"RECORDCTL_E2E_AGORA_TOKEN": secretToken,
	"RECORDCTL_E2E_OSS_AK":      secretStorageAK,
	"RECORDCTL_E2E_OSS_SK":      secretStorageSK,
	"RECORDCTL_E2E_BAD_TOKEN":   secretBadToken,
	"RECORDCTL_E2E_WRONG":       secretWrong,
}

// allSecrets lists every credential value the e2e documents reference.
func allSecrets() []string {
	return []string{
		tencentemu.DemoSecretID, tencentemu.DemoSecretKey,
		aliyunemu.DemoAccessKeyID, aliyunemu.DemoAccessKeySecret,
		huaweiemu.DemoAccessKey, huaweiemu.DemoSecretKey,
		agoraemu.DemoCustomerID, agoraemu.DemoCustomerSecret,
		secretToken, secretStorageAK, secretStorageSK, secretBadToken, secretWrong,
	}
}

// TestMain sets the demo credentials and the option secrets in the
// environment once: the documents reference them by {env: NAME}.
func TestMain(m *testing.M) {
	srv, err := emulate.Start("127.0.0.1", 0, emu.Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, kv := range srv.DemoEnv() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	srv.Close()
	for k, v := range secretEnv {
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

// clock is the one clock shared by the emulators, the provider clients and
// the engine, so no test waits in real time for a window: a simulated
// clock on which the engine's backoffs pass at once (clocktest.Sim).
type clock struct{ clocktest.Sim }

// Add moves the clock d ahead.
func (c *clock) Add(d time.Duration) { c.Step(d) }

// instant is the providers' view of the clock: their waits (backoffs
// between retries) return at once.
type instant struct{ *clocktest.Fake }

func (instant) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// world is one end-to-end setup: every emulator on loopback (on the shared
// clock), a spec directory of YAML documents pointing at them, a state file
// and an engine on it, as a recordctl process would have them.
type world struct {
	t         testing.TB
	clk       *clock
	srv       *emulate.Server
	faults    *emu.Faults
	dir       string
	statePath string
	store     *state.Local
	eng       *reconcile.Engine
	log       *syncBuf
	// exec configures every engine this world builds (restarts included).
	exec reconcile.Executor
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func newWorld(t testing.TB, now string) *world {
	t.Helper()
	return newWorldFaults(t, now, emu.NewFaults(1))
}

// newWorldFaults is newWorld with the emulators' fault injector given (seeded).
func newWorldFaults(t testing.TB, now string, faults *emu.Faults) *world {
	t.Helper()
	w := &world{t: t, clk: &clock{clocktest.NewSim(ts(now))}, faults: faults, log: &syncBuf{},
		dir: t.TempDir(), statePath: filepath.Join(t.TempDir(), "state")}
	srv, err := emulate.Start("127.0.0.1", 0, emu.Config{Now: w.clk.Now, Faults: w.faults})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = srv
	t.Cleanup(func() { srv.Close() })
	// Most tests are about behaviour, not about the documented request rates:
	// lift Tencent's 20/s so that paging DescribeRecordTask never throttles.
	w.tencent().SetRateLimit(0)
	w.exec = reconcile.Executor{RetryBudget: 3 * time.Second, CallTimeout: 5 * time.Second}
	w.write("providers.yaml", w.providerDocs(200))
	w.open()
	return w
}

// providerDocs returns one Provider document per type, named tc, ali, hw
// and ag, pointing at the emulators with credentials from the environment.
func (w *world) providerDocs(rate float64) string {
	return providerDocs(w.srv, rate)
}

func providerDocs(srv *emulate.Server, rate float64) string {
	env := func(typ, field string) string { return "{env: " + emulate.EnvName(typ, field) + "}" }
	ag := srv.URLs["agora"]
	return fmt.Sprintf(`apiVersion: recordctl/v1
kind: Provider
metadata: {name: tc}
spec:
  type: tencent
  region: ap-guangzhou
  endpoint: %s
  credentials: {secretId: %s, secretKey: %s}
  rateLimit: %g
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali}
spec:
  type: aliyun
  region: cn-shanghai
  endpoint: %s
  credentials: {accessKeyId: %s, accessKeySecret: %s}
  rateLimit: %g
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: hw}
spec:
  type: huawei
  region: cn-north-4
  projectId: %s
  endpoint: %s
  credentials: {accessKey: %s, secretKey: %s}
  rateLimit: %g
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ag}
spec:
  type: agora
  appId: %s
  endpoints: [%s, %s]
  credentials: {customerId: %s, customerSecret: %s}
  rateLimit: %g
`,
		srv.URLs["tencent"][0], env("tencent", "secretId"), env("tencent", "secretKey"), rate,
		srv.URLs["aliyun"][0], env("aliyun", "accessKeyId"), env("aliyun", "accessKeySecret"), rate,
		huaweiemu.DemoProjectID, srv.URLs["huawei"][0], env("huawei", "accessKey"), env("huawei", "secretKey"), rate,
		agoraemu.DemoAppID, ag[0], ag[1], env("agora", "customerId"), env("agora", "customerSecret"), rate)
}

// window is one explicit recording window.
type window struct{ start, end time.Time }

func win(start, end string) window { return window{ts(start), ts(end)} }

// recDoc renders a Recording with explicit windows. stream is a YAML flow
// mapping; options is a YAML flow mapping or "".
func recDoc(name, provider, stream, options string, wins ...window) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\napiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: %s}\nspec:\n  provider: %s\n  stream: %s\n  windows:\n", name, provider, stream)
	for _, x := range wins {
		fmt.Fprintf(&b, "    - {start: %q, end: %q}\n", x.start.Format(time.RFC3339), x.end.Format(time.RFC3339))
	}
	if options != "" {
		fmt.Fprintf(&b, "  options: %s\n", options)
	}
	return b.String()
}

// agoraOptions are complete agora recording options; secrets by reference.
const agoraOptions = `{mode: mix, uid: 1001, backupUid: 1002, maxIdleTime: 60, token: {env: RECORDCTL_E2E_AGORA_TOKEN},
    storage: {vendor: 2, region: 0, bucket: e2e-bucket, accessKey: {env: RECORDCTL_E2E_OSS_AK}, secretKey: {env: RECORDCTL_E2E_OSS_SK}}}`

func (w *world) write(name, content string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, name), []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// load reads the spec directory as `recordctl plan DIR` does, at the clock's now.
func (w *world) load() *spec.Set {
	w.t.Helper()
	set, err := spec.LoadAt(w.dir, w.clk.Now())
	if err != nil {
		w.t.Fatalf("documents do not load: %v", err)
	}
	return set
}

// open (re)starts the "process": a fresh engine on the state file.
func (w *world) open() {
	w.t.Helper()
	if w.store != nil {
		w.store.Close()
	}
	st, err := state.Open(w.statePath)
	if err != nil {
		w.t.Fatal(err)
	}
	w.store = st
	w.t.Cleanup(func() { st.Close() })
	w.eng = &reconcile.Engine{Store: st, Clock: w.clk,
		Log:     slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Options: providers.Options{Clock: instant{w.clk.Fake}, UserAgent: "recordctl/e2e"},
		Exec:    w.exec,
	}
}

// plan plans at the clock's now without changing anything.
func (w *world) plan() *reconcile.Plan {
	w.t.Helper()
	p, err := w.eng.Plan(context.Background(), w.load(), w.clk.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// reconcile plans, applies and re-asserts at the clock's now, as one
// `recordctl apply --auto-approve` does: Engine.Plan, then Engine.Apply,
// which sends each provider's share through Engine.Reconcile.
func (w *world) reconcile() (*reconcile.Plan, *reconcile.Result) {
	w.t.Helper()
	set := w.load()
	p, err := w.eng.Plan(context.Background(), set, w.clk.Now())
	if err != nil {
		w.t.Fatalf("plan at %s: %v", w.clk.Now().Format(time.RFC3339), err)
	}
	res, err := w.eng.Apply(context.Background(), set, p)
	if err != nil {
		w.t.Fatalf("apply at %s: %v", w.clk.Now().Format(time.RFC3339), err)
	}
	return p, res
}

// mustReconcile is reconcile that also fails the test on any failed action.
func (w *world) mustReconcile() (*reconcile.Plan, *reconcile.Result) {
	w.t.Helper()
	p, res := w.reconcile()
	if res.Err != nil {
		w.t.Fatalf("reconcile at %s: plan %s: %v", w.clk.Now().Format(time.RFC3339), actions(p), res.Err)
	}
	if len(p.Errors) > 0 {
		w.t.Fatalf("plan errors at %s: %v", w.clk.Now().Format(time.RFC3339), p.Errors)
	}
	return p, res
}

// assertConverged fails unless a plan at the clock's now has no actions.
func (w *world) assertConverged(what string) {
	w.t.Helper()
	if p := w.plan(); p.HasChanges() || len(p.Errors) > 0 {
		w.t.Fatalf("%s: plan at %s is not empty: %s %v", what, w.clk.Now().Format(time.RFC3339), actions(p), p.Errors)
	}
}

func (w *world) tencent() *tencentemu.Emulator {
	return w.srv.Emulators["tencent"].(*tencentemu.Emulator)
}
func (w *world) aliyun() *aliyunemu.Emulator { return w.srv.Emulators["aliyun"].(*aliyunemu.Emulator) }
func (w *world) huawei() *huaweiemu.Emulator { return w.srv.Emulators["huawei"].(*huaweiemu.Emulator) }
func (w *world) agora() *agoraemu.Emulator   { return w.srv.Emulators["agora"].(*agoraemu.Emulator) }

// live returns the state's live records, by key.
func (w *world) live() map[string]*state.Record {
	out := map[string]*state.Record{}
	for _, r := range w.snapshot().Live() {
		if out[r.Key] != nil {
			w.t.Fatalf("state holds two live records for %s", r.Key)
		}
		out[r.Key] = r
	}
	return out
}

// stateBytes is the state as written on disk: the snapshot and its journal.
func (w *world) stateBytes() []byte {
	w.t.Helper()
	snap, err := os.ReadFile(w.statePath)
	if err != nil && !os.IsNotExist(err) {
		w.t.Fatal(err)
	}
	journal, err := os.ReadFile(w.statePath + ".journal")
	if err != nil && !os.IsNotExist(err) {
		w.t.Fatal(err)
	}
	if len(snap)+len(journal) == 0 {
		w.t.Fatal("no state written")
	}
	return append(snap, journal...)
}

// actions renders a plan's actions compactly for failure messages.
func actions(p *reconcile.Plan) string {
	if p == nil {
		return "(no plan)"
	}
	var b []string
	for _, a := range p.Actions {
		b = append(b, string(a.Action)+" "+a.Key)
	}
	if len(b) == 0 {
		return "(no actions)"
	}
	return strings.Join(b, "; ")
}

// liveTencent returns the emulator's tasks that still record or will:
// not deleted, not stopped, not finished.
func liveTencent(e *tencentemu.Emulator) []tencentemu.EmuTask {
	var out []tencentemu.EmuTask
	for _, t := range e.Tasks() {
		if t.Status == providers.StatusScheduled || t.Status == providers.StatusRecording {
			out = append(out, t)
		}
	}
	return out
}

// liveAgora returns the emulator's recorders still in a channel.
func liveAgora(e *agoraemu.Emulator, channel string) []agoraemu.Session {
	var out []agoraemu.Session
	for _, s := range e.Sessions() {
		if s.Channel == channel && s.Ended.IsZero() {
			out = append(out, s)
		}
	}
	return out
}

// assertNoSecrets fails if any credential value occurs in text.
func assertNoSecrets(t *testing.T, what string, text []byte) {
	t.Helper()
	for _, s := range allSecrets() {
		if i := bytes.Index(text, []byte(s)); i >= 0 {
			lo, hi := max(0, i-80), min(len(text), i+len(s)+80)
			t.Errorf("%s contains the secret value %q: ...%s...", what, s, text[lo:hi])
		}
	}
}

// snapshot is the durable state of the world's store.
func (w *world) snapshot() *state.State {
	st, err := w.store.Snapshot(context.Background())
	if err != nil {
		w.t.Fatalf("state snapshot: %v", err)
	}
	return st
}

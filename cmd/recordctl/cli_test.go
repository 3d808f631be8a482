package main

// Tests of the built binary, run as a user runs it: a real process, real
// stdin/stdout/stderr (stdin is /dev/null unless a test says otherwise),
// talking to emulators on loopback.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
)

// Values the test binary is built with (as make build sets them).
const (
	testVersion  = "9.9.9-test"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
	testDate     = "2026-01-02T03:04:05Z"
)

var binPath string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "recordctl-cli-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binPath = filepath.Join(dir, "recordctl")
		args := []string{"build", "-o", binPath, "-ldflags",
			"-X main.version=" + testVersion + " -X main.revision=" + testRevision + " -X main.buildDate=" + testDate}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, ".")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
		// The emulators' demo credentials, as `recordctl emulate` prints them.
		srv, err := emulate.Start("127.0.0.1", 0, emu.Config{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, kv := range srv.DemoEnv() {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
		srv.Close()
		return m.Run()
	}())
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// cliEnv is the test's environment without the race detector's pause at exit.
func cliEnv(extra ...string) []string {
	return append(append(os.Environ(), "GORACE=atexit_sleep_ms=0"), extra...)
}

// cli runs the binary in dir with stdin from /dev/null, as cron and CI do.
func cli(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = dir
	cmd.Env = cliEnv()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd.Stdin = devnull
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("recordctl %v: %v", args, err)
	}
	return result{so.String(), se.String(), code}
}

// emu is a standalone emulator (as `recordctl emulate` runs it) with faults.
type emuServer struct {
	srv    *emulate.Server
	faults *emu.Faults
}

func newEmu(t *testing.T) *emuServer {
	t.Helper()
	f := emu.NewFaults(1)
	srv, err := emulate.Start("127.0.0.1", 0, emu.Config{Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &emuServer{srv: srv, faults: f}
}

// tencent is a Provider document named name pointing at the emulator.
func (e *emuServer) tencent(name string, rate float64) string {
	return fmt.Sprintf(`apiVersion: recordctl/v1
kind: Provider
metadata: {name: %s}
spec:
  type: tencent
  region: ap-guangzhou
  endpoint: %s
  credentials: {secretId: {env: %s}, secretKey: {env: %s}}
  rateLimit: %g
`, name, e.srv.URLs["tencent"][0], emulate.EnvName("tencent", "secretId"), emulate.EnvName("tencent", "secretKey"), rate)
}

// recording is a Recording document with one window.
func recording(name, provider, stream string, start, end time.Time) string {
	return fmt.Sprintf(`---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: %s}
spec:
  provider: %s
  stream: {domain: push.example.com, app: live, name: %s}
  windows:
    - {start: %q, end: %q}
`, name, provider, stream, start.Format(time.RFC3339), end.Format(time.RFC3339))
}

// specDir writes docs into a fresh folder and returns it.
func specDir(t *testing.T, docs ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docs.yaml"), []byte(strings.Join(docs, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// later is a whole minute at least an hour ahead: Tencent tasks created ahead.
func later(h int) time.Time {
	return time.Now().Truncate(time.Minute).Add(time.Duration(h) * time.Hour)
}

// ---- 1. Truthful outcomes --------------------------------------------------

// A provider that cannot be observed (its credentials are missing) makes the
// plan incomplete in every format; it never says "No changes", and stdout
// carries only the requested output.
func TestCLIUnobservableProviderIsNeverNoChanges(t *testing.T) {
	e := newEmu(t)
	blind := strings.Replace(e.tencent("blind", 20), emulate.EnvName("tencent", "secretId"), "RECORDCTL_TEST_NOT_SET", 1)
	dir := specDir(t, e.tencent("tc", 20), "---\n", blind,
		recording("blind-rec", "blind", "b", later(2), later(3)))
	st := filepath.Join(t.TempDir(), "state")
	r := cli(t, dir, "plan", dir, "--state", st, "--detailed-exitcode")
	if r.code != 1 || strings.Contains(r.stdout, "No changes") ||
		!strings.Contains(r.stdout, "Plan incomplete: 1 of 2 provider(s) could not be observed; no changes shown for them.") {
		t.Fatalf("plan with an unobservable provider:\n%s", r)
	}
	if strings.Contains(r.stdout, "Error:") || !strings.Contains(r.stderr, "Error: ") || !strings.Contains(r.stderr, "could not be observed") {
		t.Fatalf("diagnostics must go to stderr only:\n%s", r)
	}
	r = cli(t, dir, "plan", dir, "--state", st, "-o", "json")
	var doc struct {
		Complete   *bool `json:"complete"`
		Incomplete []struct{ Provider, Reason string }
		Actions    []any `json:"actions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan -o json stdout is not JSON alone (| jq would fail): %v\n%s", err, r)
	}
	if r.code != 1 || doc.Complete == nil || *doc.Complete || len(doc.Incomplete) != 1 || doc.Incomplete[0].Provider != "blind" ||
		!strings.Contains(doc.Incomplete[0].Reason, "RECORDCTL_TEST_NOT_SET") || doc.Actions == nil {
		t.Fatalf("JSON plan: %+v\n%s", doc, r)
	}
	r = cli(t, dir, "plan", dir, "--state", st, "-o", "markdown")
	if strings.Contains(r.stdout, "No changes") || !strings.Contains(r.stdout, "**Plan incomplete: 1 of 2 provider(s)") ||
		!strings.Contains(r.stdout, "blind (tencent)") {
		t.Fatalf("markdown plan:\n%s", r)
	}
	// apply says so too and exits 1.
	r = cli(t, dir, "apply", dir, "--state", st, "--auto-approve")
	if r.code != 1 || strings.Contains(r.stdout, "No changes") || !strings.Contains(r.stdout, "Plan incomplete") {
		t.Fatalf("apply with an unobservable provider:\n%s", r)
	}
	// The same documents with the provider reachable: a complete plan.
	os.Setenv("RECORDCTL_TEST_NOT_SET", os.Getenv(emulate.EnvName("tencent", "secretId")))
	defer os.Unsetenv("RECORDCTL_TEST_NOT_SET")
	r = cli(t, dir, "plan", dir, "--state", st, "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"complete": true`) {
		t.Fatalf("complete plan:\n%s", r)
	}
}

// ---- 2. Plans pinned to their world ----------------------------------------

func TestCLIPlanIsPinnedToEmulatorAndState(t *testing.T) {
	e := newEmu(t)
	dir := specDir(t, e.tencent("tc", 20), recording("news", "tc", "news", later(2), later(3)))
	work := t.TempDir()
	planFile := filepath.Join(work, "p.json")
	r := cli(t, work, "plan", dir, "--emulate", "--out", planFile)
	if r.code != 0 {
		t.Fatalf("plan --emulate --out:\n%s", r)
	}
	var saved struct {
		Emulate bool `json:"emulate"`
		State   struct{ Location string }
	}
	b, _ := os.ReadFile(planFile)
	if err := json.Unmarshal(b, &saved); err != nil || !saved.Emulate || saved.State.Location != filepath.Join(work, ".recordctl/emulate-state") {
		t.Fatalf("saved plan does not record its world: %v %+v", err, saved)
	}
	// A real apply of an emulator plan is refused, naming why.
	r = cli(t, work, "apply", planFile, "--auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "made with --emulate") || strings.Contains(r.stdout, "Apply complete") {
		t.Fatalf("real apply of an emulator plan:\n%s", r)
	}
	// And a real plan applied against another state location.
	planFile2 := filepath.Join(work, "p2.json")
	stA, stB := filepath.Join(work, "a", "state"), filepath.Join(work, "b", "state")
	if r = cli(t, work, "plan", dir, "--state", stA, "--out", planFile2); r.code != 0 {
		t.Fatalf("plan:\n%s", r)
	}
	r = cli(t, work, "apply", planFile2, "--state", stB, "--auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "made against the state at "+stA) || !strings.Contains(r.stderr, "uses the state at "+stB) {
		t.Fatalf("apply against another state:\n%s", r)
	}
	r = cli(t, work, "apply", planFile2, "--emulate", "--state", stA, "--auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "made against the real providers") {
		t.Fatalf("emulated apply of a real plan:\n%s", r)
	}
	// The right world applies it, once.
	if r = cli(t, work, "apply", planFile2, "--state", stA, "--auto-approve"); r.code != 0 || !strings.Contains(r.stdout, "Apply complete: 1 created") {
		t.Fatalf("apply in the plan's world:\n%s", r)
	}
	if r = cli(t, work, "apply", planFile2, "--state", stA, "--auto-approve"); r.code != 1 || !strings.Contains(r.stderr, "the plan is stale") {
		t.Fatalf("second apply of the same plan:\n%s", r)
	}
}

// ---- 3. Progress without a terminal; confirmation ---------------------------

// A saved plan applied while the provider throttles: one log line per
// action, -v shows each retry with its cause, and a summary at the end.
func TestCLIThrottledApplyLogsRetriesAndEachAction(t *testing.T) {
	e := newEmu(t)
	var docs []string
	docs = append(docs, e.tencent("tc", 50))
	for i := 0; i < 3; i++ {
		docs = append(docs, recording(fmt.Sprintf("show-%d", i), "tc", fmt.Sprintf("s%d", i), later(2+i), later(3+i)))
	}
	dir := specDir(t, docs...)
	st := filepath.Join(t.TempDir(), "state")
	planFile := filepath.Join(t.TempDir(), "p.json")
	if r := cli(t, dir, "plan", dir, "--state", st, "--out", planFile); r.code != 0 {
		t.Fatalf("plan:\n%s", r)
	}
	e.faults.Set(0, 0, true) // every request is throttled from now on
	cmd := exec.Command(binPath, "apply", planFile, "--state", st, "--auto-approve", "-v")
	cmd.Env = cliEnv()
	var so bytes.Buffer
	cmd.Stdout = &so
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var se bytes.Buffer
	sc := bufio.NewScanner(stderr)
	lifted := false
	for sc.Scan() {
		line := sc.Text()
		se.WriteString(line + "\n")
		if !lifted && strings.Contains(line, "msg=retrying") && strings.Contains(line, "RequestLimitExceeded") {
			e.faults.Set(0, 0, false) // the retry and its cause were shown: lift the throttle
			lifted = true
		}
	}
	err = cmd.Wait()
	r := result{so.String(), se.String(), 0}
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, r)
	}
	if !lifted {
		t.Fatalf("-v did not show a retry with its cause:\n%s", r)
	}
	if n := strings.Count(r.stderr, "msg=action "); n != 3 {
		t.Fatalf("want one log line per action (3), got %d:\n%s", n, r)
	}
	if strings.Contains(r.stderr, "Applying:") || strings.Contains(r.stderr, "\x1b[") {
		t.Fatalf("a terminal progress line or colour without a terminal:\n%s", r)
	}
	if i, j := strings.Index(r.stdout, "+ create show-0@"), strings.Index(r.stdout, "Apply complete: 3 created, 0 stopped, 0 deleted, 0 failed."); i < 0 || j < i {
		t.Fatalf("want the plan, then the summary:\n%s", r)
	}
}

// A window that closes while the provider throttles every request is
// reported as missed (result, log, summary) and apply exits 1: a window
// that was not recorded never reads as a success.
func TestCLIThrottledApplyReportsAMissedWindow(t *testing.T) {
	e := newEmu(t)
	now := time.Now()
	dir := specDir(t, e.tencent("tc", 50), recording("flash", "tc", "flash", now.Add(-time.Minute).Truncate(time.Second), now.Add(8*time.Second).Truncate(time.Second)))
	st := filepath.Join(t.TempDir(), "state")
	planFile := filepath.Join(t.TempDir(), "p.json")
	if r := cli(t, dir, "plan", dir, "--state", st, "--out", planFile); r.code != 0 {
		t.Fatalf("plan:\n%s", r)
	}
	e.faults.Set(0, 0, true) // every request is throttled from now on
	r := cli(t, dir, "apply", planFile, "--state", st, "--auto-approve")
	if r.code != 1 {
		t.Fatalf("apply of a window it could not start in time: exit %d, want 1\n%s", r.code, r)
	}
	if !strings.Contains(r.stdout, "1 missed") || !strings.Contains(r.stderr, "result=missed") {
		t.Fatalf("the missed window is not reported:\n%s", r)
	}
	if tasks := e.srv.Emulators["tencent"].(*tencentemu.Emulator).Tasks(); len(tasks) != 0 {
		t.Fatalf("tasks at the provider after a missed window: %+v", tasks)
	}
}

// /dev/null is no terminal: apply refuses without printing a prompt, as
// does state rm.
func TestCLIApplyWithDevNullStdinRefusesWithoutPrompt(t *testing.T) {
	e := newEmu(t)
	dir := specDir(t, e.tencent("tc", 20), recording("news", "tc", "news", later(2), later(3)))
	st := filepath.Join(t.TempDir(), "state")
	r := cli(t, dir, "apply", dir, "--state", st)
	if r.code != 1 || strings.Contains(r.stdout, "Do you want") || strings.Contains(r.stderr, "cancelled") ||
		!strings.Contains(r.stderr, "no terminal to ask on; pass --auto-approve") {
		t.Fatalf("apply </dev/null:\n%s", r)
	}
	if r = cli(t, dir, "apply", dir, "--state", st, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply --auto-approve:\n%s", r)
	}
	key := "news@" + later(2).UTC().Format(time.RFC3339)
	r = cli(t, dir, "state", "rm", key, "--state", st)
	if r.code != 1 || strings.Contains(r.stdout, "Only 'yes'") || !strings.Contains(r.stderr, "no terminal to ask on") {
		t.Fatalf("state rm </dev/null:\n%s", r)
	}
}

// ---- 5. Filters and state tools -------------------------------------------

func TestCLIRecordingAndProviderFilters(t *testing.T) {
	e := newEmu(t)
	dir := specDir(t, e.tencent("tc", 20), "---\n", e.tencent("tc2", 20),
		recording("news-a", "tc", "na", later(2), later(3)),
		recording("news-b", "tc", "nb", later(2), later(3)),
		recording("sport", "tc2", "sp", later(2), later(3)))
	st := filepath.Join(t.TempDir(), "state")
	type plan struct {
		Actions []struct{ Recording, Provider string }
		Summary struct{ Create int }
	}
	planOf := func(args ...string) plan {
		t.Helper()
		r := cli(t, dir, append([]string{"plan", dir, "--state", st, "-o", "json"}, args...)...)
		var p plan
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
			t.Fatalf("plan %v: %v\n%s", args, err, r)
		}
		return p
	}
	names := func(p plan) string {
		var n []string
		for _, a := range p.Actions {
			n = append(n, a.Recording)
		}
		return strings.Join(n, ",")
	}
	if p := planOf("--recording", "news-*"); names(p) != "news-a,news-b" || p.Summary.Create != 2 {
		t.Fatalf("--recording news-*: %s %+v", names(p), p.Summary)
	}
	if p := planOf("--recording", "news-a", "--recording", "sport"); names(p) != "news-a,sport" {
		t.Fatalf("repeated --recording: %s", names(p))
	}
	if p := planOf("--provider", "tc2"); names(p) != "sport" {
		t.Fatalf("--provider tc2: %s", names(p))
	}
	if r := cli(t, dir, "plan", dir, "--state", st, "--recording", "nws-*"); r.code != 1 || !strings.Contains(r.stderr, `--recording "nws-*" matches no recording`) {
		t.Fatalf("a filter matching nothing:\n%s", r)
	}
	if r := cli(t, dir, "plan", dir, "--state", st, "--recording", "[bad"); r.code != 1 || !strings.Contains(r.stderr, "bad pattern") {
		t.Fatalf("a bad pattern:\n%s", r)
	}
	// apply honours the filter; nothing outside it is touched or counted as vanished.
	if r := cli(t, dir, "apply", dir, "--state", st, "--auto-approve", "--recording", "news-a"); r.code != 0 ||
		!strings.Contains(r.stdout, "Apply complete: 1 created, 0 stopped") {
		t.Fatalf("apply --recording news-a:\n%s", r)
	}
	if p := planOf(); names(p) != "news-b,sport" {
		t.Fatalf("after the filtered apply: %s", names(p))
	}
}

func TestCLIStateShowRmImport(t *testing.T) {
	e := newEmu(t)
	s, end := later(2), later(3)
	s2, end2 := later(4), later(5)
	two := recording("news", "tc", "news", s, end) + fmt.Sprintf("    - {start: %q, end: %q}\n", s2.Format(time.RFC3339), end2.Format(time.RFC3339))
	dir := specDir(t, e.tencent("tc", 20), two)
	st := filepath.Join(t.TempDir(), "state")
	key := "news@" + s.UTC().Format(time.RFC3339)
	// Empty state: JSON lists are [], never null, and no zero times.
	r := cli(t, dir, "state", "list", "-o", "json", "--state", st)
	if r.code != 0 || !strings.Contains(r.stdout, `"records": []`) || strings.Contains(r.stdout, "null") || strings.Contains(r.stdout, "0001-01-01") {
		t.Fatalf("state list -o json on empty state:\n%s", r)
	}
	if r = cli(t, dir, "state", "show", key, "--state", st); r.code != 1 || !strings.Contains(r.stderr, "no record for "+key) {
		t.Fatalf("state show of an unknown key:\n%s", r)
	}
	if r = cli(t, dir, "apply", dir, "--state", st, "--auto-approve"); r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	r = cli(t, dir, "state", "show", key, "-o", "json", "--state", st)
	var shown struct {
		Records []struct {
			Key   string
			Phase string
			Task  *struct{ ID string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || r.code != 0 || len(shown.Records) != 1 ||
		shown.Records[0].Task == nil || shown.Records[0].Task.ID == "" || strings.Contains(r.stdout, "0001-01-01") || strings.Contains(r.stdout, "null") {
		t.Fatalf("state show -o json: %v\n%s", err, r)
	}
	taskID := shown.Records[0].Task.ID
	if r = cli(t, dir, "state", "show", key, "--state", st); r.code != 0 || !regexp.MustCompile(`task:\s+`+regexp.QuoteMeta(taskID)).MatchString(r.stdout) {
		t.Fatalf("state show:\n%s", r)
	}
	// rm forgets without touching the provider: the task is still listed there.
	if r = cli(t, dir, "state", "rm", key, "--auto-approve", "--state", st); r.code != 0 || !strings.Contains(r.stdout, "nothing was sent to the provider") {
		t.Fatalf("state rm:\n%s", r)
	}
	if r = cli(t, dir, "state", "show", key, "--state", st); r.code != 1 {
		t.Fatalf("the record survived state rm:\n%s", r)
	}
	if r = cli(t, dir, "plan", dir, "--state", st); !strings.Contains(r.stdout, "= adopt "+key) || !strings.Contains(r.stdout, "task "+taskID) {
		t.Fatalf("after state rm the provider must still hold the task:\n%s", r)
	}
	if r = cli(t, dir, "plan", dir, "--state", st, "-o", "json"); !strings.Contains(r.stdout, `"found": {`) ||
		strings.Contains(r.stdout, "0001-01-01") || strings.Contains(r.stdout, "null") {
		t.Fatalf("plan -o json with a found task: no zero times, no nulls:\n%s", r)
	}
	// import checks at the provider before recording anything.
	if r = cli(t, dir, "state", "import", key, "no-such-task", "--dir", dir, "--state", st); r.code != 1 || !strings.Contains(r.stderr, "does not list a task no-such-task") {
		t.Fatalf("import of a task the provider does not have:\n%s", r)
	}
	key2 := "news@" + s2.UTC().Format(time.RFC3339)
	if r = cli(t, dir, "state", "import", key2, taskID, "--dir", dir, "--state", st); r.code != 1 || !strings.Contains(r.stderr, "already managed") {
		t.Fatalf("import over a managed window:\n%s", r)
	}
	if r = cli(t, dir, "state", "rm", key2, "--auto-approve", "--state", st); r.code != 0 {
		t.Fatalf("state rm %s:\n%s", key2, r)
	}
	if r = cli(t, dir, "state", "import", key2, taskID, "--dir", dir, "--state", st); r.code != 1 ||
		!strings.Contains(r.stderr, "does not match "+key2+": it ends at "+end.UTC().Format(time.RFC3339)) {
		t.Fatalf("import of another window's task:\n%s", r)
	}
	if r = cli(t, dir, "state", "import", "news@tomorrow", taskID, "--dir", dir, "--state", st); r.code != 1 || !strings.Contains(r.stderr, "not an RFC 3339 time") {
		t.Fatalf("import with a bad key:\n%s", r)
	}
	if r = cli(t, dir, "state", "import", key, taskID, "--dir", dir, "--state", st); r.code != 0 || !strings.Contains(r.stdout, "Imported "+key+": task "+taskID) {
		t.Fatalf("state import:\n%s", r)
	}
	if r = cli(t, dir, "state", "import", key, taskID, "--dir", dir, "--state", st); r.code != 1 || !strings.Contains(r.stderr, "already managed") {
		t.Fatalf("second import:\n%s", r)
	}
	if r = cli(t, dir, "state", "show", key, "--state", st); r.code != 0 || !strings.Contains(r.stdout, "imported by hand") {
		t.Fatalf("state show after import:\n%s", r)
	}
	// The first window is managed again; only the second (forgotten) is left to adopt.
	if r = cli(t, dir, "plan", dir, "--state", st); r.code != 0 || strings.Contains(r.stdout, key) ||
		!strings.Contains(r.stdout, "= adopt "+key2) || !strings.Contains(r.stdout, "Plan: 0 to create, 0 to stop, 0 to delete, 1 to adopt.") {
		t.Fatalf("plan after import:\n%s", r)
	}
	// list --live asks the provider; the default says its statuses are last known.
	r = cli(t, dir, "state", "list", "--state", st)
	if r.code != 0 || !strings.Contains(r.stdout, "LAST KNOWN STATUS") || !strings.Contains(r.stderr, "--live asks the providers") {
		t.Fatalf("state list:\n%s", r)
	}
	r = cli(t, dir, "state", "list", "--live", "--dir", dir, "--state", st, "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"live": {`) || !strings.Contains(r.stdout, `"status": "scheduled"`) {
		t.Fatalf("state list --live:\n%s", r)
	}
}

// ---- 6. A binary that says what it is --------------------------------------

func TestCLIVersion(t *testing.T) {
	want := fmt.Sprintf("recordctl %s (commit %s, built %s, %s, %s/%s)\n", testVersion, testRevision, testDate, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if r := cli(t, t.TempDir(), args...); r.code != 0 || r.stdout != want {
			t.Errorf("%v: want %q\n%s", args, want, r)
		}
	}
	r := cli(t, t.TempDir(), "version", "-o", "json")
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v["version"] != testVersion || v["revision"] != testRevision ||
		v["build_date"] != testDate || v["go_version"] != runtime.Version() {
		t.Fatalf("version -o json: %v\n%s", err, r)
	}
}

func TestCLIBadFlagValues(t *testing.T) {
	e := newEmu(t)
	dir := specDir(t, e.tencent("tc", 20), recording("news", "tc", "news", later(2), later(3)))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--log-format", "yaml", "plan", dir}, `--log-format "yaml": want text or json`},
		{[]string{"plan", dir, "--lookahead", "0"}, "--lookahead 0s: want a positive duration"},
		{[]string{"apply", dir, "--lookahead", "-1h"}, "--lookahead -1h0m0s: want a positive duration"},
		{[]string{"run", dir, "--lookahead", "0", "--listen", ""}, "--lookahead 0s: want a positive duration"},
		{[]string{"run", dir, "--resync", "-1m", "--listen", ""}, "--resync -1m0s: want a positive duration"},
		{[]string{"plan", dir, "--at", "tomorrow"}, `--at "tomorrow": want an RFC 3339 time with a zone, such as 2026-11-21T19:00:00+08:00`},
		{[]string{"plan", dir, "-o", "yaml"}, `-o "yaml": want text, json or markdown`},
		{[]string{"validate", dir, "-o", "yaml"}, `-o "yaml": want text or json`},
		{[]string{"state", "list", "-o", "yaml"}, `-o "yaml": want text or json`},
		{[]string{"version", "-o", "yaml"}, `-o "yaml": want text or json`},
		{[]string{"plan", dir, "--lookahead", "soon"}, `invalid argument "soon" for "--lookahead"`},
	} {
		r := cli(t, dir, c.args...)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "2006-01-02T15:04:05Z07:00") {
			t.Errorf("%v: want exit 1 and %q\n%s", c.args, c.want, r)
		}
	}
	if r := cli(t, dir, "plan", "--help"); strings.Contains(r.stdout, "--out recordctl") || !strings.Contains(r.stdout, "--out string") {
		t.Errorf("plan --help shows a broken --out:\n%s", r)
	}
}

// Paths in messages are as the user typed them, relative to the working directory.
func TestCLIPathsAsTyped(t *testing.T) {
	work := t.TempDir()
	if err := os.MkdirAll(filepath.Join(work, "specs", "team"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: x}\nspec:\n  provider: nowhere\n  colour: red\n"
	if err := os.WriteFile(filepath.Join(work, "specs", "team", "a.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, work, "validate", "specs")
	if r.code != 1 || !strings.Contains(r.stderr, "specs/team/a.yaml:6:3: ") || r.stdout != "" {
		t.Fatalf("validate specs:\n%s", r)
	}
	r = cli(t, filepath.Join(work, "specs"), "plan", ".")
	if r.code != 1 || !regexp.MustCompile(`(?m)^team/a\.yaml:\d+:\d+: `).MatchString(r.stderr) {
		t.Fatalf("plan .:\n%s", r)
	}
	r = cli(t, work, "validate", "nonexistent")
	if r.code != 1 || r.stderr != "Error: nonexistent: folder does not exist\n" {
		t.Fatalf("validate nonexistent:\n%s", r)
	}
	r = cli(t, work, "plan", "specs/team/a.yaml")
	if r.code != 1 || !strings.Contains(r.stderr, "specs/team/a.yaml: not a folder") {
		t.Fatalf("plan FILE:\n%s", r)
	}
}

// JSON logs are JSON throughout, the emulator banner included, with
// durations in seconds as numbers.
func TestCLIJSONLogs(t *testing.T) {
	e := newEmu(t)
	dir := specDir(t, e.tencent("tc", 20), recording("news", "tc", "news", later(2), later(3)))
	r := cli(t, dir, "--log-format", "json", "apply", dir, "--emulate", "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply:\n%s", r)
	}
	sawBanner, sawLatency := false, false
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line is not JSON: %q\n%s", line, r)
		}
		if b, ok := rec["banner"].(string); ok && strings.Contains(b, "EMULATOR MODE") {
			sawBanner = true
		}
		if l, ok := rec["latency"]; ok {
			if _, num := l.(float64); !num {
				t.Fatalf("latency is not a number of seconds: %q", line)
			}
			sawLatency = true
		}
	}
	if !sawBanner || !sawLatency {
		t.Fatalf("banner %v, latency %v:\n%s", sawBanner, sawLatency, r)
	}
}

// lines collects a process's output and lets a test wait for what it expects.
type lines struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	more chan struct{}
	done chan struct{}
}

func collect(r io.Reader) *lines {
	l := &lines{more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			if n > 0 {
				l.mu.Lock()
				l.buf.Write(b[:n])
				l.mu.Unlock()
				select {
				case l.more <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return l
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until the output matches re (or the reader ends, or a minute passes).
func (l *lines) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for {
		if m := re.FindString(l.String()); m != "" {
			return m
		}
		select {
		case <-l.more:
		case <-l.done:
			if m := re.FindString(l.String()); m != "" {
				return m
			}
			t.Fatalf("output ended without %s:\n%q", re, l.String())
		case <-deadline.C:
			t.Fatalf("no %s within a minute:\n%q", re, l.String())
		}
	}
}

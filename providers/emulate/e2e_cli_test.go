package emulate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/recordctl/recordctl/providers/agora/agoraemu"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/providers/huawei/huaweiemu"
	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
	"github.com/recordctl/recordctl/spec"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// recordctlBinary builds cmd/recordctl once per test process (with -race
// when the tests run with it, so the build reuses their compile cache).
func recordctlBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build recordctl:", err)
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "recordctl-e2e-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "recordctl")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/recordctl/recordctl/cmd/recordctl")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, goTool, args...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// cliEnv is the test's environment (demo credentials and option secrets
// are set by TestMain) without the race detector's 1 s sleep at exit.
func cliEnv() []string {
	return append(os.Environ(), "GORACE=atexit_sleep_ms=0")
}

// cli runs recordctl with the test's environment (demo credentials and
// option secrets are set by TestMain) in dir, and returns its output.
type cliRun struct {
	stdout, stderr []byte
	code           int
}

func runCLI(t *testing.T, bin, dir string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = cliEnv()
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("recordctl %v: %v", args, err)
	}
	return cliRun{so.Bytes(), se.Bytes(), code}
}

// cliWorld is a standalone emulator on the real clock, as `recordctl
// emulate` would run it, with documents pointing at it.
type cliWorld struct {
	srv    *emulate.Server
	faults *emu.Faults
}

func newCLIWorld(t *testing.T) *cliWorld {
	f := emu.NewFaults(uint64(time.Now().UnixNano()))
	srv, err := emulate.Start("127.0.0.1", 0, emu.Config{Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &cliWorld{srv: srv, faults: f}
}

// cliDocs writes a directory whose windows are around now: six Tencent
// windows later today, two Aliyun, two Huawei streams and one Agora
// channel recording now. Stream names carry tag so that directories
// sharing the emulator never share a stream.
func (c *cliWorld) cliDocs(t *testing.T, dir, tag string, now time.Time) {
	now = now.Truncate(time.Minute)
	open := window{now.Add(-time.Minute), now.Add(time.Hour)}
	var b strings.Builder
	b.WriteString(providerDocs(c.srv, 20))
	for i := 0; i < 6; i++ {
		s := now.Add(time.Hour + time.Duration(i)*10*time.Minute)
		name := fmt.Sprintf("tc-%s-%d", tag, i)
		b.WriteString(recDoc(name, "tc", tcStreamYAML(name), "", window{s, s.Add(30 * time.Minute)}))
	}
	for i := 0; i < 2; i++ {
		for _, p := range []string{"ali", "hw"} {
			name := fmt.Sprintf("%s-%s-%d", p, tag, i)
			b.WriteString(recDoc(name, p, "{domain: push.example.com, app: live, name: "+name+"}", "", open))
		}
	}
	b.WriteString(recDoc("ag-"+tag, "ag", "{channel: ag-"+tag+"}", agoraOptions, open))
	if err := os.WriteFile(filepath.Join(dir, "docs.yaml"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// badWindows lists every window of cliDocs(tag) that the emulators do
// not record exactly once.
func (c *cliWorld) badWindows(tag string) []string {
	var bad []string
	check := func(what string, n int) {
		if n != 1 {
			bad = append(bad, fmt.Sprintf("%s recorded %d times", what, n))
		}
	}
	tcs := liveTencent(c.srv.Emulators["tencent"].(*tencentemu.Emulator))
	for i := 0; i < 6; i++ {
		name := fmt.Sprintf("tc-%s-%d", tag, i)
		n := 0
		for _, tk := range tcs {
			if tk.Stream.Name == name {
				n++
			}
		}
		check(name, n)
	}
	ali := c.srv.Emulators["aliyun"].(*aliyunemu.Emulator)
	hw := c.srv.Emulators["huawei"].(*huaweiemu.Emulator)
	for i := 0; i < 2; i++ {
		for _, p := range []string{"ali", "hw"} {
			name := fmt.Sprintf("%s-%s-%d", p, tag, i)
			s := spec.Stream{Domain: "push.example.com", App: "live", Name: name}
			n := 0
			if p == "ali" {
				for _, r := range ali.Recordings(s) {
					if r.Ended.IsZero() {
						n++
					}
				}
			} else {
				for _, r := range hw.Recordings(s) {
					if r.Ended.IsZero() {
						n++
					}
				}
			}
			check(name, n)
		}
	}
	check("ag-"+tag, len(liveAgora(c.srv.Emulators["agora"].(*agoraemu.Emulator), "ag-"+tag)))
	return bad
}

// No duplicates, for real: `recordctl apply` killed with SIGKILL at random
// points, then run to completion, leaves every window recorded exactly once.
func TestGuaranteeKill9NoDuplicates(t *testing.T) {
	t.Parallel() // slow (real processes, timeouts): overlap with the rest
	bin := recordctlBinary(t)
	c := newCLIWorld(t)
	c.faults.Set(0, 40*time.Millisecond, false) // every call takes a while: kills land mid-apply
	apply := func(dir, tag string) *exec.Cmd {
		cmd := exec.Command(bin, "apply", dir, "--auto-approve", "--state", filepath.Join(dir, ".state", tag))
		cmd.Dir = dir
		cmd.Env = cliEnv()
		return cmd
	}
	// Calibrate: how many journal writes (intents and results) does an
	// uninterrupted apply of such a directory make?
	cal := t.TempDir()
	c.cliDocs(t, cal, "cal", time.Now())
	calCmd := apply(cal, "cal")
	var calOut bytes.Buffer
	calCmd.Stdout, calCmd.Stderr = &calOut, &calOut
	calWrites := watchJournal(t, filepath.Join(cal, ".state", "cal"))
	if err := calCmd.Run(); err != nil {
		t.Fatalf("calibration apply: %v\n%s", err, calOut.String())
	}
	if bad := c.badWindows("cal"); len(bad) > 0 {
		t.Fatalf("an uninterrupted apply already gets it wrong: %v", bad)
	}
	writes := calWrites.count()
	if writes < 2 {
		t.Fatalf("calibration saw %d journal writes; the kills could not land mid-apply", writes)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("RECORDCTL_TEST_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatalf("RECORDCTL_TEST_SEED=%q: %v", v, err)
		}
	}
	t.Logf("seed %d (rerun with RECORDCTL_TEST_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	const iterations = 10
	midApply := 0 // kills that landed after the first state write and before the apply finished
	for i := 0; i < iterations; i++ {
		tag := fmt.Sprintf("k%d", i)
		dir := t.TempDir()
		c.cliDocs(t, dir, tag, time.Now())
		statePath := filepath.Join(dir, ".state", tag)
		cmd := apply(dir, tag)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		journal := watchJournal(t, statePath)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		// Odd iterations kill anywhere in the run (at start included); even
		// ones right after the k-th journal write (an intent or a result),
		// so the kill lands mid-apply by construction, not by timing.
		k := rng.IntN(writes)
		if i%2 == 0 {
			k = 1 + rng.IntN(writes-1)
		}
		when := fmt.Sprintf("after journal write %d of ~%d", k, writes)
		journal.waitFor(k, exited)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		killed := out.String()
		if journal.count() > 0 && !strings.Contains(killed, "Apply complete") {
			midApply++
		}
		out.Reset()
		again := apply(dir, tag)
		again.Stdout, again.Stderr = &out, &out
		if err := again.Run(); err != nil {
			t.Errorf("kill %s, then apply: %v\n%s", when, err, out.String())
			continue
		}
		if bad := c.badWindows(tag); len(bad) > 0 {
			t.Errorf("kill %s, then apply to completion: %v\n--- killed run:\n%s--- completing run:\n%s",
				when, bad, killed, out.String())
		}
	}
	t.Logf("seed %d: %d of %d kills landed mid-apply (an uninterrupted apply makes ~%d journal writes)", seed, midApply, iterations, writes)
	if midApply == 0 {
		t.Errorf("seed %d: no kill landed between the first state write and the end of the apply: the test proved nothing", seed)
	}
}

// journalWatch counts the writes to a local state's journal as fsnotify
// reports them: a test waits for the k-th write, not for a duration.
type journalWatch struct {
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed and replaced on every write
}

// watchJournal watches the journal of the state at path (its folder is
// created if missing) until the test ends.
func watchJournal(t *testing.T, path string) *journalWatch {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if err := w.Add(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	j := &journalWatch{changed: make(chan struct{})}
	go func() {
		for ev := range w.Events {
			if ev.Name == path+".journal" && ev.Has(fsnotify.Write) {
				j.mu.Lock()
				j.n++
				close(j.changed)
				j.changed = make(chan struct{})
				j.mu.Unlock()
			}
		}
	}()
	return j
}

func (j *journalWatch) count() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// waitFor returns once k writes were seen, or the process has exited.
func (j *journalWatch) waitFor(k int, exited <-chan struct{}) {
	for {
		j.mu.Lock()
		n, ch := j.n, j.changed
		j.mu.Unlock()
		if n >= k {
			return
		}
		select {
		case <-ch:
		case <-exited:
			return
		}
	}
}

// Secrets: no credential value (demo keys, option secrets, and a wrong
// secret that makes signatures fail) appears in the stdout or stderr of
// validate, plan (text, JSON, markdown; verbose, JSON logs), apply (of a
// saved plan and of a directory) and state list, nor in the saved plan or
// the state file. Failing calls are included on purpose: error paths are
// where secrets leak.
func TestGuaranteeSecretsNeverInCLIOutput(t *testing.T) {
	t.Parallel() // slow (real processes, timeouts): overlap with the rest
	bin := recordctlBinary(t)
	c := newCLIWorld(t)
	dir := t.TempDir()
	now := time.Now().Truncate(time.Minute)
	open := window{now.Add(-time.Minute), now.Add(time.Hour)}
	later := window{now.Add(2 * time.Hour), now.Add(3 * time.Hour)}
	env := func(typ, field string) string { return "{env: " + emulate.EnvName(typ, field) + "}" }
	var b strings.Builder
	b.WriteString(providerDocs(c.srv, 20))
	fmt.Fprintf(&b, `---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: tc-bad}
spec: {type: tencent, region: ap-guangzhou, endpoint: %s, credentials: {secretId: %s, secretKey: {env: RECORDCTL_E2E_WRONG}}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali-bad}
spec: {type: aliyun, region: cn-shanghai, endpoint: %s, credentials: {accessKeyId: %s, accessKeySecret: {env: RECORDCTL_E2E_WRONG}}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: hw-bad}
spec: {type: huawei, region: cn-north-4, projectId: demo, endpoint: %s, credentials: {accessKey: %s, secretKey: {env: RECORDCTL_E2E_WRONG}}}
---
apiVersion: recordctl/v1
kind: Provider
metadata: {name: ag-bad}
spec: {type: agora, appId: %s, endpoints: [%s], credentials: {customerId: %s, customerSecret: {env: RECORDCTL_E2E_WRONG}}}
`, c.srv.URLs["tencent"][0], env("tencent", "secretId"), c.srv.URLs["aliyun"][0], env("aliyun", "accessKeyId"),
		c.srv.URLs["huawei"][0], env("huawei", "accessKey"), agoraemu.DemoAppID, c.srv.URLs["agora"][0], env("agora", "customerId"))
	stream := func(n string) string { return "{domain: push.example.com, app: live, name: " + n + "}" }
	badToken := strings.Replace(agoraOptions, "RECORDCTL_E2E_AGORA_TOKEN", "RECORDCTL_E2E_BAD_TOKEN", 1)
	for _, d := range []string{
		recDoc("tc-ok", "tc", stream("tc-ok"), "", later),
		recDoc("ali-ok", "ali", stream("ali-ok"), "{finalizeImmediately: true}", open),
		recDoc("hw-ok", "hw", stream("hw-ok"), "", open),
		recDoc("ag-ok", "ag", "{channel: ag-ok}", agoraOptions, open),
		recDoc("ag-token", "ag", "{channel: ag-token}", badToken, open),
		recDoc("tc-x", "tc-bad", stream("tc-x"), "", later),
		recDoc("ali-x", "ali-bad", stream("ali-x"), "", open),
		recDoc("hw-x", "hw-bad", stream("hw-x"), "", open),
		recDoc("ag-x", "ag-bad", "{channel: ag-x}", agoraOptions, open),
	} {
		b.WriteString(d)
	}
	if err := os.WriteFile(filepath.Join(dir, "docs.yaml"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	st, planFile := filepath.Join(dir, ".state", "s"), filepath.Join(dir, "plan.json")
	var all bytes.Buffer
	run := func(args ...string) cliRun {
		r := runCLI(t, bin, dir, args...)
		fmt.Fprintf(&all, "$ recordctl %s (exit %d)\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		return r
	}
	run("validate", dir)
	run("plan", dir, "--state", st, "-v", "--log-format", "json")
	run("plan", dir, "--state", st, "-o", "markdown")
	if r := run("plan", dir, "--state", st, "-o", "json", "--out", planFile); !json.Valid(r.stdout) {
		t.Fatalf("plan -o json is not JSON:\n%s", r.stdout)
	}
	run("apply", planFile, "--auto-approve", "--state", st, "-v")
	run("apply", dir, "--auto-approve", "--state", st, "-v", "--log-format", "json")
	run("plan", dir, "--state", st, "-v", "--detailed-exitcode")
	run("state", "list", "--state", st)
	run("state", "list", "--state", st, "-o", "json", "--all")
	out := all.String()
	// The runs must have exercised both the working and the failing paths.
	for _, want := range []string{"created", "ali-ok", "ag-token", "hw-x", "ag-x", "tc-bad"} {
		if !strings.Contains(out, want) {
			t.Errorf("CLI output never mentions %q; the test did not exercise it:\n%s", want, out)
		}
	}
	assertNoSecrets(t, "CLI output", all.Bytes())
	for _, f := range []string{planFile, st, st + ".journal"} {
		data, err := os.ReadFile(f)
		if err != nil && !(os.IsNotExist(err) && f != planFile && f != st) {
			t.Fatal(err)
		}
		assertNoSecrets(t, filepath.Base(f), data)
	}
	if t.Failed() {
		t.Logf("CLI transcript:\n%s", out)
	}
}

// `recordctl state list` tells the user a recording waits for its stream,
// and shows it recording once the stream is pushed and apply ran again.
func TestCLIStateListShowsWaitingForStream(t *testing.T) {
	t.Parallel()
	bin := recordctlBinary(t)
	c := newCLIWorld(t)
	dir := t.TempDir()
	now := time.Now().Truncate(time.Minute)
	open := window{now.Add(-time.Minute), now.Add(time.Hour)}
	s := spec.Stream{Domain: "push.example.com", App: "live", Name: "cli-wait"}
	docs := providerDocs(c.srv, 20) +
		recDoc("ali-wait", "ali", "{domain: push.example.com, app: live, name: cli-wait}", "", open) +
		recDoc("hw-wait", "hw", "{domain: push.example.com, app: live, name: cli-wait}", "", open)
	if err := os.WriteFile(filepath.Join(dir, "docs.yaml"), []byte(docs), 0o600); err != nil {
		t.Fatal(err)
	}
	ali := c.srv.Emulators["aliyun"].(*aliyunemu.Emulator)
	hw := c.srv.Emulators["huawei"].(*huaweiemu.Emulator)
	ali.SetStreamOnline(s, false)
	hw.SetStreamOnline(s, false)
	st := filepath.Join(dir, ".state", "s")
	if r := runCLI(t, bin, dir, "apply", dir, "--auto-approve", "--state", st); r.code != 0 {
		t.Fatalf("apply with the stream offline: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	list := runCLI(t, bin, dir, "state", "list", "--state", st)
	for _, rec := range []string{"ali-wait", "hw-wait"} {
		if !lineWith(string(list.stdout), rec, "waiting-for-stream") {
			t.Errorf("state list does not show %s waiting for the stream:\n%s", rec, list.stdout)
		}
	}
	ali.SetStreamOnline(s, true)
	hw.SetStreamOnline(s, true)
	if r := runCLI(t, bin, dir, "apply", dir, "--auto-approve", "--state", st); r.code != 0 {
		t.Fatalf("apply once pushed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	list = runCLI(t, bin, dir, "state", "list", "--state", st)
	for _, rec := range []string{"ali-wait", "hw-wait"} {
		if !lineWith(string(list.stdout), rec, "recording") || lineWith(string(list.stdout), rec, "waiting") {
			t.Errorf("state list does not show %s recording:\n%s", rec, list.stdout)
		}
	}
	if !ali.IsRecording(s) || !hw.IsRecording(s) {
		t.Fatalf("not recording once pushed: aliyun %v huawei %v", ali.IsRecording(s), hw.IsRecording(s))
	}
}

// lineWith reports whether one line of text contains every part.
func lineWith(text string, parts ...string) bool {
	for _, l := range strings.Split(text, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// `recordctl plan` checks with the providers that each stream it would
// start is set up to be recorded (Alibaba: a recording configuration;
// Huawei: a COMMAND_RECORD rule) and says what is missing on the create.
func TestCLIPlanWarnsAboutStreamsNotSetUp(t *testing.T) {
	t.Parallel()
	bin := recordctlBinary(t)
	c := newCLIWorld(t)
	dir := t.TempDir()
	now := time.Now().Truncate(time.Minute)
	open := window{now.Add(-time.Minute), now.Add(time.Hour)}
	docs := providerDocs(c.srv, 20) +
		recDoc("ali-bare", "ali", "{domain: bare.example.com, app: live, name: cli-bare}", "", open) +
		recDoc("hw-bare", "hw", "{domain: bare.example.com, app: live, name: cli-bare}", "", open) +
		recDoc("hw-ready", "hw", "{domain: push.example.com, app: live, name: cli-ready}", "", open)
	if err := os.WriteFile(filepath.Join(dir, "docs.yaml"), []byte(docs), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, bin, dir, "plan", dir, "--state", filepath.Join(dir, ".state", "s"))
	if r.code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := string(r.stdout)
	for _, want := range []string{"ali-bare@", "hw-bare@"} {
		i := strings.Index(out, want)
		if i < 0 || !strings.Contains(out[i:], "\n    note: will fail: ") {
			t.Errorf("no warning under the create of %s:\n%s", want, out)
		}
	}
	if i := strings.Index(out, "hw-ready@"); i < 0 || strings.HasPrefix(out[strings.Index(out[i:], "\n")+i+1:], "    note:") {
		t.Errorf("a stream that is set up got a note:\n%s", out)
	}
}

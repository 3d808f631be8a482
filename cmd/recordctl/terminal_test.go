package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/recordctl/recordctl/providers/tencent/tencentemu"
)

// onTerminal starts the binary with a pseudo-terminal as stdin, stdout and
// stderr, as an operator's shell runs it.
func onTerminal(t *testing.T, dir string, env []string, args ...string) (*exec.Cmd, *os.File, *lines) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = cliEnv(env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 220})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tty.Close()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, tty, collect(tty)
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// On a terminal a long apply shows the plan (coloured), asks, then shows
// progress (done/total, failures, rate, throttles) while the provider
// throttles, a line per failure as it happens, and a coloured summary.
// With NO_COLOR=1 the same run has the progress and no colour at all.
func TestTerminalApplyShowsProgressAndColour(t *testing.T) {
	ok, broken := newEmu(t), newEmu(t)
	broken.srv.Emulators["tencent"].(*tencentemu.Emulator).SetVODActive(false) // every create fails, permanently
	docs := func(tag string) string {
		d := []string{ok.tencent("tc", 50), "---\n", broken.tencent("tcbad", 50)}
		for i := 0; i < 3; i++ {
			d = append(d, recording(fmt.Sprintf("show-%d", i), "tc", fmt.Sprintf("%s-s%d", tag, i), later(2+i), later(3+i)))
		}
		d = append(d, recording("doomed", "tcbad", tag+"-d", later(2), later(3)))
		return specDir(t, d...)
	}

	dir := docs("colour")
	st := filepath.Join(t.TempDir(), "state")
	cmd, tty, out := onTerminal(t, dir, nil, "apply", dir, "--state", st)
	out.waitFor(t, regexp.MustCompile(`Only 'yes' will be accepted: `))
	ok.faults.Set(0, 0, true) // the provider throttles every request from here on
	if _, err := io.WriteString(tty, "yes\n"); err != nil {
		t.Fatal(err)
	}
	// The failure gets its own line as it happens, and progress keeps
	// coming while nothing finishes because of the throttling.
	out.waitFor(t, regexp.MustCompile(`failed:.*create doomed@.*InvalidVodStatus`))
	out.waitFor(t, regexp.MustCompile(`Applying: 1/4 done, \x1b\[31m1 failed\x1b\[0m, [0-9.]+/s, [1-9][0-9]* throttled`))
	ok.faults.Set(0, 0, false)
	out.waitFor(t, regexp.MustCompile(`Apply complete: 3 created, 0 stopped, 0 deleted, 1 failed\.`))
	err := cmd.Wait()
	if ee, isExit := err.(*exec.ExitError); !isExit || ee.ExitCode() != 1 {
		t.Fatalf("apply with a failure: %v, want exit 1\n%q", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"\x1b[32m+ create\x1b[0m show-0@",                  // plan lines coloured by action
		"\x1b[1mPlan: 4 to create, 0 to stop, 0 to delete", // the plan's summary
		"Applying: 4/4 done",                               // the last progress line
		"\x1b[1;31mApply complete: 3 created",              // a summary with a failure is red
	} {
		if !strings.Contains(text, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, text)
		}
	}
	if i, j := strings.Index(text, "+ create\x1b[0m show-0@"), strings.Index(text, "Applying:"); i < 0 || j < i {
		t.Errorf("the plan must come before the progress:\n%q", text)
	}

	// The same run with NO_COLOR: the same progress, no colour.
	dir = docs("plain")
	st = filepath.Join(t.TempDir(), "state")
	cmd, _, out = onTerminal(t, dir, []string{"NO_COLOR=1"}, "apply", dir, "--state", st, "--auto-approve")
	out.waitFor(t, regexp.MustCompile(`Apply complete: 3 created, 0 stopped, 0 deleted, 1 failed\.`))
	_ = cmd.Wait()
	text = out.String()
	if m := sgr.FindString(text); m != "" {
		t.Errorf("NO_COLOR=1 output has colour %q:\n%q", m, text)
	}
	for _, want := range []string{"+ create show-0@", "Applying: 4/4 done, 1 failed", "failed: create doomed@"} {
		if !strings.Contains(text, want) {
			t.Errorf("NO_COLOR=1 terminal output lacks %q:\n%q", want, text)
		}
	}
}

// The daemon's /metrics passes promlint (promtool check metrics), says
// which build runs, and measures the lateness of a window found already
// open at startup.
func TestDaemonMetricsLintAndLateness(t *testing.T) {
	now := time.Now().UTC()
	opened := now.Add(-3 * time.Minute).Truncate(time.Second)
	doc := `apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali}
spec:
  type: aliyun
  region: cn-shanghai
  credentials: {accessKeyId: {env: X_AK}, accessKeySecret: {env: X_SK}}
` + strings.Replace(recording("late-show", "ali", "late", opened, now.Add(time.Hour)), "{domain: push.example.com", "{domain: push.example.com", 1)
	dir := specDir(t, doc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "run", dir, "--emulate", "--listen", "127.0.0.1:0", "--log-format", "json",
		"--state", filepath.Join(t.TempDir(), "state"))
	cmd.Env = cliEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	log := collect(stderr)
	addr := regexp.MustCompile(`"listen":"([0-9.:]+)"`).FindStringSubmatch(log.waitFor(t, regexp.MustCompile(`"listen":"[0-9.:]+"`)))[1]
	log.waitFor(t, regexp.MustCompile(`"msg":"action".*"recording":"late-show".*"result":"created"`))
	log.waitFor(t, regexp.MustCompile(`"msg":"reconcile".*"trigger":"start"`)) // its metrics are published
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	problems, err := promlint.New(strings.NewReader(string(body))).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, want := range []string{
		fmt.Sprintf(`recordctl_build_info{goversion=%q,revision=%q,version=%q} 1`, strings.TrimSpace(goVersion()), testRevision, testVersion),
		`recordctl_window_start_lag_seconds_count{provider="ali"} 1`,
		`recordctl_windows_recorded_total{provider="ali"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The lateness is the time since the window opened (about 3 minutes), in seconds.
	m := regexp.MustCompile(`recordctl_window_start_lag_seconds_sum\{provider="ali"\} ([0-9.e+]+)`).FindStringSubmatch(string(body))
	var lag float64
	if m != nil {
		fmt.Sscan(m[1], &lag)
	}
	if lag < 170 || lag > 600 {
		t.Errorf("window start lag %v s, want about 180 s (the window opened 3 minutes before the start)", lag)
	}
	// An aliyun List answers from the state without a request: no list request is counted.
	if strings.Contains(string(body), `recordctl_provider_requests_total{code="OK",op="list",provider="ali"}`) {
		t.Errorf("a list that sent no request was counted as a request")
	}
	// The log is JSON throughout, the emulator banner included, with durations as seconds.
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
		if v, ok := rec["lookahead"]; ok && v != float64(86400) {
			t.Errorf("lookahead logged as %v, want 86400 (seconds)", v)
		}
	}
	if !strings.Contains(log.String(), `"banner":"`) {
		t.Errorf("no emulator banner in the JSON log:\n%s", log.String())
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

func goVersion() string { return runtime.Version() }

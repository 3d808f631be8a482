package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeDocs writes a small directory: one tencent Provider and one
// Recording whose window is open for the whole test.
func writeDocs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	docs := `apiVersion: recordctl/v1
kind: Provider
metadata: {name: tencent-gz}
spec:
  type: tencent
  region: ap-guangzhou
  credentials:
    secretId: {env: RECORDCTL_TEST_SECRET_ID}
    secretKey: {env: RECORDCTL_TEST_SECRET_KEY}
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: all-day}
spec:
  provider: tencent-gz
  stream: {domain: push.example.com, app: live, name: news}
  continuous: true
`
	if err := os.WriteFile(filepath.Join(dir, "docs.yaml"), []byte(docs), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func recordctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPlanApplyStateOnTheEmulator(t *testing.T) {
	dir := writeDocs(t)
	st := filepath.Join(t.TempDir(), "state")
	// Flags after the positional argument work as well as before it.
	code, out, errOut := recordctl(t, "plan", dir, "--emulate", "--state", st, "--detailed-exitcode")
	if code != 2 {
		t.Fatalf("plan --detailed-exitcode with changes: exit %d\n%s%s", code, out, errOut)
	}
	// A continuous recording on tencent is chained into 24 h tasks on UTC
	// midnights, scheduled as far as tencent allows (StartTime within 6
	// days): today's and the next 6 (5 when planned exactly at midnight).
	if !strings.Contains(out, "+ create all-day@2000-01-01T00:00:00Z#") || !strings.Contains(out, "tencent-gz push.example.com/live/news") ||
		!regexp.MustCompile(`Plan: [67] to create, 0 to stop, 0 to delete, 0 to adopt.`).MatchString(out) {
		t.Fatalf("plan output:\n%s", out)
	}
	n := strings.Count(out, "+ create ")
	if !strings.Contains(errOut, "EMULATOR MODE") {
		t.Fatalf("--emulate must print a banner on stderr:\n%s", errOut)
	}
	// apply without a terminal and without --auto-approve is refused.
	code, _, errOut = recordctl(t, "--emulate", "--state", st, "apply", dir)
	if code != 1 || !strings.Contains(errOut, "--auto-approve") {
		t.Fatalf("apply without confirmation: exit %d\n%s", code, errOut)
	}
	code, out, errOut = recordctl(t, "--emulate", "--state", st, "apply", "--auto-approve", dir)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Apply complete: %d created, 0 stopped, 0 deleted, 0 failed.", n)) {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = recordctl(t, "--state", st, "state", "list")
	if code != 0 || !strings.Contains(out, "all-day@2000-01-01T00:00:00Z#") || !strings.Contains(out, fmt.Sprintf("%d managed task(s)", n)) {
		t.Fatalf("state list: exit %d\n%s", code, out)
	}
	code, out, _ = recordctl(t, "--state", st, "state", "list", "-o", "json")
	var doc struct {
		Serial  int
		Records []map[string]any
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Records) != n || doc.Serial == 0 {
		t.Fatalf("state list -o json: %s", out)
	}
}

func TestPlanFormatsAndSavedPlans(t *testing.T) {
	dir := writeDocs(t)
	st := filepath.Join(t.TempDir(), "state")
	planFile := filepath.Join(t.TempDir(), "plan.json")
	code, out, errOut := recordctl(t, "plan", "--emulate", "--state", st, "-o", "json", "--out", planFile, dir)
	if code != 0 {
		t.Fatalf("plan -o json: exit %d %s", code, errOut)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(out), &p); err != nil || p["format_version"] != "1" {
		t.Fatalf("json plan: %v\n%s", err, out)
	}
	if fi, err := os.Stat(planFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved plan: %v", err)
	}
	code, out, _ = recordctl(t, "plan", "--emulate", "--state", st, "-o", "markdown", dir)
	if code != 0 || !strings.Contains(out, "### recordctl plan") || !strings.Contains(out, "| `+` | create |") {
		t.Fatalf("markdown plan:\n%s", out)
	}
	code, _, errOut = recordctl(t, "plan", "-o", "yaml", dir)
	if code != 1 || !strings.Contains(errOut, "text, json or markdown") {
		t.Fatalf("bad -o: exit %d %s", code, errOut)
	}
	// The saved plan applies once; a plan made on empty state cannot be applied twice.
	code, out, errOut = recordctl(t, "apply", "--emulate", "--state", st, "--auto-approve", planFile)
	if code != 0 || !regexp.MustCompile(`[67] created`).MatchString(out) {
		t.Fatalf("apply PLANFILE: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = recordctl(t, "apply", "--emulate", "--state", st, "--auto-approve", planFile)
	if code != 1 || !strings.Contains(errOut, "stale") {
		t.Fatalf("second apply of the same plan: exit %d %s", code, errOut)
	}
	// A plan file with an unknown major format is rejected.
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"format_version":"2","actions":[]}`), 0o600)
	code, _, errOut = recordctl(t, "apply", "--auto-approve", "--state", st, bad)
	if code != 1 || !strings.Contains(errOut, "format_version") {
		t.Fatalf("unknown format: exit %d %s", code, errOut)
	}
}

func TestPlanOnInvalidDocumentsExitsOneWithPositions(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: x}\nspec: {provider: nope, bogus: 1}\n"), 0o644)
	code, _, errOut := recordctl(t, "plan", "--state", filepath.Join(t.TempDir(), "s"), dir)
	if code != 1 || !strings.Contains(errOut, "bad.yaml:4:") {
		t.Fatalf("plan on invalid docs: exit %d\n%s", code, errOut)
	}
}

func TestPlanAtAnotherInstantAndNoChanges(t *testing.T) {
	dir := t.TempDir()
	docs := `apiVersion: recordctl/v1
kind: Provider
metadata: {name: ali}
spec:
  type: aliyun
  region: cn-shanghai
  credentials: {accessKeyId: {env: A}, accessKeySecret: {env: B}}
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: gala}
spec:
  provider: ali
  stream: {domain: push.example.com, app: live, name: gala}
  windows: [{start: "2030-01-01T20:00:00+08:00", end: "2030-01-01T23:00:00+08:00"}]
`
	os.WriteFile(filepath.Join(dir, "d.yaml"), []byte(docs), 0o644)
	st := filepath.Join(t.TempDir(), "s")
	code, out, _ := recordctl(t, "plan", "--emulate", "--state", st, "--detailed-exitcode", dir)
	if code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("window far ahead on a command provider: exit %d\n%s", code, out)
	}
	code, out, _ = recordctl(t, "plan", "--emulate", "--state", st, "--at", "2030-01-01T21:00:00+08:00", dir)
	if code != 0 || !strings.Contains(out, "+ create gala@2030-01-01T12:00:00Z ali push.example.com/live/gala 20:00-23:00 +08:00  # window open (late by 1h0m0s)") {
		t.Fatalf("plan --at inside the window:\n%s", out)
	}
	code, _, errOut := recordctl(t, "plan", "--at", "tomorrow", dir)
	if code != 1 || !strings.Contains(errOut, "RFC 3339") {
		t.Fatalf("bad --at: exit %d %s", code, errOut)
	}
}

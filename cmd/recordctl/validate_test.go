package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runValidate runs `recordctl validate args...` and returns exit code, stdout, stderr.
func runValidate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"validate"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// invalidTree has problems in two files, one of them a literal secret.
func invalidTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"b/providers.yaml": "apiVersion: recordctl/v1\nkind: Provider\nmetadata: {name: tx}\nspec:\n  type: tencent\n  region: ap-guangzhou\n" +
			"  credentials: {secretId: {env: A}, secretKey: hunter2-literal}\n",
		"a.yaml": "apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: r}\nspec:\n  provider: tx\n" +
			"  stream: {domain: d.example.com, app: live, name: s}\n  schedule: {cron: \"0 25 * * *\", duration: 1h}\n  colour: red\n",
	}
	for rel, c := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestValidateExamples(t *testing.T) {
	for dir, want := range map[string]string{
		"quickstart": "valid: 3 providers, 5 recordings\n",
		"newsroom":   "valid: 4 providers, 9 recordings\n",
	} {
		code, out, errs := runValidate(t, filepath.Join("..", "..", "examples", dir))
		if code != 0 || out != want || errs != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0, %q", dir, code, out, errs, want)
		}
	}
}

func TestValidateText(t *testing.T) {
	dir := invalidTree(t)
	code, out, errs := runValidate(t, dir)
	// Problems are diagnostics (stderr), with paths as the folder was typed.
	want := filepath.Join(dir, "a.yaml") + ":7:20: spec.schedule.cron: invalid cron expression: end of range (25) above maximum (23): 25;"
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if code != 1 || len(lines) != 4 || out != "" {
		t.Fatalf("exit %d, want 1 with 3 problems and a summary on stderr, nothing on stdout:\n%s\n--\n%s", code, errs, out)
	}
	if !strings.HasPrefix(lines[0], want) ||
		!strings.HasPrefix(lines[1], filepath.Join(dir, "a.yaml")+`:8:3: spec: unknown field "colour"`) ||
		!strings.HasPrefix(lines[2], filepath.Join(dir, "b/providers.yaml")+":7:48: spec.credentials.secretKey must be a secret reference") {
		t.Errorf("problems not sorted by file:line:col or wrong:\n%s", errs)
	}
	if strings.Contains(out+errs, "hunter2") {
		t.Error("output repeats a literal secret")
	}
	if lines[3] != "invalid: 3 problems" {
		t.Errorf("stderr %q", errs)
	}
}

func TestValidateJSON(t *testing.T) {
	dir := invalidTree(t)
	code, out, _ := runValidate(t, "-o", "json", dir)
	var rep struct {
		Valid  bool `json:"valid"`
		Errors []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Col     int    `json:"col"`
			Message string `json:"message"`
		} `json:"errors"`
		Providers  *int `json:"providers"`
		Recordings *int `json:"recordings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if code != 1 || rep.Valid || len(rep.Errors) != 3 || rep.Providers == nil || rep.Recordings == nil {
		t.Fatalf("exit %d, report %+v", code, rep)
	}
	e := rep.Errors[2]
	if e.File != filepath.Join(dir, "b/providers.yaml") || e.Line != 7 || e.Col != 48 || !strings.HasPrefix(e.Message, "spec.credentials.secretKey") {
		t.Errorf("third error %+v", e)
	}
	// Flags may follow the positional argument, and a valid tree is valid:true with counts.
	code, out, _ = runValidate(t, filepath.Join("..", "..", "examples", "newsroom"), "-o", "json")
	if code != 0 || !strings.Contains(out, `"valid": true`) || !strings.Contains(out, `"errors": []`) ||
		!strings.Contains(out, `"providers": 4`) || !strings.Contains(out, `"recordings": 9`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestValidateUsage(t *testing.T) {
	if code, _, errs := runValidate(t); code != 1 || !strings.Contains(errs, "accepts 1 arg") {
		t.Errorf("no DIR: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runValidate(t, "-o", "yaml", "."); code != 1 || !strings.Contains(errs, "want text or json") {
		t.Errorf("bad -o: exit %d, stderr %q", code, errs)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	code, _, errs := runValidate(t, missing)
	if code != 1 || errs != "Error: "+missing+": folder does not exist\n" {
		t.Errorf("missing DIR: exit %d, stderr %q", code, errs)
	}
}

// Warnings go to stderr as "Warning: file:line:col: ...", exit 0; -o json
// carries them in "warnings".
func TestValidateWarnings(t *testing.T) {
	dir := t.TempDir()
	docs := "apiVersion: recordctl/v1\nkind: Provider\nmetadata: {name: tx}\nspec:\n  type: tencent\n  region: ap-guangzhou\n" +
		"  credentials: {secretId: {env: A}, secretKey: {env: B}}\n---\n" +
		"apiVersion: recordctl/v1\nkind: Recording\nmetadata: {name: r}\nspec:\n  provider: tx\n" +
		"  stream: {domain: d.example.com, app: live, name: s}\n  schedule:\n    cron: \"0 9 30 2 *\"\n    duration: 1h\n    timezone: EST\n"
	if err := os.WriteFile(filepath.Join(dir, "docs.yaml"), []byte(docs), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runValidate(t, dir)
	if code != 0 || out != "valid: 1 provider, 1 recording\n" {
		t.Fatalf("warnings are not errors: exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	file := filepath.Join(dir, "docs.yaml") // as typed: the folder was given as dir
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `Warning: `+file+`:16:11: spec.schedule.cron "0 9 30 2 *" does not fire within the next 5 years`) ||
		!strings.HasPrefix(lines[1], `Warning: `+file+`:18:15: spec.schedule.timezone "EST" is an abbreviation-style zone`) ||
		!strings.Contains(lines[1], "America/New_York") {
		t.Fatalf("stderr:\n%s", errs)
	}
	code, out, _ = runValidate(t, dir, "-o", "json")
	var rep struct {
		Valid    bool
		Warnings []struct {
			File      string
			Line, Col int
			Message   string
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.Valid || len(rep.Warnings) != 2 ||
		rep.Warnings[1].File != file || rep.Warnings[1].Line != 18 || rep.Warnings[1].Col != 15 {
		t.Fatalf("json: exit %d\n%s", code, out)
	}
	// plan prints them too, on stderr; stdout holds only the plan.
	var pout, perr bytes.Buffer
	code = run([]string{"plan", dir, "--emulate", "--state", filepath.Join(t.TempDir(), "st")}, strings.NewReader(""), &pout, &perr)
	if code != 0 || !strings.Contains(perr.String(), "Warning: "+file+":18:15:") || strings.Contains(pout.String(), "Warning") {
		t.Fatalf("plan: exit %d\nstdout %s\nstderr %s", code, pout.String(), perr.String())
	}
	pout.Reset()
	code = run([]string{"plan", dir, "--emulate", "-o", "json", "--state", filepath.Join(t.TempDir(), "st")}, strings.NewReader(""), &pout, &perr)
	var plan struct{ Warnings []string }
	if code != 0 || json.Unmarshal(pout.Bytes(), &plan) != nil || len(plan.Warnings) != 2 || !strings.HasPrefix(plan.Warnings[1], file+":18:15: ") {
		t.Fatalf("plan -o json: exit %d\n%s", code, pout.String())
	}
}

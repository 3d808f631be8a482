package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

const calProviders = `apiVersion: recordctl/v1
kind: Provider
metadata: {name: tencent-gz}
spec:
  type: tencent
  region: ap-guangzhou
  credentials:
    secretId: {env: RECORDCTL_TEST_SECRET_ID}
    secretKey: {env: RECORDCTL_TEST_SECRET_KEY}
`

func calRec(name, cron, dur string) string {
	return `apiVersion: recordctl/v1
kind: Recording
metadata: {name: ` + name + `}
spec:
  provider: tencent-gz
  stream: {domain: push.example.com, app: live, name: ` + name + `}
  schedule: {cron: "` + cron + `", duration: ` + dur + `, timezone: Europe/Berlin}
`
}

func calDir(t *testing.T, recs ...string) string {
	t.Helper()
	dir := t.TempDir()
	docs := calProviders + "---\n" + strings.Join(recs, "---\n")
	if err := os.WriteFile(filepath.Join(dir, "docs.yaml"), []byte(docs), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCalendarCommand: every output format of `recordctl calendar` on a
// week over Berlin's spring-forward night.
func TestCalendarCommand(t *testing.T) {
	dir := calDir(t, calRec("evening-news", "0 19 * * *", "1h30m"), calRec("night", "30 2 * * *", "1h"))
	st := filepath.Join(t.TempDir(), "none")
	args := []string{"calendar", dir, "--from", "2027-03-25", "--days", "7", "--state", st}

	code, out, errOut := recordctl(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for i, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line %d has %d columns: %q", i+1, n, l)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour codes in output that is not a terminal")
	}
	for _, want := range []string{"Europe/Berlin", "evening-news", "night", "^ Sun 2027-03-28 02:00 CET → 03:00 CEST", "█", "Legend:"} {
		if !strings.Contains(out, want) {
			t.Errorf("text view lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = recordctl(t, append(args, "-o", "ics")...)
	if code != 0 {
		t.Fatalf("ics: exit %d: %s", code, errOut)
	}
	cal, err := ics.ParseCalendar(strings.NewReader(out))
	if err != nil || len(cal.Events()) != 14 {
		t.Fatalf("ics: %v, %d events (want 14)", err, len(cal.Events()))
	}

	code, out, _ = recordctl(t, append(args, "-o", "json", "--recording", "night")...)
	var js struct {
		Windows []struct{ ID string }
		DST     []struct{ Zone string } `json:"dst_changes"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js.Windows) != 7 || len(js.DST) != 1 {
		t.Fatalf("json: exit %d, %d windows, %d DST changes", code, len(js.Windows), len(js.DST))
	}
	// 02:30 does not exist on 2027-03-28 in Berlin: the window starts at 03:00 CEST.
	if !strings.Contains(out, `"night@2027-03-28T01:00:00Z"`) {
		t.Errorf("json lacks the night window moved by the gap")
	}

	for _, f := range []string{"html", "svg"} {
		code, out, _ = recordctl(t, append(args, "-o", f)...)
		if code != 0 || !strings.Contains(out, "<svg") || strings.Contains(out, "http://") && !strings.Contains(out, `xmlns="http://www.w3.org/2000/svg"`) {
			t.Errorf("-o %s: exit %d", f, code)
		}
	}
	for _, bad := range [][]string{{"-o", "pdf"}, {"--recording", "nope"}, {"--zone", "Mars/Olympus"}, {"--from", "soon"}, {"--days", "0"}} {
		if code, _, errOut := recordctl(t, append(args, bad...)...); code != 1 || !strings.Contains(errOut, "Error:") {
			t.Errorf("%v: exit %d %q, want 1 with an error", bad, code, errOut)
		}
	}
}

// TestPlanMarkdownWeekSummary: `plan -o markdown --base DIR` lists the
// windows of the next 7 days that the change adds, removes or changes.
func TestPlanMarkdownWeekSummary(t *testing.T) {
	base := calDir(t, calRec("evening-news", "0 19 * * *", "1h"), calRec("dropped", "0 8 * * MON", "1h"))
	head := calDir(t, calRec("evening-news", "0 19 * * *", "2h"), calRec("added", "0 12 * * SAT", "1h"))
	st := filepath.Join(t.TempDir(), "state")
	code, out, errOut := recordctl(t, "plan", head, "--emulate", "--state", st, "--at", "2027-03-24T00:00:00Z", "-o", "markdown", "--base", base)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"#### Next 7 days (2027-03-24 00:00 – 2027-03-31 00:00 UTC)",
		"**1 window(s) added, 1 removed, 7 changed.**", // 7 evenings 1h -> 2h, one Saturday added, one Monday dropped
		"| `+` | `added@2027-03-27T11:00:00Z` | 2027-03-27 12:00-13:00 Europe/Berlin |",
		"| `-` | `dropped@2027-03-29T06:00:00Z` |",
		"| `~` | `evening-news@2027-03-28T17:00:00Z` | 2027-03-28 19:00-21:00 Europe/Berlin (was 2027-03-28 19:00-20:00) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = recordctl(t, "plan", head, "--emulate", "--state", st, "--at", "2027-03-24T00:00:00Z", "-o", "markdown")
	if code != 0 || !strings.Contains(out, "8 window(s) of 2 recording(s)") {
		t.Errorf("without --base: exit %d\n%s", code, out)
	}
	if code, _, errOut := recordctl(t, "plan", head, "--emulate", "--state", st, "--base", base); code != 1 || !strings.Contains(errOut, "-o markdown") {
		t.Errorf("--base with text output: exit %d %q", code, errOut)
	}
}

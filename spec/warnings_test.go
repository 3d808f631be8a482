package spec_test

import (
	"strings"
	"testing"

	"github.com/recordctl/recordctl/spec"
)

// Each likely mistake is a warning at its position; the documents stay valid.
func TestWarnings(t *testing.T) {
	cases := []struct {
		name string
		body string
		want string // the warning, file:line:col: prefix of the message
	}{
		{"abbreviation zone names the region", okStream + "  schedule:\n    cron: \"0 19 * * *\"\n    duration: 1h\n    timezone: EST\n",
			`r.yaml:10:15: spec.schedule.timezone "EST" is an abbreviation-style zone, not a region (its offset rules are not a place's); did you mean America/New_York?`},
		{"fixed-offset zone", okStream + "  schedule: {cron: \"0 19 * * *\", duration: 1h, timezone: Etc/GMT+5}\n",
			`r.yaml:7:58: spec.schedule.timezone "Etc/GMT+5" is a fixed offset (UTC-5:00, note the inverted sign)`},
		{"cron that never fires", okStream + "  schedule:\n    cron: \"0 9 30 2 *\"\n    duration: 1h\n",
			`r.yaml:8:11: spec.schedule.cron "0 9 30 2 *" does not fire within the next 5 years`},
		{"exclusions leave nothing", okStream + "  schedule: {cron: \"0 9 25 12 *\", duration: 1h, exclude: [\"* * 25 12 *\"]}\n",
			`r.yaml:7:20: spec.schedule.cron "0 9 25 12 *" with its exclusions starts no window within the next 5 years`},
		{"windows touch forever", okStream + "  schedule:\n    cron: \"@every 10m\"\n    duration: 1h\n",
			`r.yaml:9:15: spec.schedule: windows of 1h0m0s starting "@every 10m" touch or overlap without end, so this records continuously; if that is meant, say continuous: true`},
		{"padding makes windows touch forever", okStream + "  schedule: {cron: \"0 * * * *\", duration: 50m, padding: {after: 10m}}\n",
			`r.yaml:7:43: spec.schedule: windows of 50m0s starting "0 * * * *" touch or overlap without end`},
		{"date exclusion on which nothing starts", okStream + "  schedule:\n    cron: \"0 19 * * MON-FRI\"\n    duration: 1h\n    exclude:\n      - 2026-03-10\n      - 2026-03-07\n",
			`r.yaml:12:9: spec.schedule.exclude "2026-03-07" matches no window from now on`},
		{"past date exclusion", okStream + "  schedule: {cron: \"0 19 * * *\", duration: 1h, exclude: [2025-12-25]}\n",
			`r.yaml:7:58: spec.schedule.exclude "2025-12-25" matches no window from now on`},
		{"cron exclusion that never matches", okStream + "  schedule: {cron: \"0 19 * * *\", duration: 1h, exclude: [\"30 * * * *\"]}\n",
			`r.yaml:7:58: spec.schedule.exclude "30 * * * *" matches no window from now on`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeTree(t, rec1("  provider: tx\n"+c.body))
			set, err := spec.LoadAt(dir, fixedNow)
			if err != nil {
				t.Fatalf("a warning is not an error: %v", err)
			}
			if len(set.Warnings) != 1 || !strings.HasPrefix(set.Warnings[0].Error(), c.want) {
				t.Fatalf("warnings %v\nwant one starting %s", set.Warnings, c.want)
			}
		})
	}
	// Sound schedules, zones and exclusions warn nothing.
	dir := writeTree(t, rec1("  provider: tx\n"+okStream+"  schedule:\n    cron: \"0 19 * * MON-FRI\"\n    duration: 1h\n    timezone: America/New_York\n"+
		"    padding: {before: 2m, after: 10m}\n    exclude: [2026-12-25, \"2027-01-01..2027-01-03\", \"* * * 7 *\"]\n"))
	if set, err := spec.LoadAt(dir, fixedNow); err != nil || len(set.Warnings) != 0 {
		t.Fatalf("%v %v", err, set.Warnings)
	}
}

// Padding and exclusions are checked like every other field.
func TestPaddingAndExclusionErrors(t *testing.T) {
	cases := map[string]string{
		"padding: {before: -2m}":            `r.yaml:7:66: spec.schedule.padding.before must be between 0s and 24h0m0s, got -2m`,
		"padding: {after: soon}":            `r.yaml:7:65: spec.schedule.padding.after "soon" is not a duration`,
		"padding: {during: 1m}":             `r.yaml:7:58: spec.schedule.padding: unknown field "during"; allowed: before, after`,
		"exclude: [2026-02-30]":             `r.yaml:7:58: spec.schedule.exclude[0] "2026-02-30": is not a date (2026-12-25) or an inclusive date range`,
		"exclude: [2027-01-03..2027-01-01]": `r.yaml:7:58: spec.schedule.exclude[0] "2027-01-03..2027-01-01": the range ends before it starts`,
		"exclude: [\"@every 1h\"]":          `r.yaml:7:58: spec.schedule.exclude[0] "@every 1h": @every cannot exclude`,
		"exclude: [\"61 * * * *\"]":         `r.yaml:7:58: spec.schedule.exclude[0] "61 * * * *": is neither a date, a date range nor a cron expression`,
		"exclude: 2026-12-25":               `r.yaml:7:57: spec.schedule.exclude must be a list of dates`,
	}
	for field, want := range cases {
		dir := writeTree(t, rec1("  provider: tx\n"+okStream+"  schedule: {cron: \"0 19 * * *\", duration: 1h, "+field+"}\n"))
		_, err := spec.LoadAt(dir, fixedNow)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s:\n got  %v\n want %s", field, err, want)
		}
	}
}

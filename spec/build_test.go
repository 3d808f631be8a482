package spec_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers/agora"
	"github.com/recordctl/recordctl/providers/huawei"
	"github.com/recordctl/recordctl/providers/tencent"
	"github.com/recordctl/recordctl/spec"
)

func TestDefaultsAndSorting(t *testing.T) {
	set, errs := loadFiles(t, map[string]string{
		"p.yaml": prov("zz-ali", "  type: aliyun\n  region: cn-shanghai\n  credentials: {accessKeyId: {env: A}, accessKeySecret: {env: B}}\n") + "---\n" +
			prov("hw", "  type: huawei\n  region: cn-north-4\n  projectId: p\n  credentials: {accessKey: {env: A}, secretKey: {env: B}}\n") + "---\n" +
			ag + "---\n" + tx + "---\n" +
			prov("tx-slow", "  type: tencent\n  region: ap-guangzhou\n  rateLimit: 2.5\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		"r.yaml": rec("b-rec", "  provider: tx\n"+okStream+okSched) + "---\n" +
			rec("a-rec", "  provider: tx\n  stream: {domain: d.example.com, app: live, name: other}\n  schedule: {cron: \"@daily\", duration: 1h, timezone: Asia/Shanghai}\n"),
	})
	if len(errs) > 0 {
		t.Fatal(render(errs))
	}
	var names []string
	rates := map[string]float64{}
	for _, p := range set.Providers {
		names = append(names, p.Name())
		rates[p.Name()] = p.Spec.RateLimit
	}
	if want := []string{"ag", "hw", "tx", "tx-slow", "zz-ali"}; !reflect.DeepEqual(names, want) {
		t.Errorf("providers %v, want sorted %v", names, want)
	}
	if want := map[string]float64{"ag": 10, "hw": 20, "tx": 20, "tx-slow": 2.5, "zz-ali": 50}; !reflect.DeepEqual(rates, want) {
		t.Errorf("rate limits %v, want %v", rates, want)
	}
	if got := set.Provider("ag").Spec.Config.(agora.Config).Endpoints; !reflect.DeepEqual(got, agora.DefaultEndpoints()) {
		t.Errorf("agora endpoints default %v, want %v", got, agora.DefaultEndpoints())
	}
	if len(set.Recordings) != 2 || set.Recordings[0].Name() != "a-rec" || set.Recordings[1].Name() != "b-rec" {
		t.Fatalf("recordings not sorted by name: %v", set.Recordings)
	}
	a, b := set.Recordings[0], set.Recordings[1]
	if a.Spec.Schedule.Location.String() != "Asia/Shanghai" {
		t.Errorf("a-rec location %v", a.Spec.Schedule.Location)
	}
	if b.Spec.Schedule.Location != time.UTC || b.Spec.Schedule.Timezone != "UTC" {
		t.Errorf("b-rec default zone %v %q, want UTC", b.Spec.Schedule.Location, b.Spec.Schedule.Timezone)
	}
	if b.Spec.Schedule.Duration != time.Hour || b.Spec.Schedule.Cron != "0 19 * * *" {
		t.Errorf("b-rec schedule %+v", b.Spec.Schedule)
	}
}

func TestPositions(t *testing.T) {
	body := "# comment\n" + rec("r", "  provider: tx\n"+okStream+
		"  schedule:\n    cron: \"@daily\"\n    duration: 1h\n") + "---\n" +
		rec("w", "  provider: tx\n  stream: {domain: d.example.com, app: live, name: w}\n  windows:\n    - {start: 2026-03-02T10:00:00Z, end: 2026-03-02T11:00:00Z}\n    - start: 2026-03-03T10:00:00Z\n      end: 2026-03-03T11:00:00Z\n")
	f, err := spec.ParseFile("team/a.yaml", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != "team/a.yaml" || len(f.Recordings) != 2 {
		t.Fatalf("file %+v", f)
	}
	r, w := f.Recordings[0], f.Recordings[1]
	check := func(what string, got spec.Pos, want string) {
		t.Helper()
		if got.String() != want {
			t.Errorf("%s at %s, want %s", what, got, want)
		}
	}
	check("recording", r.Pos, "team/a.yaml:2:1")
	check("schedule (cron value)", r.Spec.Schedule.Pos, "team/a.yaml:9:11")
	check("second document", w.Pos, "team/a.yaml:12:1")
	check("window 0", w.Spec.Windows[0].Pos, "team/a.yaml:19:7")
	check("window 1", w.Spec.Windows[1].Pos, "team/a.yaml:20:7")
	if got := w.Spec.Windows[1].End; !got.Equal(time.Date(2026, 3, 3, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("window end %v", got)
	}
}

func TestSetKeepsGoodDocumentsWhenOthersFail(t *testing.T) {
	set, errs := loadFiles(t, map[string]string{
		"p.yaml": tx,
		"good.yaml": rec("good", "  provider: tx\n"+okStream+okSched) + "---\n" +
			rec("bad", "  provider: tx\n"+okStream+"  schedule: {cron: nope, duration: 1h}\n"),
		"broken.yaml": "key: @",
		"orphan.yaml": rec("orphan", "  provider: missing\n  stream: {domain: d.example.com, app: live, name: o}\n"+okSched),
	})
	if len(errs) != 3 {
		t.Fatalf("want 3 errors (cron, syntax, missing provider), got:\n%s", render(errs))
	}
	if len(set.Providers) != 1 || len(set.Recordings) != 1 || set.Recordings[0].Name() != "good" {
		t.Fatalf("set should keep exactly tx and good: %+v %+v", set.Providers, set.Recordings)
	}
}

func TestBrokenProviderDoesNotCascade(t *testing.T) {
	// The Provider's own error is reported once; its Recordings are still checked
	// against its type but not reported as pointing at a missing Provider.
	_, errs := loadFiles(t, map[string]string{
		"p.yaml": prov("tx", "  type: tencent\n  credentials: {secretId: {env: A}, secretKey: {env: B}}\n"),
		"r.yaml": rec("r", "  provider: tx\n  stream: {channel: c}\n"+okSched),
	})
	want := "p.yaml:4:1: spec.region is required for tencent providers\n" +
		"r.yaml:6:3: spec.stream: tencent provider \"tx\" records streams by domain, app and name; use stream: {domain: D, app: A, name: N}\n"
	if got := render(errs); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestBuildDoesNotModifyFiles(t *testing.T) {
	f, err := spec.ParseFile("p.yaml", []byte(ag))
	if err != nil {
		t.Fatal(err)
	}
	set, err := spec.BuildAt("dir", []*spec.File{f}, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if set.Dir != "dir" || set.Providers[0] == f.Providers[0] {
		t.Fatal("Build must return copies")
	}
	if f.Providers[0].Spec.RateLimit != 0 || f.Providers[0].Spec.Config.(agora.Config).Endpoints != nil {
		t.Errorf("Build filled defaults into the caller's File: %+v", f.Providers[0].Spec)
	}
	// The daemon rebuilds from the same Files many times.
	if _, err := spec.BuildAt("dir", []*spec.File{f, f}, fixedNow); err == nil || !strings.Contains(err.Error(), "duplicate Provider name") {
		t.Errorf("the same file twice must report duplicates, got %v", err)
	}
	if _, err := spec.BuildAt("dir", []*spec.File{f}, fixedNow); err != nil {
		t.Errorf("Build must not remember earlier calls: %v", err)
	}
}

func TestBuildHandMadeFiles(t *testing.T) {
	p := &spec.Provider{Pos: spec.Pos{File: "x.yaml", Line: 1, Col: 1}, Metadata: spec.Metadata{Name: "hw"},
		Spec: spec.ProviderSpec{Type: "huawei", Config: huawei.Config{Region: "cn-north-4", ProjectID: "p"}}}
	tid := int64(5)
	r := &spec.Recording{Pos: spec.Pos{File: "x.yaml", Line: 9, Col: 1}, Metadata: spec.Metadata{Name: "r"},
		Spec: spec.RecordingSpec{Provider: "hw", Stream: spec.Stream{Domain: "d", App: "a", Name: "n"}, Continuous: true,
			Options: tencent.Options{TemplateID: &tid}}}
	_, err := spec.BuildAt(".", []*spec.File{{Path: "x.yaml", Providers: []*spec.Provider{p}, Recordings: []*spec.Recording{r}}}, fixedNow)
	got := render(spec.Errors(err))
	if !strings.HasPrefix(got, `x.yaml:9:1: spec.options are tencent options, but provider "hw" is of type huawei`) {
		t.Errorf("got %q", got)
	}
}

func TestConflicts(t *testing.T) {
	stream := "  stream: {domain: d.example.com, app: live, name: news}\n"
	cases := []struct {
		name  string
		files map[string]string
		want  string // "" = no conflict
	}{
		{"overlapping explicit windows", map[string]string{"p.yaml": tx,
			"a.yaml": rec("first", "  provider: tx\n"+stream+"  windows: [{start: 2026-03-05T10:00:00Z, end: 2026-03-05T12:00:00Z}]\n"),
			"b.yaml": rec("second", "  provider: tx\n"+stream+"  windows: [{start: 2026-03-05T11:30:00Z, end: 2026-03-05T13:00:00Z}]\n")},
			`b.yaml:1:1: Recording "second" and Recording "first" (a.yaml:1:1) both record tencent stream d.example.com/live/news at 2026-03-05T11:30:00Z`},
		{"touching windows do not conflict", map[string]string{"p.yaml": tx,
			"a.yaml": rec("first", "  provider: tx\n"+stream+"  windows: [{start: 2026-03-05T10:00:00Z, end: 2026-03-05T12:00:00Z}]\n"),
			"b.yaml": rec("second", "  provider: tx\n"+stream+"  windows: [{start: 2026-03-05T12:00:00Z, end: 2026-03-05T13:00:00Z}]\n")},
			""},
		{"cron against a window", map[string]string{"p.yaml": tx,
			"a.yaml": rec("daily", "  provider: tx\n"+stream+"  schedule: {cron: \"0 19 * * *\", duration: 1h, timezone: Asia/Shanghai}\n"),
			"b.yaml": rec("special", "  provider: tx\n"+stream+"  windows: [{start: 2026-03-10T11:30:00Z, end: 2026-03-10T12:30:00Z}]\n")},
			`b.yaml:1:1: Recording "special" and Recording "daily" (a.yaml:1:1) both record tencent stream d.example.com/live/news at 2026-03-10T11:30:00Z`},
		{"two crons in different zones", map[string]string{"p.yaml": tx,
			"a.yaml": rec("berlin", "  provider: tx\n"+stream+"  schedule: {cron: \"0 12 * * *\", duration: 30m, timezone: Europe/Berlin}\n"),
			"b.yaml": rec("shanghai", "  provider: tx\n"+stream+"  schedule: {cron: \"15 19 * * *\", duration: 30m, timezone: Asia/Shanghai}\n")},
			`b.yaml:1:1: Recording "shanghai" and Recording "berlin" (a.yaml:1:1) both record tencent stream d.example.com/live/news at 2026-03-02T11:15:00Z`},
		{"continuous against anything", map[string]string{"p.yaml": tx,
			"a.yaml": rec("always", "  provider: tx\n"+stream+"  continuous: true\n"),
			"b.yaml": rec("later", "  provider: tx\n"+stream+"  windows: [{start: 2026-03-10T11:30:00Z, end: 2026-03-10T12:30:00Z}]\n")},
			`b.yaml:1:1: Recording "later" and Recording "always" (a.yaml:1:1) both record tencent stream d.example.com/live/news at 2026-03-10T11:30:00Z`},
		{"beyond 14 days is not checked", map[string]string{"p.yaml": tx,
			"a.yaml": rec("first", "  provider: tx\n"+stream+"  windows: [{start: 2026-03-20T10:00:00Z, end: 2026-03-20T12:00:00Z}]\n"),
			"b.yaml": rec("second", "  provider: tx\n"+stream+"  windows: [{start: 2026-03-20T10:00:00Z, end: 2026-03-20T12:00:00Z}]\n")},
			""},
		{"past windows do not conflict", map[string]string{"p.yaml": tx,
			"a.yaml": rec("first", "  provider: tx\n"+stream+"  windows: [{start: 2026-02-20T10:00:00Z, end: 2026-02-20T12:00:00Z}]\n"),
			"b.yaml": rec("second", "  provider: tx\n"+stream+"  windows: [{start: 2026-02-20T10:00:00Z, end: 2026-02-20T12:00:00Z}]\n")},
			""},
		{"different streams do not conflict", map[string]string{"p.yaml": tx,
			"a.yaml": rec("first", "  provider: tx\n"+stream+"  continuous: true\n"),
			"b.yaml": rec("second", "  provider: tx\n  stream: {domain: d.example.com, app: live, name: other}\n  continuous: true\n")},
			""},
		{"agora channels of different App IDs do not conflict", map[string]string{
			"p.yaml": ag + "---\n" + strings.NewReplacer("name: ag", "name: ag2", "appId: app1", "appId: app2").Replace(ag),
			"a.yaml": rec("first", "  provider: ag\n  stream: {channel: c}\n  continuous: true\n  options:\n"+agStorage),
			"b.yaml": rec("second", "  provider: ag2\n  stream: {channel: c}\n  continuous: true\n  options:\n"+agStorage)},
			""},
		{"agora channel of one App ID through two Providers conflicts", map[string]string{
			"p.yaml": ag + "---\n" + strings.Replace(ag, "name: ag", "name: ag2", 1),
			"a.yaml": rec("first", "  provider: ag\n  stream: {channel: c}\n  continuous: true\n  options:\n"+agStorage),
			"b.yaml": rec("second", "  provider: ag2\n  stream: {channel: c}\n  windows: [{start: 2026-03-05T10:00:00Z, end: 2026-03-05T12:00:00Z}]\n  options:\n"+agStorage)},
			`b.yaml:1:1: Recording "second" and Recording "first" (a.yaml:1:1) both record agora channel "c" of App ID app1 at 2026-03-05T10:00:00Z`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set, errs := loadFiles(t, c.files)
			got := strings.TrimSpace(render(errs))
			if c.want == "" {
				if got != "" {
					t.Fatalf("unexpected errors:\n%s", got)
				}
				return
			}
			if len(errs) != 1 || !strings.HasPrefix(got, c.want) {
				t.Fatalf("got:\n%s\nwant one error starting with:\n%s", got, c.want)
			}
			if len(set.Recordings) != 2 {
				t.Errorf("conflicting Recordings stay in the Set, got %d", len(set.Recordings))
			}
		})
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	set, errs := loadFiles(t, map[string]string{
		"p.yaml": tx,
		"r.yaml": `apiVersion: recordctl/v1
kind: Recording
metadata: {name: a}
spec:
  provider: tx
  stream: &stream {domain: d.example.com, app: live, name: a}
  schedule: &sched {cron: "0 19 * * *", duration: 1h, timezone: Asia/Shanghai}
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: b}
spec:
  provider: tx
  stream:
    <<: *stream
    name: b
  schedule:
    <<: [*sched, {cron: "@hourly", bogus: 1}]
    duration: 30m
`,
	})
	want := `r.yaml:18:36: spec.schedule: unknown field "bogus"; allowed: cron, duration, timezone, padding, exclude` + "\n"
	if got := render(errs); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if len(set.Recordings) != 1 || set.Recordings[0].Spec.Schedule.Cron != "0 19 * * *" {
		t.Fatalf("a must load with its own schedule: %+v", set.Recordings)
	}
	// Without the bad field, b merges: explicit keys win, earlier merges win.
	set, errs = loadFiles(t, map[string]string{"p.yaml": tx, "r.yaml": strings.Replace(
		`apiVersion: recordctl/v1
kind: Recording
metadata: {name: a}
spec:
  provider: tx
  stream: &stream {domain: d.example.com, app: live, name: a}
  schedule: &sched {cron: "0 19 * * *", duration: 1h, timezone: Asia/Shanghai}
---
apiVersion: recordctl/v1
kind: Recording
metadata: {name: b}
spec:
  provider: tx
  stream:
    <<: *stream
    name: b
  schedule:
    <<: [*sched, {cron: "@hourly", bogus: 1}]
    duration: 30m
`, ", bogus: 1", "", 1)})
	if len(errs) != 0 {
		t.Fatal(render(errs))
	}
	b := set.Recordings[1]
	if b.Spec.Stream.String() != "d.example.com/live/b" || b.Spec.Schedule.Cron != "0 19 * * *" ||
		b.Spec.Schedule.Duration != 30*time.Minute || b.Spec.Schedule.Timezone != "Asia/Shanghai" {
		t.Errorf("merged b: %+v %+v", b.Spec.Stream, b.Spec.Schedule)
	}
}

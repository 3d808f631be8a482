package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func edgeSet(typ string, recs ...*spec.Recording) *spec.Set {
	set := &spec.Set{Providers: []*spec.Provider{{Metadata: spec.Metadata{Name: "p"}, Spec: spec.ProviderSpec{Type: typ}}}}
	for _, r := range recs {
		r.Spec.Provider = "p"
		set.Recordings = append(set.Recordings, r)
	}
	return set
}

func windowRec(name string, ws ...[2]string) *spec.Recording {
	r := &spec.Recording{Metadata: spec.Metadata{Name: name}}
	for _, w := range ws {
		r.Spec.Windows = append(r.Spec.Windows, spec.Window{Start: ts(w[0]), End: ts(w[1])})
	}
	return r
}

func TestNextEdge(t *testing.T) {
	now := ts("2026-11-21T18:30:00Z")
	limit := now.Add(time.Hour)
	daily := &spec.Recording{Metadata: spec.Metadata{Name: "news"}, Spec: spec.RecordingSpec{
		Schedule: &spec.Schedule{Cron: "0 19 * * *", Duration: 30 * time.Minute, Location: time.UTC}}}
	cases := []struct {
		name string
		set  *spec.Set
		want Edge
	}{
		{"command: next start", edgeSet("aliyun", windowRec("a", [2]string{"2026-11-21T18:40:00Z", "2026-11-21T20:00:00Z"})),
			Edge{At: ts("2026-11-21T18:40:00Z"), Recording: "a", What: "window start"}},
		{"command: end of an open window", edgeSet("aliyun", windowRec("a", [2]string{"2026-11-21T18:00:00Z", "2026-11-21T18:45:00Z"})),
			Edge{At: ts("2026-11-21T18:45:00Z"), Recording: "a", What: "window end"}},
		{"command: cron start", edgeSet("aliyun", daily), Edge{At: ts("2026-11-21T19:00:00Z"), Recording: "news", What: "window start"}},
		{"command: earliest of several", edgeSet("huawei",
			windowRec("a", [2]string{"2026-11-21T19:10:00Z", "2026-11-21T20:00:00Z"}),
			windowRec("b", [2]string{"2026-11-21T18:00:00Z", "2026-11-21T18:35:00Z"})),
			Edge{At: ts("2026-11-21T18:35:00Z"), Recording: "b", What: "window end"}},
		{"command: nothing before the limit", edgeSet("aliyun", windowRec("a", [2]string{"2026-11-21T20:00:00Z", "2026-11-21T21:00:00Z"})), Edge{}},
		{"scheduling: start enters the lookahead", edgeSet("tencent", windowRec("a", [2]string{"2026-11-22T19:00:00Z", "2026-11-22T20:00:00Z"})),
			Edge{At: ts("2026-11-21T19:00:00Z"), Recording: "a", What: "lookahead"}},
		{"scheduling: already within the lookahead", edgeSet("tencent", windowRec("a", [2]string{"2026-11-22T18:00:00Z", "2026-11-22T20:00:00Z"})), Edge{}},
		{"scheduling: next 24 h piece of a long window", edgeSet("tencent", windowRec("a", [2]string{"2026-11-20T19:00:00Z", "2026-11-25T00:00:00Z"})),
			// pieces start at 19:00 each day; the one at 2026-11-22T19:00 enters the 24 h lookahead at 2026-11-21T19:00
			Edge{At: ts("2026-11-21T19:00:00Z"), Recording: "a", What: "lookahead"}},
	}
	for _, c := range cases {
		got := nextEdge(c.set, reconcile.RegisteredCaps, 24*time.Hour, now, limit)
		if !got.At.Equal(c.want.At) || got.Recording != c.want.Recording || got.What != c.want.What {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// An edge found by nextEdge is where reconcile.Desired changes.
func TestNextEdgeMatchesDesired(t *testing.T) {
	now := ts("2026-11-21T17:00:00Z")
	for _, typ := range []string{"aliyun", "tencent"} {
		set := edgeSet(typ, windowRec("a", [2]string{"2026-11-21T18:40:00Z", "2026-11-22T18:50:00Z"}))
		e := nextEdge(set, reconcile.RegisteredCaps, time.Hour, now, now.Add(2*time.Hour))
		before := reconcile.Desired(set, reconcile.RegisteredCaps, e.At.Add(-time.Millisecond), time.Hour)
		after := reconcile.Desired(set, reconcile.RegisteredCaps, e.At.Add(time.Millisecond), time.Hour)
		if len(before) == len(after) {
			t.Errorf("%s: edge %+v does not change the desired set (%d pieces before and after)", typ, e, len(before))
		}
	}
}

func TestGuard(t *testing.T) {
	task := func(id string) *providers.Task { return &providers.Task{ID: id} }
	st := &state.State{}
	for _, id := range []string{"1", "2", "3", "4"} {
		st.Records = append(st.Records, &state.Record{ID: id, Key: "k" + id, Phase: state.Active, Task: task(id)})
	}
	removed := func(ids ...string) []reconcile.Action {
		var out []reconcile.Action
		for _, id := range ids {
			out = append(out, reconcile.Action{Action: reconcile.Stop, Key: "k" + id, Record: id, Task: id, Removed: true})
		}
		return out
	}
	create := reconcile.Action{Action: reconcile.Create, Key: "new"}
	closed := reconcile.Action{Action: reconcile.Stop, Key: "k1", Reason: "window closed"}
	cases := []struct {
		name      string
		actions   []reconcile.Action
		obs       map[string][]providers.Task
		errs      int
		allow     bool
		run, held int
		kind      string
	}{
		{"half is allowed", append(removed("1", "2"), create), nil, 0, false, 3, 0, ""},
		{"more than half is held", append(removed("1", "2", "3"), create, closed), nil, 0, false, 2, 3, HoldMassStop},
		{"allow-mass-stop", removed("1", "2", "3", "4"), nil, 0, true, 4, 0, ""},
		{"finished tasks do not count as live", removed("1", "2"),
			map[string][]providers.Task{"p": {{ID: "3", Status: providers.StatusFinished}}}, 0, false, 0, 2, HoldMassStop},
		{"spec errors hold every removal", append(removed("1"), create), nil, 1, true, 1, 1, HoldSpecErrors},
		{"no removal, nothing held", []reconcile.Action{create, closed}, nil, 3, false, 2, 0, ""},
	}
	for _, c := range cases {
		p := &reconcile.Plan{Actions: c.actions}
		run, held, kind, why := guard(p, st, c.obs, c.errs, c.allow)
		if len(run) != c.run || len(held) != c.held || kind != c.kind {
			t.Errorf("%s: run %d held %d kind %q, want %d %d %q", c.name, len(run), len(held), kind, c.run, c.held, c.kind)
		}
		if c.held > 0 && why == "" {
			t.Errorf("%s: no reason given", c.name)
		}
	}
}

const provDoc = `apiVersion: recordctl/v1
kind: Provider
metadata: {name: p}
spec:
  type: aliyun
  region: cn-shanghai
  credentials: {accessKeyId: {env: X}, accessKeySecret: {env: Y}}
`

func recDoc(name, stream string) string {
	return rec(name, "p", stream, ts("2026-11-21T19:00:00Z"), ts("2026-11-21T20:00:00Z"))
}

func names(set *spec.Set) string {
	var out []string
	for _, r := range set.Recordings {
		out = append(out, r.Metadata.Name+":"+r.Spec.Stream.Name)
	}
	return strings.Join(out, ",")
}

func TestLoaderKeepsLastValidVersion(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := newLoader(dir, func() time.Time { return ts("2026-11-21T00:00:00Z") })
	load := func() (Documents, bool) { return l.load(spec.Walk(dir), false) }
	write("p.yaml", provDoc)
	write("a.yaml", recDoc("a", "s1"))
	write("b.yaml", recDoc("b", "s2"))
	d, changed := load()
	if !changed || len(d.Errors) != 0 || names(d.Set) != "a:s1,b:s2" {
		t.Fatalf("first load: changed %v errors %v set %s", changed, d.Errors, names(d.Set))
	}
	if _, changed := load(); changed {
		t.Fatalf("an unchanged directory reads as changed")
	}

	// Broken YAML: a.yaml's last valid version stays.
	write("a.yaml", "apiVersion: recordctl/v1\nkind: [\n")
	d, _ = load()
	if names(d.Set) != "a:s1,b:s2" || len(d.Stale) != 1 || d.Stale[0] != "a.yaml" || len(d.Errors) == 0 || d.Errors[0].Pos.File != "a.yaml" {
		t.Fatalf("broken: set %s stale %v errors %v", names(d.Set), d.Stale, d.Errors)
	}

	// A Build error (duplicate name) charged to a.yaml: its last valid version stays.
	write("a.yaml", recDoc("b", "s3"))
	d, _ = load()
	if names(d.Set) != "a:s1,b:s2" || len(d.Stale) != 1 || d.Stale[0] != "a.yaml" || len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Error(), "already defined at a.yaml:3:") {
		t.Fatalf("duplicate: set %s stale %v errors %v", names(d.Set), d.Stale, d.Errors)
	}

	// A valid change is taken and becomes the new last valid version.
	write("a.yaml", recDoc("a", "s4"))
	d, _ = load()
	if names(d.Set) != "a:s4,b:s2" || len(d.Stale) != 0 || len(d.Errors) != 0 {
		t.Fatalf("fixed: set %s stale %v errors %v", names(d.Set), d.Stale, d.Errors)
	}
	write("a.yaml", "not: [valid\n")
	if d, _ = load(); names(d.Set) != "a:s4,b:s2" {
		t.Fatalf("broken again: set %s", names(d.Set))
	}

	// A file that was never valid contributes the documents that pass their own checks.
	write("c.yaml", recDoc("c", "s5")+"---\n"+strings.Replace(recDoc("d", "s6"), "windows:", "colour: red\n  windows:", 1))
	d, _ = load()
	if names(d.Set) != "a:s4,b:s2,c:s5" || len(d.Stale) != 1 {
		t.Fatalf("partly valid new file: set %s stale %v errors %v", names(d.Set), d.Stale, d.Errors)
	}

	// A removed file takes its documents with it.
	os.Remove(filepath.Join(dir, "b.yaml"))
	if d, _ = load(); names(d.Set) != "a:s4,c:s5" {
		t.Fatalf("after removing b.yaml: set %s", names(d.Set))
	}
}

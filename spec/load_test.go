package spec_test

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/recordctl/recordctl/spec"
)

// names lists the Recordings of a Set.
func recNames(set *spec.Set) []string {
	var out []string
	for _, r := range set.Recordings {
		out = append(out, r.Name())
	}
	sort.Strings(out)
	return out
}

func TestLoadWalksTheTree(t *testing.T) {
	r := func(name string) string {
		return rec(name, "  provider: tx\n  stream: {domain: d.example.com, app: live, name: "+name+"}\n"+okSched)
	}
	dir := writeTree(t, map[string]string{
		"p.yaml":               tx,
		"a.yml":                r("a"),
		"deep/er/b.yaml":       r("b") + "---\n" + r("c") + "\n---\n# only a comment\n---\n",
		"upper/D.YAML":         r("d"),
		".hidden/x.yaml":       r("hidden-dir"),
		"team/.draft.yaml":     r("hidden-file"),
		"notes.txt":            r("not-yaml"),
		"empty.yaml":           "",
		"comments.yaml":        "# nothing yet\n",
		"team/.git/config.yml": "not: [yaml",
	})
	set, err := spec.LoadAt(dir, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := recNames(set), []string{"a", "b", "c", "d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
}

func TestLoadFollowsConfigMapSymlinks(t *testing.T) {
	// A Kubernetes ConfigMap volume: dir/x.yaml -> ..data/x.yaml, ..data -> ..2026_03_02, all hidden but the links.
	dir := t.TempDir()
	ts := filepath.Join(dir, "..2026_03_02_00_00_00.1")
	must(t, os.MkdirAll(ts, 0o755))
	must(t, os.WriteFile(filepath.Join(ts, "providers.yaml"), []byte(tx), 0o644))
	must(t, os.WriteFile(filepath.Join(ts, "recordings.yaml"), []byte(rec("cm", "  provider: tx\n"+okStream+okSched)), 0o644))
	must(t, os.Symlink("..2026_03_02_00_00_00.1", filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/providers.yaml", filepath.Join(dir, "providers.yaml")))
	must(t, os.Symlink("..data/recordings.yaml", filepath.Join(dir, "recordings.yaml")))
	// A symlinked folder is walked too, and a loop back to the root does not hang.
	other := t.TempDir()
	must(t, os.WriteFile(filepath.Join(other, "more.yaml"), []byte(rec("linked", "  provider: tx\n  stream: {domain: d.example.com, app: live, name: l}\n"+okSched)), 0o644))
	must(t, os.Symlink(other, filepath.Join(dir, "shared")))
	must(t, os.Symlink(dir, filepath.Join(other, "loop")))
	// A dangling link to a YAML file is reported; one to anything else is ignored.
	must(t, os.Symlink("nowhere.yaml", filepath.Join(dir, "dangling.yaml")))
	must(t, os.Symlink("nowhere", filepath.Join(dir, "dangling-dir")))

	set, err := spec.LoadAt(dir, fixedNow)
	errs := spec.Errors(err)
	if len(errs) != 1 || errs[0].Pos.File != "dangling.yaml" || !strings.Contains(errs[0].Msg, "cannot read file") {
		t.Fatalf("want one error for dangling.yaml, got:\n%s", render(errs))
	}
	if got, want := recNames(set), []string{"cm", "linked"}; !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
	if set.Recordings[0].Pos.File != "recordings.yaml" || set.Recordings[1].Pos.File != "shared/more.yaml" {
		t.Errorf("positions must use the path as walked: %s, %s", set.Recordings[0].Pos, set.Recordings[1].Pos)
	}
}

func TestLoadMissingDir(t *testing.T) {
	_, err := spec.Load(filepath.Join(t.TempDir(), "nope"))
	errs := spec.Errors(err)
	if len(errs) != 1 || errs[0].Pos.File != "." || !strings.Contains(errs[0].Msg, "cannot read folder") {
		t.Fatalf("got %v", errs)
	}
}

func TestLoadExamples(t *testing.T) {
	for _, ex := range []struct {
		dir              string
		providers, recs  int
		types, timezones []string
	}{
		{"quickstart", 3, 5, []string{"aliyun", "huawei", "tencent"}, nil},
		{"newsroom", 4, 9, []string{"agora", "aliyun", "huawei", "tencent"}, []string{"America/New_York", "Asia/Shanghai", "Europe/Berlin"}},
	} {
		t.Run(ex.dir, func(t *testing.T) {
			set, err := spec.Load(filepath.Join("..", "examples", ex.dir))
			if err != nil {
				t.Fatal(render(spec.Errors(err)))
			}
			if len(set.Providers) != ex.providers || len(set.Recordings) != ex.recs {
				t.Errorf("%d providers, %d recordings; want %d, %d", len(set.Providers), len(set.Recordings), ex.providers, ex.recs)
			}
			types := map[string]bool{}
			for _, p := range set.Providers {
				types[p.Spec.Type] = true
			}
			zones := map[string]bool{}
			for _, r := range set.Recordings {
				if s := r.Spec.Schedule; s != nil && s.Timezone != "UTC" {
					zones[s.Timezone] = true
				}
			}
			for _, typ := range ex.types {
				if !types[typ] {
					t.Errorf("example has no %s provider", typ)
				}
			}
			for _, z := range ex.timezones {
				if !zones[z] {
					t.Errorf("example has no schedule in %s", z)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoadErrorIsSortedMultierror(t *testing.T) {
	dir := writeTree(t, map[string]string{"b.yaml": "x: @", "a.yaml": "y: @"})
	_, err := spec.LoadAt(dir, fixedNow)
	want := "a.yaml:1:1: YAML syntax error: found character that cannot start any token\n" +
		"b.yaml:1:1: YAML syntax error: found character that cannot start any token"
	if err == nil || err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

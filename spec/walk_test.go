package spec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recordctl/recordctl/spec"
)

func TestWalkTree(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	for _, p := range []string{"a.yaml", "sub/b.yml", ".hidden/c.yaml", "sub/.d.yaml", "notes.txt"} {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte("x"), 0o644)
	}
	os.WriteFile(filepath.Join(other, "e.yaml"), []byte("x"), 0o644)
	os.Symlink(filepath.Join(other, "e.yaml"), filepath.Join(dir, "e.yaml"))
	os.Symlink(filepath.Join(other, "gone.yaml"), filepath.Join(dir, "dangling.yaml"))
	tr := spec.Walk(dir)
	if got := strings.Join(tr.Files, ","); got != "a.yaml,e.yaml,sub/b.yml" {
		t.Errorf("files = %s", got)
	}
	realDir, _ := filepath.EvalSymlinks(dir)
	realOther, _ := filepath.EvalSymlinks(other)
	want := map[string]bool{realDir: true, filepath.Join(realDir, "sub"): true, realOther: true}
	if len(tr.Dirs) != len(want) {
		t.Errorf("dirs = %v", tr.Dirs)
	}
	for _, d := range tr.Dirs {
		if !want[d] {
			t.Errorf("unexpected watched folder %s", d)
		}
	}
	if len(tr.Errs) != 1 || tr.Errs[0].Pos.File != "dangling.yaml" {
		t.Errorf("errs = %v", tr.Errs)
	}
}

package spec_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/recordctl/recordctl/spec"
)

// FuzzLoad: any file content gives errors that name the file, or documents
// that carry the file in their positions; never a panic. Seeds: the examples.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "examples", "*", "*.yaml"))
	deeper, _ := filepath.Glob(filepath.Join("..", "examples", "*", "*", "*.yaml"))
	for _, p := range append(seeds, deeper...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(tx + "---\n" + ag))
	f.Add([]byte("a: &x {b: *x}\n<<: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const rel = "fuzz/in.yaml"
		file, err := spec.ParseFile(rel, data)
		if file == nil {
			t.Fatal("ParseFile returned no File")
		}
		for _, e := range spec.Errors(err) {
			if e.Pos.File != rel || e.Msg == "" || e.Pos.Line < 0 {
				t.Fatalf("error without the file or a message: %#v", e)
			}
		}
		for _, p := range file.Providers {
			if p.Pos.File != rel || p.Pos.Line < 1 {
				t.Fatalf("provider position %v", p.Pos)
			}
		}
		for _, r := range file.Recordings {
			if r.Pos.File != rel || r.Pos.Line < 1 {
				t.Fatalf("recording position %v", r.Pos)
			}
		}
		// The tree checks run on whatever decoded, with two copies to force
		// duplicate and conflict checks.
		_, err = spec.BuildAt("fuzz", []*spec.File{file, file}, fixedNow)
		for _, e := range spec.Errors(err) {
			if e.Pos.File != rel || e.Msg == "" {
				t.Fatalf("build error without the file: %#v", e)
			}
		}
	})
}

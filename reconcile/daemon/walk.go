package daemon

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/recordctl/recordctl/spec"
)

// tree is one walk of the spec directory: the spec files Load would read
// and the folders to watch.
type tree struct {
	files []string // relative, forward slashes, sorted
	dirs  []string // absolute real paths to watch, sorted
	errs  []*spec.Error
}

// walkTree lists the spec files below dir as spec.Load does (hidden entries
// skipped, symlinks followed, *.yaml and *.yml) and every folder that must
// be watched: the visited folders, the folders that symlinked files point
// into (edits behind a symlink are seen too), and the folder holding dir
// when dir itself is a symlink.
func walkTree(dir string) tree {
	var t tree
	seen := map[string]bool{}
	watch := map[string]bool{}
	var walk func(abs, rel string, depth int)
	walk = func(abs, rel string, depth int) {
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			real = abs
		}
		if seen[real] {
			return
		}
		seen[real] = true
		watch[real] = true
		if depth > 64 {
			t.errs = append(t.errs, &spec.Error{Pos: spec.Pos{File: relOrDot(rel)}, Msg: "folders nest too deeply (more than 64 levels)"})
			return
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			t.errs = append(t.errs, &spec.Error{Pos: spec.Pos{File: relOrDot(rel)}, Msg: "cannot read folder: " + unwrapPath(err).Error()})
			return
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			childAbs, childRel := filepath.Join(abs, name), joinRel(rel, name)
			mode := e.Type()
			if mode&os.ModeSymlink != 0 {
				fi, err := os.Stat(childAbs)
				if err != nil {
					if isSpecFile(name) {
						t.errs = append(t.errs, &spec.Error{Pos: spec.Pos{File: childRel}, Msg: "cannot read file: " + unwrapPath(err).Error()})
					}
					continue
				}
				mode = fi.Mode().Type()
				if mode.IsRegular() && isSpecFile(name) {
					if target, err := filepath.EvalSymlinks(childAbs); err == nil {
						watch[filepath.Dir(target)] = true
					}
				}
			}
			switch {
			case mode.IsDir():
				walk(childAbs, childRel, depth+1)
			case mode.IsRegular() && isSpecFile(name):
				t.files = append(t.files, childRel)
			}
		}
	}
	walk(dir, "", 0)
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		// The directory itself is a symlink (git-sync swaps it to each new
		// checkout): watch where the link lives, so the swap is an event.
		watch[filepath.Dir(dir)] = true
	}
	sort.Strings(t.files)
	for d := range watch {
		t.dirs = append(t.dirs, d)
	}
	sort.Strings(t.dirs)
	return t
}

func isSpecFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

func relOrDot(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}

// unwrapPath drops the absolute path from an *os.PathError (positions name the file).
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

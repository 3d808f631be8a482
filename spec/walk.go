package spec

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Tree is one walk of a spec directory: the files Load reads and the
// folders whose changes can change them (what a watcher must watch).
type Tree struct {
	Files []string // spec files relative to the directory, forward slashes, sorted
	Dirs  []string // absolute real paths of the folders to watch, sorted
	Errs  []*Error
}

// Walk lists the spec files below dir (*.yaml and *.yml; hidden entries
// skipped; symlinks followed, to a file or a folder, so that
// `dir/a.yaml -> ..data/a.yaml` of a Kubernetes ConfigMap loads while
// `..data` itself is not walked; folders already walked are not walked again,
// against symlink loops), and every folder that must be watched: the walked
// folders, the folders symlinked files point into (edits behind a symlink),
// and the folder holding dir when dir itself is a symlink (git-sync).
func Walk(dir string) Tree {
	var t Tree
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
			t.Errs = append(t.Errs, errAt(Pos{File: relOrDot(rel)}, "folders nest too deeply (more than 64 levels)"))
			return
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			t.Errs = append(t.Errs, errAt(Pos{File: relOrDot(rel)}, "cannot read folder: "+unwrapPath(err).Error()))
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
						t.Errs = append(t.Errs, errAt(Pos{File: childRel}, "cannot read file: "+unwrapPath(err).Error()))
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
				t.Files = append(t.Files, childRel)
			}
		}
	}
	walk(dir, "", 0)
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		// The directory itself is a symlink (git-sync swaps it to each new
		// checkout): watch where the link lives, so the swap is an event.
		watch[filepath.Dir(dir)] = true
	}
	sort.Strings(t.Files)
	for d := range watch {
		t.Dirs = append(t.Dirs, d)
	}
	sort.Strings(t.Dirs)
	return t
}

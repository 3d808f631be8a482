package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
)

// maxFileSize bounds what Load reads from one file.
const maxFileSize = 32 << 20

// Load reads every *.yaml / *.yml file below dir (hidden files and folders
// skipped, symlinks followed so Kubernetes ConfigMap mounts work), parses and
// checks each (ParseFile) and then all together (Build). It returns the Set of
// every document that passed, even when err != nil, and err aggregates every
// problem as *Error with a position relative to dir (a *multierror.Error).
func Load(dir string) (*Set, error) { return LoadAt(dir, time.Now()) }

// LoadAt is Load with conflicts looked for from now on (plan --at, tests).
func LoadAt(dir string, now time.Time) (*Set, error) {
	var errs []error
	var files []*File
	paths, werrs := listSpecFiles(dir)
	errs = append(errs, werrs...)
	for _, rel := range paths {
		data, err := readSpecFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			errs = append(errs, errAt(Pos{File: rel}, err.Error()))
			continue
		}
		f, err := ParseFile(rel, data)
		errs = appendErrs(errs, err)
		files = append(files, f)
	}
	set, err := BuildAt(dir, files, now)
	errs = appendErrs(errs, err)
	if len(errs) == 0 {
		return set, nil
	}
	sorted := Errors(&multierror.Error{Errors: errs})
	me := &multierror.Error{ErrorFormat: formatErrors, Errors: make([]error, len(sorted))}
	for i, e := range sorted {
		me.Errors[i] = e
	}
	return set, me
}

// appendErrs flattens a multierror into errs.
func appendErrs(errs []error, err error) []error {
	if err == nil {
		return errs
	}
	if me, ok := err.(*multierror.Error); ok {
		return append(errs, me.Errors...)
	}
	return append(errs, err)
}

func readSpecFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read file: %v", unwrapPath(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read file: %v", unwrapPath(err))
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("file is larger than %d MiB; spec files are small YAML documents", maxFileSize>>20)
	}
	return data, nil
}

// unwrapPath drops the absolute path from an *os.PathError (positions already name the file).
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// isSpecFile reports whether name is a YAML file Load reads.
func isSpecFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

// listSpecFiles walks dir and returns the spec files' paths relative to dir
// (forward slashes, sorted). Hidden entries are skipped; a symlink is followed
// (to a file or a folder), so `dir/a.yaml -> ..data/a.yaml` loads while
// `..data` itself is not walked. Folders already walked are not walked again
// (symlink loops).
func listSpecFiles(dir string) ([]string, []error) {
	var out []string
	var errs []error
	seen := map[string]bool{}
	var walk func(abs, rel string, depth int)
	walk = func(abs, rel string, depth int) {
		real, err := filepath.EvalSymlinks(abs)
		if err == nil {
			if seen[real] {
				return
			}
			seen[real] = true
		}
		if depth > 64 {
			errs = append(errs, errAt(Pos{File: relOrDot(rel)}, "folders nest too deeply (more than 64 levels)"))
			return
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			errs = append(errs, errAt(Pos{File: relOrDot(rel)}, "cannot read folder: "+unwrapPath(err).Error()))
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
						errs = append(errs, errAt(Pos{File: childRel}, "cannot read file: "+unwrapPath(err).Error()))
					}
					continue
				}
				mode = fi.Mode().Type()
			}
			switch {
			case mode.IsDir():
				walk(childAbs, childRel, depth+1)
			case mode.IsRegular() && isSpecFile(name):
				out = append(out, childRel)
			}
		}
	}
	walk(dir, "", 0)
	sort.Strings(out)
	return out, errs
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

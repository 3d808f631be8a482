package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	tree := Walk(dir)
	for _, e := range tree.Errs {
		errs = append(errs, e)
	}
	for _, rel := range tree.Files {
		data, err := ReadFile(dir, rel)
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

// ReadFile reads the spec file rel below dir, at most 32 MiB. Its errors
// start "cannot read file" and never carry the absolute path (positions
// name the file).
func ReadFile(dir, rel string) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
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

package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
)

// MaxFileSize bounds the size of one spec file. The YAML node tree costs up
// to ~220 bytes of resident memory per input byte for the densest inputs (a
// flow list of one-character items), so 1 MiB (Kubernetes' ConfigMap limit
// too) keeps loading one file under ~300 MB; ordinary documents cost 12-45x.
const MaxFileSize = 1 << 20

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
	// Files are read and parsed in parallel, one per core at a time (so
	// memory stays within a core count of the per-file bound); results
	// keep the walk's order.
	type parsed struct {
		f   *File
		err error
	}
	out := make([]parsed, len(tree.Files))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, rel := range tree.Files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			data, err := ReadFile(dir, rel)
			if err != nil {
				out[i].err = errAt(Pos{File: rel}, err.Error())
				return
			}
			out[i].f, out[i].err = ParseFile(rel, data)
		}()
	}
	wg.Wait()
	for _, p := range out {
		errs = appendErrs(errs, p.err)
		if p.f != nil {
			files = append(files, p.f)
		}
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

// ReadFile reads the spec file rel below dir, at most MaxFileSize bytes. Its
// errors start "cannot read file" or name the file's size and the cap, and
// never carry the absolute path (positions name the file).
func ReadFile(dir, rel string) ([]byte, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, fmt.Errorf("cannot read file: %v", unwrapPath(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
		return nil, tooLarge(fi.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read file: %v", unwrapPath(err))
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(-1)
	}
	return data, nil
}

func tooLarge(size int64) error {
	what := fmt.Sprintf("more than %d MiB", MaxFileSize>>20)
	if size >= 0 {
		what = fmt.Sprintf("%.1f MiB (%d bytes)", float64(size)/(1<<20), size)
	}
	return fmt.Errorf("file is %s, over the %d MiB cap on a spec file; split it into several files (any *.yaml below the directory is read)", what, MaxFileSize>>20)
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

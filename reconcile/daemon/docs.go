package daemon

import (
	"crypto/sha256"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/spec"
)

// Documents are the spec directory's documents in force after a load.
type Documents struct {
	Set *spec.Set
	// Digest fingerprints Set (reconcile.Digest), to tell whether a reload changed anything.
	Digest string
	// Shares fingerprints each Provider document's share of Set
	// (reconcile.Digests), to tell which workers a change concerns.
	Shares map[string]string
	// Errors are every problem in force, each at file:line:col, sorted.
	Errors []*spec.Error
	// Stale lists files whose current content is not in force (it has
	// errors, or clashes with another file); their last valid version, if
	// any, stays in force.
	Stale []string
	// Files is how many spec files were found.
	Files int
	// Loaded is when this version was built.
	Loaded time.Time
}

// fileEntry is what the loader remembers about one file.
type fileEntry struct {
	sum    [32]byte
	parsed *spec.File    // the current content; nil when it could not be read
	errs   []*spec.Error // the current content's own problems (read or parse)
	good   *spec.File    // last version that was valid on its own and with the others
}

// loader keeps every file's last valid version, so that a file that stops
// parsing or validating keeps its documents in force.
//
// Attribution of Build errors (names, references, conflicts across files):
//  1. each error is charged to the file named by its Pos.File; a charged
//     file whose current content is newer than its last valid version is
//     put back to that version and the set is built again, until no such
//     file is left;
//  2. if errors remain in files whose content did not change (a duplicate
//     name is reported at its second occurrence in file order, which may
//     be the old document), the changed files are put back one at a time
//     (a new file is left out), keeping each step that removes such errors.
//
// What remains (e.g. a Provider removed while Recordings in other files
// still use it: no other version of those files helps) stays in force:
// the Recordings concerned drop out of the set, and the daemon then holds
// every removal (see the package doc) so their tasks are not stopped.
// Every error of every accepted step is reported, so a file put back is
// explained.
//
// A file that was never valid contributes the documents that pass their own
// checks, as `recordctl apply` would: recording more is safer than less.
type loader struct {
	dir   string
	now   func() time.Time
	files map[string]*fileEntry
	last  Documents
	walk  string // the last walk's errors, joined
}

func newLoader(dir string, now func() time.Time) *loader {
	return &loader{dir: dir, now: now, files: map[string]*fileEntry{}}
}

// load reads the files of t. It rebuilds the set when a file changed (by
// content), appeared or vanished, or when force is set; otherwise it
// returns the previous documents and false.
func (l *loader) load(t spec.Tree, force bool) (Documents, bool) {
	changed := force || l.last.Set == nil
	cur := make(map[string]*fileEntry, len(t.Files))
	for _, rel := range t.Files {
		e := l.files[rel]
		if e == nil {
			e = &fileEntry{}
			changed = true
		}
		cur[rel] = e
		data, err := spec.ReadFile(l.dir, rel)
		if err != nil {
			msg := err.Error()
			if e.parsed != nil || len(e.errs) != 1 || e.errs[0].Msg != msg {
				changed = true
			}
			e.parsed, e.sum = nil, [32]byte{}
			e.errs = []*spec.Error{{Pos: spec.Pos{File: rel}, Msg: msg}}
			continue
		}
		sum := sha256.Sum256(data)
		if e.parsed != nil && sum == e.sum {
			continue
		}
		changed = true
		f, perr := spec.ParseFile(rel, data)
		e.sum, e.parsed, e.errs = sum, f, spec.Errors(perr)
	}
	if len(cur) != len(l.files) {
		changed = true // files vanished
	}
	l.files = cur
	walk := joinErrs(t.Errs)
	if walk != l.walk {
		changed = true
		l.walk = walk
	}
	if !changed {
		return l.last, false
	}
	l.last = l.build(t)
	return l.last, true
}

// build assembles the set from every file's version in force.
func (l *loader) build(t spec.Tree) Documents {
	now := l.now()
	rels := make([]string, 0, len(l.files))
	for rel := range l.files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	cand := map[string]*spec.File{}
	for _, rel := range rels {
		e := l.files[rel]
		switch {
		case e.parsed != nil && len(e.errs) == 0:
			cand[rel] = e.parsed
		case e.good != nil:
			cand[rel] = e.good
		case e.parsed != nil:
			cand[rel] = e.parsed // never valid: its documents that passed their own checks
		}
	}
	build := func(cand map[string]*spec.File) attempt {
		files := make([]*spec.File, 0, len(cand))
		for _, rel := range rels {
			if f := cand[rel]; f != nil {
				files = append(files, f)
			}
		}
		set, err := spec.BuildAt(l.dir, files, now)
		return attempt{set, spec.Errors(err)}
	}
	cur := build(cand)
	all := append([]*spec.Error(nil), cur.errs...) // errors of every accepted attempt

	// Files charged with an error go back to their last valid version.
	for {
		again := false
		for _, be := range cur.errs {
			if e := l.files[be.Pos.File]; e != nil && e.good != nil && cand[be.Pos.File] != e.good {
				cand[be.Pos.File] = e.good
				again = true
			}
		}
		if !again {
			break
		}
		cur = build(cand)
		all = append(all, cur.errs...)
	}
	// Errors left in files that did not change (a duplicate name lands on
	// the second occurrence in file order, which may be the old one): put
	// changed files back one at a time while that removes such errors.
	if n := l.innocent(cur.errs); n > 0 {
		for _, rel := range rels {
			e := l.files[rel]
			if cand[rel] == nil || cand[rel] == e.good {
				continue
			}
			trial := maps.Clone(cand)
			if e.good != nil {
				trial[rel] = e.good
			} else {
				delete(trial, rel)
			}
			if a := build(trial); l.innocent(a.errs) < n {
				cand, cur = trial, a
				all = append(all, a.errs...)
				if n = l.innocent(a.errs); n == 0 {
					break
				}
			}
		}
	}
	charged := map[string]bool{}
	for _, be := range cur.errs {
		charged[be.Pos.File] = true
	}
	doc := Documents{Set: cur.set, Files: len(rels), Loaded: now}
	all = append(all, t.Errs...)
	for _, rel := range rels {
		e := l.files[rel]
		all = append(all, e.errs...)
		if f := cand[rel]; f != nil && f == e.parsed && len(e.errs) == 0 && !charged[rel] {
			e.good = f
		}
		if cand[rel] != e.parsed {
			doc.Stale = append(doc.Stale, rel)
		}
	}
	doc.Errors = dedupe(all)
	doc.Digest, doc.Shares = reconcile.Digests(cur.set)
	return doc
}

// attempt is one Build of candidate files.
type attempt struct {
	set  *spec.Set
	errs []*spec.Error
}

// innocent counts errors charged to files whose current content is their
// last valid version (the cause must be elsewhere).
func (l *loader) innocent(errs []*spec.Error) int {
	n := 0
	for _, be := range errs {
		if e := l.files[be.Pos.File]; e != nil && e.good != nil && e.parsed == e.good {
			n++
		}
	}
	return n
}

// dedupe sorts errors by position and drops repeats.
func dedupe(es []*spec.Error) []*spec.Error {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return es[i].Msg < es[j].Msg
	})
	out := es[:0]
	for i, e := range es {
		if i > 0 && e.Error() == es[i-1].Error() {
			continue
		}
		out = append(out, e)
	}
	return out
}

// joinErrs renders errors as one string (for comparisons).
func joinErrs(es []*spec.Error) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// loadSpec loads and validates DIR, printing every problem; invalid
// documents stop the command with exit 1.
func (g *globals) loadSpec(dir string) (*spec.Set, error) {
	if err := checkFolder(dir); err != nil {
		return nil, &exitError{code: 1, err: err}
	}
	set, err := spec.Load(dir)
	if err != nil {
		problems := spec.Errors(err)
		typedErrorPaths(dir, problems)
		for _, e := range problems {
			fmt.Fprintln(g.stderr, e.Error())
		}
		return nil, &exitError{code: 1, err: fmt.Errorf("%s: the documents are not valid (%d problem(s))", dir, len(problems))}
	}
	typedPaths(dir, set)
	if abs, err := filepath.Abs(dir); err == nil {
		set.Dir = abs
	}
	return set, nil
}

// checkFolder says plainly when DIR does not exist or is not a folder.
func checkFolder(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: folder does not exist", dir)
	case err != nil:
		return fmt.Errorf("%s: cannot read folder: %v", dir, errors.Unwrap(err))
	case !fi.IsDir():
		return fmt.Errorf("%s: not a folder (give the folder of spec files)", dir)
	}
	return nil
}

// asTyped turns a path relative to the spec folder into one relative to
// the working directory, as the user typed the folder, so that editors and
// CI problem matchers can open it.
func asTyped(dir, file string) string {
	if file == "" || filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(dir, file)
}

func typedErrorPaths(dir string, errs []*spec.Error) {
	for _, e := range errs {
		e.Pos.File = asTyped(dir, e.Pos.File)
	}
}

// typedPaths rewrites every position in set (relative to dir) as typed.
func typedPaths(dir string, set *spec.Set) {
	typedErrorPaths(dir, set.Warnings)
	for _, p := range set.Providers {
		p.Pos.File = asTyped(dir, p.Pos.File)
	}
	for _, r := range set.Recordings {
		r.Pos.File = asTyped(dir, r.Pos.File)
		if r.Spec.Schedule != nil {
			r.Spec.Schedule.Pos.File = asTyped(dir, r.Spec.Schedule.Pos.File)
		}
		for i := range r.Spec.Windows {
			r.Spec.Windows[i].Pos.File = asTyped(dir, r.Spec.Windows[i].Pos.File)
		}
	}
}

// env is what a command needs to talk to providers.
type env struct {
	eng        *reconcile.Engine
	store      state.Store // the writable store; nil for read-only commands
	closeStore func()
	emu        *emulate.Server
}

func (e *env) close() {
	if e.closeStore != nil {
		e.closeStore()
	}
	if e.emu != nil {
		e.emu.Close()
	}
}

// userAgent names recordctl and its version on every provider request.
func userAgent() string { return "recordctl/" + version }

// setup starts the emulator when asked (pointing set at it, with a loud
// banner) and builds an engine on the state store, locked when write is true.
func (g *globals) setup(set *spec.Set, write bool, lookahead time.Duration) (*env, error) {
	e := &env{}
	g.resolveStatePath()
	var store reconcile.Store
	if g.isEtcd() {
		// etcd first: an unreachable etcd must fail before anything
		// (the emulator's data folder) is created on disk.
		st, closeStore, err := g.etcdStore(set, write)
		if err != nil {
			return nil, err
		}
		store, e.closeStore = st, closeStore
		if write {
			e.store = st
		}
	}
	if g.emulate {
		srv, err := emulate.StartWithData("127.0.0.1", 0, emu.Config{}, g.emulateData())
		if err != nil {
			e.close()
			return nil, err
		}
		e.emu = srv
		if err := srv.Point(set); err != nil {
			e.close()
			return nil, err
		}
		g.banner(srv.Banner())
	}
	if g.isEtcd() {
		// opened above
	} else if write {
		st, err := state.Open(g.state)
		if err != nil {
			e.close()
			return nil, err
		}
		e.closeStore, store, e.store = func() { st.Close() }, st, st
	} else {
		if err := state.Ensure(g.state); err != nil {
			e.close()
			return nil, err
		}
		st, err := state.Read(g.state)
		if err != nil {
			e.close()
			return nil, err
		}
		store = state.ReadOnly{St: st}
	}
	e.eng = &reconcile.Engine{Store: store, Lookahead: lookahead, Log: g.logger(),
		Options: providers.Options{UserAgent: userAgent()}}
	return e, nil
}

// isTerminal reports whether r is an interactive terminal: a terminal
// device answering the terminal ioctl, not merely a character device
// (/dev/null is one, and cron, systemd and CI give it as stdin).
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// colorOn reports whether output to w may be coloured: a terminal, and
// NO_COLOR (https://no-color.org) unset or empty.
func colorOn(w any) bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && isTerminal(w)
}

// banner prints the emulator banner: as text, or as one JSON log record
// when the logs are JSON, so that the stream stays JSON throughout.
func (g *globals) banner(text string) {
	if g.logFormat == "json" {
		g.logger().Warn("EMULATOR MODE: no real cloud is called", "banner", text)
		return
	}
	fmt.Fprint(g.stderr, text)
}

// stateLocation is where a plan's state lives, for pinning: an absolute
// path for the local store, the URL as given otherwise.
func (g *globals) stateLocation() string {
	if strings.Contains(g.state, "://") {
		return g.state
	}
	if abs, err := filepath.Abs(g.state); err == nil {
		return abs
	}
	return g.state
}

// emulateStatePath is the default state with --emulate: emulator tasks must
// never be mixed into the state that tracks real cloud tasks.
const emulateStatePath = ".recordctl/emulate-state"

// resolveStatePath picks the emulator's own state when --emulate is given
// without an explicit --state.
func (g *globals) resolveStatePath() {
	if g.emulate && !g.stateSet {
		g.state = emulateStatePath
	}
}

// emulateDataDir keeps --emulate's emulator state beside the recordctl
// state, so tasks created by one --emulate command are still at the
// "provider" for the next one (apply, then plan shows no changes).
func emulateDataDir(statePath string) string {
	return filepath.Join(filepath.Dir(statePath), "emulate-data")
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

// loadSpec loads and validates DIR, printing every problem; invalid
// documents stop the command with exit 1.
func (g *globals) loadSpec(dir string) (*spec.Set, error) {
	set, err := spec.Load(dir)
	if err != nil {
		for _, e := range spec.Errors(err) {
			fmt.Fprintln(g.stderr, e.Error())
		}
		return nil, &exitError{code: 1, err: fmt.Errorf("%s: the documents are not valid (%d problem(s))", dir, len(spec.Errors(err)))}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		set.Dir = abs
	}
	return set, nil
}

// env is what a command needs to talk to providers.
type env struct {
	eng        *reconcile.Engine
	closeStore func() // nil for read-only commands
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
	if g.emulate {
		srv, err := emulate.Start("127.0.0.1", 0, providers.EmulatorConfig{})
		if err != nil {
			return nil, err
		}
		e.emu = srv
		if err := srv.Point(set); err != nil {
			srv.Close()
			return nil, err
		}
		fmt.Fprint(g.stderr, srv.Banner())
	}
	var store reconcile.Store
	if g.isEtcd() {
		st, closeStore, err := g.etcdStore(set, write)
		if err != nil {
			e.close()
			return nil, err
		}
		store, e.closeStore = st, closeStore
	} else if write {
		st, err := state.Open(g.state)
		if err != nil {
			e.close()
			return nil, err
		}
		e.closeStore, store = func() { st.Close() }, st
	} else {
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

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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

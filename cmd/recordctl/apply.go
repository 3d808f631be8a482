package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
)

func init() { commands = append(commands, newApplyCmd) }

func newApplyCmd(g *globals) *cobra.Command {
	var auto bool
	var lookahead time.Duration
	var ff filterFlags
	c := &cobra.Command{
		Use:   "apply DIR|PLANFILE",
		Short: "Create, stop and delete recording tasks until the providers match the documents",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := checkLookahead(lookahead); err != nil {
				return &exitError{code: 1, err: err}
			}
			target := args[0]
			var saved *reconcile.Plan
			dir := target
			if fi, err := os.Stat(target); err == nil && !fi.IsDir() {
				if len(ff.recordings)+len(ff.providers) > 0 {
					return &exitError{code: 1, err: errors.New("--recording and --provider narrow a plan as it is made: pass them to plan, not to apply PLANFILE")}
				}
				f, err := os.Open(target)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				saved, err = reconcile.ReadPlan(f)
				f.Close()
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("%s: %v", target, err)}
				}
				if err := g.checkPinned(saved); err != nil {
					return &exitError{code: 1, err: err}
				}
				dir = saved.Spec.Dir
			}
			// On a terminal, progress owns stderr: logs pass through it.
			tty := isTerminal(g.stderr)
			prog := newProgress(g.stderr, tty, colorOn(g.stderr), time.Now)
			g.stderr = prog
			slog.SetDefault(g.logger()) // provider packages log through the default logger
			set, err := g.loadSpec(dir)
			if err != nil {
				return err
			}
			flt, err := ff.filter(set)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if saved != nil {
				// Compare with the user's documents, before --emulate rewrites them.
				if saved.Spec.Digest != reconcile.Digest(set) {
					return &exitError{code: 1, err: errors.New("the plan is stale: the documents changed since it was made; run plan again")}
				}
				saved.Spec.Digest = ""
			}
			e, err := g.setup(set, true, lookahead)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			defer e.close()
			now := e.eng.Now()
			p := saved
			ticker := time.NewTicker(progressInterval)
			defer ticker.Stop()
			e.eng.Exec.Observe = prog.call // throttles and retries, while observing and applying
			if p == nil {
				stopObserving := prog.observe(ctx, len(set.Providers), ticker.C)
				p, err = e.eng.Plan(ctx, set, now)
				stopObserving()
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				st, err := e.eng.Store.Snapshot(ctx)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				flt.Apply(p, set, st)
				e.eng.CheckStreams(ctx, set, p)
			} else if st, err := e.eng.Store.Snapshot(ctx); err != nil {
				return &exitError{code: 1, err: err}
			} else if err := checkState(st, p); err != nil {
				return &exitError{code: 1, err: err}
			}
			if err := reconcile.WriteDiagnostics(g.stderr, p); err != nil {
				return err
			}
			if err := reconcile.WriteTextWith(g.stdout, p, reconcile.TextOptions{Color: colorOn(g.stdout)}); err != nil {
				return err
			}
			if !p.HasChanges() && len(p.Forget) == 0 {
				// Nothing to change: Apply only re-asserts open recordings and records the reconcile time.
				if _, err := e.eng.Apply(ctx, set, p); err != nil {
					return &exitError{code: 1, err: err}
				}
				return planErrors(p)
			}
			if !auto {
				if !isTerminal(g.stdin) {
					return &exitError{code: 1, err: errors.New("refusing to apply without confirmation: no terminal to ask on; pass --auto-approve")}
				}
				fmt.Fprint(g.stdout, "\nDo you want to perform these actions? Only 'yes' will be accepted: ")
				line, _ := bufio.NewReader(g.stdin).ReadString('\n')
				if strings.TrimSpace(line) != "yes" {
					return &exitError{code: 1, err: errors.New("apply cancelled")}
				}
			}
			e.eng.Exec.OnOutcome = prog.outcome
			if tty && !g.verbose {
				// The progress line and its failure lines replace the per-action log lines.
				e.eng.Log = slog.New(dropHandler{g.loggerAt(slog.LevelInfo).Handler(), "action"})
			}
			done := prog.begin(ctx, len(p.Actions), ticker.C)
			res, err := e.eng.Apply(ctx, set, p)
			done()
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if res.Err != nil {
				for _, fe := range flatten(res.Err) {
					fmt.Fprintln(g.stderr, "Error:", fe)
				}
			}
			summary := res.Summary()
			if !p.Complete {
				summary = strings.Replace(summary, "Apply complete:", "Apply incomplete:", 1)
			}
			code := ""
			switch {
			case res.Failed > 0 || res.Missed > 0 || !p.Complete:
				code = "\x1b[1;31m"
			default:
				code = "\x1b[1;32m"
			}
			if !colorOn(g.stdout) {
				code = ""
			}
			if code != "" {
				summary = code + summary + "\x1b[0m"
			}
			fmt.Fprintln(g.stdout, summary)
			if !p.Complete {
				fmt.Fprintln(g.stderr, strings.Replace(reconcile.IncompleteLine(p), "no changes shown for them", "nothing was done for them", 1))
			}
			if res.Failed > 0 || res.Missed > 0 || res.NotStarted > 0 {
				return &exitError{code: 1} // a window not recorded is a failure, whatever the cause
			}
			return planErrors(p)
		},
	}
	c.Flags().BoolVar(&auto, "auto-approve", false, "apply without asking for confirmation")
	c.Flags().DurationVar(&lookahead, "lookahead", reconcile.DefaultLookahead, "how far ahead scheduling providers get tasks (at most 6 days for tencent)")
	ff.register(c)
	return c
}

// checkPinned refuses a saved plan made for another world: the emulator
// against real providers (or the reverse), or another state store.
func (g *globals) checkPinned(p *reconcile.Plan) error {
	switch {
	case p.Emulate && !g.emulate:
		return errors.New("the plan was made with --emulate (against the built-in emulator); this apply would call the real providers: add --emulate, or make a new plan without it")
	case !p.Emulate && g.emulate:
		return errors.New("the plan was made against the real providers; this apply runs with --emulate: drop --emulate, or make a new plan with it")
	}
	g.resolveStatePath()
	if loc := g.stateLocation(); p.State.Location != "" && p.State.Location != loc {
		return fmt.Errorf("the plan was made against the state at %s; this apply uses the state at %s: pass --state %s, or make a new plan", p.State.Location, loc, p.State.Location)
	}
	return nil
}

// checkState refuses a saved plan whose state has moved on, saying whether
// it is another state (lineage) or the same one changed (serial).
func checkState(st *state.State, p *reconcile.Plan) error {
	switch {
	case p.State.Lineage == "" && st.Lineage != "":
		return fmt.Errorf("the plan is stale: it was made on an empty state, and the state has been written since (lineage %s, serial %d); make a new plan", st.Lineage, st.Serial)
	case st.Lineage != p.State.Lineage:
		return fmt.Errorf("the plan is stale: it was made against state lineage %s, this state has lineage %s (another state, or one recreated); make a new plan",
			p.State.Lineage, orEmpty(st.Lineage))
	case st.Serial != p.State.Serial:
		return fmt.Errorf("the plan is stale: the state changed since it was made (serial %d, now %d); make a new plan", p.State.Serial, st.Serial)
	}
	return nil
}

func orEmpty(s string) string {
	if s == "" {
		return "(none: the state is empty)"
	}
	return s
}

// planErrors turns planning problems (already printed with the plan) into exit 1.
func planErrors(p *reconcile.Plan) error {
	if len(p.Errors) > 0 || !p.Complete {
		return &exitError{code: 1}
	}
	return nil
}

func flatten(err error) []error {
	type multi interface{ WrappedErrors() []error }
	if m, ok := err.(multi); ok {
		return m.WrappedErrors()
	}
	return []error{err}
}

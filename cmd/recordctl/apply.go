package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/reconcile"
)

func init() { commands = append(commands, newApplyCmd) }

func newApplyCmd(g *globals) *cobra.Command {
	var auto bool
	var lookahead time.Duration
	c := &cobra.Command{
		Use:   "apply DIR|PLANFILE",
		Short: "Create, stop and delete recording tasks until the providers match the documents",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			target := args[0]
			var saved *reconcile.Plan
			dir := target
			if fi, err := os.Stat(target); err == nil && !fi.IsDir() {
				f, err := os.Open(target)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				saved, err = reconcile.ReadPlan(f)
				f.Close()
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				dir = saved.Spec.Dir
			}
			set, err := g.loadSpec(dir)
			if err != nil {
				return err
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
			if p == nil {
				if p, err = e.eng.Plan(ctx, set, now); err != nil {
					return &exitError{code: 1, err: err}
				}
				e.eng.CheckStreams(ctx, set, p)
			}
			if err := reconcile.WriteText(g.stdout, p); err != nil {
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
			res, err := e.eng.Apply(ctx, set, p)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if res.Err != nil {
				for _, fe := range flatten(res.Err) {
					fmt.Fprintln(g.stderr, "Error:", fe)
				}
			}
			fmt.Fprintln(g.stdout, res.Summary())
			if res.Failed > 0 {
				return &exitError{code: 1}
			}
			return planErrors(p)
		},
	}
	c.Flags().BoolVar(&auto, "auto-approve", false, "apply without asking for confirmation")
	c.Flags().DurationVar(&lookahead, "lookahead", reconcile.DefaultLookahead, "how far ahead scheduling providers get tasks (at most 6 days for tencent)")
	return c
}

// planErrors turns planning problems (already printed with the plan) into exit 1.
func planErrors(p *reconcile.Plan) error {
	if len(p.Errors) > 0 {
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

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/reconcile"
)

func init() { commands = append(commands, newPlanCmd) }

func newPlanCmd(g *globals) *cobra.Command {
	var at, output, out string
	var detailed bool
	var lookahead time.Duration
	c := &cobra.Command{
		Use:   "plan DIR",
		Short: "Show the recording tasks the documents imply and what would change at the providers",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("--at: %v (want RFC 3339, e.g. 2026-11-21T19:00:00+08:00)", err)}
				}
				now = t
			}
			render, err := renderer(output)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			set, err := g.loadSpec(args[0])
			if err != nil {
				return err
			}
			for _, w := range set.Warnings {
				fmt.Fprintf(g.stderr, "Warning: %s\n", w)
			}
			digest := reconcile.Digest(set) // of the user's documents, before --emulate rewrites them
			e, err := g.setup(set, false, lookahead)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			defer e.close()
			p, err := e.eng.Plan(context.Background(), set, now)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			e.eng.CheckStreams(context.Background(), set, p)
			p.Spec.Digest = digest
			if err := render(g.stdout, p); err != nil {
				return err
			}
			if out != "" {
				var buf bytes.Buffer
				if err := reconcile.WriteJSON(&buf, p); err != nil {
					return err
				}
				if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
					return &exitError{code: 1, err: err}
				}
				fmt.Fprintf(g.stderr, "Plan saved to %s; apply it with: recordctl apply %s\n", out, out)
			}
			switch {
			case len(p.Errors) > 0:
				return &exitError{code: 1}
			case detailed && p.HasChanges():
				return &exitError{code: 2}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&at, "at", "", "plan for another instant (RFC 3339)")
	f.StringVarP(&output, "output", "o", "text", "output format: text, json or markdown")
	f.StringVar(&out, "out", "", "save the plan to this file (JSON) for `recordctl apply PLANFILE`")
	f.BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are, 1 on error")
	f.DurationVar(&lookahead, "lookahead", reconcile.DefaultLookahead, "how far ahead scheduling providers get tasks (at most 6 days for tencent)")
	return c
}

func renderer(format string) (func(io.Writer, *reconcile.Plan) error, error) {
	switch format {
	case "text", "":
		return reconcile.WriteText, nil
	case "json":
		return reconcile.WriteJSON, nil
	case "markdown", "md":
		return reconcile.WriteMarkdown, nil
	}
	return nil, fmt.Errorf("-o %q: want text, json or markdown", format)
}

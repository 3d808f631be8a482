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
	"github.com/recordctl/recordctl/spec"
)

func init() { commands = append(commands, newPlanCmd) }

// filterFlags are --recording and --provider, shared by plan and apply.
type filterFlags struct {
	recordings, providers []string
}

func (f *filterFlags) register(c *cobra.Command) {
	c.Flags().StringArrayVar(&f.recordings, "recording", nil, "only the recording `NAME` (repeatable; glob patterns such as 'news-*')")
	c.Flags().StringArrayVar(&f.providers, "provider", nil, "only recordings of the Provider document `NAME` (repeatable; glob patterns)")
}

// filter checks the flags against the documents: a pattern that matches
// nothing is an error (a typo must not read as "no changes").
func (f *filterFlags) filter(set *spec.Set) (reconcile.Filter, error) {
	flt := reconcile.Filter{Recordings: f.recordings, Providers: f.providers}
	if err := flt.Validate(); err != nil {
		return flt, err
	}
	for _, pat := range f.recordings {
		if !anyMatch(pat, len(set.Recordings), func(i int) string { return set.Recordings[i].Metadata.Name }) {
			return flt, fmt.Errorf("--recording %q matches no recording in the documents", pat)
		}
	}
	for _, pat := range f.providers {
		if !anyMatch(pat, len(set.Providers), func(i int) string { return set.Providers[i].Metadata.Name }) {
			return flt, fmt.Errorf("--provider %q matches no Provider document", pat)
		}
	}
	return flt, nil
}

func anyMatch(pat string, n int, name func(int) string) bool {
	f := reconcile.Filter{Recordings: []string{pat}}
	for i := 0; i < n; i++ {
		if f.Keep(name(i), "") {
			return true
		}
	}
	return false
}

// parseAt reads --at.
func parseAt(at string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return t, fmt.Errorf("--at %q: want an RFC 3339 time with a zone, such as 2026-11-21T19:00:00+08:00 or 2026-11-21T11:00:00Z", at)
	}
	return t, nil
}

// checkLookahead rejects a lookahead that is not a positive duration.
func checkLookahead(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--lookahead %s: want a positive duration such as 24h (tencent allows at most 144h)", d)
	}
	return nil
}

func newPlanCmd(g *globals) *cobra.Command {
	var at, output, out, base string
	var detailed bool
	var lookahead time.Duration
	var ff filterFlags
	c := &cobra.Command{
		Use:   "plan DIR",
		Short: "Show the recording tasks the documents imply and what would change at the providers",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			if at != "" {
				t, err := parseAt(at)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				now = t
			}
			if err := checkLookahead(lookahead); err != nil {
				return &exitError{code: 1, err: err}
			}
			render, err := renderer(output, colorOn(g.stdout))
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if err := checkBase(output, base); err != nil {
				return err
			}
			set, err := g.loadSpec(args[0])
			if err != nil {
				return err
			}
			for _, w := range set.Warnings {
				fmt.Fprintf(g.stderr, "Warning: %s\n", w)
			}
			flt, err := ff.filter(set)
			if err != nil {
				return &exitError{code: 1, err: err}
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
			st, err := e.eng.Store.Snapshot(context.Background())
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			flt.Apply(p, set, st)
			e.eng.CheckStreams(context.Background(), set, p)
			p.Spec.Digest = digest
			p.Emulate, p.State.Location = g.emulate, g.stateLocation()
			// Diagnostics on stderr; stdout holds only the requested output.
			if err := reconcile.WriteDiagnostics(g.stderr, p); err != nil {
				return err
			}
			if err := render(g.stdout, p); err != nil {
				return err
			}
			if err := g.weekSummary(output, base, set, now); err != nil {
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
			case len(p.Errors) > 0 || !p.Complete:
				return &exitError{code: 1}
			case detailed && p.HasChanges():
				return &exitError{code: 2}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&at, "at", "", "plan for another instant (RFC 3339, e.g. 2026-11-21T19:00:00+08:00)")
	f.StringVarP(&output, "output", "o", "text", "output format: text, json or markdown")
	f.StringVar(&out, "out", "", "save the plan as JSON to this file, for recordctl apply PLANFILE")
	f.BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there are no changes, 2 when there are, 1 on error or an incomplete plan")
	f.StringVar(&base, "base", "", "with -o markdown: the documents before the change (e.g. the target branch), to list the windows it adds or removes in the next 7 days")
	f.DurationVar(&lookahead, "lookahead", reconcile.DefaultLookahead, "how far ahead scheduling providers get tasks (at most 6 days for tencent)")
	ff.register(c)
	return c
}

func renderer(format string, color bool) (func(io.Writer, *reconcile.Plan) error, error) {
	switch format {
	case "text", "":
		return func(w io.Writer, p *reconcile.Plan) error {
			return reconcile.WriteTextWith(w, p, reconcile.TextOptions{Color: color})
		}, nil
	case "json":
		return reconcile.WriteJSON, nil
	case "markdown", "md":
		return reconcile.WriteMarkdown, nil
	}
	return nil, fmt.Errorf("-o %q: want text, json or markdown", format)
}

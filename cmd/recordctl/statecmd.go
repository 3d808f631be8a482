package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

func init() { commands = append(commands, newStateCmd) }

func newStateCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "state", Short: "Inspect what recordctl manages"}
	var output string
	var all bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List managed tasks: recording, window, provider, handle, status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g.resolveStatePath()
			st, err := g.readState(cmd.Context(), g.state) // a path or etcd:// (etcd.go)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			recs := st.Records
			if !all {
				recs = st.Live()
			}
			sort.SliceStable(recs, func(i, j int) bool { return recs[i].Key < recs[j].Key })
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Lineage string          `json:"lineage"`
					Serial  uint64          `json:"serial"`
					Records []*state.Record `json:"records"`
				}{st.Lineage, st.Serial, recs})
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "RECORDING\tWINDOW\tPROVIDER\tSTREAM\tTASK\tSTATUS\tTIMES (UTC)\tNOTE")
			for _, r := range recs {
				task, status := "-", string(r.Phase)
				if r.Task != nil {
					task = r.Task.ID
					if r.Phase == state.Active && r.Task.Status != "" {
						status = string(r.Task.Status)
					}
				}
				if r.Phase == state.Waiting {
					status = "waiting-for-stream"
				}
				note := r.Reason
				if r.Task != nil && len(r.Task.Files) > 0 {
					note = strings.TrimSpace(note + " files: " + strings.Join(r.Task.Files, ","))
				}
				times := r.Start.UTC().Format("01-02 15:04:05") + "-" + r.End.UTC().Format("01-02 15:04:05")
				if r.Start.Equal(spec.ContinuousStart) {
					times = "continuous"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Recording, r.Key, r.Provider, r.Stream, task, status, times, note)
			}
			tw.Flush()
			fmt.Fprintf(g.stdout, "%d managed task(s); state serial %d, last reconcile %s\n", len(recs), st.Serial, lastRun(st.LastReconcile))
			return nil
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	list.Flags().BoolVar(&all, "all", false, "include finished history (kept 7 days)")
	c.AddCommand(list)
	c.AddCommand(newStateMigrateCmd(g)) // statemigrate.go
	return c
}

func lastRun(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

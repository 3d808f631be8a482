package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/spec"
)

func init() { commands = append(commands, newStateCmd) }

// recordView is a state record as `state list/show -o json` print it: no
// null lists, no zero times (absent instead).
type recordView struct {
	ID        string      `json:"id"`
	Key       string      `json:"key"`
	Window    string      `json:"window"`
	Recording string      `json:"recording"`
	Provider  string      `json:"provider"`
	Type      string      `json:"type"`
	Stream    spec.Stream `json:"stream"`
	Start     time.Time   `json:"start,omitzero"`
	End       time.Time   `json:"end,omitzero"`
	Phase     state.Phase `json:"phase"`
	Intent    string      `json:"intent,omitempty"`
	Reason    string      `json:"reason,omitempty"`
	Task      *taskView   `json:"task,omitempty"`
	Created   time.Time   `json:"created,omitzero"`
	Updated   time.Time   `json:"updated,omitzero"`
	Live      *liveView   `json:"live,omitempty"`
}

type taskView struct {
	ID      string            `json:"id"`
	Handle  map[string]string `json:"handle,omitempty"`
	Start   time.Time         `json:"start,omitzero"`
	End     time.Time         `json:"end,omitzero"`
	Stopped time.Time         `json:"stopped,omitzero"`
	// Status is the last status recordctl learned, not the provider's now (see live).
	Status providers.Status `json:"last_known_status,omitempty"`
	Files  []string         `json:"files,omitempty"`
}

// liveView is what the provider said just now (state list --live).
type liveView struct {
	Status providers.Status `json:"status"`
	Error  string           `json:"error,omitempty"`
}

func viewOf(r *state.Record) recordView {
	v := recordView{ID: r.ID, Key: r.Key, Window: r.Window, Recording: r.Recording, Provider: r.Provider, Type: r.Type,
		Stream: r.Stream, Start: r.Start, End: r.End, Phase: r.Phase, Intent: r.Intent, Reason: r.Reason,
		Created: r.Created, Updated: r.Updated}
	if t := r.Task; t != nil {
		v.Task = &taskView{ID: t.ID, Handle: t.Handle, Start: t.Start, End: t.End, Stopped: t.Stopped, Status: t.Status, Files: t.Files}
	}
	return v
}

// stateDoc is `state list/show -o json`.
type stateDoc struct {
	Location      string       `json:"location"`
	Lineage       string       `json:"lineage,omitempty"`
	Serial        uint64       `json:"serial"`
	LastReconcile time.Time    `json:"last_reconcile,omitzero"`
	Records       []recordView `json:"records"`
}

func newStateCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "state", Short: "Inspect and edit what recordctl manages (list, show, rm, import)"}
	c.AddCommand(newStateListCmd(g), newStateShowCmd(g), newStateRmCmd(g), newStateImportCmd(g))
	c.AddCommand(newStateMigrateCmd(g)) // statemigrate.go
	return c
}

// readState reads the state without locking it (reading never blocks a writer).
func (g *globals) readState() (*state.State, error) {
	g.resolveStatePath()
	if g.isEtcd() {
		return g.readStateAt(context.Background(), g.state) // etcd.go
	}
	return state.Read(g.state)
}

func newStateListCmd(g *globals) *cobra.Command {
	var output, dir string
	var all, live bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List managed tasks: recording, window, provider, handle, status (last known, or --live from the providers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return &exitError{code: 1, err: fmt.Errorf("-o %q: want text or json", output)}
			}
			st, err := g.readState()
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			recs := st.Records
			if !all {
				recs = st.Live()
			}
			sort.SliceStable(recs, func(i, j int) bool { return recs[i].Key < recs[j].Key })
			views := make([]recordView, 0, len(recs))
			for _, r := range recs {
				views = append(views, viewOf(r))
			}
			var observeErr error
			if live {
				observeErr = g.observeLive(dir, st, views)
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(stateDoc{Location: g.stateLocation(), Lineage: st.Lineage, Serial: st.Serial, LastReconcile: st.LastReconcile, Records: views}); err != nil {
					return err
				}
			} else {
				writeStateTable(g.stdout, views, live)
				fmt.Fprintf(g.stdout, "%d managed task(s); state serial %d, last reconcile %s\n", len(views), st.Serial, lastRun(st.LastReconcile))
				if !live {
					fmt.Fprintln(g.stderr, "Statuses are as last known to recordctl; --live asks the providers.")
				}
			}
			if observeErr != nil {
				return &exitError{code: 1, err: observeErr}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	c.Flags().BoolVar(&all, "all", false, "include finished history (kept 7 days)")
	c.Flags().BoolVar(&live, "live", false, "ask the providers for each task's status now (needs the documents: --dir)")
	c.Flags().StringVar(&dir, "dir", ".", "the spec folder (for --live: the Provider documents to ask)")
	return c
}

func writeStateTable(w io.Writer, views []recordView, live bool) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	status := "LAST KNOWN STATUS"
	if live {
		status = "STATUS NOW"
	}
	fmt.Fprintf(tw, "RECORDING\tWINDOW\tPROVIDER\tSTREAM\tTASK\t%s\tTIMES (UTC)\tNOTE\n", status)
	for _, v := range views {
		task, st := "-", string(v.Phase)
		if v.Task != nil {
			task = v.Task.ID
			if v.Phase == state.Active && v.Task.Status != "" {
				st = string(v.Task.Status)
			}
		}
		if v.Phase == state.Waiting {
			st = "waiting-for-stream"
		}
		note := v.Reason
		if v.Live != nil {
			st = string(v.Live.Status)
			if v.Live.Error != "" {
				note = strings.TrimSpace("could not ask: " + v.Live.Error + " " + note)
			}
		}
		if v.Task != nil && len(v.Task.Files) > 0 {
			note = strings.TrimSpace(note + " files: " + strings.Join(v.Task.Files, ","))
		}
		times := v.Start.UTC().Format("01-02 15:04:05") + "-" + v.End.UTC().Format("01-02 15:04:05")
		if v.Start.Equal(spec.ContinuousStart) {
			times = "continuous"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Recording, v.Key, v.Provider, v.Stream, task, st, times, note)
	}
	tw.Flush()
}

// observeLive asks each provider about the listed records' tasks and fills
// their Live field: the provider's status, "gone" when a provider that can
// list does not list it, "unknown" when the provider cannot tell. It
// returns an error when any provider could not be asked.
func (g *globals) observeLive(dir string, st *state.State, views []recordView) error {
	set, err := g.loadSpec(dir)
	if err != nil {
		return err
	}
	e, err := g.setup(set, false, reconcile.DefaultLookahead)
	if err != nil {
		return err
	}
	defer e.close()
	now := time.Now()
	obs, errs := e.eng.Observe(context.Background(), set, st, now)
	byID := map[string]providers.Task{}
	for _, ts := range obs {
		for _, t := range ts {
			byID[t.ID] = t
		}
	}
	var failed []string
	for name, err := range errs {
		failed = append(failed, fmt.Sprintf("%s: %v", name, err))
	}
	sort.Strings(failed)
	for i := range views {
		v := &views[i]
		prov := set.Provider(v.Provider)
		switch {
		case prov == nil:
			v.Live = &liveView{Status: providers.StatusUnknown, Error: "provider " + v.Provider + " is not in the documents"}
		case errs[v.Provider] != nil:
			v.Live = &liveView{Status: providers.StatusUnknown, Error: errs[v.Provider].Error()}
		case v.Task == nil:
			v.Live = &liveView{Status: providers.StatusUnknown, Error: "no task handle recorded"}
		default:
			if t, ok := byID[v.Task.ID]; ok {
				v.Live = &liveView{Status: t.Status}
			} else if reconcile.RegisteredCaps(prov.Spec.Type).CanList && v.Phase.Live() {
				v.Live = &liveView{Status: providers.StatusGone}
			} else {
				v.Live = &liveView{Status: providers.StatusUnknown}
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not observe %d provider(s): %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

func newStateShowCmd(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "show KEY",
		Short: "Show everything the state holds for one window piece (KEY as in state list, or a record id)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return &exitError{code: 1, err: fmt.Errorf("-o %q: want text or json", output)}
			}
			st, err := g.readState()
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			recs := findRecords(st, args[0])
			if len(recs) == 0 {
				return &exitError{code: 1, err: fmt.Errorf("no record for %s in the state at %s (see recordctl state list --all)", args[0], g.state)}
			}
			views := make([]recordView, 0, len(recs))
			for _, r := range recs {
				views = append(views, viewOf(r))
			}
			if output == "json" {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(stateDoc{Location: g.stateLocation(), Lineage: st.Lineage, Serial: st.Serial, LastReconcile: st.LastReconcile, Records: views})
			}
			for i, v := range views {
				if i > 0 {
					fmt.Fprintln(g.stdout)
				}
				writeRecord(g.stdout, v)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return c
}

// findRecords returns the records whose key or id is key, live ones first.
func findRecords(st *state.State, key string) []*state.Record {
	var out []*state.Record
	for _, r := range st.Records {
		if r.Key == key || r.ID == key {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Phase.Live() && !out[j].Phase.Live() })
	return out
}

func writeRecord(w io.Writer, v recordView) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	row := func(k, val string) {
		if val != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, val)
		}
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	row("key", v.Key)
	row("record", v.ID)
	row("recording", v.Recording)
	row("window", v.Window)
	row("provider", v.Provider+" ("+v.Type+")")
	row("stream", v.Stream.String())
	row("start", ts(v.Start))
	row("end", ts(v.End))
	row("phase", string(v.Phase))
	row("intent", v.Intent)
	row("reason", v.Reason)
	if t := v.Task; t != nil {
		row("task", t.ID)
		keys := make([]string, 0, len(t.Handle))
		for k := range t.Handle {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row("  "+k, t.Handle[k])
		}
		row("task start", ts(t.Start))
		row("task end", ts(t.End))
		row("stopped", ts(t.Stopped))
		row("last known status", string(t.Status))
		row("files", strings.Join(t.Files, ", "))
	}
	row("created", ts(v.Created))
	row("updated", ts(v.Updated))
	tw.Flush()
}

// confirm asks on a terminal, as apply does; without one it refuses unless
// auto is set.
func (g *globals) confirm(auto bool, question string) error {
	if auto {
		return nil
	}
	if !isTerminal(g.stdin) {
		return errors.New("refusing without confirmation: no terminal to ask on; pass --auto-approve")
	}
	fmt.Fprintf(g.stdout, "\n%s Only 'yes' will be accepted: ", question)
	line, _ := bufio.NewReader(g.stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return errors.New("cancelled")
	}
	return nil
}

func newStateRmCmd(g *globals) *cobra.Command {
	var auto bool
	c := &cobra.Command{
		Use:   "rm KEY",
		Short: "Forget a window piece's records without touching the provider (its task keeps running)",
		Long: `rm removes every record of KEY (a window piece as in state list, or a record id)
from the state. Nothing is sent to the provider: the task keeps running there,
and recordctl no longer manages it. The next plan lists it as unmanaged where
the provider can list, and plans a new task for a window still wanted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g.resolveStatePath()
			key := args[0]
			ctx := context.Background()
			st, closeSt, err := g.openRW(ctx, g.state, g.providersOf(key)) // statemigrate.go: a locked file, or etcd under leadership
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			defer closeSt()
			snap, err := st.Snapshot(ctx)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			recs := findRecords(snap, key)
			if len(recs) == 0 {
				return &exitError{code: 1, err: fmt.Errorf("no record for %s in the state at %s (see recordctl state list --all)", key, g.state)}
			}
			for _, r := range recs {
				task := "-"
				if r.Task != nil {
					task = r.Task.ID
				}
				fmt.Fprintf(g.stdout, "- forget %s %s %s task %s (%s)\n", r.Key, r.Provider, r.Stream, task, r.Phase)
			}
			if err := g.confirm(auto, fmt.Sprintf("Forget %d record(s)? The provider is not called; its tasks keep running.", len(recs))); err != nil {
				return &exitError{code: 1, err: err}
			}
			ids := map[string]bool{}
			for _, r := range recs {
				ids[r.ID] = true
			}
			n := 0
			if err := st.Update(ctx, func(tx *state.Tx) error {
				n = 0
				for id := range ids {
					if tx.Get(id) != nil {
						tx.Drop(id)
						n++
					}
				}
				return nil
			}); err != nil {
				return &exitError{code: 1, err: err}
			}
			after, err := st.Snapshot(ctx)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if left := findRecords(after, key); len(left) > 0 || n != len(recs) {
				return &exitError{code: 1, err: fmt.Errorf("state rm: %d record(s) of %s are still in the state", len(left), key)}
			}
			fmt.Fprintf(g.stdout, "Removed %d record(s) of %s from the state; nothing was sent to the provider.\n", n, key)
			return nil
		},
	}
	c.Flags().BoolVar(&auto, "auto-approve", false, "remove without asking for confirmation")
	return c
}

func newStateImportCmd(g *globals) *cobra.Command {
	var dir string
	var lookahead time.Duration
	c := &cobra.Command{
		Use:   "import RECORDING@WINDOW TASK-ID",
		Short: "Adopt a task by hand: look it up at the provider, check it matches the window, record it",
		Long: `import records TASK-ID as the task of the window piece RECORDING@WINDOW (a key as
plan and state list show it, e.g. news@2026-11-21T11:00:00Z). The task is looked
up at the provider first: it must exist, record the recording's stream, end when
the piece ends and start inside it. Only providers that can list their tasks
(tencent) can be checked, so only they can import.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			key, taskID := args[0], args[1]
			if err := checkLookahead(lookahead); err != nil {
				return &exitError{code: 1, err: err}
			}
			set, err := g.loadSpec(dir)
			if err != nil {
				return err
			}
			piece, err := findPiece(set, key, lookahead)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			e, err := g.setup(set, true, lookahead)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			defer e.close()
			provs, perrs := e.eng.Providers(set)
			name := piece.Provider.Metadata.Name
			if err := perrs[name]; err != nil {
				return &exitError{code: 1, err: fmt.Errorf("provider %s: %v", name, err)}
			}
			prov := provs[name]
			if !prov.Capabilities().CanList {
				return &exitError{code: 1, err: fmt.Errorf("provider %s (%s) cannot list its tasks, so recordctl cannot check that %s exists: import works for providers that can list (tencent)", name, piece.Provider.Spec.Type, taskID)}
			}
			snap, err := e.store.Snapshot(context.Background())
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			for _, r := range snap.Live() {
				if r.Key == key {
					return &exitError{code: 1, err: fmt.Errorf("%s is already managed (record %s, %s): recordctl state rm %s first", key, r.ID, r.Phase, key)}
				}
				if r.Task != nil && r.Task.ID == taskID && r.Provider == name {
					return &exitError{code: 1, err: fmt.Errorf("task %s is already managed as %s", taskID, r.Key)}
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tasks, err := prov.List(ctx, providers.Scope{Streams: []spec.Stream{piece.Stream},
				From: piece.Start.Add(-24 * time.Hour), To: piece.End.Add(24 * time.Hour)})
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("looking %s up at %s: %v", taskID, name, err)}
			}
			var found *providers.Task
			for i := range tasks {
				if tasks[i].ID == taskID {
					found = &tasks[i]
				}
			}
			if found == nil {
				return &exitError{code: 1, err: fmt.Errorf("%s does not list a task %s for %s between %s and %s", name, taskID, piece.Stream,
					piece.Start.Add(-24*time.Hour).UTC().Format(time.RFC3339), piece.End.Add(24*time.Hour).UTC().Format(time.RFC3339))}
			}
			if err := matches(*found, piece); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("task %s does not match %s: %v", taskID, key, err)}
			}
			now := time.Now()
			t := *found
			rec := &state.Record{ID: state.NewID(), Key: piece.Key, Window: piece.Window, Recording: piece.Recording.Metadata.Name,
				Provider: name, Type: piece.Provider.Spec.Type, Stream: piece.Stream, Start: piece.Start, End: piece.End,
				Task: &t, Phase: state.Active, Reason: "imported by hand", Created: now, Updated: now}
			if err := e.store.Update(context.Background(), func(tx *state.Tx) error { tx.Put(rec); return nil }); err != nil {
				return &exitError{code: 1, err: err}
			}
			fmt.Fprintf(g.stdout, "Imported %s: task %s at %s (%s, %s).\n", key, taskID, name, t.Stream, t.Status)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", ".", "the spec folder holding the recording and its Provider")
	c.Flags().DurationVar(&lookahead, "lookahead", reconcile.DefaultLookahead, "how far ahead scheduling providers get tasks")
	return c
}

// findPiece finds the desired piece with key among the recording's windows.
func findPiece(set *spec.Set, key string, lookahead time.Duration) (*reconcile.Piece, error) {
	name, rest, ok := strings.Cut(key, "@")
	if !ok {
		return nil, fmt.Errorf("%q: want RECORDING@WINDOW, e.g. news@2026-11-21T11:00:00Z (as plan and state list show it)", key)
	}
	winStr, _, _ := strings.Cut(rest, "#")
	start, err := time.Parse(time.RFC3339, winStr)
	if err != nil {
		return nil, fmt.Errorf("%q: the window %q is not an RFC 3339 time such as 2026-11-21T11:00:00Z", key, winStr)
	}
	var rec *spec.Recording
	for _, r := range set.Recordings {
		if r.Metadata.Name == name {
			rec = r
		}
	}
	if rec == nil {
		return nil, fmt.Errorf("%q: no recording %q in the documents", key, name)
	}
	one := &spec.Set{Dir: set.Dir, Providers: set.Providers, Recordings: []*spec.Recording{rec}}
	// Later pieces of a long window come into reach day by day.
	for d := 0; d <= 7; d++ {
		at := start.Add(time.Duration(d) * 24 * time.Hour)
		for _, p := range reconcile.Desired(one, reconcile.RegisteredCaps, at, lookahead) {
			if p.Key == key {
				return &p, nil
			}
		}
	}
	return nil, fmt.Errorf("%q: recording %s has no window piece with that key", key, name)
}

// matches applies the adoption rule: same stream, same end, a start inside the piece.
func matches(t providers.Task, p *reconcile.Piece) error {
	switch {
	case t.Stream != p.Stream:
		return fmt.Errorf("it records %s, the recording's stream is %s", t.Stream, p.Stream)
	case !t.End.Equal(p.End):
		return fmt.Errorf("it ends at %s, the piece at %s", t.End.UTC().Format(time.RFC3339), p.End.UTC().Format(time.RFC3339))
	case t.Start.Before(p.Start) || !t.Start.Before(p.End):
		return fmt.Errorf("it starts at %s, outside the piece %s-%s", t.Start.UTC().Format(time.RFC3339),
			p.Start.UTC().Format(time.RFC3339), p.End.UTC().Format(time.RFC3339))
	}
	switch t.Status {
	case providers.StatusFinished, providers.StatusStopped, providers.StatusFailed, providers.StatusGone:
		return fmt.Errorf("it is %s", t.Status)
	}
	return nil
}

func lastRun(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

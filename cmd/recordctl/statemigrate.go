package main

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/reconcile/ha"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
)

func newStateMigrateCmd(g *globals) *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "migrate --from STATE --to STATE",
		Short: "Copy every record from one state to another (local path or etcd://), refusing a target that is not empty",
		Long: `migrate copies the whole state (live tasks and history) from --from to --to,
each a local path or an etcd://host:port/prefix URL. Stop every daemon first: on
etcd, migrate takes the leadership of the providers it moves on both sides and
fails, naming the holder, when something else holds it. The target must be
empty. The copy gets a new lineage, so plans saved before the move are refused
after it; the source is left as it was.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return &exitError{code: 1, err: errors.New("state migrate needs --from and --to")}
			}
			if from == to {
				return &exitError{code: 1, err: errors.New("--from and --to are the same state")}
			}
			n, err := g.migrate(cmd.Context(), from, to)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			fmt.Fprintf(g.stdout, "Migrated %d record(s) from %s to %s.\n", n, from, to)
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "the state to copy (path or etcd://host:port/prefix)")
	c.Flags().StringVar(&to, "to", "", "the empty state to copy it to (path or etcd://host:port/prefix)")
	return c
}

// openRW opens loc for writing: a locked local store, or etcd under the
// leadership of providers (bounded wait).
func (g *globals) openRW(ctx context.Context, loc string, providers []string) (state.Store, func(), error) {
	if !etcdstate.IsURL(loc) {
		st, err := state.Open(loc)
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	}
	saved := g.state
	g.state = loc
	st, err := g.openEtcd(ctx, nil)
	g.state = saved
	if err != nil {
		return nil, nil, err
	}
	held, err := ha.Acquire(ctx, ha.Config{Store: st, TTL: g.etcd.leaseTTL, Identity: identity("state migrate")}, providers, g.etcd.leaderWait)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return held.Store(), func() { held.Release(); st.Close() }, nil
}

func (g *globals) migrate(ctx context.Context, from, to string) (int, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	pre, err := g.readStateAt(ctx, from)
	if err != nil {
		return 0, fmt.Errorf("--from: %w", err)
	}
	if len(pre.Records) == 0 && pre.Serial == 0 {
		return 0, fmt.Errorf("--from %s: no state there (nothing to migrate)", from)
	}
	provs := map[string]bool{}
	for _, r := range pre.Records {
		provs[r.Provider] = true
	}
	var names []string
	for p := range provs {
		names = append(names, p)
	}
	sort.Strings(names)
	src, closeSrc, err := g.openRW(ctx, from, names)
	if err != nil {
		return 0, fmt.Errorf("--from: %w", err)
	}
	defer closeSrc()
	st, err := src.Snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("--from: %w", err)
	}
	if len(st.Records) == 0 && st.Serial == 0 {
		return 0, fmt.Errorf("--from %s: no state there (nothing to migrate)", from)
	}
	dst, closeDst, err := g.openRW(ctx, to, names)
	if err != nil {
		return 0, fmt.Errorf("--to: %w", err)
	}
	defer closeDst()
	cur, err := dst.Snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("--to: %w", err)
	}
	if len(cur.Records) > 0 || cur.Serial > 0 {
		return 0, fmt.Errorf("--to %s is not empty (serial %d, %d record(s)); migrate only into an empty state", to, cur.Serial, len(cur.Records))
	}
	if err := dst.Update(ctx, func(tx *state.Tx) error {
		for _, r := range st.Records {
			tx.Put(r)
		}
		if !st.LastReconcile.IsZero() {
			tx.SetLastReconcile(st.LastReconcile)
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("--to: %w", err)
	}
	// Verify what the target holds now, before saying it worked.
	got, err := dst.Snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("--to: %w", err)
	}
	if len(got.Records) != len(st.Records) {
		return 0, fmt.Errorf("--to %s holds %d record(s) after the copy, not %d", to, len(got.Records), len(st.Records))
	}
	for _, r := range st.Records {
		if got.Find(r.ID) == nil {
			return 0, fmt.Errorf("--to %s: record %s missing after the copy", to, r.ID)
		}
	}
	return len(st.Records), nil
}

// providersOf names the providers of the records of key (state rm on etcd
// takes their leadership; nil for a local state, which needs none).
func (g *globals) providersOf(key string) []string {
	if !g.isEtcd() {
		return nil
	}
	st, err := g.readState()
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range findRecords(st, key) {
		if !seen[r.Provider] {
			seen[r.Provider] = true
			out = append(out, r.Provider)
		}
	}
	return out
}

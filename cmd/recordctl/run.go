package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/daemon"
	"github.com/recordctl/recordctl/spec"
)

func init() { commands = append(commands, newRunCmd) }

// runFlags are `recordctl run`'s own flags.
type runFlags struct {
	listen        string
	resync        time.Duration
	lookahead     time.Duration
	allowMassStop bool
}

func newRunCmd(g *globals) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run DIR",
		Short: "Reconcile continuously: watch DIR, wake at window edges and on the resync tick, serve /healthz /readyz /metrics",
		Long: `run reconciles DIR at once and then whenever something may have changed: the next
window edge of a recording, a change under DIR (debounced; atomic saves and
Kubernetes ConfigMap updates included), the resync tick, or SIGHUP.

A file that stops parsing or validating keeps its last valid version in force.
Stops and deletes because documents vanished are held while any document has an
error, and when they exceed half of the live managed tasks (unless
--allow-mass-stop). SIGTERM or SIGINT: no new action starts, calls under way
finish, the state is saved, exit 0; recordings keep running.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return g.runDaemon(ctx, args[0], f)
		},
	}
	c.Flags().StringVar(&f.listen, "listen", daemon.DefaultListen, "address for /healthz, /readyz and /metrics (empty: none)")
	c.Flags().DurationVar(&f.resync, "resync", daemon.DefaultResync, "re-list every provider this long after the last reconcile (0: never)")
	c.Flags().DurationVar(&f.lookahead, "lookahead", reconcile.DefaultLookahead, "how far ahead scheduling providers get tasks (at most 6 days for tencent)")
	c.Flags().BoolVar(&f.allowMassStop, "allow-mass-stop", false, "let a reconcile stop or delete more than half of the running tasks because their documents vanished")
	return c
}

// runDaemon runs the daemon on dir until ctx ends; SIGHUP forces a reload
// and a reconcile.
func (g *globals) runDaemon(ctx context.Context, dir string, f runFlags) error {
	if err := checkFolder(dir); err != nil {
		return &exitError{code: 1, err: err}
	}
	if err := checkLookahead(f.lookahead); err != nil {
		return &exitError{code: 1, err: err}
	}
	if f.resync < 0 {
		return &exitError{code: 1, err: fmt.Errorf("--resync %s: want a positive duration such as 1m, or 0 for never", f.resync)}
	}
	if g.isEtcd() {
		return g.runHA(ctx, dir, f) // etcd.go, runha.go
	}
	e, err := g.setup(&spec.Set{}, true, f.lookahead)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	defer e.close()
	resync := f.resync
	if resync == 0 {
		resync = -1 // the flag's 0 means never; the Config's 0 means the default
	}
	b := currentBuild()
	cfg := daemon.Config{Dir: dir, Engine: e.eng, Log: e.eng.Log, Resync: resync, Listen: f.listen, AllowMassStop: f.allowMassStop,
		Registry: daemon.NewRegistry(daemon.BuildInfo{Version: b.Version, Revision: b.Revision, GoVersion: b.GoVersion})}
	if e.emu != nil {
		cfg.Prepare = e.emu.Point
	}
	return serveDaemon(ctx, cfg)
}

// serveDaemon runs a daemon on cfg until ctx ends; SIGHUP forces a reload
// and a reconcile.
func serveDaemon(ctx context.Context, cfg daemon.Config) error {
	d, err := daemon.New(cfg)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				d.Trigger()
			}
		}
	}()
	if err := d.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return &exitError{code: 1, err: err}
	}
	return nil
}

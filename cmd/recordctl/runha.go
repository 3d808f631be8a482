package main

import (
	"context"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/daemon"
	"github.com/recordctl/recordctl/reconcile/ha"
)

// runHA is `recordctl run` on an etcd state: the daemon campaigns for every
// Provider document of dir (one election per provider, ha.Elector) and
// runs a worker for each it wins, every state write fenced on that
// leadership; a replica that leads more than its fair share hands the
// excess over, and one that loses a leadership stops that worker and
// stands by for it again. SIGTERM resigns at once so another replica takes
// over without waiting for the lease to expire. An etcd it cannot reach
// ends it with exit 1.
func (g *globals) runHA(ctx context.Context, dir string, f runFlags) error {
	log := g.logger()
	b := currentBuild()
	reg := daemon.NewRegistry(daemon.BuildInfo{Version: b.Version, Revision: b.Revision, GoVersion: b.GoVersion})
	m := ha.NewMetrics(reg)
	st, err := g.openEtcd(ctx, m)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	defer st.Close()
	var emuSrv *emulate.Server
	if g.emulate {
		if emuSrv, err = emulate.StartWithData("127.0.0.1", 0, emu.Config{}, g.emulateData()); err != nil {
			return &exitError{code: 1, err: err}
		}
		defer emuSrv.Close()
		g.banner(emuSrv.Banner())
	}
	el, err := ha.New(ctx, ha.Config{Store: st, TTL: g.etcd.leaseTTL, Identity: identity("run"), Replica: true, Log: log, Metrics: m})
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	defer el.Close()
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-el.Lost():
			cancel()
		case <-dctx.Done():
		}
	}()
	eng := &reconcile.Engine{Store: st, Lookahead: f.lookahead, Log: log, Options: providers.Options{UserAgent: userAgent()}}
	resync := f.resync
	if resync == 0 {
		resync = -1
	}
	cfg := daemon.Config{Dir: dir, Engine: eng, Log: log, Elector: el, Resync: resync, Listen: f.listen,
		AllowMassStop: f.allowMassStop, Registry: reg}
	if emuSrv != nil {
		cfg.Prepare = emuSrv.Point
	}
	if err := serveDaemon(dctx, cfg); err != nil {
		return err
	}
	if ctx.Err() == nil && dctx.Err() != nil { // etcd could not be reached to renew the session
		return &exitError{code: 1, err: el.Err()}
	}
	return nil
}

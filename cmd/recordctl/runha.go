package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/emulate"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/reconcile/daemon"
	"github.com/recordctl/recordctl/reconcile/ha"
)

// runHA is `recordctl run` on an etcd state: it stands by until it leads
// every Provider document of dir, reconciles with every state write fenced
// on that leadership, and stands by again when it loses it. SIGTERM
// resigns at once so another replica takes over without waiting for the
// lease to expire. An etcd it cannot reach ends it with exit 1.
//
// Until the daemon runs one worker per provider (the Elector seam), a
// replica leads all providers of its documents at once: active/standby.
func (g *globals) runHA(ctx context.Context, dir string, f runFlags) error {
	log := g.logger()
	m := ha.NewMetrics(prometheus.NewRegistry())
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
	for {
		set, err := g.loadSpec(dir)
		if err != nil {
			return err
		}
		names := providerNames(set)
		stopStandby, err := serveStandby(f.listen, m, names)
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		log.Info("standing by for the leadership of every provider", "providers", strings.Join(names, ","))
		held, err := ha.Acquire(ctx, ha.Config{Store: st, TTL: g.etcd.leaseTTL, Identity: identity("run"), Log: log, Metrics: m},
			names, time.Duration(1<<62))
		stopStandby()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return &exitError{code: 1, err: err}
		}
		log.Info("leading", "providers", strings.Join(held.Providers(), ","))
		err = g.serveLeading(ctx, dir, f, held, m, emuSrv)
		held.Release()
		if ctx.Err() != nil {
			log.Info("resigned every leadership on shutdown")
			return err
		}
		if err != nil {
			return err
		}
		log.Warn("leadership lost: no further provider call; standing by again")
	}
}

// serveLeading runs the daemon until ctx ends or a leadership is lost.
func (g *globals) serveLeading(ctx context.Context, dir string, f runFlags, held *ha.Held, m *ha.Metrics, emuSrv *emulate.Server) error {
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-held.Lost():
			cancel()
		case <-dctx.Done():
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(m.Collectors()...)
	eng := &reconcile.Engine{Store: held.Store(), Lookahead: f.lookahead, Log: g.logger(),
		Options: providers.Options{UserAgent: userAgent()}}
	resync := f.resync
	if resync == 0 {
		resync = -1
	}
	cfg := daemon.Config{Dir: dir, Engine: eng, Log: eng.Log, Resync: resync, Listen: f.listen, AllowMassStop: f.allowMassStop,
		Registry: reg, Leading: held.Providers}
	if emuSrv != nil {
		cfg.Prepare = emuSrv.Point
	}
	d, err := daemon.New(cfg)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	if err := d.Run(dctx); err != nil && !errors.Is(err, context.Canceled) {
		return &exitError{code: 1, err: err}
	}
	return nil
}

// serveStandby answers /healthz, /readyz and /metrics while this replica
// leads nothing. It returns a function that stops it.
func serveStandby(listen string, m *ha.Metrics, providers []string) (func(), error) {
	if listen == "" {
		return func() {}, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.Collectors()...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		// A standby replica is ready: it is healthy and will take over.
		fmt.Fprintln(w, "ready")
		fmt.Fprintln(w, "standby: leading no provider; waiting for "+strings.Join(providers, ", "))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	var ln net.Listener
	var err error
	for range 50 { // the daemon's listener may still be closing
		if ln, err = net.Listen("tcp", listen); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

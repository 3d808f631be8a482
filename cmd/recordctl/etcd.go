package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/recordctl/recordctl/reconcile/ha"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
	"github.com/recordctl/recordctl/spec"
)

// etcdFlags are the flags of a --state etcd://... store.
type etcdFlags struct {
	tls         etcdstate.TLSFiles
	dialTimeout time.Duration
	leaseTTL    time.Duration
	leaderWait  time.Duration
}

func (g *globals) addEtcdFlags(pf *pflag.FlagSet) {
	pf.StringVar(&g.etcd.tls.CACert, "etcd-cacert", "", "etcds://: CA bundle to verify etcd with (a path, or env:NAME holding PEM)")
	pf.StringVar(&g.etcd.tls.Cert, "etcd-cert", "", "etcds://: client certificate (a path, or env:NAME holding PEM)")
	pf.StringVar(&g.etcd.tls.Key, "etcd-key", "", "etcds://: client key (a path, or env:NAME holding PEM)")
	pf.DurationVar(&g.etcd.dialTimeout, "etcd-timeout", etcdstate.DefaultDialTimeout, "how long to wait for etcd to answer before giving up")
	pf.DurationVar(&g.etcd.leaseTTL, "lease-ttl", ha.DefaultTTL, "etcd: leadership of a replica that stops renewing it ends this long after (whole seconds)")
	pf.DurationVar(&g.etcd.leaderWait, "leader-wait", 10*time.Second, "etcd: how long plan and apply wait for the leadership of their providers")
}

// isEtcd reports whether --state names an etcd store (or any URL, which
// must then be one).
func (g *globals) isEtcd() bool { return etcdstate.IsURL(g.state) }

// openEtcd connects to the etcd store --state names: a clear error, and
// nothing on disk, for any other URL or an etcd that does not answer.
func (g *globals) openEtcd(ctx context.Context, metrics *ha.Metrics) (*etcdstate.Store, error) {
	tg, err := etcdstate.Parse(g.state)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := g.etcd.tls.Config(tg)
	if err != nil {
		return nil, err
	}
	if g.etcd.leaseTTL < time.Second {
		return nil, errors.New("--lease-ttl must be at least 1s")
	}
	return etcdstate.Open(ctx, tg, tlsCfg, g.etcd.dialTimeout, etcdstate.Options{OnFenced: metrics.Fenced})
}

// providerNames are the Provider documents of set.
func providerNames(set *spec.Set) []string {
	var out []string
	for _, p := range set.Providers {
		out = append(out, p.Metadata.Name)
	}
	return out
}

// etcdStore opens the etcd state for plan (write false: a snapshot read
// under the leadership of set's providers) or apply (write true: a store
// fenced on that leadership until close).
func (g *globals) etcdStore(set *spec.Set, write bool) (state.Store, func(), error) {
	ctx := context.Background()
	st, err := g.openEtcd(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	held, err := ha.Acquire(ctx, ha.Config{Store: st, TTL: g.etcd.leaseTTL, Identity: identity(map[bool]string{true: "apply", false: "plan"}[write])}, providerNames(set), g.etcd.leaderWait)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	release := func() {
		held.Release()
		st.Close()
	}
	if write {
		return held.Store(), release, nil
	}
	snap, err := held.Store().Snapshot(ctx)
	release()
	if err != nil {
		return nil, nil, err
	}
	return state.ReadOnly{St: snap}, func() {}, nil
}

// readStateAt reads the whole state (state list, migrate): a local path or etcd.
func (g *globals) readStateAt(ctx context.Context, loc string) (*state.State, error) {
	if !etcdstate.IsURL(loc) {
		return state.Read(loc)
	}
	saved := g.state
	g.state = loc
	defer func() { g.state = saved }()
	st, err := g.openEtcd(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.Snapshot(ctx)
}

// identity is the value of this process's election keys, shown to
// whoever waits for the leadership.
func identity(cmd string) string {
	h, _ := os.Hostname()
	return fmt.Sprintf("recordctl %s on %s (pid %d)", cmd, h, os.Getpid())
}

// emulateData is where --emulate keeps the emulator's tasks: beside a
// local state, or in .recordctl/emulate-data-etcd for an etcd state (a URL
// is no folder).
func (g *globals) emulateData() string {
	if g.isEtcd() {
		return filepath.Join(".recordctl", "emulate-data-etcd")
	}
	return emulateDataDir(g.state)
}

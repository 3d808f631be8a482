package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/recordctl/recordctl/reconcile/state/etcdstate/etcdtest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func readyz(addr string) string {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// logEvents is a replica's log: every line written wakes the waiters.
type logEvents struct {
	mu      sync.Mutex
	changed chan struct{}
}

func newLogEvents() *logEvents { return &logEvents{changed: make(chan struct{})} }

func (l *logEvents) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *logEvents) next() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// waitReady checks /readyz of a replica each time it logs (it logs every
// leadership change and reconcile) until /readyz says want.
func waitReady(t *testing.T, r *haReplica, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		next := r.log.next()
		if strings.Contains(readyz(r.addr), want) {
			return
		}
		select {
		case <-next:
		case <-deadline:
			t.Fatalf("%s/readyz never said %q; last: %q", r.addr, want, readyz(r.addr))
		}
	}
}

type haReplica struct {
	addr   string
	log    *logEvents
	cancel context.CancelFunc
	done   chan error
}

func startHA(t *testing.T, endpoint, prefix, docs string) *haReplica {
	t.Helper()
	r := &haReplica{addr: freeAddr(t), log: newLogEvents(), done: make(chan error, 1)}
	g := &globals{state: "etcd://" + endpoint + prefix, emulate: true, logFormat: "text", stdout: io.Discard, stderr: r.log,
		etcd: etcdFlags{dialTimeout: 5 * time.Second, leaseTTL: time.Second, leaderWait: time.Second}}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		r.done <- g.runHA(ctx, docs, runFlags{listen: r.addr, resync: time.Minute, lookahead: 24 * time.Hour})
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *haReplica) stop(t *testing.T) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
		return nil
	}
}

// Two `run` replicas on one etcd: one leads, the other stands by. When the
// leader loses its lease while still running (paused, partitioned), it
// stands by again and the other takes over; SIGTERM (cancel) ends both
// with exit 0.
func TestRunOnEtcdStandsByAndTakesOver(t *testing.T) {
	srv := sharedEtcd(t)
	t.Chdir(t.TempDir()) // --emulate keeps the emulator's data under .recordctl
	docs := writeDocs(t)
	a := startHA(t, srv.Endpoint, "/run-ha", docs)
	waitReady(t, a, "leading: tencent-gz")
	b := startHA(t, srv.Endpoint, "/run-ha", docs)
	waitReady(t, b, "standby")
	// A's lease is lost behind its back.
	cli := srv.Client(t)
	resp, err := cli.Get(context.Background(), "/run-ha/leader/tencent-gz/", append(clientv3.WithFirstCreate(), clientv3.WithPrefix())...)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("no leader key: %v", err)
	}
	if _, err := cli.Revoke(context.Background(), clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	waitReady(t, b, "leading: tencent-gz")
	waitReady(t, a, "standby")
	for _, r := range []*haReplica{a, b} {
		if err := r.stop(t); err != nil {
			t.Errorf("run after cancel: %v", err)
		}
	}
}

// A replica whose etcd goes away loses its lease and, unable to campaign
// again, exits 1 saying so.
func TestRunExitsWhenEtcdIsGone(t *testing.T) {
	dir := t.TempDir()
	own, err := etcdtest.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	docs := writeDocs(t)
	a := startHA(t, own.Endpoint, "/gone", docs)
	waitReady(t, a, "leading: tencent-gz")
	own.Close()
	select {
	case err := <-a.done:
		a.cancel = nil
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(err.Error(), "etcd") {
			t.Fatalf("run after etcd went away: %v, want exit 1 naming etcd", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run kept going without etcd")
	}
}

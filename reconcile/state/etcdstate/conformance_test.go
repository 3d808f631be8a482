package etcdstate_test

import (
	"context"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/recordctl/recordctl/reconcile/ha"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
	"github.com/recordctl/recordctl/reconcile/state/statetest"
)

// The etcd store passes the conformance suite every Store must pass, as
// recordctl uses it: opened under the leadership of the store's provider
// (so a second writer waits, then fails), fenced on its election key.
func TestEtcdConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) statetest.Backend {
		return &etcdBackend{prefix: srv.Prefix("conf"), held: map[state.Store]*held{}}
	})
}

type held struct {
	cli *clientv3.Client
	h   *ha.Held
}

type etcdBackend struct {
	prefix string
	held   map[state.Store]*held
}

// Open is a process starting: its own client, Init, the leadership of the
// one provider (waiting briefly: a second writer fails to open).
func (b *etcdBackend) Open(t *testing.T) (state.Store, error) {
	ctx := context.Background()
	cli := srv.Client(t)
	st := etcdstate.New(cli, b.prefix, etcdstate.Options{})
	if err := st.Init(ctx); err != nil {
		return nil, err
	}
	h, err := ha.Acquire(ctx, ha.Config{Store: st, TTL: time.Second, Identity: "conformance"}, []string{"p"}, 300*time.Millisecond)
	if err != nil {
		return nil, err
	}
	s := h.Store()
	b.held[s] = &held{cli: cli, h: h}
	return s, nil
}

// Crash: the process dies; its lease expires (revoked here at once, as the
// TTL would a moment later).
func (b *etcdBackend) Crash(t *testing.T, s state.Store) {
	h := b.held[s]
	h.h.Crash()
	b.revoke(t, s)
}

// Fence: the lease is lost (expired while paused) but the process runs on.
func (b *etcdBackend) Fence(t *testing.T, s state.Store) { b.revoke(t, s) }

func (b *etcdBackend) revoke(t *testing.T, s state.Store) {
	ctx := context.Background()
	resp, err := srv.Client(t).Get(ctx, b.prefix+"/leader/p/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if _, err := srv.Client(t).Revoke(ctx, clientv3.LeaseID(kv.Lease)); err != nil {
			t.Fatal(err)
		}
	}
}

// FailWrites raises etcd's NOSPACE alarm (its full disk): every write is
// refused until it is disarmed.
func (b *etcdBackend) FailWrites(t *testing.T, s state.Store) (func(), bool) {
	ctx := context.Background()
	id := uint64(srv.E.Server.MemberID())
	if _, err := srv.E.Server.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: id, Alarm: pb.AlarmType_NOSPACE}); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := srv.Client(t).AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: id, Alarm: pb.AlarmType_NOSPACE}); err != nil {
			t.Fatal(err)
		}
	}, true
}

// DamageTail: etcd's transactions are atomic; there is no tail to tear.
func (b *etcdBackend) DamageTail(t *testing.T, torn bool) bool { return false }

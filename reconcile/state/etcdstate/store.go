// Package etcdstate keeps recordctl's state in etcd: one key per record
// under <prefix>/state/records/, the lineage, serial and last reconcile in
// <prefix>/state/meta, both changed in one transaction per Update. A Store
// obtained from Fenced conditions every write on election keys (the
// fencing token: their create revisions), so a writer that lost its
// leadership gets state.ErrFenced instead of a write.
package etcdstate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/recordctl/recordctl/reconcile/state"
)

// DefaultMaxTxnOps is etcd's default --max-txn-ops.
const DefaultMaxTxnOps = 128

// maxTxnBytes keeps one transaction well under etcd's default
// --max-request-bytes (1.5 MiB).
const maxTxnBytes = 1 << 20

// Fence is one election key a write is conditioned on: it must still exist
// with the create revision it had when leadership was won.
type Fence struct {
	Key string
	Rev int64
	// Name says whose leadership it is (the Provider document), for errors.
	Name string
}

// Store is the etcd state store. Its zero value is not usable; see New.
type Store struct {
	cli    *clientv3.Client
	prefix string
	// MaxTxnOps bounds the operations of one transaction (etcd's
	// --max-txn-ops). A change larger than that is written as consecutive
	// transactions, each atomic and each bumping the serial.
	maxOps int
	c      *cache
	fence  []Fence
	// onFenced is called once per refused write (metrics).
	onFenced func()
	closeFn  func() error
	closed   *atomic.Bool // this view's Close was called
}

// cache is the state as of meta's mod revision rev, shared by a store and
// its fenced views. mu also serialises this process's writes.
type cache struct {
	mu     sync.Mutex
	st     *state.State
	rev    int64 // meta's ModRevision the cache reflects; 0 with no meta key
	loaded bool
}

// meta is the value of <prefix>/state/meta.
type meta struct {
	Version       int       `json:"version"`
	Lineage       string    `json:"lineage"`
	Serial        uint64    `json:"serial"`
	LastReconcile time.Time `json:"last_reconcile,omitempty"`
}

// Options tune New.
type Options struct {
	// MaxTxnOps: 0 means DefaultMaxTxnOps.
	MaxTxnOps int
	// OnFenced is called for every write refused because a fence no longer holds.
	OnFenced func()
	// Close is called by Close (e.g. to close the client New was given).
	Close func() error
}

// New returns a store over cli under prefix (no trailing slash; keys are
// prefix+"/state/..."). It reads nothing yet.
func New(cli *clientv3.Client, prefix string, o Options) *Store {
	if o.MaxTxnOps <= 1 {
		o.MaxTxnOps = DefaultMaxTxnOps
	}
	return &Store{cli: cli, prefix: strings.TrimRight(prefix, "/"), maxOps: o.MaxTxnOps,
		c: &cache{}, onFenced: o.OnFenced, closeFn: o.Close, closed: new(atomic.Bool)}
}

// Prefix is the key prefix the store was opened with.
func (s *Store) Prefix() string { return s.prefix }

// Client is the etcd client.
func (s *Store) Client() *clientv3.Client { return s.cli }

func (s *Store) metaKey() string    { return s.prefix + "/state/meta" }
func (s *Store) recordsKey() string { return s.prefix + "/state/records/" }

// Fenced returns a view of s whose writes also require every fence to
// hold. It shares s's client and cache; its Close does nothing.
func (s *Store) Fenced(fences ...Fence) *Store {
	v := *s
	v.fence = append(append([]Fence(nil), s.fence...), fences...)
	v.closeFn, v.closed = nil, new(atomic.Bool)
	return &v
}

// OnClose returns s with f called by its Close (a fenced view that
// releases its leadership when closed).
func (s *Store) OnClose(f func() error) *Store {
	v := *s
	v.closeFn, v.closed = f, new(atomic.Bool)
	return &v
}

// Init gives a new store its lineage (serial 0), so that a plan made on an
// empty state names it; an existing store is left as it is.
func (s *Store) Init(ctx context.Context) error {
	b, err := json.Marshal(meta{Version: 1, Lineage: state.NewID()})
	if err != nil {
		return err
	}
	_, err = s.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(s.metaKey()), "=", 0)).
		Then(clientv3.OpPut(s.metaKey(), string(b))).Commit()
	if err != nil {
		return fmt.Errorf("state: initialising etcd (%s): %w", s.prefix, err)
	}
	return nil
}

// Close releases the store (the client, when it owns one); later writes
// through this view are refused with state.ErrFenced.
func (s *Store) Close() error {
	s.closed.Store(true)
	if s.closeFn != nil {
		f := s.closeFn
		s.closeFn = nil
		return f()
	}
	return nil
}

// Snapshot reads the state (linearizable): only meta when the cache is
// current, everything when another writer changed it.
func (s *Store) Snapshot(ctx context.Context) (*state.State, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	return s.c.st.Clone(), nil
}

// refresh makes the cache current. Callers hold c.mu.
func (s *Store) refresh(ctx context.Context) error {
	resp, err := s.cli.Get(ctx, s.metaKey())
	if err != nil {
		return s.readErr(err)
	}
	var rev int64
	if len(resp.Kvs) > 0 {
		rev = resp.Kvs[0].ModRevision
	}
	if s.c.loaded && rev == s.c.rev {
		return nil
	}
	return s.load(ctx, resp)
}

// load reads meta and every record at the revision of metaResp.
func (s *Store) load(ctx context.Context, metaResp *clientv3.GetResponse) error {
	st := &state.State{Version: 1}
	var rev int64
	if len(metaResp.Kvs) > 0 {
		var m meta
		if err := json.Unmarshal(metaResp.Kvs[0].Value, &m); err != nil {
			return fmt.Errorf("state: etcd key %s is corrupt: %v", s.metaKey(), err)
		}
		if m.Version > 1 {
			return fmt.Errorf("state: etcd key %s: version %d is newer than this recordctl understands", s.metaKey(), m.Version)
		}
		st.Lineage, st.Serial, st.LastReconcile = m.Lineage, m.Serial, m.LastReconcile
		rev = metaResp.Kvs[0].ModRevision
	}
	type kv struct {
		create int64
		r      *state.Record
	}
	var recs []kv
	at := metaResp.Header.Revision
	from, end := s.recordsKey(), clientv3.GetPrefixRangeEnd(s.recordsKey())
	for {
		resp, err := s.cli.Get(ctx, from, clientv3.WithRange(end), clientv3.WithRev(at), clientv3.WithLimit(2000))
		if err != nil {
			return s.readErr(err)
		}
		for _, x := range resp.Kvs {
			var r state.Record
			if err := json.Unmarshal(x.Value, &r); err != nil {
				return fmt.Errorf("state: etcd key %s is corrupt: %v", x.Key, err)
			}
			recs = append(recs, kv{x.CreateRevision, &r})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	// Records in the order they were first written, as the local store keeps them.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].create < recs[j].create })
	st.Records = make([]*state.Record, len(recs))
	for i, x := range recs {
		st.Records[i] = x.r
	}
	s.c.st, s.c.rev, s.c.loaded = st, rev, true
	return nil
}

func (s *Store) readErr(err error) error {
	return fmt.Errorf("state: reading etcd (%s): %w", s.prefix, err)
}

// op is one record change, encoded.
type op struct {
	put  *state.Record
	val  []byte
	drop string
}

// Update runs fn over the current state and writes what it changed in one
// transaction conditioned on meta being unchanged since the state fn saw
// (another writer: reload and run fn again) and on every fence (else
// state.ErrFenced). A change too large for one transaction is written in
// consecutive ones.
func (s *Store) Update(ctx context.Context, fn func(*state.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return &state.FencedError{Reason: "the store was closed"}
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	var pending []op
	var last *time.Time
	started, written := false, false
	for attempt := 0; ; attempt++ {
		if attempt > 0 || !s.c.loaded {
			s.c.loaded = false
			if err := s.refresh(ctx); err != nil {
				return err
			}
		}
		if !started {
			tx := state.NewTx(s.c.st)
			if err := fn(tx); err != nil {
				return err
			}
			ch := tx.Changes()
			if ch.Empty() {
				return nil
			}
			pending = pending[:0]
			for _, r := range ch.Put {
				b, err := json.Marshal(r)
				if err != nil {
					return fmt.Errorf("state: %w", err)
				}
				pending = append(pending, op{put: r, val: b})
			}
			for _, id := range ch.Drop {
				pending = append(pending, op{drop: id})
			}
			last, started = ch.LastReconcile, true
		}
		for {
			n, size := 0, 0
			for n < len(pending) && n < s.maxOps-1 && (n == 0 || size+len(pending[n].val) < maxTxnBytes) {
				size += len(pending[n].val) + 256
				n++
			}
			final := n == len(pending)
			var lr *time.Time
			if final {
				lr = last
			}
			ok, err := s.commit(ctx, pending[:n], lr)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			written = true
			pending = pending[n:]
			if final {
				return nil
			}
		}
		// Another writer changed the state: run fn again on it, unless part
		// of a split write is durable already (then write the rest).
		if !written {
			started = false
		}
		if attempt >= 20 {
			return fmt.Errorf("state: etcd (%s): gave up after %d writes conflicting with other replicas", s.prefix, attempt+1)
		}
	}
}

// commit writes ops (and lr, if set) with meta in one transaction. It
// returns false when meta changed meanwhile (another writer), and
// state.ErrFenced when a fence no longer holds. Callers hold c.mu.
func (s *Store) commit(ctx context.Context, ops []op, lr *time.Time) (bool, error) {
	st := s.c.st
	m := meta{Version: 1, Lineage: st.Lineage, Serial: st.Serial + 1, LastReconcile: st.LastReconcile}
	if m.Lineage == "" {
		m.Lineage = state.NewID()
	}
	if lr != nil {
		m.LastReconcile = *lr
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("state: %w", err)
	}
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.metaKey()), "=", s.c.rev)}
	var elseOps []clientv3.Op
	for _, f := range s.fence {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(f.Key), "=", f.Rev))
		elseOps = append(elseOps, clientv3.OpGet(f.Key, clientv3.WithKeysOnly()))
	}
	then := make([]clientv3.Op, 0, len(ops)+1)
	for _, o := range ops {
		if o.put != nil {
			then = append(then, clientv3.OpPut(s.recordsKey()+o.put.ID, string(o.val)))
		} else {
			then = append(then, clientv3.OpDelete(s.recordsKey()+o.drop))
		}
	}
	then = append(then, clientv3.OpPut(s.metaKey(), string(mb)))
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(then...).Else(elseOps...).Commit()
	if err != nil {
		// The outcome is unknown: read everything again next time.
		s.c.loaded = false
		return false, fmt.Errorf("state: writing etcd (%s): %w", s.prefix, err)
	}
	if !resp.Succeeded {
		for i, f := range s.fence {
			kvs := resp.Responses[i].GetResponseRange().Kvs
			if len(kvs) == 0 || kvs[0].CreateRevision != f.Rev {
				if s.onFenced != nil {
					s.onFenced()
				}
				holder := "nobody"
				if len(kvs) > 0 {
					holder = "a newer campaign"
				}
				return false, &state.FencedError{Reason: fmt.Sprintf("leadership of %s was lost (election key %s rev %d is gone; %s holds it now)", f.Name, f.Key, f.Rev, holder)}
			}
		}
		return false, nil
	}
	c := state.Changes{LastReconcile: lr}
	for _, o := range ops {
		if o.put != nil {
			c.Put = append(c.Put, o.put)
		} else {
			c.Drop = append(c.Drop, o.drop)
		}
	}
	st.Apply(c)
	st.Version, st.Lineage, st.Serial = 1, m.Lineage, m.Serial
	s.c.rev = resp.Header.Revision
	return true, nil
}

// IsEmpty reports whether the store holds no record and was never written.
func (s *Store) IsEmpty(ctx context.Context) (bool, error) {
	st, err := s.Snapshot(ctx)
	if err != nil {
		return false, err
	}
	return len(st.Records) == 0 && st.Serial == 0, nil
}

var _ state.Store = (*Store)(nil)

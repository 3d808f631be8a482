// Package ha lets several recordctl replicas share the providers on etcd:
// one concurrency.Election per Provider document under
// <prefix>/leader/<Provider name>, every replica registered under
// <prefix>/replicas/ on its session's lease, and a fair share: a replica
// that leads more than ⌈providers/replicas⌉ hands the excess over. Writes
// through a Lease's Store are fenced on the election key's create revision.
package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/recordctl/recordctl/internal/clock"
	"github.com/recordctl/recordctl/reconcile/daemon"
	"github.com/recordctl/recordctl/reconcile/state"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
)

// DefaultTTL is the default lease TTL (--lease-ttl).
const DefaultTTL = 10 * time.Second

// Config configures an Elector.
type Config struct {
	// Store is the state on etcd; leases hand out fenced views of it, and
	// its client and prefix carry the election.
	Store *etcdstate.Store
	// TTL of the session lease (whole seconds, at least 1): leadership of
	// a replica that stops refreshing it ends this long after.
	TTL time.Duration
	// Identity is the value of this replica's election keys (shown as the
	// holder in errors); default "<host> pid <pid>".
	Identity string
	// Replica registers this process under <prefix>/replicas/ and spreads
	// load (recordctl run). apply and plan leave it false.
	Replica bool
	// Balance is how often a replica compares what it leads with its fair
	// share (default TTL/2).
	Balance time.Duration
	// Clock drives the balance checks and hand-over waits (default real).
	Clock   clock.Clock
	Log     *slog.Logger
	Metrics *Metrics
}

// Elector campaigns for providers on etcd. It implements daemon.Elector.
type Elector struct {
	cfg    Config
	cli    *clientv3.Client
	prefix string
	ttl    int
	clk    clock.Clock
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	sess    *concurrency.Session
	leases  map[string]*Lease // provider -> current leadership
	lost    chan struct{}     // closed when etcd cannot be reached to renew a session
	lostErr error
	closed  bool
}

var _ daemon.Elector = (*Elector)(nil)

// New starts a session (and, for a replica, registers it). It fails when
// etcd does not answer.
func New(ctx context.Context, cfg Config) (*Elector, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	ttl := int(math.Ceil(cfg.TTL.Seconds()))
	if cfg.Identity == "" {
		host, _ := os.Hostname()
		cfg.Identity = fmt.Sprintf("%s pid %d", host, os.Getpid())
	}
	if cfg.Balance <= 0 {
		cfg.Balance = time.Duration(ttl) * time.Second / 2
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	e := &Elector{cfg: cfg, cli: cfg.Store.Client(), prefix: cfg.Store.Prefix(), ttl: ttl,
		clk: clock.Or(cfg.Clock), log: cfg.Log, leases: map[string]*Lease{}, lost: make(chan struct{})}
	e.ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if _, err := e.session(ctx); err != nil {
		e.cancel()
		return nil, err
	}
	if cfg.Replica {
		e.wg.Add(1)
		go e.balanceLoop()
	}
	return e, nil
}

// Identity is the value this replica campaigns with.
func (e *Elector) Identity() string { return e.cfg.Identity }

// Lost is closed when the elector gave up reaching etcd (a replica then exits).
func (e *Elector) Lost() <-chan struct{} { return e.lost }

// Err says why Lost closed.
func (e *Elector) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lostErr
}

// session returns the live session, making a new one (and registering the
// replica on it) when the last one ended. A session that cannot be made
// within 3 TTLs means etcd is unreachable: Lost closes.
func (e *Elector) session(ctx context.Context) (*concurrency.Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("ha: elector closed")
	}
	if e.sess != nil {
		select {
		case <-e.sess.Done():
		default:
			return e.sess, nil
		}
	}
	if e.lostErr != nil {
		return nil, e.lostErr
	}
	// The grant is bounded (an unreachable etcd is an error, not a hang);
	// the session's keep-alive then lives as long as the elector.
	cctx, cancel := context.WithTimeout(ctx, 3*time.Duration(e.ttl)*time.Second)
	defer cancel()
	var s *concurrency.Session
	g, err := e.cli.Grant(cctx, int64(e.ttl))
	if err == nil {
		s, err = concurrency.NewSession(e.cli, concurrency.WithTTL(e.ttl), concurrency.WithLease(g.ID), concurrency.WithContext(e.ctx))
	}
	if err == nil && e.cfg.Replica {
		_, err = e.cli.Put(cctx, e.prefix+"/replicas/"+fmt.Sprintf("%x", s.Lease()), e.cfg.Identity, clientv3.WithLease(s.Lease()))
		if err != nil {
			s.Close()
		}
	}
	if err != nil {
		if e.sess != nil && ctx.Err() == nil { // a replica that had a session and cannot get another
			e.lostErr = fmt.Errorf("ha: etcd unreachable, cannot renew leadership: %w", err)
			close(e.lost)
		}
		return nil, fmt.Errorf("ha: starting an etcd session: %w", err)
	}
	e.sess = s
	return s, nil
}

func (e *Elector) electionPrefix(provider string) string { return e.prefix + "/leader/" + provider }

// Campaign blocks until this process leads provider (or ctx ends). A
// leadership of provider still held (handed over, its worker stopped) is
// resigned first, so the new campaign queues behind the other replicas.
func (e *Elector) Campaign(ctx context.Context, provider string) (daemon.Lease, error) {
	l, err := e.campaign(ctx, provider)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (e *Elector) campaign(ctx context.Context, provider string) (*Lease, error) {
	if strings.Contains(provider, "/") {
		return nil, fmt.Errorf("ha: provider name %q may not contain /", provider)
	}
	e.mu.Lock()
	old := e.leases[provider]
	e.mu.Unlock()
	if old != nil {
		_ = old.Resign(ctx)
	}
	for {
		s, err := e.session(ctx)
		if err != nil {
			return nil, err
		}
		el := concurrency.NewElection(s, e.electionPrefix(provider))
		cctx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(s.Ctx(), cancel)
		err = el.Campaign(cctx, e.cfg.Identity)
		stop()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			select {
			case <-s.Done(): // the session ended while waiting: campaign on a new one
				continue
			default:
			}
			return nil, fmt.Errorf("ha: campaign for %s: %w", provider, err)
		}
		select {
		case <-s.Done():
			continue
		default:
		}
		l := &Lease{e: e, provider: provider, el: el, key: el.Key(), rev: el.Rev(), sess: s, done: make(chan struct{}), resigned: make(chan struct{}),
			store: e.cfg.Store.Fenced(etcdstate.Fence{Key: el.Key(), Rev: el.Rev(), Name: provider})}
		e.mu.Lock()
		e.leases[provider] = l
		e.mu.Unlock()
		e.cfg.Metrics.won(provider)
		e.log.Info("leading provider", "provider", provider, "key", el.Key(), "rev", el.Rev())
		e.wg.Add(1)
		go l.watch()
		return l, nil
	}
}

// Leading lists the providers this replica leads now, sorted.
func (e *Elector) Leading() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for p, l := range e.leases {
		if !l.isDone() {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Holder returns the identity of provider's current leader ("" when none).
func (e *Elector) Holder(ctx context.Context, provider string) (string, error) {
	resp, err := e.cli.Get(ctx, e.electionPrefix(provider)+"/", append(clientv3.WithFirstCreate(), clientv3.WithPrefix())...)
	if err != nil {
		return "", err
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// Close resigns every leadership and revokes the session, so the other
// replicas take over at once (SIGTERM).
func (e *Elector) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	leases := make([]*Lease, 0, len(e.leases))
	for _, l := range e.leases {
		leases = append(leases, l)
	}
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(e.ttl)*time.Second)
	defer cancel()
	for _, l := range leases {
		_ = l.Resign(ctx)
	}
	e.mu.Lock()
	e.closed = true
	s := e.sess
	e.mu.Unlock()
	var err error
	if s != nil {
		// Revoking the session only tidies up (the leaderships are
		// resigned above); an etcd that is gone must not hold the exit.
		done := make(chan error, 1)
		go func() { done <- s.Close() }()
		select {
		case err = <-done:
		case <-ctx.Done():
			err = fmt.Errorf("revoking the etcd session: no answer within %s", time.Duration(e.ttl)*time.Second)
		}
	}
	e.cancel()
	e.wg.Wait()
	return err
}

// balanceLoop hands over one leadership per check while this replica
// leads more than its fair share and another replica waits for it.
func (e *Elector) balanceLoop() {
	defer e.wg.Done()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-e.clk.After(e.cfg.Balance):
		}
		if err := e.balance(e.ctx); err != nil && e.ctx.Err() == nil {
			e.log.Warn("fair-share check failed", "error", err.Error())
		}
	}
}

// Share is this replica's fair share of providers: ⌈providers/replicas⌉,
// counting the providers with a candidate and the registered replicas.
func (e *Elector) share(ctx context.Context) (share int, waiting map[string]int, err error) {
	lresp, err := e.cli.Get(ctx, e.prefix+"/leader/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return 0, nil, err
	}
	rresp, err := e.cli.Get(ctx, e.prefix+"/replicas/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, nil, err
	}
	waiting = map[string]int{}
	for _, kv := range lresp.Kvs {
		rest := strings.TrimPrefix(string(kv.Key), e.prefix+"/leader/")
		if i := strings.LastIndex(rest, "/"); i > 0 {
			waiting[rest[:i]]++
		}
	}
	r := max(int(rresp.Count), 1)
	return (len(waiting) + r - 1) / r, waiting, nil
}

func (e *Elector) balance(ctx context.Context) error {
	share, cands, err := e.share(ctx)
	if err != nil {
		return err
	}
	leading := e.Leading()
	if len(leading) <= share {
		return nil
	}
	// Hand over the last (by name) provider that another replica waits for.
	for i := len(leading) - 1; i >= 0; i-- {
		p := leading[i]
		if cands[p] < 2 {
			continue
		}
		e.mu.Lock()
		l := e.leases[p]
		e.mu.Unlock()
		if l == nil {
			continue
		}
		e.log.Info("handing a provider over to spread load", "provider", p, "leading", len(leading), "fair_share", share)
		l.handOver()
		return nil
	}
	return nil
}

// Lease is leadership of one provider. It implements daemon.Lease.
type Lease struct {
	e        *Elector
	provider string
	el       *concurrency.Election
	key      string // the election key and its create revision (the
	rev      int64  // fencing token), kept: el forgets them on Resign
	sess     *concurrency.Session
	store    *etcdstate.Store

	once     sync.Once
	done     chan struct{}
	rOnce    sync.Once
	resigned chan struct{}
	reason   string
}

var _ daemon.Lease = (*Lease)(nil)

// Store is the state with every write fenced on this leadership.
func (l *Lease) Store() state.Store { return l.store }

// Done closes when leadership ends (lost, resigned, or handed over).
func (l *Lease) Done() <-chan struct{} { return l.done }

// Key and Rev are the election key and its create revision (the fencing token).
func (l *Lease) Key() string { return l.key }
func (l *Lease) Rev() int64  { return l.rev }

// Provider is the Provider document led.
func (l *Lease) Provider() string { return l.provider }

func (l *Lease) isDone() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *Lease) end(reason string) {
	l.once.Do(func() {
		l.reason = reason
		close(l.done)
		l.e.cfg.Metrics.ended(l.provider, reason)
		if reason != "resigned" {
			l.e.log.Warn("leadership ended", "provider", l.provider, "reason", reason)
		}
	})
}

// Resign ends the leadership and deletes the election key, so a waiting
// replica takes over at once.
func (l *Lease) Resign(ctx context.Context) error {
	l.end("resigned")
	var err error
	l.rOnce.Do(func() {
		err = l.el.Resign(ctx)
		close(l.resigned)
		l.e.mu.Lock()
		if l.e.leases[l.provider] == l {
			delete(l.e.leases, l.provider)
		}
		l.e.mu.Unlock()
	})
	return err
}

// handOver closes Done so the worker stops, then resigns when the worker's
// owner does (Resign, or a new Campaign) or one TTL later at the latest:
// calls under way finish and are recorded before another replica starts.
func (l *Lease) handOver() {
	l.end("handover")
	l.e.wg.Add(1)
	go func() {
		defer l.e.wg.Done()
		t := l.e.clk.NewTimer(time.Duration(l.e.ttl) * time.Second)
		defer t.Stop()
		select {
		case <-l.resigned:
		case <-t.C():
			ctx, cancel := context.WithTimeout(l.e.ctx, time.Duration(l.e.ttl)*time.Second)
			_ = l.Resign(ctx)
			cancel()
		case <-l.e.ctx.Done():
		}
	}()
}

// watch ends the leadership when the session ends or the election key is
// deleted (lease expired, key removed by hand).
func (l *Lease) watch() {
	defer l.e.wg.Done()
	ctx, cancel := context.WithCancel(l.e.ctx)
	defer cancel()
	wch := l.e.cli.Watch(clientv3.WithRequireLeader(ctx), l.key, clientv3.WithRev(l.rev+1), clientv3.WithFilterPut())
	for {
		select {
		case <-l.done:
			return
		case <-l.sess.Done():
			l.end("lease expired")
			return
		case <-ctx.Done():
			return
		case wr, ok := <-wch:
			if !ok || wr.Canceled {
				if ctx.Err() != nil {
					return
				}
				wch = l.e.cli.Watch(clientv3.WithRequireLeader(ctx), l.key, clientv3.WithRev(l.rev+1), clientv3.WithFilterPut())
				continue
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					l.end("election key deleted")
					return
				}
			}
		}
	}
}

package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/recordctl/recordctl/internal/clock"
	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/reconcile"
	"github.com/recordctl/recordctl/spec"
)

// Defaults for Config.
const (
	DefaultResync   = time.Minute
	DefaultReload   = 5 * time.Minute
	DefaultDebounce = 100 * time.Millisecond
	DefaultGrace    = 20 * time.Second
	DefaultListen   = "127.0.0.1:9464"
)

// Config configures a Daemon.
type Config struct {
	// Dir is the spec directory.
	Dir string
	// Engine plans and applies; its Store must be open for writing (locked).
	Engine *reconcile.Engine
	// Log receives reconcile summaries and, through the engine, one line per action.
	Log *slog.Logger
	// Clock is the daemon's time: wake-ups, resync, the instant each
	// reconcile plans for (nil: Engine.Clock, then the wall clock). The
	// engine is put on the same clock.
	Clock clock.Clock
	// Elector decides which Provider documents this process reconciles
	// (nil: Local, every provider on Engine.Store).
	Elector Elector
	// Resync re-lists every provider this long after the last reconcile
	// (0: DefaultResync; negative: never).
	Resync time.Duration
	// Reload rereads the whole directory this often, a safety net for missed
	// file events (0: DefaultReload; negative: never). Files whose content
	// (SHA-256) is unchanged are not parsed again.
	Reload time.Duration
	// Debounce gathers file events into one reload (0: DefaultDebounce).
	Debounce time.Duration
	// Grace bounds how long calls under way may take to finish on shutdown (0: DefaultGrace).
	Grace time.Duration
	// AllowMassStop lets a reconcile stop or delete more than half of the
	// live managed tasks because their documents vanished.
	AllowMassStop bool
	// Listen is the address of /healthz, /readyz and /metrics; "" serves nothing.
	Listen string
	// Prepare, if set, is called on every newly loaded set before it is
	// used (the --emulate flag points Providers at the emulator with it).
	Prepare func(*spec.Set) error
	// Registry receives the metrics (nil: a new registry with the Go and process collectors).
	Registry *prometheus.Registry
	// OnReconcile, if set, is called after every reconcile (tests, benchmarks).
	OnReconcile func(Report)
	// NoWatch disables fsnotify (the periodic reload still runs).
	NoWatch bool
}

// Report is what one reconcile of one provider did.
type Report struct {
	// Provider is the Provider document reconciled.
	Provider string
	// Trigger: start, change, edge, resync, reload or signal.
	Trigger string
	// At is the reconcile's clock reading; Took its duration.
	At   time.Time
	Took time.Duration
	// Plan is the plan as computed, before any action was held back (nil if planning failed).
	Plan *reconcile.Plan
	// Held are the stops and deletes not applied; HeldKind is HoldSpecErrors
	// or HoldMassStop and HeldReason says why in words.
	Held       []reconcile.Action
	HeldKind   string
	HeldReason string
	// NotStarted counts actions skipped because shutdown began.
	NotStarted int
	Result     *reconcile.Result
	// Err: planning failed, or the reconcile was cut short.
	Err error
	// Next is when this provider's worker wakes next (its next window
	// edge, deferred retry or resync).
	Next Edge
}

// Edge is an instant at which the desired set changes by itself.
type Edge = reconcile.Edge

func nextEdge(set *spec.Set, caps reconcile.CapsFunc, lookahead time.Duration, now, limit time.Time) Edge {
	return reconcile.NextEdge(set, caps, lookahead, now, limit)
}

// Daemon is `recordctl run`. Create it with New, then call Run once.
type Daemon struct {
	cfg     Config
	eng     *reconcile.Engine
	clk     clock.Clock
	log     *slog.Logger
	dir     string
	loader  *loader
	watch   *watcher
	ln      net.Listener
	reg     *prometheus.Registry
	m       *metrics
	trigger chan struct{}

	lagMu   sync.Mutex
	lagSeen map[string]time.Time // window pieces whose first create was measured -> piece end

	wmu     sync.Mutex // guards workers
	workers map[string]*worker
	wg      sync.WaitGroup

	mu         sync.Mutex // guards the fields below (read by HTTP handlers)
	docs       Documents
	prepErr    error
	last       map[string]*Report // by provider
	leading    map[string]bool
	observed   map[string][]providers.Task
	edge       Edge
	stopping   bool
	lastLogged map[string]string // plan errors and holds last logged per provider, to log changes only
}

// New checks cfg, fills defaults into the engine (clock, logger, metrics
// hook) and binds the HTTP listener, so a busy port fails here.
func New(cfg Config) (*Daemon, error) {
	if cfg.Engine == nil || cfg.Engine.Store == nil {
		return nil, errors.New("daemon: an Engine with an open Store is required")
	}
	if cfg.Dir == "" {
		return nil, errors.New("daemon: Dir is required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	eng := cfg.Engine
	if cfg.Log == nil {
		cfg.Log = eng.Log
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if eng.Log == nil {
		eng.Log = cfg.Log
	}
	if cfg.Clock == nil {
		cfg.Clock = eng.Clock
	}
	cfg.Clock = clock.Or(cfg.Clock)
	eng.Clock = cfg.Clock
	if cfg.Elector == nil {
		cfg.Elector = Local{Store: eng.Store}
	}
	if eng.Caps == nil {
		eng.Caps = reconcile.RegisteredCaps
	}
	if eng.Lookahead == 0 {
		eng.Lookahead = reconcile.DefaultLookahead
	}
	if cfg.Resync == 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Reload == 0 {
		cfg.Reload = DefaultReload
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	d := &Daemon{cfg: cfg, eng: eng, clk: cfg.Clock, log: cfg.Log, dir: dir, trigger: make(chan struct{}, 1),
		loader: newLoader(dir, cfg.Clock.Now), lagSeen: map[string]time.Time{}, workers: map[string]*worker{},
		last: map[string]*Report{}, leading: map[string]bool{}, observed: map[string][]providers.Task{}, lastLogged: map[string]string{}}
	eng.Exec.Grace = cfg.Grace
	d.reg = cfg.Registry
	if d.reg == nil {
		d.reg = prometheus.NewRegistry()
		registerRuntime(d.reg)
	}
	d.m = newMetrics(d.reg, d.secondsToEdge)
	prev := eng.Exec.Observe
	eng.Exec.Observe = func(a reconcile.Action, err error, took time.Duration) {
		d.observeCall(a, err, took)
		if prev != nil {
			prev(a, err, took)
		}
	}
	if cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("daemon: cannot listen on %s: %w", cfg.Listen, err)
		}
		d.ln = ln
	}
	return d, nil
}

// Addr is the HTTP listener's address ("" when Listen is empty).
func (d *Daemon) Addr() string {
	if d.ln == nil {
		return ""
	}
	return d.ln.Addr().String()
}

// Trigger asks for a full reload and a reconcile now (SIGHUP).
func (d *Daemon) Trigger() {
	select {
	case d.trigger <- struct{}{}:
	default:
	}
}

// Documents returns the documents in force.
func (d *Daemon) Documents() Documents {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.docs
}

// NextEdge returns the window edge the daemon sleeps until (zero: none before the next resync).
func (d *Daemon) NextEdge() Edge {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.edge
}

func (d *Daemon) secondsToEdge() float64 {
	e := d.NextEdge()
	if e.At.IsZero() {
		return -1
	}
	return max(e.At.Sub(d.clk.Now()).Seconds(), 0)
}

// Run reconciles at once and then whenever something may have changed,
// until ctx ends. Each Provider document this process leads (Elector) is
// reconciled by its own worker, so no provider ever waits on another. On
// shutdown no new action starts, calls under way finish (bounded by
// Config.Grace), leadership is resigned and Run returns nil; recordings
// keep running.
func (d *Daemon) Run(ctx context.Context) error {
	var srv *http.Server
	if d.ln != nil {
		srv = &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(d.ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		d.log.Info("serving /healthz, /readyz and /metrics", "listen", d.ln.Addr().String())
	}
	var events <-chan struct{}
	if !d.cfg.NoWatch {
		w, err := newWatcher(d.log, d.cfg.Debounce, func(kind string) { d.m.watch.WithLabelValues(kind).Inc() })
		if err != nil {
			d.log.Warn("cannot watch the spec directory; changes are seen at the periodic reload and resync", "error", err.Error())
		} else {
			d.watch = w
			defer w.close()
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go w.run(wctx)
			events = w.changed
		}
	}
	d.log.Info("daemon started", "dir", d.dir, "resync", durOrNever(d.cfg.Resync), "lookahead", d.eng.Lookahead,
		"allow_mass_stop", d.cfg.AllowMassStop)

	d.reload(true)
	d.computeEdge()
	d.syncWorkers(ctx)
	d.checkOrphans(ctx, "start")
	reloadT := d.clk.NewTimer(time.Hour)
	defer reloadT.Stop()
	if d.cfg.Reload > 0 {
		reloadT.Reset(d.cfg.Reload)
	} else {
		reloadT.Stop()
	}
	changed := func(kind string, only map[string]bool) {
		d.computeEdge()
		d.syncWorkers(ctx)
		d.checkOrphans(ctx, kind)
		d.kick(kind, only)
	}
	for {
		select {
		case <-ctx.Done():
			d.shutdown()
			return nil
		case <-events:
			if moved, only := d.reload(false); moved {
				changed("change", only)
			}
		case <-reloadT.C():
			if moved, only := d.reload(false); moved {
				changed("reload", only)
			}
			reloadT.Reset(d.cfg.Reload)
		case <-d.trigger:
			d.reload(true)
			changed("signal", nil)
		}
	}
}

// checkOrphans reports managed tasks of Provider documents that are no
// longer in the documents: no worker reconciles them, and they are left as
// they are (the report, under provider "", keeps /readyz at 503).
func (d *Daemon) checkOrphans(ctx context.Context, trigger string) {
	docs := d.Documents()
	if docs.Set == nil {
		return
	}
	st, err := d.eng.Store.Snapshot(ctx)
	if err != nil {
		return
	}
	count := map[string]int{}
	for _, r := range st.Records {
		if r.Phase.Live() && docs.Set.Provider(r.Provider) == nil {
			count[r.Provider]++
		}
	}
	d.mu.Lock()
	_, had := d.last[""]
	d.mu.Unlock()
	if len(count) == 0 && !had {
		return
	}
	at := d.clk.Now()
	p := &reconcile.Plan{FormatVersion: reconcile.FormatVersion, At: at.UTC()}
	names := make([]string, 0, len(count))
	for name := range count {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p.Errors = append(p.Errors, fmt.Sprintf("provider %q is no longer in the documents: its %d managed task(s) are left as they are (restore the Provider to manage them)", name, count[name]))
	}
	rep := Report{Trigger: trigger, At: at, Plan: p}
	if len(count) == 0 {
		d.mu.Lock()
		delete(d.last, "")
		d.mu.Unlock()
	} else {
		d.mu.Lock()
		d.last[""] = &rep
		d.mu.Unlock()
	}
	d.logReport(&rep)
	if d.cfg.OnReconcile != nil {
		d.cfg.OnReconcile(rep)
	}
}

// idleAfter: a sleep longer than this after a reconcile counts as idle.
const idleAfter = 5 * time.Second

// searchSpan is how far ahead edges are looked for: at least an hour, at
// least up to the next resync, a day when resync is off.
func (d *Daemon) searchSpan() time.Duration {
	if d.cfg.Resync < 0 {
		return 24 * time.Hour
	}
	return max(time.Hour, d.cfg.Resync)
}

// computeEdge finds the next edge of any provider from the documents in
// force, within the search span (for NextEdge and the gauge).
func (d *Daemon) computeEdge() Edge {
	now := d.clk.Now()
	docs := d.Documents()
	var e Edge
	if docs.Set != nil {
		e = nextEdge(docs.Set, d.eng.Caps, d.eng.Lookahead, now, now.Add(d.searchSpan()))
	}
	d.mu.Lock()
	d.edge = e
	d.mu.Unlock()
	return e
}

// reload walks and reads the spec directory (re-syncing the folder
// watches) and reports whether the documents or their problems changed,
// and if so which Provider documents' shares (nil: every provider's, as
// when the problems changed: the mass-stop guard of each depends on them).
func (d *Daemon) reload(force bool) (bool, map[string]bool) {
	var t spec.Tree
	for range 3 {
		t = spec.Walk(d.dir)
		if d.watch == nil || d.watch.sync(t.Dirs) == 0 {
			break // otherwise walk again: files may have appeared before the new folders were watched
		}
	}
	docs, changed := d.loader.load(t, force)
	if !changed {
		d.m.reloads.WithLabelValues("unchanged").Inc()
		return false, nil
	}
	var perr error
	if d.cfg.Prepare != nil && docs.Set != nil {
		perr = d.cfg.Prepare(docs.Set)
	}
	d.mu.Lock()
	old, oldPrep := d.docs, d.prepErr
	d.docs, d.prepErr = docs, perr
	d.mu.Unlock()
	d.m.specErrors.Set(float64(len(docs.Errors)))
	d.m.specStale.Set(float64(len(docs.Stale)))
	problems := joinErrs(docs.Errors) != joinErrs(old.Errors) ||
		fmt.Sprint(docs.Stale) != fmt.Sprint(old.Stale) || fmt.Sprint(perr) != fmt.Sprint(oldPrep)
	moved := docs.Digest != old.Digest || problems
	if !moved {
		d.m.reloads.WithLabelValues("unchanged").Inc()
		return false, nil
	}
	d.m.reloads.WithLabelValues("changed").Inc()
	if joinErrs(docs.Errors) != joinErrs(old.Errors) {
		for _, e := range docs.Errors {
			d.log.Warn("spec error", "at", e.Pos.String(), "error", e.Msg)
		}
		if len(docs.Errors) == 0 && len(old.Errors) > 0 {
			d.log.Info("spec errors resolved: every file is valid")
		}
	}
	for _, f := range docs.Stale {
		d.log.Warn("file not applied: its last valid version, if any, stays in force", "file", f)
	}
	if perr != nil {
		d.log.Error("cannot prepare the documents", "error", perr.Error())
	}
	if old.Set != nil {
		d.log.Info("documents changed", "files", docs.Files, "providers", len(docs.Set.Providers),
			"recordings", len(docs.Set.Recordings), "spec_errors", len(docs.Errors))
	} else {
		d.log.Info("documents loaded", "files", docs.Files, "providers", len(docs.Set.Providers),
			"recordings", len(docs.Set.Recordings), "spec_errors", len(docs.Errors))
	}
	if problems || old.Shares == nil {
		return true, nil
	}
	only := map[string]bool{}
	for name, sum := range docs.Shares {
		if old.Shares[name] != sum {
			only[name] = true
		}
	}
	return true, only
}

func (d *Daemon) shutdown() {
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	d.m.ready.Set(0)
	d.wg.Wait() // every worker has finished its calls under way and resigned
	d.log.Info("daemon stopped: every state write made was durable when acknowledged; recordings keep running and are picked up by the next start")
}

func durOrNever(x time.Duration) any {
	if x < 0 {
		return "never"
	}
	return x // a duration: seconds in JSON logs
}

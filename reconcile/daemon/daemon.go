package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	// Now is the clock (defaults to Engine.Now, then time.Now). Timers run on real time.
	Now func() time.Time
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
	// Leading, if set, names the providers this replica leads (etcd
	// state); /readyz shows them.
	Leading func() []string
}

// Report is what one reconcile did.
type Report struct {
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
	// Next is the window edge the daemon sleeps until (zero: none before the next resync).
	Next Edge
}

// Daemon is `recordctl run`. Create it with New, then call Run once.
type Daemon struct {
	cfg     Config
	eng     *reconcile.Engine
	log     *slog.Logger
	dir     string
	loader  *loader
	watch   *watcher
	ln      net.Listener
	reg     *prometheus.Registry
	m       *metrics
	trigger chan struct{}

	prevNow time.Time // the previous reconcile's clock

	lagMu   sync.Mutex
	lagSeen map[string]time.Time // window pieces whose first create was measured -> piece end

	mu         sync.Mutex // guards the fields below (read by HTTP handlers)
	docs       Documents
	prepErr    error
	last       *Report
	edge       Edge
	stopping   bool
	lastLogged string // plan errors and holds last logged, to log changes only
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
	if cfg.Now == nil {
		cfg.Now = eng.Now
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if eng.Now == nil {
		eng.Now = cfg.Now
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
	d := &Daemon{cfg: cfg, eng: eng, log: cfg.Log, dir: dir, trigger: make(chan struct{}, 1),
		loader: newLoader(dir, cfg.Now), lagSeen: map[string]time.Time{}}
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

// Registry is the registry the metrics are on.
func (d *Daemon) Registry() *prometheus.Registry { return d.reg }

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
	return max(e.At.Sub(d.cfg.Now()).Seconds(), 0)
}

// Run reconciles at once and then whenever something may have changed,
// until ctx ends. On shutdown no new action starts, calls under way finish
// (bounded by Config.Grace) and Run returns nil; recordings keep running.
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
	if err := d.cycle(ctx, "start"); err != nil {
		return err
	}
	edgeT := time.NewTimer(time.Hour)
	resyncT := time.NewTimer(time.Hour)
	reloadT := time.NewTimer(time.Hour)
	defer edgeT.Stop()
	defer resyncT.Stop()
	defer reloadT.Stop()
	arm := func(t *time.Timer, d time.Duration) {
		if d < 0 {
			t.Stop()
			return
		}
		t.Reset(d)
	}
	var horizon bool // the edge timer only marks the end of the searched span
	afterCycle := func() {
		arm(resyncT, d.cfg.Resync)
		at, h := d.wakeAt()
		horizon = h
		sleep := max(at.Sub(d.cfg.Now()), 0)
		arm(edgeT, sleep)
		if sleep > idleAfter && (d.cfg.Resync < 0 || d.cfg.Resync > idleAfter) {
			// Going to sleep: give the reconcile's garbage back to the OS
			// now rather than holding up to twice the live heap while idle.
			debug.FreeOSMemory()
		}
	}
	afterCycle()
	arm(reloadT, d.cfg.Reload)
	for {
		var err error
		select {
		case <-ctx.Done():
			d.shutdown()
			return nil
		case <-events:
			if d.reload(false) {
				err = d.cycle(ctx, "change")
				afterCycle()
			}
		case <-edgeT.C:
			if at := d.NextEdge().At; !horizon && !at.IsZero() && d.cfg.Now().Before(at) {
				arm(edgeT, at.Sub(d.cfg.Now())+time.Millisecond) // the timer ran ahead of the clock
				continue
			}
			if horizon {
				d.computeEdge()
				at, h := d.wakeAt()
				horizon = h
				arm(edgeT, max(at.Sub(d.cfg.Now()), 0))
				continue
			}
			d.reload(false)
			err = d.cycle(ctx, "edge")
			afterCycle()
		case <-resyncT.C:
			d.reload(false)
			err = d.cycle(ctx, "resync")
			afterCycle()
		case <-reloadT.C:
			if d.reload(false) {
				err = d.cycle(ctx, "reload")
				afterCycle()
			}
			arm(reloadT, d.cfg.Reload)
		case <-d.trigger:
			d.reload(true)
			err = d.cycle(ctx, "signal")
			afterCycle()
		}
		if err != nil {
			return err
		}
	}
}

// idleAfter: a sleep longer than this after a reconcile counts as idle.
const idleAfter = 5 * time.Second

// edgeMargin is how far past an edge the daemon wakes, so that the
// reconcile's clock is strictly past it.
const edgeMargin = time.Millisecond

// searchSpan is how far ahead edges are looked for: at least an hour, at
// least up to the next resync, a day when resync is off.
func (d *Daemon) searchSpan() time.Duration {
	if d.cfg.Resync < 0 {
		return 24 * time.Hour
	}
	return max(time.Hour, d.cfg.Resync)
}

// computeEdge finds the next edge from the documents in force, within the search span.
func (d *Daemon) computeEdge() Edge {
	now := d.cfg.Now()
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

// wakeAt returns when to wake for the edge last computed: just past it, or
// at the end of the searched span (horizon true) when none falls in it.
func (d *Daemon) wakeAt() (time.Time, bool) {
	e := d.NextEdge()
	if e.At.IsZero() {
		return d.cfg.Now().Add(d.searchSpan()), true
	}
	d.log.Debug("sleeping until the next window edge", "at", e.At.UTC().Format(time.RFC3339), "recording", e.Recording, "edge", e.What)
	return e.At.Add(edgeMargin), false
}

// reload walks and reads the spec directory (re-syncing the folder
// watches) and reports whether the documents or their problems changed.
func (d *Daemon) reload(force bool) bool {
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
		return false
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
	moved := docs.Digest != old.Digest || joinErrs(docs.Errors) != joinErrs(old.Errors) ||
		fmt.Sprint(docs.Stale) != fmt.Sprint(old.Stale) || fmt.Sprint(perr) != fmt.Sprint(oldPrep)
	if !moved {
		d.m.reloads.WithLabelValues("unchanged").Inc()
		return false
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
	return true
}

func (d *Daemon) shutdown() {
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	d.m.ready.Set(0)
	d.log.Info("daemon stopped: state saved; recordings keep running and are picked up by the next start")
}

func durOrNever(x time.Duration) any {
	if x < 0 {
		return "never"
	}
	return x // a duration: seconds in JSON logs
}

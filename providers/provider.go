// Package providers defines the contract between the reconcile engine and
// each cloud provider, and a registry of provider implementations by type
// name. Provider quirks stay in the sub-packages (tencent, aliyun, huawei,
// agora); the engine only sees Capabilities, Tasks and classified errors.
package providers

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/recordctl/recordctl/internal/clock"
	"github.com/recordctl/recordctl/spec"
)

// Capabilities describe what a provider can do and which documented limits
// the engine must respect before calling it.
type Capabilities struct {
	// ScheduleAhead: tasks can be created before their window opens
	// (StartTime/EndTime). False for command-driven providers.
	ScheduleAhead bool
	// MaxLookahead bounds how far ahead a task may start (tencent: 6 days).
	MaxLookahead time.Duration
	// MaxTaskDuration is the longest single task; longer windows are chained
	// into consecutive tasks. Zero means unlimited.
	MaxTaskDuration time.Duration
	// CanList: List reports tasks the provider holds, including ones
	// recordctl did not create (so crashes are recovered by adoption).
	CanList bool
	// MinRestartGap is the minimum time between a stop and the next start of
	// the same stream (huawei: 10 s). Windows closer than this are merged.
	MinRestartGap time.Duration
	// MaxOverlapPerStream is how many tasks of one stream may overlap (tencent: 3). Zero: no limit.
	MaxOverlapPerStream int
	// StartDeadline is how long a started task may take to confirm (agora: 90 s).
	StartDeadline time.Duration
	// DefaultRateLimit is the documented request rate, requests/s.
	DefaultRateLimit float64
	// StopFinalizeDelay is how long after a stop the file appears (aliyun: 180 s
	// unless finalizeImmediately); shown in plans.
	StopFinalizeDelay time.Duration
	// StopFinalizeHint says how to avoid that delay, for plans ("" if nothing can).
	StopFinalizeHint string
}

// Status is a task's lifecycle state as the provider reports it.
type Status string

const (
	StatusScheduled Status = "scheduled" // created, window not yet open
	StatusStarting  Status = "starting"  // start accepted, not yet confirmed (agora)
	StatusRecording Status = "recording" // running now
	StatusWaiting   Status = "waiting"   // window open, stream not being pushed yet
	StatusFinished  Status = "finished"  // ended at its end time
	StatusStopped   Status = "stopped"   // stopped early by a Stop call or by hand
	StatusFailed    Status = "failed"    // start never confirmed, or the recorder left
	StatusGone      Status = "gone"      // not found at the provider (deleted or expired)
	StatusUnknown   Status = "unknown"   // the provider cannot tell (command providers)
)

// Task is one recording task at a provider.
type Task struct {
	// ID is the provider's handle as shown to users (TaskId, sid, stream).
	ID string `json:"id"`
	// Handle holds whatever else the provider needs to address the task
	// later (agora: resourceId, sid, uid, mode). Never secrets.
	Handle map[string]string `json:"handle,omitempty"`
	Stream spec.Stream       `json:"stream"`
	// Start and End are the task's scheduled times (zero End: open-ended).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Stopped is when the task was stopped early (zero: never).
	Stopped time.Time `json:"stopped,omitzero"`
	Status  Status    `json:"status"`
	// Files lists recorded files where the provider reports them (agora stop).
	Files []string `json:"files,omitempty"`
	// NextCheck, set by List, is when the provider next wants to observe
	// this task (agora: a start's confirmation, a 404 being confirmed, the
	// recording's periodic re-query). A List before then reports the last
	// status seen without a call; the engine should List again at the
	// earliest NextCheck of a provider's tasks. Zero: no check is
	// scheduled (the task is terminal, or the provider observes on every
	// List). Not persisted.
	NextCheck time.Time `json:"-"`
}

// CreateRequest asks for a task recording Stream over [Start, End).
type CreateRequest struct {
	// Key is the window (piece) identity, for logs and idempotency.
	Key       string
	Recording *spec.Recording
	Stream    spec.Stream
	// Start, End: the desired task times. For command providers Start is
	// ignored (recording starts now); End is informational.
	Start, End time.Time
	// Now is the engine's clock at planning time.
	Now time.Time
	// Previous is the task this one replaces (drift, failed start), if any.
	Previous *Task
	// Resume: an earlier create for this piece may have succeeded without
	// its answer being recorded (a crash, a lost answer). A provider that
	// cannot list must then treat "already recording" answers as its own
	// task, never start a second one beside it.
	Resume bool
}

// Scope narrows a List call.
type Scope struct {
	// Streams whose tasks are of interest.
	Streams []spec.Stream
	// From, To bound task times (tasks overlapping [From, To)).
	From, To time.Time
	// Managed are the tasks recordctl's state holds for this provider;
	// providers that cannot list report these (e.g. by querying each).
	Managed []Task
}

// Provider is one configured cloud account. Implementations must be safe for
// concurrent use; rate limiting is done by the engine.
type Provider interface {
	Capabilities() Capabilities
	// List reports the tasks in scope as the provider sees them. Providers
	// without CanList return what they can learn about scope.Managed.
	List(ctx context.Context, scope Scope) ([]Task, error)
	// Create starts a task now or schedules it. An AlreadyExists error means
	// the task exists and should be adopted.
	Create(ctx context.Context, req CreateRequest) (Task, error)
	// Stop ends a running task early. Stopping a task that is already
	// stopped or gone is not an error.
	Stop(ctx context.Context, t Task) (Task, error)
	// Delete removes a scheduled task that has not started.
	Delete(ctx context.Context, t Task) error
}

// StreamChecker is implemented by providers that can tell before any call
// whether a stream is set up to be recorded (Huawei: a COMMAND_RECORD rule
// must cover it). A Permanent error says what the user must create.
type StreamChecker interface {
	CheckStream(ctx context.Context, s spec.Stream) error
}

// Reasserter is implemented by command providers that cannot observe a
// recording: Reassert re-issues the start for a task whose window is open,
// so a stream that dropped and came back is recorded again. It returns the
// task and whether a new recording had to be started.
type Reasserter interface {
	Reassert(ctx context.Context, t Task) (Task, bool, error)
}

// Options configure a provider instance.
type Options struct {
	// HTTPClient to use; nil means a client with sane timeouts.
	HTTPClient *http.Client
	// UserAgent names recordctl and its version.
	UserAgent string
	// Clock is the provider's time: request timestamps, start deadlines,
	// scheduled rechecks and backoffs. nil means the wall clock.
	Clock clock.Clock
	// Pacer paces every HTTP request the provider makes (the Provider
	// document's rateLimit, PaceMargin under it), counts throttles and
	// observes latency; one List may make many requests. nil: unpaced.
	Pacer *Pacer
}

// Time returns o.Clock, or the wall clock.
func (o Options) Time() clock.Clock { return clock.Or(o.Clock) }

// Client returns o.HTTPClient or a default client with a 30 s timeout,
// paced by o.Pacer when set.
func (o Options) Client() *http.Client {
	c := &http.Client{Timeout: 30 * time.Second}
	if o.HTTPClient != nil {
		cc := *o.HTTPClient
		c = &cc
	}
	if o.Pacer != nil {
		base := c.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		c.Transport = pacedTransport{base: base, pacer: o.Pacer}
	}
	return c
}

// Factory builds a Provider from its document.
type Factory func(p *spec.Provider, opts Options) (Provider, error)

// Registration describes one provider type.
type Registration struct {
	Type string
	// Spec decodes and validates the type's part of the documents; Register
	// registers it with spec. Its Name must be Type.
	Spec spec.ProviderType
	// Capabilities are static per type (the engine uses them at plan time
	// without building a client). A copy: changing it changes nothing.
	Capabilities Capabilities
	New          Factory
	// PointAt returns cfg pointed at an emulator: its base URLs (in
	// endpoint order) and the Provider fields its demo account needs
	// (region, projectId, appId ...). nil if the type has no emulator.
	PointAt func(cfg spec.ProviderConfig, urls []string, demo map[string]string) spec.ProviderConfig
	// DemoOptions returns a copy of a Recording's options whose secret
	// references that do not resolve (tokens, storage keys) are replaced by
	// demo values an emulator accepts; nil if the options hold no secret.
	DemoOptions func(o spec.RecordingOptions) spec.RecordingOptions
}

var (
	regMu    sync.RWMutex
	registry = map[string]Registration{}
)

// Register makes a provider type available by name. It panics on duplicates
// (a programming error, as with database/sql drivers).
func Register(r Registration) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[r.Type]; dup {
		panic("providers: Register called twice for " + r.Type)
	}
	if r.Spec == nil || r.Spec.Name() != r.Type {
		panic("providers: Register " + r.Type + ": Spec must be the spec.ProviderType named " + r.Type)
	}
	spec.RegisterType(r.Spec)
	registry[r.Type] = r
}

// OptionCapabilities is implemented by recording options that change a
// type's capabilities for their recording (aliyun: finalizeImmediately
// removes the delay before the file appears).
type OptionCapabilities interface {
	Capabilities(c Capabilities) Capabilities
}

// CapabilitiesFor returns c as it applies to one Recording: adjusted by its
// options when they implement OptionCapabilities. rec may be nil.
func CapabilitiesFor(c Capabilities, rec *spec.Recording) Capabilities {
	if rec == nil {
		return c
	}
	if oc, ok := rec.Spec.Options.(OptionCapabilities); ok {
		return oc.Capabilities(c)
	}
	return c
}

// Lookup returns the registration for a type.
func Lookup(typ string) (Registration, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	r, ok := registry[typ]
	return r, ok
}

// New builds the Provider for a document through its registered factory.
func New(p *spec.Provider, opts Options) (Provider, error) {
	r, ok := Lookup(p.Spec.Type)
	if !ok {
		return nil, fmt.Errorf("provider %s: type %q is not supported", p.Metadata.Name, p.Spec.Type)
	}
	return r.New(p, opts)
}

// Credentials resolves the named credential references of a Provider
// document, in order. Errors name the provider and the field, never a value.
func Credentials(p *spec.Provider, fields ...string) ([]string, error) {
	out := make([]string, len(fields))
	for i, field := range fields {
		ref, ok := p.Spec.Credentials[field]
		if !ok || ref.IsZero() {
			return nil, fmt.Errorf("provider %s: credentials.%s is required for type %s ({env: NAME} or {file: PATH})", p.Metadata.Name, field, p.Spec.Type)
		}
		v, err := ref.Resolve()
		if err != nil {
			return nil, fmt.Errorf("provider %s: credentials.%s: %w", p.Metadata.Name, field, err)
		}
		out[i] = v
	}
	return out, nil
}

// Agent is the User-Agent for provider requests: o.UserAgent or "recordctl".
func (o Options) Agent() string {
	if o.UserAgent != "" {
		return o.UserAgent
	}
	return "recordctl"
}

// StartAnswer reads a command provider's answer to a start for task t:
// recording on success; recording with the AlreadyExists error (already
// recording: adopt); waiting with the StreamOffline error; otherwise the
// error alone.
func StartAnswer(t Task, err error) (Task, error) {
	switch ClassOf(err) {
	case AlreadyExists:
		t.Status = StatusRecording
		return t, err
	case StreamOffline:
		t.Status = StatusWaiting
		return t, err
	}
	if err != nil {
		return Task{}, err
	}
	t.Status = StatusRecording
	return t, nil
}

// ReassertAnswer reads a command provider's answer to a start re-issued for
// an open window (Reasserter): already recording means nothing was lost;
// success means the recording had dropped and was restarted.
func ReassertAnswer(t Task, err error) (Task, bool, error) {
	switch ClassOf(err) {
	case AlreadyExists:
		t.Status = StatusRecording
		return t, false, nil
	case StreamOffline:
		t.Status = StatusWaiting
		return t, false, err
	}
	if err != nil {
		return t, false, err
	}
	t.Status = StatusRecording
	return t, true, nil
}

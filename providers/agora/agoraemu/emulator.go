package agoraemu

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// Demo account the emulator accepts.
const (
	DemoAppID          = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	DemoCustomerID     = "recordctl-demo-customer-id"
	DemoCustomerSecret = "recordctl-demo-customer-secret"
)

// Emulator timing defaults.
const (
	DefaultStartDelay = 3 * time.Second // status reaches 5 this long after start
	resourceTTL       = 5 * time.Minute // a resourceId must be started within this
)

// Emulator is a wire-compatible Agora Cloud Recording service with two
// listeners (primary and fallback domain) sharing one state. Time comes from
// cfg.Clock() plus Advance offsets.
type Emulator struct {
	clock  func() time.Time
	faults *emu.Faults
	salt   string

	mu          sync.Mutex
	offset      time.Duration
	startDelay  time.Duration
	primaryDown bool
	failStarts  int
	neverReady  bool
	seq         uint64
	resources   map[string]*emuResource
	sessions    map[string]*emuSession // by sid
	order       []string               // sids in start order
	emptySince  map[string]time.Time   // channels without broadcasters; absent = active
	calls       map[string]int         // per operation
	listeners   [2]int                 // requests per listener
}

// NewEmulator returns an emulator with no sessions and every channel active.
func NewEmulator(cfg emu.Config) *Emulator {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &Emulator{
		clock: cfg.Clock(), faults: cfg.Faults, salt: hex.EncodeToString(b),
		startDelay: DefaultStartDelay,
		resources:  map[string]*emuResource{},
		sessions:   map[string]*emuSession{},
		emptySince: map[string]time.Time{},
		calls:      map[string]int{},
	}
}

// Handlers returns the primary and the fallback domain's handler.
func (e *Emulator) Handlers() []http.Handler {
	return []http.Handler{e.listener(0), e.listener(1)}
}

// DemoCredentials returns the customer id/secret the emulator accepts.
func (e *Emulator) DemoCredentials() map[string]string {
	return map[string]string{"customerId": DemoCustomerID, "customerSecret": DemoCustomerSecret}
}

// DemoFields names the demo App ID.
func (e *Emulator) DemoFields() map[string]string { return map[string]string{"appId": DemoAppID} }

// PrepareStream does nothing: a channel needs no setup to be recorded.
func (e *Emulator) PrepareStream(spec.Stream) {}

// Now is the emulator's current time.
func (e *Emulator) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.nowLocked()
}

func (e *Emulator) nowLocked() time.Time { return e.clock().Add(e.offset) }

// Advance moves the emulator's clock forward by d (on top of cfg.Now).
func (e *Emulator) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latchAll()
	e.offset += d
}

// SetPrimaryDown makes the primary listener answer every API call with 503.
func (e *Emulator) SetPrimaryDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.primaryDown = down
}

// FailNextStarts makes the next n start calls answer 500.
func (e *Emulator) FailNextStarts(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failStarts = n
}

// SetNeverReady makes sessions started from now on stay at status 2
// forever (a start that never confirms).
func (e *Emulator) SetNeverReady(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.neverReady = on
}

// SetStartDelay sets how long a new session takes to reach status 5.
func (e *Emulator) SetStartDelay(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.startDelay = d
}

// SetChannelActive marks a channel as having a broadcaster (active) or not.
// Recorders in an empty channel leave after their maxIdleTime.
func (e *Emulator) SetChannelActive(cname string, active bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latchAll()
	_, empty := e.emptySince[cname]
	switch {
	case active:
		delete(e.emptySince, cname)
	case !empty:
		e.emptySince[cname] = e.nowLocked()
	}
}

// Session is what the emulator holds for one recorder.
type Session struct {
	SID        string    `json:"sid"`
	ResourceID string    `json:"resourceId"`
	Channel    string    `json:"cname"`
	UID        string    `json:"uid"`
	Mode       string    `json:"mode"`
	Status     int       `json:"status"` // query status; 7 stopped, 8 exited on its own
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended,omitempty"`
	Files      []string  `json:"files,omitempty"`
	// StorageBucket is the bucket the start asked for (keys are never kept).
	StorageBucket string `json:"storageBucket,omitempty"`
}

// Sessions lists every session ever started, in start order.
func (e *Emulator) Sessions() []Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	out := make([]Session, 0, len(e.order))
	for _, sid := range e.order {
		s := e.sessions[sid]
		st, ended := e.statusLocked(s, now)
		out = append(out, Session{SID: s.sid, ResourceID: s.rid, Channel: s.cname, UID: s.uid, Mode: s.mode,
			Status: st, Started: s.started, Ended: ended, Files: s.files, StorageBucket: s.bucket})
	}
	return out
}

// Calls returns the number of requests per operation (acquire, start,
// query, stop, unknown), whatever their outcome.
func (e *Emulator) Calls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.calls)
}

// ListenerCalls returns the number of API requests each listener received.
func (e *Emulator) ListenerCalls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return map[string]int{"primary": e.listeners[0], "fallback": e.listeners[1]}
}

// emptyChannels lists the channels marked empty (for the admin API).
func (e *Emulator) emptyChannels() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.emptySince))
	for c := range e.emptySince {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

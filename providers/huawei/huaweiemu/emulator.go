package huaweiemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// Demo credentials the emulator accepts (not secrets: they only open the emulator).
const (
	DemoAccessKey = "HPUAEMULATORDEMOAK01"
	DemoSecretKey = "emulator-demo-huawei-sk-000000000000001"
	DemoProjectID = "demo"
	DemoRegion    = "cn-north-4"
)

// DemoDomains have a COMMAND_RECORD rule for every app and stream ("*") at start.
var DemoDomains = []string{"push.example.com", "publish.example.com", "example.com"}

// Emulator limits.
const (
	// MaxClockSkew is how far X-Sdk-Date may be from the emulator clock.
	MaxClockSkew = 15 * time.Minute
	// DefaultInterruptThreshold: a recording survives a stream interruption
	// this long; longer ends it for good. Huawei does not document the value.
	DefaultInterruptThreshold = 10 * time.Second
)

// Recording is one recording session the emulator holds.
type Recording struct {
	Stream  spec.Stream `json:"stream"`
	Started time.Time   `json:"started"`
	// Ended is when it stopped (zero while recording); EndReason is "stop"
	// or "interrupted" (Ended is then when the stream went away).
	Ended     time.Time `json:"ended,omitzero"`
	EndReason string    `json:"endReason,omitempty"`
}

// Emulator is a wire-compatible fake of Huawei Live's RunRecord and
// ListRecordRules on the injectable clock.
type Emulator struct {
	cfg emu.Config
	now func() time.Time

	mu        sync.Mutex
	keys      map[string]string // AK -> SK
	projects  map[string]bool
	rules     []RecordRule
	ruleSeq   int
	offline   map[string]offlineStream
	active    map[string]*Recording
	recs      []*Recording
	lastStop  map[string]time.Time
	calls     map[string]int
	threshold time.Duration
	seq       int
}

type offlineStream struct {
	stream spec.Stream
	since  time.Time
}

// NewEmulator returns an emulator accepting the demo credentials and
// project, with a COMMAND_RECORD rule for each DemoDomains entry, every
// stream online until marked offline.
func NewEmulator(cfg emu.Config) *Emulator {
	e := &Emulator{
		cfg: cfg, now: cfg.Clock(),
		keys:      map[string]string{DemoAccessKey: DemoSecretKey},
		projects:  map[string]bool{DemoProjectID: true},
		offline:   map[string]offlineStream{},
		active:    map[string]*Recording{},
		lastStop:  map[string]time.Time{},
		calls:     map[string]int{},
		threshold: DefaultInterruptThreshold,
	}
	for _, d := range DemoDomains {
		e.AddRule(d, "*", "*", "COMMAND_RECORD")
	}
	return e
}

// Handlers implements emu.Emulator: one handler serves the API and /_emulator/.
func (e *Emulator) Handlers() []http.Handler { return []http.Handler{e} }

// DemoCredentials implements emu.Emulator.
func (e *Emulator) DemoCredentials() map[string]string {
	return map[string]string{"accessKey": DemoAccessKey, "secretKey": DemoSecretKey}
}

// DemoFields names the demo project and region.
func (e *Emulator) DemoFields() map[string]string {
	return map[string]string{"region": DemoRegion, "projectId": DemoProjectID}
}

// PrepareStream adds a COMMAND_RECORD rule for the stream's domain and
// app (stream "*"), as a user sets one up in the console, without which
// RunRecord is refused. One rule serves every stream of the app, so the
// rules a plan reads grow with the apps, not the streams.
func (e *Emulator) PrepareStream(s spec.Stream) { e.AddRule(s.Domain, s.App, "*", "COMMAND_RECORD") }

// ServeHTTP routes /_emulator/ to the admin API and everything else to the Live API.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_emulator/") {
		e.admin(w, r)
		return
	}
	e.api(w, r)
}

// apiErr is an error response: HTTP status and Huawei's error body.
type apiErr struct {
	status int
	body   apiError
}

func fail(status int, code, msg, detail string) *apiErr {
	return &apiErr{status: status, body: apiError{Code: code, Msg: msg, Detail: detail}}
}

func (e *Emulator) requestID() string {
	e.mu.Lock()
	e.seq++
	n := e.seq
	e.mu.Unlock()
	return fmt.Sprintf("emu%029d-%d-live-emulator", n, e.now().UnixMilli())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func streamKey(s spec.Stream) string { return s.Domain + "/" + s.App + "/" + s.Name }

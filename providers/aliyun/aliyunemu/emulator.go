package aliyunemu

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
	DemoAccessKeyID     = "LTAIemulatorDemoKey01"
	DemoAccessKeySecret = "emulator-demo-aliyun-secret-0001"
	DemoRegion          = "cn-shanghai"
)

// DemoDomains have a manual (OnDemand=7) recording configuration for every
// app ("*") when an emulator starts.
var DemoDomains = []string{"push.example.com", "publish.example.com", "example.com"}

// Emulator limits.
const (
	// TimestampWindow is how far a request's Timestamp may be from the emulator clock.
	TimestampWindow = 15 * time.Minute
	// FinalizeDelay is how long after stop (or an interruption) the file appears.
	FinalizeDelay = 180 * time.Second
	// DefaultQPS is RealTimeRecordCommand's per-account limit (seed 003).
	DefaultQPS = 50
)

// Recording is one recording session the emulator holds for a stream.
type Recording struct {
	Stream  spec.Stream `json:"stream"`
	Started time.Time   `json:"started"`
	// Ended is when the recording stopped (zero while recording).
	Ended time.Time `json:"ended,omitzero"`
	// EndReason: "stop", "interrupted" (stream went offline) or "restart".
	EndReason string `json:"endReason,omitempty"`
	// FinalizeAt is when the file appears (Ended+180 s, or at cancel_delay).
	FinalizeAt time.Time `json:"finalizeAt,omitzero"`
	// File is the finalised object name; empty until FinalizeAt has passed.
	File string `json:"file,omitempty"`
}

// Emulator is a wire-compatible fake of ApsaraVideo Live's RPC API
// (RealTimeRecordCommand, DescribeLiveRecordConfig) on the injectable clock.
type Emulator struct {
	cfg emu.Config
	now func() time.Time

	mu       sync.Mutex
	keys     map[string]string      // AccessKeyId -> secret
	nonces   map[string]time.Time   // AccessKeyId|nonce -> expiry
	configs  map[string]bool        // domain + "/" + app ("*" = any app)
	offline  map[string]spec.Stream // stream key -> streams not being pushed
	active   map[string]*Recording
	recs     []*Recording
	calls    map[string]int
	qps      int
	qpsSec   int64
	qpsCount map[string]int
	seq      int
}

// NewEmulator returns an emulator accepting the demo credentials, with a
// manual recording configuration for every DemoDomains app, every stream
// online (being pushed) until marked offline, and the 50 QPS limit.
func NewEmulator(cfg emu.Config) *Emulator {
	e := &Emulator{
		cfg: cfg, now: cfg.Clock(),
		keys:    map[string]string{DemoAccessKeyID: DemoAccessKeySecret},
		nonces:  map[string]time.Time{},
		configs: map[string]bool{},
		offline: map[string]spec.Stream{},
		active:  map[string]*Recording{},
		calls:   map[string]int{},
		qps:     DefaultQPS,
	}
	for _, d := range DemoDomains {
		e.configs[d+"/*"] = true
	}
	return e
}

// Handlers implements emu.Emulator: one handler serves the API and /_emulator/.
func (e *Emulator) Handlers() []http.Handler { return []http.Handler{e} }

// DemoCredentials implements emu.Emulator.
func (e *Emulator) DemoCredentials() map[string]string {
	return map[string]string{"accessKeyId": DemoAccessKeyID, "accessKeySecret": DemoAccessKeySecret}
}

// DemoFields names the demo region (used when a document names none).
func (e *Emulator) DemoFields() map[string]string { return map[string]string{"region": DemoRegion} }

// PrepareStream adds the recording configuration of the stream's domain
// and app (AddLiveAppRecordConfig), without which the start is refused.
func (e *Emulator) PrepareStream(s spec.Stream) { e.AddRecordConfig(s.Domain, s.App) }

// ServeHTTP routes /_emulator/ to the admin API and everything else to the RPC API.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_emulator/") {
		e.admin(w, r)
		return
	}
	e.api(w, r)
}

// errorBody is Alibaba's error shape.
type errorBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend,omitempty"`
}

// apiErr is an error response the emulator sends.
type apiErr struct {
	status        int
	code, message string
	header        http.Header
}

func fail(status int, code, format string, args ...any) *apiErr {
	return &apiErr{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func (e *Emulator) requestID() string {
	e.mu.Lock()
	e.seq++
	n := e.seq
	e.mu.Unlock()
	return fmt.Sprintf("EMU%05d-A1B2-4C3D-8E4F-%012d", n%100000, n)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (e *Emulator) writeErr(w http.ResponseWriter, reqID string, ae *apiErr) {
	for k, v := range ae.header {
		w.Header()[k] = v
	}
	writeJSON(w, ae.status, errorBody{
		RequestID: reqID, HostID: "live.aliyuncs.com", Code: ae.code, Message: ae.message,
		Recommend: "https://api.aliyun.com/troubleshoot?q=" + ae.code + "&product=live&requestId=" + reqID,
	})
}

func streamKey(s spec.Stream) string { return s.Domain + "/" + s.App + "/" + s.Name }

package tencentemu

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"maps"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// Demo credentials the emulator accepts (never valid at Tencent Cloud).
const (
	DemoSecretID  = "AKIDrecordctlDEMO00000000000000000000"
	DemoSecretKey = "recordctl-demo-secret-key-0000000"
	// DefaultRegion is filled in by Configure.
	DefaultRegion = "ap-guangzhou"
	// DefaultPageSize is the emulator's DescribeRecordTask page size. The
	// service's is not documented; its example ScrollToken encodes
	// {"offset":20}. Tests of paging set a smaller one (SetPageSize).
	DefaultPageSize = 20
	// PushSettle is how long after a stream starts pushing a task that
	// records at once can be created reliably: the docs ask for at least
	// 3 s, and the emulator fails a create inside it with InternalError
	// (the "first attempt may fail; retry" of the issue).
	PushSettle = 3 * time.Second
	// clockSkew is how far X-TC-Timestamp may be from the server clock.
	clockSkew = 5 * time.Minute
)

// EmuTask is one task the emulator holds, as tests and /_emulator/tasks see it.
type EmuTask struct {
	TaskID     string      `json:"taskId"`
	Stream     spec.Stream `json:"stream"`
	StartTime  time.Time   `json:"startTime"`
	EndTime    time.Time   `json:"endTime"`
	TemplateID int64       `json:"templateId"`
	StreamType int64       `json:"streamType"`
	Extension  string      `json:"extension,omitempty"`
	// Stopped is when StopRecordTask was called (zero: never).
	Stopped time.Time `json:"stopped,omitzero"`
	// Deleted: DeleteRecordTask was called; the task is no longer listed.
	Deleted bool      `json:"deleted"`
	Created time.Time `json:"created"`
	// Injected: added through InjectTask or the admin API ("someone else's task").
	Injected bool `json:"injected"`
	// Status is derived from the emulator clock when the snapshot is taken:
	// scheduled, recording, finished, stopped or gone (deleted).
	Status providers.Status `json:"status"`
}

// SetWallClock replaces the real-time clock the rate limiter also follows
// (tests freeze it so only the emulator clock refills the bucket).
func (e *Emulator) SetWallClock(now func() time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.wall = now
}

// Emulator is a wire-compatible fake of the CSS recording-task API. It is
// an http.Handler; create it with NewEmulator.
type Emulator struct {
	now    func() time.Time
	wall   func() time.Time // rate-limit refill also follows real time (see allow)
	faults *emu.Faults
	idSalt [8]byte

	mu        sync.Mutex
	tasks     []*EmuTask
	byID      map[string]*EmuTask
	seq       uint64
	pageSize  int
	rps       float64
	buckets   map[string]*bucket
	calls     map[string]int
	failNext  map[string][]string
	failAfter map[string][]string // like failNext, but the request is carried out first
	vodActive bool
	pushes    map[spec.Stream]time.Time // when each stream last started pushing
}

var _ emu.Emulator = (*Emulator)(nil)

// NewEmulator returns an empty emulator on cfg's clock and faults.
func NewEmulator(cfg emu.Config) *Emulator {
	e := &Emulator{
		now:       cfg.Clock(),
		wall:      time.Now,
		faults:    cfg.Faults,
		byID:      map[string]*EmuTask{},
		pageSize:  DefaultPageSize,
		rps:       RateLimit,
		buckets:   map[string]*bucket{},
		calls:     map[string]int{},
		failNext:  map[string][]string{},
		failAfter: map[string][]string{},
		vodActive: true,
		pushes:    map[spec.Stream]time.Time{},
	}
	_, _ = rand.Read(e.idSalt[:]) // TaskIds differ between emulator runs
	return e
}

// Handlers returns the single handler serving the API at "/" and the admin
// API under "/_emulator/".
func (e *Emulator) Handlers() []http.Handler { return []http.Handler{e} }

// DemoCredentials are the values of credentials.secretId/secretKey the
// emulator accepts.
func (e *Emulator) DemoCredentials() map[string]string {
	return map[string]string{"secretId": DemoSecretID, "secretKey": DemoSecretKey}
}

// DemoFields names the region (ap-guangzhou) used when a document names none.
func (e *Emulator) DemoFields() map[string]string { return map[string]string{"region": DefaultRegion} }

// PrepareStream does nothing: CreateRecordTask needs no setup.
func (e *Emulator) PrepareStream(spec.Stream) {}

// Tasks returns a snapshot of every task, deleted ones included, in
// creation order, with Status derived from the emulator clock.
func (e *Emulator) Tasks() []EmuTask {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	out := make([]EmuTask, len(e.tasks))
	for i, t := range e.tasks {
		out[i] = t.snapshot(now)
	}
	return out
}

// Task returns one task by TaskId.
func (e *Emulator) Task(id string) (EmuTask, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.byID[id]
	if !ok {
		return EmuTask{}, false
	}
	return t.snapshot(e.now()), true
}

// Calls returns how many requests arrived per X-TC-Action (faulted,
// throttled and rejected ones included).
func (e *Emulator) Calls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.calls)
}

// SetPageSize sets DescribeRecordTask's page size (n < 1 means 1).
func (e *Emulator) SetPageSize(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pageSize = max(n, 1)
}

// SetRateLimit sets the per-action limit in requests/s (default 20);
// zero or less disables it.
func (e *Emulator) SetRateLimit(rps float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rps = rps
	e.buckets = map[string]*bucket{}
}

// SetVODActive switches the account's VOD service; while inactive, Create,
// Stop and Delete answer ResourceUnavailable.InvalidVodStatus.
func (e *Emulator) SetVODActive(active bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vodActive = active
}

// FailNext makes the next request for action (any action if "") answer
// with code after its signature was checked; calls queue up.
func (e *Emulator) FailNext(action, code string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failNext[action] = append(e.failNext[action], code)
}

// FailAfterNext carries out the next request for action (any if empty)
// and then answers it with error code instead of its result: a 5xx that
// hides a task the service did create.
func (e *Emulator) FailAfterNext(action, code string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failAfter[action] = append(e.failAfter[action], code)
}

// Push records that s starts pushing now (emulator clock). A
// CreateRecordTask that would record s at once within PushSettle of that
// instant fails with InternalError.
func (e *Emulator) Push(s spec.Stream) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pushes[s] = e.now()
}

// InjectTask adds a task as if someone else had created it (console,
// another tool), without validation. Times are truncated to seconds.
func (e *Emulator) InjectTask(s spec.Stream, start, end time.Time) EmuTask {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.addTask(EmuTask{Stream: s, StartTime: start, EndTime: end, Injected: true})
	return t.snapshot(e.now())
}

// addTask stores t with a fresh TaskId; callers hold e.mu.
func (e *Emulator) addTask(t EmuTask) *EmuTask {
	e.seq++
	var b [16]byte
	copy(b[:8], e.idSalt[:])
	binary.BigEndian.PutUint64(b[8:], e.seq)
	sum := sha256.Sum256(b[:])
	t.TaskID = "UpTb" + base64.RawURLEncoding.EncodeToString(sum[:])
	t.StartTime = time.Unix(t.StartTime.Unix(), 0).UTC()
	t.EndTime = time.Unix(t.EndTime.Unix(), 0).UTC()
	t.Created = e.now().UTC()
	p := &t
	e.tasks = append(e.tasks, p)
	e.byID[t.TaskID] = p
	return p
}

func (t *EmuTask) snapshot(now time.Time) EmuTask {
	s := *t
	s.Status = statusAt(now, t.StartTime, t.EndTime, t.Stopped)
	if t.Deleted {
		s.Status = providers.StatusGone
	}
	return s
}

// overlapping counts live tasks of s (not stopped, not deleted) overlapping
// [start, end); callers hold e.mu.
func (e *Emulator) overlapping(s spec.Stream, start, end time.Time) int {
	n := 0
	for _, t := range e.tasks {
		if t.Stream == s && !t.Deleted && t.Stopped.IsZero() && t.StartTime.Before(end) && start.Before(t.EndTime) {
			n++
		}
	}
	return n
}

// listed returns the tasks DescribeRecordTask may return, sorted by
// (StartTime, TaskId); callers hold e.mu.
func (e *Emulator) listed() []*EmuTask {
	old := e.now().Add(-retention)
	var out []*EmuTask
	for _, t := range e.tasks {
		if !t.Deleted && t.EndTime.After(old) {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return taskLess(out[i], out[j]) })
	return out
}

func taskLess(a, b *EmuTask) bool {
	if !a.StartTime.Equal(b.StartTime) {
		return a.StartTime.Before(b.StartTime)
	}
	return a.TaskID < b.TaskID
}

package reconcile

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// fakeSched models a scheduling provider the way Tencent behaves: tasks
// have StartTime/EndTime, End must be in the future and within 7 days,
// End-Start at most 24 h, at most 3 overlapping tasks per stream, tasks are
// listed with derived status, deleted tasks vanish, stopped ones keep Stopped.
// fakeCmd models a command provider (Alibaba): start/stop only, double
// start is TaskAlreadyStarted, an offline stream cannot start, a dropped
// stream ends the recording.
type fake struct {
	mu       sync.Mutex
	now      func() time.Time
	sched    bool
	tasks    map[string]*fakeTask
	seq      int
	offline  map[spec.Stream]bool
	failNext []error // errors returned by the next calls (any op but List)
	calls    map[string]int
	createAt []time.Time // the clock at every Create call
}

type fakeTask struct {
	providers.Task
	deleted bool
}

var schedCaps = providers.Capabilities{ScheduleAhead: true, MaxLookahead: 6 * 24 * time.Hour, MaxTaskDuration: 24 * time.Hour,
	CanList: true, MaxOverlapPerStream: 3, DefaultRateLimit: 1000}
var cmdCaps = providers.Capabilities{DefaultRateLimit: 1000, StopFinalizeDelay: 180 * time.Second}

func newFake(sched bool, now func() time.Time) *fake {
	return &fake{now: now, sched: sched, tasks: map[string]*fakeTask{}, offline: map[spec.Stream]bool{}, calls: map[string]int{}}
}

func (f *fake) Capabilities() providers.Capabilities {
	if f.sched {
		return schedCaps
	}
	return cmdCaps
}

func (f *fake) popFail(op string) error {
	f.calls[op]++
	if len(f.failNext) > 0 {
		err := f.failNext[0]
		f.failNext = f.failNext[1:]
		return err
	}
	return nil
}

func (f *fake) status(t *fakeTask) providers.Status {
	now := f.now()
	switch {
	case t.deleted:
		return providers.StatusGone
	case !t.Stopped.IsZero():
		return providers.StatusStopped
	case !f.sched:
		return providers.StatusRecording
	case now.Before(t.Start):
		return providers.StatusScheduled
	case now.Before(t.End):
		return providers.StatusRecording
	}
	return providers.StatusFinished
}

func (f *fake) List(ctx context.Context, scope providers.Scope) ([]providers.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["list"]++
	var out []providers.Task
	seen := map[string]bool{}
	for _, m := range scope.Managed {
		t := m
		if ft, ok := f.tasks[m.ID]; ok {
			t.Status = f.status(ft)
			if !f.sched {
				t.Status = providers.StatusUnknown // command providers cannot tell
			}
		} else {
			t.Status = providers.StatusGone
		}
		seen[t.ID] = true
		out = append(out, t)
	}
	if f.sched {
		for _, ft := range f.tasks {
			if seen[ft.ID] || ft.deleted {
				continue
			}
			t := ft.Task
			t.Status = f.status(ft)
			out = append(out, t)
		}
	}
	return out, nil
}

func perm(code, msg string) error {
	return &providers.Error{Class: providers.Permanent, Provider: "fake", Code: code, Message: msg}
}

func (f *fake) Create(ctx context.Context, req providers.CreateRequest) (providers.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createAt = append(f.createAt, f.now())
	if err := f.popFail("create"); err != nil {
		return providers.Task{}, err
	}
	now := f.now()
	if !f.sched {
		if f.offline[req.Stream] {
			return providers.Task{}, &providers.Error{Class: providers.StreamOffline, Provider: "fake", Code: "StreamNotFound"}
		}
		for _, t := range f.tasks {
			if t.Stream == req.Stream && t.Stopped.IsZero() {
				return t.Task, &providers.Error{Class: providers.AlreadyExists, Provider: "fake", Code: "TaskAlreadyStarted"}
			}
		}
		f.seq++
		t := &fakeTask{Task: providers.Task{ID: fmt.Sprintf("cmd-%d", f.seq), Stream: req.Stream, Start: now, End: req.End, Status: providers.StatusRecording}}
		f.tasks[t.ID] = t
		return t.Task, nil
	}
	start := req.Start
	if start.Before(now) {
		start = now.Truncate(time.Second)
	}
	switch {
	case !req.End.After(now):
		return providers.Task{}, perm("InvalidParameter", "EndTime must be later than now")
	case !req.End.Before(now.Add(7 * 24 * time.Hour)):
		return providers.Task{}, perm("InvalidParameter", "EndTime must be within 7 days")
	case req.End.Sub(start) > 24*time.Hour:
		return providers.Task{}, perm("InvalidParameter", "EndTime-StartTime must be at most 24 hours")
	}
	n := 0
	for _, t := range f.tasks {
		if t.Stream == req.Stream && !t.deleted && t.Stopped.IsZero() && t.Start.Before(req.End) && start.Before(t.End) {
			n++
		}
	}
	if n >= 3 {
		return providers.Task{}, perm("LimitExceeded.MaximumRunningTask", "at most 3 overlapping tasks per stream")
	}
	f.seq++
	t := &fakeTask{Task: providers.Task{ID: fmt.Sprintf("task-%d", f.seq), Stream: req.Stream, Start: start, End: req.End}}
	t.Status = f.status(t)
	f.tasks[t.ID] = t
	return t.Task, nil
}

func (f *fake) Stop(ctx context.Context, t providers.Task) (providers.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.popFail("stop"); err != nil {
		return providers.Task{}, err
	}
	ft, ok := f.tasks[t.ID]
	if !ok || ft.deleted {
		return t, &providers.Error{Class: providers.NotFound, Provider: "fake", Code: "ResourceNotFound"}
	}
	if ft.Stopped.IsZero() {
		ft.Stopped = f.now()
	}
	out := ft.Task
	out.Status = providers.StatusStopped
	return out, nil
}

func (f *fake) Delete(ctx context.Context, t providers.Task) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.popFail("delete"); err != nil {
		return err
	}
	if !f.sched {
		return perm("Unsupported", "command providers cannot delete")
	}
	ft, ok := f.tasks[t.ID]
	if !ok || ft.deleted {
		return &providers.Error{Class: providers.NotFound, Provider: "fake", Code: "ResourceNotFound"}
	}
	if !f.now().Before(ft.Start) {
		return perm("InvalidParameter", "task already started; stop it instead")
	}
	ft.deleted = true
	return nil
}

// Reassert re-issues start (command providers). A scheduling provider
// (Tencent) observes its tasks and is never reasserted: it answers as such.
func (f *fake) Reassert(ctx context.Context, t providers.Task) (providers.Task, bool, error) {
	if f.sched {
		return t, false, nil
	}
	nt, err := f.Create(ctx, providers.CreateRequest{Stream: t.Stream, End: t.End})
	if providers.ClassOf(err) == providers.AlreadyExists {
		return nt, false, nil
	}
	if err != nil {
		return t, false, err
	}
	return nt, true, nil
}

// dropStream ends the recordings of a stream, as an interruption does.
func (f *fake) dropStream(s spec.Stream) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tasks {
		if t.Stream == s && t.Stopped.IsZero() {
			t.Stopped = f.now()
		}
	}
}

// live returns the tasks that would record (not deleted, not stopped) for stream s.
func (f *fake) live(s spec.Stream) []providers.Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []providers.Task
	for _, t := range f.tasks {
		if t.Stream == s && !t.deleted && t.Stopped.IsZero() && (f.sched && t.End.After(f.now()) || !f.sched) {
			out = append(out, t.Task)
		}
	}
	return out
}

func (f *fake) inject(t providers.Task) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks[t.ID] = &fakeTask{Task: t}
}

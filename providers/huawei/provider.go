package huawei

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// OpRunRecord is the Op name in errors.
const OpRunRecord = "RunRecord"

// gapMargin is added to the remaining restart gap: the rule is "more than
// 10 s" and our clock is not Huawei's. gapTolerance: a LIVE.100011022 this
// long after our own STOP still counts as the gap rule, not "already recording".
const (
	gapMargin    = time.Second
	gapTolerance = 5 * time.Second
)

type controlBody struct {
	PublishDomain string `json:"publish_domain"`
	App           string `json:"app"`
	Stream        string `json:"stream"`
}

// control sends RunRecord (POST /record/control?action=START|STOP).
func (c *Client) control(ctx context.Context, action string, s spec.Stream) error {
	return c.do(ctx, OpRunRecord+" "+action, http.MethodPost, "/record/control", url.Values{"action": {action}},
		controlBody{PublishDomain: s.Domain, App: s.App, Stream: s.Name}, nil)
}

// stopAge returns how long ago the last STOP of key was (ours, or prev from
// the engine's state), and whether one is known.
func (c *Client) stopAge(key string, prev time.Time) (time.Duration, bool) {
	c.mu.Lock()
	last := c.lastStop[key]
	c.mu.Unlock()
	if prev.After(last) {
		last = prev
	}
	if last.IsZero() {
		return 0, false
	}
	return c.now().Sub(last), true
}

// gapError is the Retryable error for a START inside the 10 s window.
func gapError(s spec.Stream, age time.Duration, code string, httpStatus int) *providers.Error {
	wait := max(MinRestartGap-age, 0) + gapMargin
	return &providers.Error{Class: providers.Retryable, Provider: Type, Op: OpRunRecord + " START",
		Code: code, HTTP: httpStatus, RetryAfter: wait,
		Message: "a START must come more than 10 s after the STOP of " + s.String() + "; retry in " + wait.String()}
}

// start issues START with the provider's rules applied:
//   - within 10 s of our own STOP (or prevStop) it refuses locally with a
//     Retryable error whose RetryAfter is the remaining gap (no call is made);
//   - LIVE.100011022 shortly after our STOP is that gap (Retryable); otherwise
//     it means "already recording" (AlreadyExists);
//   - 404 LIVE.100011001 is ambiguous (no COMMAND_RECORD rule, or no such
//     stream being pushed): ListRecordRules decides between Permanent and StreamOffline.
func (c *Client) start(ctx context.Context, s spec.Stream, prevStop time.Time) error {
	key := s.String()
	if age, ok := c.stopAge(key, prevStop); ok && age <= MinRestartGap {
		return gapError(s, age, "", 0)
	}
	err := c.control(ctx, "START", s)
	var pe *providers.Error
	switch {
	case err == nil:
		c.confirmed(key)
		return nil
	case !errors.As(err, &pe):
		return err
	case pe.Code == CodeTaskExists:
		if age, ok := c.stopAge(key, prevStop); ok && age <= MinRestartGap+gapTolerance {
			ge := gapError(s, age, pe.Code, pe.HTTP)
			ge.RequestID = pe.RequestID
			return ge
		}
		c.confirmed(key)
		pe.Class = providers.AlreadyExists
		pe.Message = "the stream is already being recorded; adopting the recording"
	case pe.Code == CodeIllegal && pe.HTTP == http.StatusNotFound:
		// The answer turns the refusal into a Permanent error or not: read
		// the rules afresh (starts refused at once share one read).
		found, cerr := c.hasCommandRule(ctx, s, 0)
		switch {
		case cerr != nil:
			return cerr
		case found:
			pe.Class = providers.StreamOffline
			pe.Message = "the stream is not being pushed yet; waiting for the stream to be pushed"
		default:
			pe.Class = providers.Permanent
			pe.Message = ruleHint(s)
		}
	}
	return pe
}

// confirmed notes that START found the stream recorded and forgets the last STOP.
func (c *Client) confirmed(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.lastStop, key)
}

// Create starts recording now. AlreadyExists returns the task too (adopt);
// StreamOffline returns it with Status waiting; a START within 10 s of a
// STOP is Retryable with RetryAfter = the remaining gap.
func (c *Client) Create(ctx context.Context, req providers.CreateRequest) (providers.Task, error) {
	var prev time.Time
	if req.Previous != nil && req.Previous.Stream == req.Stream {
		prev = req.Previous.Stopped
	}
	t := providers.Task{ID: req.Stream.String(), Stream: req.Stream, Start: c.now(), End: req.End}
	return providers.StartAnswer(t, c.start(ctx, req.Stream, prev))
}

// Stop sends STOP and remembers when, for the 10 s rule. A 404 (no rule or
// stream any more) means nothing is being recorded: not an error.
func (c *Client) Stop(ctx context.Context, t providers.Task) (providers.Task, error) {
	err := c.control(ctx, "STOP", t.Stream)
	now := c.now()
	c.mu.Lock()
	c.lastStop[t.Stream.String()] = now
	c.mu.Unlock()
	var pe *providers.Error
	if err != nil && !(errors.As(err, &pe) && pe.Code == CodeIllegal && pe.HTTP == http.StatusNotFound) {
		return t, err
	}
	t.Status = providers.StatusStopped
	t.Stopped = now
	return t, nil
}

// Delete is not supported: huawei records on command, nothing is scheduled.
func (c *Client) Delete(ctx context.Context, t providers.Task) error {
	return &providers.Error{Class: providers.Permanent, Provider: Type, Op: "Delete",
		Message: "huawei records on command only; there is no scheduled task to delete (stop it instead)"}
}

// List reports each managed task with StatusUnknown: no Live API tells
// whether a stream is being recorded right now.
func (c *Client) List(ctx context.Context, scope providers.Scope) ([]providers.Task, error) {
	return providers.UnknownManaged(scope), nil
}

// Reassert re-issues START for a task whose window is open: "already
// recording" => restarted=false; success => the recording had ended (an
// interruption longer than Huawei's threshold ends it for good) and was
// restarted (restarted=true, the gap is logged); stream not pushed =>
// Status waiting with a StreamOffline error; within 10 s of a STOP =>
// Retryable with RetryAfter = the remaining gap.
func (c *Client) Reassert(ctx context.Context, t providers.Task) (providers.Task, bool, error) {
	return providers.ReassertAnswer(t, c.start(ctx, t.Stream, time.Time{}))
}

var (
	_ providers.Provider   = (*Client)(nil)
	_ providers.Reasserter = (*Client)(nil)
)

package tencent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// Documented task limits (tencent.md §2, §5).
const (
	MaxTaskDuration = 24 * time.Hour     // EndTime - StartTime
	MaxEndAhead     = 7 * 24 * time.Hour // EndTime < now + 7 days
	MaxLookahead    = 6 * 24 * time.Hour // StartTime within 6 days
	MaxOverlap      = 3                  // overlapping tasks per stream
	MaxQueryWindow  = 7 * 24 * time.Hour // DescribeRecordTask window
	RateLimit       = 20                 // requests/s per API
)

var capabilities = providers.Capabilities{
	ScheduleAhead:       true,
	MaxLookahead:        MaxLookahead,
	MaxTaskDuration:     MaxTaskDuration,
	CanList:             true,
	MaxOverlapPerStream: MaxOverlap,
	DefaultRateLimit:    RateLimit,
}

// createRequest is CreateRecordTask's body, fields in the SDK's order.
type createRequest struct {
	StreamName string `json:"StreamName"`
	DomainName string `json:"DomainName"`
	AppName    string `json:"AppName"`
	EndTime    int64  `json:"EndTime"`
	StartTime  int64  `json:"StartTime"`
	StreamType *int64 `json:"StreamType,omitempty"`
	TemplateID *int64 `json:"TemplateId,omitempty"`
	Extension  string `json:"Extension,omitempty"`
}

type taskIDRequest struct {
	TaskID string `json:"TaskId"`
}

// Create schedules a task for [req.Start, req.End). A start in the past is
// sent as now, so the returned Task carries the StartTime the service holds.
// Requests the service would refuse are refused here with a Permanent error.
func (c *Client) Create(ctx context.Context, req providers.CreateRequest) (providers.Task, error) {
	const op = "CreateRecordTask"
	now := c.now()
	nowS := time.Unix(now.Unix(), 0).UTC()
	start := time.Unix(req.Start.Unix(), 0).UTC()
	if !start.After(nowS) {
		start = nowS
	}
	end := time.Unix(req.End.Unix(), 0).UTC()
	s := req.Stream
	body := createRequest{StreamName: s.Name, DomainName: s.Domain, AppName: s.App, StartTime: start.Unix(), EndTime: end.Unix()}
	o := optionsOf(req.Recording)
	body.TemplateID, body.StreamType, body.Extension = o.TemplateID, o.StreamType, o.Extension
	if msg := checkCreate(body, nowS); msg != "" {
		return providers.Task{}, &providers.Error{Class: providers.Permanent, Provider: Type, Op: op,
			Message: fmt.Sprintf("%s %s [%s, %s): %s", req.Key, s, req.Start.UTC().Format(time.RFC3339), req.End.UTC().Format(time.RFC3339), msg)}
	}
	var out struct {
		TaskID string `json:"TaskId"`
	}
	if err := c.call(ctx, op, body, &out); err != nil {
		return providers.Task{}, err
	}
	if out.TaskID == "" {
		return providers.Task{}, &providers.Error{Class: providers.Retryable, Provider: Type, Op: op, Message: "response carries no TaskId"}
	}
	t := providers.Task{ID: out.TaskID, Stream: s, Start: start, End: end}
	t.Status = statusAt(c.now(), t.Start, t.End, time.Time{})
	return t, nil
}

// checkCreate applies the documented rules locally; "" means acceptable.
func checkCreate(b createRequest, now time.Time) string {
	var missing []string
	for _, f := range []struct{ name, v string }{{"domain", b.DomainName}, {"app", b.AppName}, {"name", b.StreamName}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	start, end := time.Unix(b.StartTime, 0), time.Unix(b.EndTime, 0)
	switch {
	case len(missing) > 0:
		return "stream " + strings.Join(missing, ", ") + " must be set"
	case !end.After(now):
		return "the window has already ended"
	case !end.After(start):
		return "the end must be after the start"
	case !end.Before(now.Add(MaxEndAhead)):
		return "Tencent requires EndTime less than 7 days from now: schedule at most 6 days ahead (lookahead)"
	case end.Sub(start) > MaxTaskDuration:
		return "a Tencent task lasts at most 24 h: split the window into consecutive tasks"
	case b.StreamType != nil && *b.StreamType != 0 && *b.StreamType != 1:
		return fmt.Sprintf("options.streamType must be 0 (normal push) or 1 (mixed stream), not %d", *b.StreamType)
	case b.TemplateID != nil && *b.TemplateID < 0:
		return "options.templateId must not be negative"
	}
	return ""
}

// Stop ends a task early (StopRecordTask). A task the service no longer
// knows is reported Gone without an error.
func (c *Client) Stop(ctx context.Context, t providers.Task) (providers.Task, error) {
	err := c.call(ctx, "StopRecordTask", taskIDRequest{TaskID: t.ID}, nil)
	if isGone(err) {
		t.Status = providers.StatusGone
		return t, nil
	}
	if err != nil {
		return t, err
	}
	now := c.now()
	if t.Stopped.IsZero() && (t.End.IsZero() || now.Before(t.End)) {
		t.Stopped = now.UTC()
	}
	t.Status = statusAt(now, t.Start, t.End, t.Stopped)
	return t, nil
}

// Delete removes a task's configuration (DeleteRecordTask); deleting a task
// that is already gone is not an error.
func (c *Client) Delete(ctx context.Context, t providers.Task) error {
	err := c.call(ctx, "DeleteRecordTask", taskIDRequest{TaskID: t.ID}, nil)
	if isGone(err) {
		return nil
	}
	return err
}

// isGone reports a "task does not exist" answer: ResourceNotFound.TaskId,
// or an InvalidParameter whose message says the task does not exist (how
// the service answered unknown TaskIds on older APIs).
func isGone(err error) bool {
	pe, ok := err.(*providers.Error)
	if !ok || pe == nil {
		return false
	}
	if pe.Class == providers.NotFound {
		return true
	}
	m, _, _ := strings.Cut(strings.ToLower(pe.Message), "; ") // the service's text, without our hint
	return strings.HasPrefix(pe.Code, CodeInvalidParameter) && strings.Contains(m, "task") &&
		(strings.Contains(m, "not exist") || strings.Contains(m, "not found"))
}

// statusAt derives a task's status: Tencent reports no status field.
func statusAt(now, start, end, stopped time.Time) providers.Status {
	switch {
	case !stopped.IsZero():
		return providers.StatusStopped
	case now.Before(start):
		return providers.StatusScheduled
	case now.Before(end):
		return providers.StatusRecording
	}
	return providers.StatusFinished
}

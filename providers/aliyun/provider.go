package aliyun

import (
	"context"
	"errors"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// OpRealTimeRecordCommand is the Op name in errors.
const OpRealTimeRecordCommand = "RealTimeRecordCommand"

// HandleFinalize is the Task.Handle key set to "1" when the Recording has
// options.finalizeImmediately: Stop then sends cancel_delay.
const HandleFinalize = "finalize"

// command sends RealTimeRecordCommand for one stream.
func (c *Client) command(ctx context.Context, cmd string, s spec.Stream) error {
	return c.call(ctx, OpRealTimeRecordCommand+" "+cmd, map[string]string{
		"Action":     OpRealTimeRecordCommand,
		"Command":    cmd,
		"DomainName": s.Domain,
		"AppName":    s.App,
		"StreamName": s.Name,
	}, nil)
}

// Create starts recording now (Command=start). TaskAlreadyStarted returns the
// task with an AlreadyExists error (adopt); a stream not pushed yet returns it
// with Status waiting and a StreamOffline error (the engine keeps trying).
func (c *Client) Create(ctx context.Context, req providers.CreateRequest) (providers.Task, error) {
	t := providers.Task{ID: req.Stream.String(), Stream: req.Stream, Start: c.now(), End: req.End}
	if optionsOf(req.Recording).FinalizeImmediately {
		t.Handle = map[string]string{HandleFinalize: "1"}
	}
	return providers.StartAnswer(t, c.command(ctx, "start", req.Stream))
}

// Stop sends stop (the file appears 180 s later) and, when the task's Handle
// has finalize=1, cancel_delay right after so the file is produced at once.
// A stream that is not being recorded or pushed is not an error.
func (c *Client) Stop(ctx context.Context, t providers.Task) (providers.Task, error) {
	if err := c.command(ctx, "stop", t.Stream); err != nil && !notRecording(err) {
		return t, err
	}
	if t.Handle[HandleFinalize] == "1" {
		if err := c.command(ctx, "cancel_delay", t.Stream); err != nil && !notRecording(err) {
			return t, err
		}
	}
	t.Status = providers.StatusStopped
	t.Stopped = c.now()
	return t, nil
}

// notRecording reports errors that mean "nothing to stop".
func notRecording(err error) bool {
	var pe *providers.Error
	return errors.As(err, &pe) && (pe.Class == providers.StreamOffline || pe.Code == "TaskNotFound")
}

// Delete is not supported: aliyun records on command, nothing is scheduled.
func (c *Client) Delete(ctx context.Context, t providers.Task) error {
	return &providers.Error{Class: providers.Permanent, Provider: Type, Op: "Delete",
		Message: "aliyun records on command only; there is no scheduled task to delete (stop it instead)"}
}

// List reports each managed task with StatusUnknown: no Live API tells
// whether a stream is being recorded right now (aliyun.md §3).
func (c *Client) List(ctx context.Context, scope providers.Scope) ([]providers.Task, error) {
	return providers.UnknownManaged(scope), nil
}

// Reassert re-issues start for a task whose window is open. An interrupted
// manual recording does not resume by itself (seed 003), so success means
// it had dropped and was restarted (restarted=true; footage in the gap is
// lost); TaskAlreadyStarted means it is still recording. A stream not
// pushed returns Status waiting with a StreamOffline error.
func (c *Client) Reassert(ctx context.Context, t providers.Task) (providers.Task, bool, error) {
	return providers.ReassertAnswer(t, c.command(ctx, "start", t.Stream))
}

var (
	_ providers.Provider   = (*Client)(nil)
	_ providers.Reasserter = (*Client)(nil)
)

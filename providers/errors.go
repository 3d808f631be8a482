package providers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Class tells the engine what to do about a provider error, so it never has
// to match on provider-specific codes or messages.
type Class int

const (
	// Permanent: retrying will not help; the user must fix something.
	Permanent Class = iota
	// Retryable: a transient failure (5xx, timeout, InternalError); retry with backoff.
	Retryable
	// Throttled: the provider's rate limit was hit; retry after backing off.
	Throttled
	// AlreadyExists: the task already exists / is already recording: adopt it.
	AlreadyExists
	// NotFound: the task is not there (deleted, expired, never created).
	NotFound
	// StreamOffline: the stream is not being pushed yet; try again while the window is open.
	StreamOffline
)

func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Retryable:
		return "retryable"
	case Throttled:
		return "throttled"
	case AlreadyExists:
		return "already-exists"
	case NotFound:
		return "not-found"
	case StreamOffline:
		return "stream-offline"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is a classified provider error.
type Error struct {
	Class    Class
	Provider string // provider type, e.g. "tencent"
	Op       string // operation, e.g. "CreateRecordTask"
	Code     string // the provider's own code, e.g. "LimitExceeded.MaximumRunningTask"
	Message  string // the provider's message, plus what the user should do
	HTTP     int    // HTTP status, if any
	// RetryAfter is a hint for Retryable/Throttled errors (0: use backoff).
	RetryAfter time.Duration
	RequestID  string
	Err        error // underlying transport error, if any
	// MayHaveActed: an attempt behind this error got no answer, so the
	// provider may have carried it out whatever Code says (OutcomeUnknown).
	MayHaveActed bool
}

func (e *Error) Error() string {
	s := e.Provider
	if e.Op != "" {
		s += " " + e.Op
	}
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf classifies any error: a *Error's class; context deadline and
// unknown transport errors are Retryable; context cancellation (the caller
// gave up) and certificate failures (TLSReason) are Permanent.
func ClassOf(err error) Class {
	if err == nil {
		return Permanent
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Class
	}
	if errors.Is(err, context.Canceled) || TLSReason(err) != "" {
		return Permanent
	}
	return Retryable
}

// IsRetryable reports whether the engine should retry (Retryable or Throttled).
func IsRetryable(err error) bool {
	c := ClassOf(err)
	return c == Retryable || c == Throttled
}

// RetryAfter returns the error's retry hint, or 0.
func RetryAfter(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// OutcomeUnknown reports whether err leaves open if the provider acted: a
// retryable failure without the provider's own error code (timeout, lost
// connection, a gateway's bare 5xx), or one marked MayHaveActed. Retrying a
// create after it can make a second task; look first where the provider can list.
func OutcomeUnknown(err error) bool {
	if err == nil || ClassOf(err) != Retryable {
		return false
	}
	var pe *Error
	return !errors.As(err, &pe) || pe.Code == "" || pe.MayHaveActed
}

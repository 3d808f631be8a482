package providers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
)

// maxBody bounds how much of a provider response is read.
const maxBody = 1 << 20

// Exchange sends req with hc and reads the response body (at most 1 MiB).
// A failed round trip becomes a classified *Error for provider typ and
// operation op: Retryable, or Permanent when ctx was cancelled or the TLS
// handshake failed for good (TLSError). Its text
// never includes the request URL, whose query may carry a signature.
func Exchange(ctx context.Context, hc *http.Client, req *http.Request, typ, op, endpoint string) (*http.Response, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, transportError(ctx, typ, op, endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, transportError(ctx, typ, op, endpoint, err)
	}
	return resp, body, nil
}

func transportError(ctx context.Context, typ, op, endpoint string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop the URL
	}
	if te := TLSError(typ, op, endpoint, err); te != nil && ctx.Err() == nil {
		return te
	}
	class := Retryable
	if ctx.Err() != nil {
		err = ctx.Err()
		if errors.Is(err, context.Canceled) {
			class = Permanent
		}
	}
	return &Error{Class: class, Provider: typ, Op: op, Message: "request to " + endpoint + " failed", Err: err}
}

// DecodeJSON decodes a successful response body into out (nil: ignore the
// body). A body that is not the expected JSON is Retryable: a truncated or
// proxied answer says nothing about the request.
func DecodeJSON(typ, op string, status int, body []byte, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Class: Retryable, Provider: typ, Op: op, HTTP: status, Message: "response is not the expected JSON"}
	}
	return nil
}

// UnknownManaged is List for providers that cannot observe a recording:
// every managed task is reported with StatusUnknown.
func UnknownManaged(scope Scope) []Task {
	out := make([]Task, 0, len(scope.Managed))
	for _, t := range scope.Managed {
		t.Status = StatusUnknown
		out = append(out, t)
	}
	return out
}

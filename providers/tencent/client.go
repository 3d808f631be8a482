package tencent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// Wire constants of the CSS API (tencent.md §1).
const (
	Type            = "tencent"
	APIVersion      = "2018-08-01"
	DefaultEndpoint = "https://live.tencentcloudapi.com"
	contentType     = "application/json"
	maxResponse     = 8 << 20
)

// Client talks to Tencent Cloud CSS for one Provider document. It is
// immutable after New and safe for concurrent use.
type Client struct {
	name     string // Provider metadata.name, for messages
	endpoint string // URL requests are POSTed to
	host     string // Host header (signed)
	region   string
	signer   Signer
	http     *http.Client
	ua       string
	now      func() time.Time
	pacer    *providers.Pacer // throttles are reported to it
}

var _ providers.Provider = (*Client)(nil)

// New builds a Client from a Provider document: region, endpoint (default
// https://live.tencentcloudapi.com) and credentials secretId/secretKey, which
// are resolved here and never shown in errors.
func New(p *spec.Provider, opts providers.Options) (providers.Provider, error) {
	return NewClient(p, opts)
}

// NewClient is New with the concrete type (tests, benchmarks).
func NewClient(p *spec.Provider, opts providers.Options) (*Client, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("tencent provider %q: %s", p.Metadata.Name, fmt.Sprintf(format, a...))
	}
	cfg := configOf(p)
	if cfg.Region == "" {
		return nil, fail("region is required (for example ap-guangzhou)")
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fail("endpoint %q must be an http(s) URL such as %s", endpoint, DefaultEndpoint)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	keys, err := providers.Credentials(p, "secretId", "secretKey")
	if err != nil {
		return nil, err
	}
	ua := opts.Agent()
	return &Client{
		name:     p.Metadata.Name,
		endpoint: u.String(),
		host:     u.Host,
		region:   cfg.Region,
		signer:   Signer{SecretID: keys[0], SecretKey: keys[1], Service: Service},
		http:     opts.Client(),
		ua:       ua,
		now:      opts.Time().Now,
		pacer:    opts.Pacer,
	}, nil
}

// Capabilities are Tencent's documented limits (tencent.md §5).
func (c *Client) Capabilities() providers.Capabilities { return capabilities }

// envelope is every response: {"Response": {...}}.
type envelope struct {
	Response json.RawMessage `json:"Response"`
}

// respError is the Error part of a response.
type respError struct {
	Error *struct {
		Code    string `json:"Code"`
		Message string `json:"Message"`
	} `json:"Error"`
	RequestID string `json:"RequestId"`
}

// call signs and POSTs one action and decodes Response into out. Every
// error is a *providers.Error: Response.Error is classified, anything
// that is not a well-formed HTTP 200 answer is Retryable.
func (c *Client) call(ctx context.Context, action string, in, out any) (err error) {
	defer func() { c.pacer.Note(err) }()
	body, err := json.Marshal(in)
	if err != nil {
		return &providers.Error{Class: providers.Permanent, Provider: Type, Op: action, Message: "encoding request", Err: err}
	}
	ts := c.now().Unix()
	auth, _ := c.signer.Sign(c.host, contentType, body, ts)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return &providers.Error{Class: providers.Permanent, Provider: Type, Op: action, Message: "building request", Err: err}
	}
	req.Host = c.host
	h := req.Header
	h.Set("Authorization", auth)
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", c.ua)
	h.Set("X-TC-Action", action)
	h.Set("X-TC-Version", APIVersion)
	h.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-TC-Region", c.region)
	h.Set("X-TC-Language", "en-US")
	h.Set("X-TC-RequestClient", "recordctl")

	resp, err := c.http.Do(req)
	if err != nil {
		if te := providers.TLSError(Type, action, c.endpoint, err); te != nil {
			te.Err = scrubErr{c, err}
			return te
		}
		class := providers.Retryable
		if errors.Is(err, context.Canceled) {
			class = providers.Permanent // the caller gave up
		}
		return &providers.Error{Class: class, Provider: Type, Op: action, Message: "request to " + c.endpoint + " failed", Err: scrubErr{c, err}}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return &providers.Error{Class: providers.Retryable, Provider: Type, Op: action, HTTP: resp.StatusCode,
			Message: "reading response", Err: scrubErr{c, err}}
	}
	if resp.StatusCode != http.StatusOK {
		e := &providers.Error{Class: providers.Retryable, Provider: Type, Op: action, HTTP: resp.StatusCode,
			Message: fmt.Sprintf("HTTP %d from %s", resp.StatusCode, c.endpoint)}
		if resp.StatusCode == http.StatusTooManyRequests {
			e.Class, e.RetryAfter = providers.Throttled, throttleRetryAfter
		}
		return e
	}
	var env envelope
	var re respError
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Response) == 0 || json.Unmarshal(env.Response, &re) != nil {
		return &providers.Error{Class: providers.Retryable, Provider: Type, Op: action, HTTP: resp.StatusCode,
			Message: "malformed response from " + c.endpoint + " (is the endpoint Tencent CSS?)"}
	}
	if re.Error != nil {
		return c.classify(action, re.Error.Code, re.Error.Message, re.RequestID)
	}
	if out != nil {
		if err := json.Unmarshal(env.Response, out); err != nil {
			return &providers.Error{Class: providers.Retryable, Provider: Type, Op: action, HTTP: resp.StatusCode,
				Message: "malformed response", RequestID: re.RequestID, Err: err}
		}
	}
	return nil
}

// scrubErr hides credential values in a wrapped transport error's text.
type scrubErr struct {
	c   *Client
	err error
}

func (s scrubErr) Error() string { return s.c.scrub(s.err.Error()) }
func (s scrubErr) Unwrap() error { return s.err }

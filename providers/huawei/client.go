package huawei

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// MinRestartGap: after a STOP, the next START of the same stream must come
// more than 10 s later (seed 002), else LIVE.100011022.
const MinRestartGap = 10 * time.Second

// capabilities of the huawei provider: command-driven, no listing API.
// DefaultRateLimit 20/s is our conservative choice: Huawei does not document
// a rate limit for RunRecord/ListRecordRules.
var capabilities = providers.Capabilities{
	ScheduleAhead:    false,
	CanList:          false,
	MinRestartGap:    MinRestartGap,
	DefaultRateLimit: rateLimit,
}

// rateLimit is our conservative choice, requests/s (see capabilities).
const rateLimit = 20

// Client is a configured Huawei Cloud Live project. Safe for concurrent use.
type Client struct {
	name      string
	endpoint  string
	projectID string
	ak, sk    string
	http      *http.Client
	ua        string
	now       func() time.Time
	pacer     *providers.Pacer

	mu       sync.Mutex
	lastStop map[string]time.Time // stream -> when our last STOP returned

	// rules caches each domain's COMMAND_RECORD rules (hasCommandRule).
	rules providers.Memo[string, []RecordRule]
}

// New is the registered factory; it resolves the credential references.
func New(p *spec.Provider, opts providers.Options) (providers.Provider, error) {
	return NewClient(p, opts)
}

// NewClient builds a Client from a Provider document (region, projectId,
// credentials accessKey/secretKey; optional endpoint).
func NewClient(p *spec.Provider, opts providers.Options) (*Client, error) {
	creds, err := providers.Credentials(p, "accessKey", "secretKey")
	if err != nil {
		return nil, err
	}
	ak, sk := creds[0], creds[1]
	cfg := configOf(p)
	if cfg.ProjectID == "" {
		return nil, fmt.Errorf("provider %s: projectId is required for type huawei", p.Name())
	}
	ep := strings.TrimRight(cfg.Endpoint, "/")
	if ep == "" {
		if cfg.Region == "" {
			return nil, fmt.Errorf("provider %s: region (e.g. cn-north-4) or endpoint is required for type huawei", p.Name())
		}
		ep = "https://live." + cfg.Region + ".myhuaweicloud.com"
	}
	if _, err := url.Parse(ep); err != nil {
		return nil, fmt.Errorf("provider %s: endpoint %q is not a URL", p.Name(), cfg.Endpoint)
	}
	ua := opts.Agent()
	c := &Client{
		name: p.Name(), endpoint: ep, projectID: cfg.ProjectID, ak: ak, sk: sk,
		http: opts.Client(), ua: ua, now: opts.Time().Now, pacer: opts.Pacer,
		lastStop: map[string]time.Time{},
	}
	c.rules.TTL, c.rules.Clock = RulesTTL, opts.Time()
	return c, nil
}

// Capabilities implements providers.Provider.
func (c *Client) Capabilities() providers.Capabilities { return capabilities }

// apiError is Huawei's error body.
type apiError struct {
	Code      string `json:"error_code"`
	Msg       string `json:"error_msg"`
	Detail    string `json:"error_detail"`
	RequestID string `json:"request_id"`
}

// do sends one signed request to /v1/{project_id}{path}; body (if any) is
// JSON-encoded with a trailing newline, as the SDK does; out receives a 2xx JSON body.
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, body, out any) (err error) {
	defer func() { c.pacer.Note(err) }() // a throttle slows every request of the account
	var payload []byte
	if body != nil {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			return &providers.Error{Class: providers.Permanent, Provider: Type, Op: op, Message: "cannot encode request", Err: err}
		}
		payload = buf.Bytes()
	}
	u := c.endpoint + "/v1/" + url.PathEscape(c.projectID) + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
	if err != nil {
		return &providers.Error{Class: providers.Permanent, Provider: Type, Op: op,
			Message: "cannot build request for endpoint " + c.endpoint}
	}
	if method == http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	} else {
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("X-Project-Id", c.projectID)
	req.Header.Set(HeaderSdkDate, c.now().UTC().Format(DateFormat))
	Sign(req, payload, c.ak, c.sk)

	resp, data, err := providers.Exchange(ctx, c.http, req, Type, op, c.endpoint)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return providers.DecodeJSON(Type, op, resp.StatusCode, data, out)
	}
	return c.classify(op, resp, data)
}

func init() {
	providers.Register(providers.Registration{
		Type:         Type,
		Spec:         specType{},
		Capabilities: capabilities,
		New:          New,
		PointAt:      pointAt,
	})
}

package aliyun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// Wire constants of ApsaraVideo Live's RPC API.
const (
	// DefaultEndpoint serves every region (the SDK's endpoint table).
	DefaultEndpoint = "https://live.aliyuncs.com"
	// APIVersion is the Live API version RealTimeRecordCommand belongs to.
	APIVersion = "2016-11-01"
	// TimestampFormat is the Timestamp parameter's layout (UTC).
	TimestampFormat = "2006-01-02T15:04:05Z"
)

// rateLimit is the documented request rate per account (seed 003).
const rateLimit = 50

// capabilities of the aliyun provider: command-driven, no listing API,
// 50 requests/s per account (seed 003) and a 180 s stop-to-file delay.
var capabilities = providers.Capabilities{
	ScheduleAhead:     false,
	CanList:           false,
	DefaultRateLimit:  rateLimit,
	StopFinalizeDelay: 180 * time.Second,
	StopFinalizeHint:  "set the recording's option finalizeImmediately to finalize at once",
}

// Client is a configured Alibaba Cloud Live account. Safe for concurrent use.
type Client struct {
	name     string
	endpoint string
	region   string
	keyID    string
	secret   string
	http     *http.Client
	ua       string
	now      func() time.Time
	nonce    func() string // SignatureNonce source (tests pin it)
	pacer    *providers.Pacer
	// configs caches each domain's configured apps (CheckStream).
	configs providers.Memo[string, map[string]bool]
}

// New is the registered factory; it resolves the credential references.
func New(p *spec.Provider, opts providers.Options) (providers.Provider, error) {
	return NewClient(p, opts)
}

// NewClient builds a Client from a Provider document (credentials
// accessKeyId and accessKeySecret; region; optional endpoint).
func NewClient(p *spec.Provider, opts providers.Options) (*Client, error) {
	creds, err := providers.Credentials(p, "accessKeyId", "accessKeySecret")
	if err != nil {
		return nil, err
	}
	id, secret := creds[0], creds[1]
	cfg := configOf(p)
	ep := strings.TrimRight(cfg.Endpoint, "/")
	if ep == "" {
		ep = DefaultEndpoint
	}
	if _, err := url.Parse(ep); err != nil {
		return nil, fmt.Errorf("provider %s: endpoint %q is not a URL", p.Name(), cfg.Endpoint)
	}
	ua := opts.Agent()
	c := &Client{
		name: p.Name(), endpoint: ep, region: cfg.Region,
		keyID: id, secret: secret,
		http: opts.Client(), ua: ua, now: opts.Time().Now, nonce: newNonce, pacer: opts.Pacer,
	}
	c.configs.TTL, c.configs.Clock = ConfigTTL, opts.Time()
	return c, nil
}

// Capabilities implements providers.Provider.
func (c *Client) Capabilities() providers.Capabilities { return capabilities }

// apiError is Alibaba's error body.
type apiError struct {
	RequestID string `json:"RequestId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
}

// call sends one signed RPC request (POST, parameters in the query string,
// empty form body) and decodes a successful JSON response into out.
func (c *Client) call(ctx context.Context, op string, params map[string]string, out any) (err error) {
	defer func() { c.pacer.Note(err) }() // a throttle slows every request of the account
	p := make(map[string]string, len(params)+10)
	for k, v := range params {
		p[k] = v
	}
	p["Format"] = "JSON"
	p["Version"] = APIVersion
	p["AccessKeyId"] = c.keyID
	p["SignatureMethod"] = "HMAC-SHA1"
	p["SignatureVersion"] = "1.0"
	p["SignatureNonce"] = c.nonce()
	p["Timestamp"] = c.now().UTC().Format(TimestampFormat)
	if c.region != "" {
		p["RegionId"] = c.region
	}
	sig := SignRPC(http.MethodPost, p, c.secret)
	u := c.endpoint + "/?" + EncodeQuery(p, sig)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, http.NoBody)
	if err != nil {
		return &providers.Error{Class: providers.Permanent, Provider: Type, Op: op,
			Message: "cannot build request for endpoint " + c.endpoint}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "application/json")
	resp, body, err := providers.Exchange(ctx, c.http, req, Type, op, c.endpoint)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return providers.DecodeJSON(Type, op, resp.StatusCode, body, out)
	}
	return c.classify(op, resp, body)
}

// scrub removes the credentials from any text that might echo them: the
// secret, and the AccessKey ID, which SignatureDoesNotMatch quotes in its
// "server string to sign" (raw or percent-encoded once or twice).
func (c *Client) scrub(s string) string {
	for _, v := range []string{c.secret, c.keyID} {
		if v == "" {
			continue
		}
		once := url.QueryEscape(v)
		for _, form := range []string{v, once, url.QueryEscape(once)} {
			s = strings.ReplaceAll(s, form, "***")
		}
	}
	return s
}

// newNonce returns 32 random hex characters, as the SDK sends.
func newNonce() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("aliyun: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
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

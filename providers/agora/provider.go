package agora

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// caps are Agora's static capabilities: command-driven (no scheduling, no
// listing), a start must confirm within 90 s (seed 004).
var caps = providers.Capabilities{
	ScheduleAhead:    false,
	CanList:          false,
	StartDeadline:    90 * time.Second,
	DefaultRateLimit: rateLimit,
}

// rateLimit is a conservative guess: Agora documents none (requests/s).
const rateLimit = 10

func init() {
	providers.Register(providers.Registration{
		Type:         Type,
		Spec:         specType{},
		Capabilities: caps,
		New:          New,
		PointAt:      pointAt,
		DemoOptions:  demoOptions,
	})
}

// Provider is one Agora project (App ID) reached through an ordered list of
// domains. Safe for concurrent use.
type Provider struct {
	name      string
	appID     string
	custID    string
	custSec   string
	endpoints *endpoints
	client    *http.Client
	userAgent string
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	pacer     *providers.Pacer
	red       redactor

	mu sync.Mutex
	// lostUID holds, by window piece (CreateRequest.Key), the uid of a start
	// whose answer was lost, so that the resumed Create asks that uid first.
	lostUID map[string]string
	// recipes holds by channel and uid the start parameters of the last
	// Create, for Stop's lookup of a recorder without a sid.
	recipes map[string]recipe
	// watches hold, by sid, each recorder's last status and next query (List).
	watches map[string]*watch
	// listTimeout bounds one List (ListTimeout).
	listTimeout time.Duration
}

// New builds the provider from its document, resolving the customer
// credentials now; errors name the reference, never the value.
func New(p *spec.Provider, opts providers.Options) (providers.Provider, error) {
	cfg := configOf(p)
	if cfg.AppID == "" {
		return nil, fmt.Errorf("provider %s: spec.appId is required (the Agora project's App ID)", p.Name())
	}
	urls := cfg.Endpoints
	if len(urls) == 0 {
		urls = DefaultEndpoints()
	}
	clean := make([]string, 0, len(urls))
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return nil, fmt.Errorf("provider %s: endpoint %q is not an http(s) base URL", p.Name(), u)
		}
		clean = append(clean, strings.TrimRight(u, "/"))
	}
	creds, err := providers.Credentials(p, "customerId", "customerSecret")
	if err != nil {
		return nil, err
	}
	id, sec, ua := creds[0], creds[1], opts.Agent()
	pr := &Provider{
		name: p.Name(), appID: cfg.AppID, custID: id, custSec: sec,
		client: opts.Client(), userAgent: ua, now: opts.Time().Now, sleep: opts.Time().Sleep, pacer: opts.Pacer,
		lostUID: map[string]string{}, recipes: map[string]recipe{}, watches: map[string]*watch{}, listTimeout: ListTimeout,
	}
	pr.endpoints = &endpoints{urls: clean, now: pr.now}
	pr.red.add(id)
	pr.red.add(sec)
	return pr, nil
}

// Capabilities returns caps.
func (p *Provider) Capabilities() providers.Capabilities { return caps }

// Delete is not supported: Agora cannot schedule ahead, so there is never a
// task that has not started.
func (p *Provider) Delete(ctx context.Context, t providers.Task) error {
	return permanent("delete", "agora tasks are never scheduled ahead; stop task %s instead", t.ID)
}

// basePath is the API prefix of this App ID.
func (p *Provider) basePath() string {
	return "/v1/apps/" + url.PathEscape(p.appID) + "/cloud_recording"
}

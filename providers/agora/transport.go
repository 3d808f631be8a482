package agora

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/recordctl/recordctl/providers"
)

// retryPolicy is how one operation retries a failed request (transport
// error, 5xx, 429, or one of retryCodes): each domain is tried perDomain
// times (default 2), in endpoint order, waiting delays[i] before retry i+1
// (the last repeats; none: no wait).
type retryPolicy struct {
	delays     []time.Duration
	retryCodes map[int]bool
	perDomain  int
}

var (
	// defaultPolicy: seed 004's domain failover, 1 s, 3 s, 6 s.
	defaultPolicy = retryPolicy{delays: []time.Duration{1 * time.Second, 3 * time.Second, 6 * time.Second}}
	// startPolicy: seed 004's start recipe, same parameters at 3 s, 6 s, 9 s;
	// code 62/65 on start are network trouble at Agora, retried alike.
	startPolicy = retryPolicy{delays: []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second},
		retryCodes: map[int]bool{codeNotEnabled: true, codeJitter: true}}
	// queryPolicy: one try per domain, no wait; the seed's monitoring
	// recipe for 5xx (5/10/15/30 s) is scheduled by List (recheck5xx).
	queryPolicy = retryPolicy{perDomain: 1}
)

// tries is how often each domain is tried.
func (rp retryPolicy) tries() int {
	if rp.perDomain > 0 {
		return rp.perDomain
	}
	return 2
}

// attempts is the number of tries over n domains: every delay is used, and
// every domain gets its tries.
func (rp retryPolicy) attempts(n int) int { return max(len(rp.delays)+1, rp.tries()*n) }

func (rp retryPolicy) delay(i int) time.Duration {
	if len(rp.delays) == 0 {
		return 0
	}
	return rp.delays[min(i, len(rp.delays)-1)]
}

// stickyFor is how long a fallback domain that worked stays first before
// the primary is given another chance.
const stickyFor = 5 * time.Minute

// endpoints is the ordered domain list with a sticky preference for the
// one that last worked, so a dead primary costs its retries only once.
type endpoints struct {
	urls []string
	now  func() time.Time

	mu        sync.Mutex
	preferred int
	since     time.Time
}

// first returns the index to start from.
func (e *endpoints) first() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.preferred != 0 && e.now().Sub(e.since) >= stickyFor {
		e.preferred = 0
	}
	return e.preferred
}

// worked records that domain i answered.
func (e *endpoints) worked(i int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.preferred != i {
		e.preferred, e.since = i, e.now()
	}
}

// call sends one API request with domain failover and returns the body of a
// 2xx answer, or a classified error (the last one when retries ran out) with
// the body of a final 4xx answer.
func (p *Provider) call(ctx context.Context, op, method, path string, in any, pol retryPolicy) ([]byte, error) {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, permanent(op, "encoding request: %v", err)
		}
		body = b
	}
	n := len(p.endpoints.urls)
	first := p.endpoints.first()
	var last, tlsErr *providers.Error
	lost := false               // an attempt's answer never arrived: it may have acted
	untrusted := map[int]bool{} // domains whose TLS handshake failed for good
	tries := 0
	for k := 0; k < pol.attempts(n); k++ {
		idx := (first + k/pol.tries()) % n
		if untrusted[idx] {
			continue // a certificate does not get better on retry
		}
		if tries > 0 && pol.delay(tries-1) > 0 {
			if err := p.sleep(ctx, pol.delay(tries-1)); err != nil {
				return nil, unknownIf(lost, ctxErr(op, err, last))
			}
		}
		tries++
		req, err := p.newRequest(ctx, p.endpoints.urls[idx], method, path, body)
		if err != nil {
			return nil, permanent(op, "building request: %v", err)
		}
		status, hdr, out, err := p.do(req)
		if te := providers.TLSError(Type, op, p.endpoints.urls[idx], err); err != nil && te != nil && ctx.Err() == nil {
			// Never sent: the handshake failed. Try the next domain at
			// once; when every domain fails so, the error is permanent.
			untrusted[idx], tlsErr = true, te
			if len(untrusted) == n {
				return nil, tlsErr
			}
			tries = 0
			continue
		}
		if err != nil {
			lost = true
			if ctx.Err() != nil {
				return nil, unknownIf(lost, ctxErr(op, ctx.Err(), last))
			}
			last = &providers.Error{Class: providers.Retryable, Provider: Type, Op: op,
				Message: "cannot reach " + hostOf(p.endpoints.urls[idx]), Err: err}
			continue
		}
		if status >= 200 && status < 300 {
			p.endpoints.worked(idx)
			return out, nil
		}
		e := p.classify(op, status, out, hdr)
		p.pacer.Note(e) // a throttle slows every request of the account
		if status == http.StatusTooManyRequests || status >= 500 || pol.retryCodes[codeOf(e)] {
			last = e
			continue
		}
		p.endpoints.worked(idx) // the domain answered; the request itself was wrong
		return out, e           // the body may echo resourceId and sid (7, 53)
	}
	if last == nil {
		return nil, tlsErr
	}
	return nil, unknownIf(lost, last)
}

// unknownIf marks a retryable failure whose attempts include one without
// an answer as MayHaveActed (providers.OutcomeUnknown), even when the last
// attempt got a clear 5xx: the lost one may have acted.
func unknownIf(lost bool, e *providers.Error) *providers.Error {
	if !lost || e == nil || e.Class != providers.Retryable {
		return e
	}
	u := *e
	u.MayHaveActed = true
	u.Message += " (an earlier attempt got no answer and may have acted)"
	return &u
}

// newRequest builds a signed request: Basic auth (agora.md §2), JSON content
// type, User-Agent.
func (p *Provider) newRequest(ctx context.Context, base, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(p.custID, p.custSec)
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", p.userAgent)
	return req, nil
}

// do sends req and reads at most 1 MiB of the answer.
func (p *Provider) do(req *http.Request) (int, http.Header, []byte, error) {
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, out, nil
}

// ctxErr reports a cancelled or timed-out call, keeping the last failure seen.
func ctxErr(op string, err error, last *providers.Error) *providers.Error {
	e := &providers.Error{Class: providers.ClassOf(err), Provider: Type, Op: op, Err: err}
	if last != nil {
		e.Code, e.HTTP, e.Message = last.Code, last.HTTP, "gave up after: "+last.Message
	}
	return e
}

func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil {
		return u.Host
	}
	return base
}

package huawei

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// RecordRule is one recording rule as ListRecordRules returns it.
type RecordRule struct {
	ID            string `json:"id"`
	PublishDomain string `json:"publish_domain"`
	App           string `json:"app"`
	Stream        string `json:"stream"`
	RecordType    string `json:"record_type"`
	CreateTime    string `json:"create_time,omitempty"`
	UpdateTime    string `json:"update_time,omitempty"`
}

// Matches reports whether the rule covers s ("*" matches any app/stream).
func (r RecordRule) Matches(s spec.Stream) bool {
	return r.PublishDomain == s.Domain && (r.App == s.App || r.App == "*") && (r.Stream == s.Name || r.Stream == "*")
}

// RulesTTL is how long a domain's COMMAND_RECORD rules, once read, are
// trusted by CheckStream: one paged ListRecordRules per domain serves every
// stream of a plan, and a rule the user adds is seen within a minute by a
// running daemon.
const RulesTTL = time.Minute

// hasCommandRule reports whether a COMMAND_RECORD rule covers s, from the
// domain's rules read at most maxAge ago (read once per domain and shared
// by every stream of it meanwhile).
func (c *Client) hasCommandRule(ctx context.Context, s spec.Stream, maxAge time.Duration) (bool, error) {
	rules, err := c.rules.Within(ctx, s.Domain, maxAge, func(ctx context.Context) ([]RecordRule, error) {
		return c.commandRules(ctx, s.Domain)
	})
	if err != nil {
		return false, err
	}
	for _, r := range rules {
		if r.Matches(s) {
			return true, nil
		}
	}
	return false, nil
}

// commandRules pages through ListRecordRules (COMMAND_RECORD, 100 per
// page) for every rule of domain.
func (c *Client) commandRules(ctx context.Context, domain string) ([]RecordRule, error) {
	const limit = 100
	var rules []RecordRule
	for offset := 0; ; offset += limit {
		var out struct {
			Total int          `json:"total"`
			Rules []RecordRule `json:"record_config"`
		}
		q := url.Values{"publish_domain": {domain}, "record_type": {"COMMAND_RECORD"},
			"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
		if err := c.do(ctx, "ListRecordRules", http.MethodGet, "/record/rules", q, nil, &out); err != nil {
			return nil, err
		}
		for _, r := range out.Rules {
			if r.RecordType == "COMMAND_RECORD" {
				rules = append(rules, r)
			}
		}
		if len(out.Rules) == 0 || offset+len(out.Rules) >= out.Total {
			return rules, nil
		}
	}
}

// CheckStream verifies at plan time that a COMMAND_RECORD rule covers the
// stream (ListRecordRules). It returns nil, a Permanent error saying what
// rule to create, or the call's classified error.
func (c *Client) CheckStream(ctx context.Context, s spec.Stream) error {
	found, err := c.hasCommandRule(ctx, s, RulesTTL)
	if err != nil {
		return err
	}
	if !found {
		return &providers.Error{Class: providers.Permanent, Provider: Type, Op: "ListRecordRules", Message: ruleHint(s)}
	}
	return nil
}

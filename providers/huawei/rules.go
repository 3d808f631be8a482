package huawei

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

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

// hasCommandRule pages through ListRecordRules (COMMAND_RECORD, 100 per page)
// for a rule covering s.
func (c *Client) hasCommandRule(ctx context.Context, s spec.Stream) (bool, error) {
	const limit = 100
	for offset := 0; ; offset += limit {
		var out struct {
			Total int          `json:"total"`
			Rules []RecordRule `json:"record_config"`
		}
		q := url.Values{"publish_domain": {s.Domain}, "record_type": {"COMMAND_RECORD"},
			"offset": {strconv.Itoa(offset)}, "limit": {strconv.Itoa(limit)}}
		if err := c.do(ctx, "ListRecordRules", http.MethodGet, "/record/rules", q, nil, &out); err != nil {
			return false, err
		}
		for _, r := range out.Rules {
			if r.RecordType == "COMMAND_RECORD" && r.Matches(s) {
				return true, nil
			}
		}
		if len(out.Rules) == 0 || offset+len(out.Rules) >= out.Total {
			return false, nil
		}
	}
}

// CheckStream verifies at plan time that a COMMAND_RECORD rule covers the
// stream (ListRecordRules). It returns nil, a Permanent error saying what
// rule to create, or the call's classified error.
func (c *Client) CheckStream(ctx context.Context, s spec.Stream) error {
	found, err := c.hasCommandRule(ctx, s)
	if err != nil {
		return err
	}
	if !found {
		return &providers.Error{Class: providers.Permanent, Provider: Type, Op: "ListRecordRules", Message: ruleHint(s)}
	}
	return nil
}

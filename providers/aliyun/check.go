package aliyun

import (
	"context"
	"strconv"
	"time"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// ConfigTTL is how long a domain's recording configuration, once read, is
// trusted: one DescribeLiveRecordConfig per domain serves every stream of
// a plan, and a configuration the user adds is seen within a minute by a
// running daemon.
const ConfigTTL = time.Minute

// CheckStream verifies at plan time that the stream's domain/app has a
// recording configuration (DescribeLiveRecordConfig), so a missing one is
// reported before the window opens. The configuration is read once per
// domain (every page) and cached for ConfigTTL. It returns nil, a
// Permanent error with the same advice as CodeConfigNotFound, or the
// call's classified error.
func (c *Client) CheckStream(ctx context.Context, s spec.Stream) error {
	apps, err := c.configs.Get(ctx, s.Domain, func(ctx context.Context) (map[string]bool, error) {
		return c.recordApps(ctx, s.Domain)
	})
	if err != nil {
		return err
	}
	if apps[s.App] || apps["*"] {
		return nil
	}
	return &providers.Error{Class: providers.Permanent, Provider: Type, Op: "DescribeLiveRecordConfig",
		Code: CodeConfigNotFound, Message: "no recording configuration covers " + s.String() + ": " + hints[CodeConfigNotFound]}
}

// recordApps pages through DescribeLiveRecordConfig for domain and returns
// the apps ("*": any) that have a recording configuration.
func (c *Client) recordApps(ctx context.Context, domain string) (map[string]bool, error) {
	const size = 30
	apps := map[string]bool{}
	for page := 1; ; page++ {
		var out struct {
			TotalPage int `json:"TotalPage"`
			List      struct {
				Records []struct {
					AppName  string `json:"AppName"`
					OnDemond int    `json:"OnDemond"`
				} `json:"LiveAppRecord"`
			} `json:"LiveAppRecordList"`
		}
		err := c.call(ctx, "DescribeLiveRecordConfig", map[string]string{
			"Action": "DescribeLiveRecordConfig", "DomainName": domain,
			"PageNum": strconv.Itoa(page), "PageSize": strconv.Itoa(size),
		}, &out)
		if err != nil {
			return nil, err
		}
		for _, r := range out.List.Records {
			apps[r.AppName] = true
		}
		if page >= out.TotalPage || len(out.List.Records) == 0 {
			return apps, nil
		}
	}
}

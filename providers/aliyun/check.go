package aliyun

import (
	"context"
	"strconv"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/spec"
)

// CheckStream verifies at plan time that the stream's domain/app has a
// recording configuration (DescribeLiveRecordConfig), so a missing one is
// reported before the window opens. It returns nil, a Permanent error with
// the same advice as CodeConfigNotFound, or the call's classified error.
func (c *Client) CheckStream(ctx context.Context, s spec.Stream) error {
	const size = 30
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
			"Action": "DescribeLiveRecordConfig", "DomainName": s.Domain,
			"PageNum": strconv.Itoa(page), "PageSize": strconv.Itoa(size),
		}, &out)
		if err != nil {
			return err
		}
		for _, r := range out.List.Records {
			if r.AppName == s.App || r.AppName == "*" {
				return nil
			}
		}
		if page >= out.TotalPage {
			break
		}
	}
	return &providers.Error{Class: providers.Permanent, Provider: Type, Op: "DescribeLiveRecordConfig",
		Code: CodeConfigNotFound, Message: "no recording configuration covers " + s.String() + ": " + hints[CodeConfigNotFound]}
}

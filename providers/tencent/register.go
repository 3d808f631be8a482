package tencent

import "github.com/recordctl/recordctl/providers"

func init() {
	providers.Register(providers.Registration{
		Type:         Type,
		Capabilities: capabilities,
		New:          New,
	})
}

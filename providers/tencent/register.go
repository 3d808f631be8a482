package tencent

import "github.com/recordctl/recordctl/providers"

func init() {
	providers.Register(providers.Registration{
		Type:         Type,
		Spec:         specType{},
		Capabilities: capabilities,
		New:          New,
		PointAt:      pointAt,
	})
}

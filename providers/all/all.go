// Package all registers every built-in provider type; import it for its side effects.
package all

import (
	_ "github.com/recordctl/recordctl/providers/agora"
	_ "github.com/recordctl/recordctl/providers/aliyun"
	_ "github.com/recordctl/recordctl/providers/huawei"
	_ "github.com/recordctl/recordctl/providers/tencent"
)

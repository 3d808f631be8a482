package spec

import "time"

// This file holds the tables that the decoder, the cross-document validator
// and the JSON Schema generator all read, so that they cannot drift apart.

// ConflictHorizon is how far ahead Build looks for two Recordings that would
// record the same stream at the same time.
const ConflictHorizon = 14 * 24 * time.Hour

// DefaultAgoraEndpoints is used when an agora Provider leaves spec.endpoints
// out: the current base URL first, the older global one as failover.
var DefaultAgoraEndpoints = []string{"https://api.sd-rtn.com", "https://api.agora.io"}

// typeRule is what one provider type accepts.
type typeRule struct {
	Type        string
	Fields      []string // provider spec fields allowed besides type, credentials and rateLimit
	Required    []string // fields of Fields that must be set
	Credentials []string // credential names: all required, no others allowed
	Options     []string // recording options allowed for this type
	Channel     bool     // streams are agora channels, not domain/app/name
	RateLimit   float64  // default requests per second (../shared/providers/*.md)
}

var typeRules = []typeRule{
	{Type: TypeTencent, Fields: []string{"region", "endpoint"}, Required: []string{"region"},
		Credentials: []string{"secretId", "secretKey"},
		Options:     []string{"templateId", "streamType", "extension"}, RateLimit: 20},
	{Type: TypeAliyun, Fields: []string{"region", "endpoint"}, Required: []string{"region"},
		Credentials: []string{"accessKeyId", "accessKeySecret"},
		Options:     []string{"finalizeImmediately"}, RateLimit: 50},
	{Type: TypeHuawei, Fields: []string{"region", "projectId", "endpoint"}, Required: []string{"region", "projectId"},
		Credentials: []string{"accessKey", "secretKey"}, RateLimit: 20},
	{Type: TypeAgora, Fields: []string{"appId", "endpoints"}, Required: []string{"appId"},
		Credentials: []string{"customerId", "customerSecret"},
		Options:     []string{"mode", "uid", "backupUid", "token", "maxIdleTime", "resourceExpiredHour", "storage"},
		Channel:     true, RateLimit: 10},
}

// ruleFor returns the rule for a provider type, or nil for an unknown type.
func ruleFor(typ string) *typeRule {
	for i := range typeRules {
		if typeRules[i].Type == typ {
			return &typeRules[i]
		}
	}
	return nil
}

// typeNames lists the known provider types in table order.
func typeNames() []string {
	out := make([]string, len(typeRules))
	for i, r := range typeRules {
		out[i] = r.Type
	}
	return out
}

// DefaultRateLimit is the documented request rate (per second) of a provider
// type, used when a Provider leaves spec.rateLimit out; 0 for unknown types.
func DefaultRateLimit(typ string) float64 {
	if r := ruleFor(typ); r != nil {
		return r.RateLimit
	}
	return 0
}

// Keys allowed in each mapping of a document, in the order the schema lists them.
var (
	docKeys           = []string{"apiVersion", "kind", "metadata", "spec"}
	metadataKeys      = []string{"name", "labels"}
	providerSpecKeys  = []string{"type", "region", "endpoint", "projectId", "appId", "endpoints", "credentials", "rateLimit"}
	recordingSpecKeys = []string{"provider", "stream", "schedule", "windows", "continuous", "options"}
	streamKeys        = []string{"domain", "app", "name", "channel"}
	scheduleKeys      = []string{"cron", "duration", "timezone", "padding", "exclude"}
	windowKeys        = []string{"start", "end", "padding"}
	windowRequired    = []string{"start", "end"}
	paddingKeys       = []string{"before", "after"}
	secretRefKeys     = []string{"env", "file"}
	optionKeys        = []string{"templateId", "streamType", "extension", "finalizeImmediately",
		"mode", "uid", "backupUid", "token", "maxIdleTime", "resourceExpiredHour", "storage"}
	storageKeys     = []string{"vendor", "region", "bucket", "accessKey", "secretKey", "fileNamePrefix"}
	storageRequired = []string{"vendor", "region", "bucket", "accessKey", "secretKey"}
)

// allCredentialNames is the union of every type's credential names.
func allCredentialNames() []string {
	var out []string
	for _, r := range typeRules {
		out = append(out, r.Credentials...)
	}
	return out
}

// Value ranges of the recording options (DESIGN.md, ../shared/providers/*.md).
const (
	uidMin                 = 1
	uidMax                 = 1<<32 - 1
	maxIdleTimeMin         = 5
	maxIdleTimeMax         = 259200
	resourceExpiredHourMin = 1
	resourceExpiredHourMax = 720
	templateIDMax          = 1<<32 - 1
	nameMaxLen             = 63
	// maxPadding bounds schedule.padding.before and .after.
	maxPadding    = 24 * time.Hour
	channelMaxLen = 64
)

var (
	agoraModes        = []string{"mix", "individual", "web"}
	tencentStreamType = []int64{0, 1}
	// agoraVendors are Agora's storageConfig.vendor codes: 1 AWS S3, 2 Alibaba,
	// 3 Tencent, 5 Azure, 6 Google, 7 Huawei, 8 Baidu, 11 self-built.
	agoraVendors = []int64{1, 2, 3, 5, 6, 7, 8, 11}
)

// Patterns shared by the validator and the schema (RE2 and ECMA-262 compatible).
const (
	namePattern     = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	envNamePattern  = `^[A-Za-z_][A-Za-z0-9_]*$`
	regionPattern   = `^[a-z][a-z0-9-]*[a-z0-9]$`
	domainPattern   = `^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$`
	pathPartPattern = `^[^/\s?#]+$`
	// channelPattern is Agora's channel-name alphabet.
	channelPattern  = `^[A-Za-z0-9 !#$%&()+\-:;<=.>?@\[\]^_{}|~,]+$`
	prefixPattern   = `^[A-Za-z0-9]+$`
	endpointPattern = `^(https://[^/?#@\s]+|http://(localhost|127\.[0-9.]+|\[::1\])(:[0-9]+)?)(/[^?#\s]*)?$`
)

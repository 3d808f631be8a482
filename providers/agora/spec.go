package agora

import (
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/recordctl/recordctl/spec"
)

// Type is the provider type name.
const Type = "agora"

// Config is an agora Provider document's own fields.
type Config struct {
	AppID string // the Agora project's App ID, required
	// Endpoints are base URLs tried in order; default DefaultEndpoints().
	Endpoints []string
}

// StreamScope: channels are per App ID.
func (c Config) StreamScope() string { return "App ID " + c.AppID }

// Defaulted fills the default endpoints.
func (c Config) Defaulted() spec.ProviderConfig {
	if len(c.Endpoints) == 0 {
		c.Endpoints = DefaultEndpoints()
	} else {
		c.Endpoints = slices.Clone(c.Endpoints)
	}
	return c
}

// Options are an agora Recording's options; unset ones take the defaults
// (DefaultMode, DefaultUID ...). Secrets are references.
type Options struct {
	Mode                string
	UID                 *int64
	BackupUID           *int64
	Token               *spec.SecretRef
	MaxIdleTime         *int64
	ResourceExpiredHour *int64
	Storage             *Storage
}

// Storage is Agora's storageConfig; keys come by reference.
type Storage struct {
	Vendor         int64
	Region         int64
	Bucket         string
	AccessKey      spec.SecretRef
	SecretKey      spec.SecretRef
	FileNamePrefix []string
}

// ProviderType is "agora".
func (Options) ProviderType() string { return Type }

// Value ranges of the options (agora.md).
const (
	minUID                 = 1
	minMaxIdleTime         = 5
	maxMaxIdleTime         = 259200
	minResourceExpiredHour = 1
	maxResourceExpiredHour = 720
)

var (
	modes = []string{"mix", "individual", "web"}
	// vendors are storageConfig.vendor codes: 1 AWS S3, 2 Alibaba, 3 Tencent,
	// 5 Azure, 6 Google, 7 Huawei, 8 Baidu, 11 self-built.
	vendors          = []int64{1, 2, 3, 5, 6, 7, 8, 11}
	storageKeys      = []string{"vendor", "region", "bucket", "accessKey", "secretKey", "fileNamePrefix"}
	storageNeeds     = []string{"vendor", "region", "bucket", "accessKey", "secretKey"}
	prefixPattern    = `^[A-Za-z0-9]+$`
	rePrefix         = regexp.MustCompile(prefixPattern)
	defaultEndpoints = []string{"https://api.sd-rtn.com", "https://api.agora.io"}
)

// DefaultEndpoints are used when a Provider document lists none: Agora's
// current global domain, then the older one (agora.md §1).
func DefaultEndpoints() []string { return slices.Clone(defaultEndpoints) }

// specType is agora's part of the documents.
type specType struct{}

func (specType) Name() string              { return Type }
func (specType) DefaultRateLimit() float64 { return rateLimit }
func (specType) Channel() bool             { return true }

func uidSchema(desc string) map[string]any {
	return map[string]any{"type": "integer", "minimum": minUID, "maximum": maxUID, "description": desc}
}

func (specType) Schema() spec.TypeSchema {
	storage := map[string]any{
		"type": "object", "additionalProperties": false, "required": storageNeeds,
		"properties": map[string]any{
			"vendor":    map[string]any{"enum": vendors, "description": "Agora storage vendor: 1 AWS S3, 2 Alibaba OSS, 3 Tencent COS, 5 Azure, 6 Google, 7 Huawei OBS, 8 Baidu, 11 self-built."},
			"region":    map[string]any{"type": "integer", "minimum": 0, "description": "The vendor's Agora region code."},
			"bucket":    map[string]any{"type": "string", "minLength": 1},
			"accessKey": spec.SecretRefSchema(),
			"secretKey": spec.SecretRefSchema(),
			"fileNamePrefix": map[string]any{"type": "array", "items": map[string]any{"type": "string", "pattern": prefixPattern},
				"description": "Folders of the recorded files; letters and digits only."},
		},
	}
	return spec.TypeSchema{
		Description: "Agora Cloud Recording",
		Fields: []spec.SchemaField{
			{Name: "appId", Schema: map[string]any{"type": "string", "minLength": 1, "description": "Agora App ID."}},
			{Name: "endpoints", Schema: map[string]any{"type": "array", "minItems": 1, "items": spec.EndpointSchema(),
				"description": "Agora base URLs, tried in order. Default: " + spec.QuoteList(defaultEndpoints) + "."}},
		},
		Required:    []string{"appId"},
		Credentials: []string{"customerId", "customerSecret"},
		Options: []spec.SchemaField{
			{Name: "mode", Schema: map[string]any{"enum": modes, "description": "agora: recording mode. Default " + DefaultMode + "."}},
			{Name: "uid", Schema: uidSchema("agora: recorder UID, not used by anyone in the channel.")},
			{Name: "backupUid", Schema: uidSchema("agora: second recorder UID for restarts; differs from uid.")},
			{Name: "token", Schema: map[string]any{"$ref": "#/$defs/secretRef", "description": "agora: channel token reference."}},
			{Name: "maxIdleTime", Schema: map[string]any{"type": "integer", "minimum": minMaxIdleTime, "maximum": maxMaxIdleTime,
				"description": "agora: seconds without a broadcaster before the recorder exits."}},
			{Name: "resourceExpiredHour", Schema: map[string]any{"type": "integer", "minimum": minResourceExpiredHour, "maximum": maxResourceExpiredHour,
				"description": "agora: hours the acquired resource stays valid."}},
			{Name: "storage", Schema: map[string]any{"$ref": "#/$defs/agoraStorage", "description": "agora (required): where Agora uploads the files."}},
		},
		Defs: map[string]any{"agoraStorage": storage},
	}
}

func (specType) DecodeProvider(d *spec.Decoder, fields []spec.Field) spec.ProviderConfig {
	var c Config
	for _, f := range fields {
		switch path := d.Path(f.Name()); f.Name() {
		case "appId":
			c.AppID, _ = d.NonEmpty(f.Value, path)
		case "endpoints":
			eps, ok := d.StringList(f.Value, path, func(n *yaml.Node, p, s string) bool {
				_, good := d.Endpoint(n, p)
				return good
			})
			if ok && len(eps) == 0 {
				d.Errorf(f.Value, "%s must list at least one base URL (or leave it out for the defaults %s)", path, spec.QuoteList(defaultEndpoints))
			}
			c.Endpoints = eps
		}
	}
	return c
}

func (specType) DecodeOptions(d *spec.Decoder, fields []spec.Field) spec.RecordingOptions {
	var o Options
	var backupNode *yaml.Node
	for _, f := range fields {
		path := d.Path(f.Name())
		switch f.Name() {
		case "mode":
			if v, ok := d.String(f.Value, path); ok {
				if !slices.Contains(modes, v) {
					d.Errorf(f.Value, "%s %q is not an Agora recording mode; use one of %s", path, v, spec.QuoteList(modes))
				}
				o.Mode = v
			}
		case "uid", "backupUid":
			if v, ok := d.Int(f.Value, path, minUID, maxUID); ok {
				if f.Name() == "uid" {
					o.UID = &v
				} else {
					o.BackupUID, backupNode = &v, f.Value
				}
			}
		case "token":
			if v, ok := d.SecretRef(f.Value, path); ok {
				o.Token = &v
			}
		case "maxIdleTime":
			if v, ok := d.Int(f.Value, path, minMaxIdleTime, maxMaxIdleTime); ok {
				o.MaxIdleTime = &v
			}
		case "resourceExpiredHour":
			if v, ok := d.Int(f.Value, path, minResourceExpiredHour, maxResourceExpiredHour); ok {
				o.ResourceExpiredHour = &v
			}
		case "storage":
			o.Storage = decodeStorage(d, f.Value, path)
		}
	}
	if o.UID != nil && o.BackupUID != nil && *o.UID == *o.BackupUID {
		d.Errorf(backupNode, "spec.options.backupUid must differ from uid (%d): Agora needs a second UID to restart a recording", *o.UID)
	}
	if o.Storage == nil {
		d.Errorf(nil, "spec.options.storage is required for agora recordings: Agora's cloud recording needs {vendor, region, bucket, accessKey, secretKey}")
	}
	return o.withDefaults()
}

// decodeStorage decodes storageConfig.
func decodeStorage(d *spec.Decoder, n *yaml.Node, at string) *Storage {
	s := &Storage{}
	fields, ok := d.Mapping(n, at, storageKeys)
	if !ok {
		return s
	}
	has := map[string]bool{}
	for _, f := range fields {
		has[f.Name()] = true
		path := at + "." + f.Name()
		switch f.Name() {
		case "vendor":
			if v, ok := d.Integer(f.Value, path); ok {
				if !slices.Contains(vendors, v) {
					d.Errorf(f.Value, "%s %d is not an Agora storage vendor code; use 1 (AWS S3), 2 (Alibaba OSS), 3 (Tencent COS), 5 (Azure), 6 (Google), 7 (Huawei OBS), 8 (Baidu) or 11 (self-built)", path, v)
				}
				s.Vendor = v
			}
		case "region":
			if v, ok := d.Integer(f.Value, path); ok {
				if v < 0 {
					d.Errorf(f.Value, "%s must be >= 0 (the vendor's Agora region code)", path)
				}
				s.Region = v
			}
		case "bucket":
			s.Bucket, _ = d.NonEmpty(f.Value, path)
		case "accessKey":
			s.AccessKey, _ = d.SecretRef(f.Value, path)
		case "secretKey":
			s.SecretKey, _ = d.SecretRef(f.Value, path)
		case "fileNamePrefix":
			s.FileNamePrefix, _ = d.StringList(f.Value, path, func(v *yaml.Node, p, item string) bool {
				if !rePrefix.MatchString(item) {
					d.Errorf(v, "%s %q may contain only letters and digits", p, item)
					return false
				}
				return true
			})
		}
	}
	for _, f := range storageNeeds {
		if !has[f] {
			d.Errorf(n, "%s.%s is required", at, f)
		}
	}
	return s
}

// withDefaults fills the unset options: mode mix, uid DefaultUID, backupUid
// DefaultBackupUID (or uid's neighbour when uid is set), maxIdleTime and
// resourceExpiredHour.
func (o Options) withDefaults() Options {
	i64 := func(v int64) *int64 { return &v }
	if o.Mode == "" {
		o.Mode = DefaultMode
	}
	if o.BackupUID == nil {
		switch {
		case o.UID == nil:
			o.BackupUID = i64(DefaultBackupUID)
		case *o.UID+1 > maxUID:
			o.BackupUID = i64(*o.UID - 1)
		default:
			o.BackupUID = i64(*o.UID + 1)
		}
	}
	if o.UID == nil {
		o.UID = i64(DefaultUID)
	}
	if o.MaxIdleTime == nil {
		o.MaxIdleTime = i64(DefaultMaxIdleTime)
	}
	if o.ResourceExpiredHour == nil {
		o.ResourceExpiredHour = i64(DefaultResourceExpiredHour)
	}
	return o
}

// configOf returns the Provider document's agora fields (zero when unset).
func configOf(p *spec.Provider) Config { return spec.ConfigOf[Config](p) }

// pointAt returns cfg with its endpoints set to urls and the emulator's
// App ID (its account has no other).
func pointAt(cfg spec.ProviderConfig, urls []string, demo map[string]string) spec.ProviderConfig {
	c, _ := cfg.(Config)
	c.Endpoints = slices.Clone(urls)
	if id := demo["appId"]; id != "" {
		c.AppID = id
	}
	return c
}

// demoOptions replaces token and storage key references that do not
// resolve by demo values the emulator accepts.
func demoOptions(ro spec.RecordingOptions) spec.RecordingOptions {
	o, ok := ro.(Options)
	if !ok {
		return ro
	}
	demo := func(r spec.SecretRef, what string) spec.SecretRef {
		if r.IsZero() {
			return r
		}
		if _, err := r.Resolve(); err == nil {
			return r
		}
		return spec.DemoSecret(what, "demo-"+what)
	}
	if o.Token != nil {
		t := demo(*o.Token, "token")
		o.Token = &t
	}
	if o.Storage != nil {
		s := *o.Storage
		s.AccessKey = demo(s.AccessKey, "storage_access_key")
		s.SecretKey = demo(s.SecretKey, "storage_secret_key")
		o.Storage = &s
	}
	return o
}

package huawei

import (
	"github.com/recordctl/recordctl/spec"
)

// Type is the provider type name.
const Type = "huawei"

// Config is a huawei Provider document's own fields.
type Config struct {
	Region    string // e.g. cn-north-4; names the default endpoint
	ProjectID string // required
	Endpoint  string // default https://live.REGION.myhuaweicloud.com
}

// StreamScope: push domains are global.
func (Config) StreamScope() string { return "" }

// Defaulted returns c (the endpoint default is applied by New).
func (c Config) Defaulted() spec.ProviderConfig { return c }

// Options: huawei recordings take none (the COMMAND_RECORD rule says how
// and where to record).
type Options struct{}

// ProviderType is "huawei".
func (Options) ProviderType() string { return Type }

// specType is huawei's part of the documents.
type specType struct{}

func (specType) Name() string              { return Type }
func (specType) DefaultRateLimit() float64 { return rateLimit }
func (specType) Channel() bool             { return false }

func (specType) Schema() spec.TypeSchema {
	return spec.TypeSchema{
		Description: "Huawei Cloud Live",
		Fields: []spec.SchemaField{
			{Name: "region", Schema: map[string]any{"type": "string", "pattern": spec.RegionPattern,
				"description": "The region id, e.g. cn-north-4."}},
			{Name: "projectId", Schema: map[string]any{"type": "string", "minLength": 1, "description": "Huawei project id."}},
			{Name: "endpoint", Schema: spec.EndpointSchema()},
		},
		Required:    []string{"region", "projectId"},
		Credentials: []string{"accessKey", "secretKey"},
	}
}

func (specType) DecodeProvider(d *spec.Decoder, fields []spec.Field) spec.ProviderConfig {
	var c Config
	for _, f := range fields {
		switch path := d.Path(f.Name()); f.Name() {
		case "region":
			c.Region, _ = d.Region(f.Value, path)
		case "projectId":
			c.ProjectID, _ = d.NonEmpty(f.Value, path)
		case "endpoint":
			c.Endpoint, _ = d.Endpoint(f.Value, path)
		}
	}
	return c
}

func (specType) DecodeOptions(d *spec.Decoder, fields []spec.Field) spec.RecordingOptions {
	return Options{}
}

// configOf returns the Provider document's huawei fields (zero when unset).
func configOf(p *spec.Provider) Config { return spec.ConfigOf[Config](p) }

// pointAt returns cfg with its endpoint set to the first base URL, the
// emulator's project (its account has no other) and its demo region when
// the document names none.
func pointAt(cfg spec.ProviderConfig, urls []string, demo map[string]string) spec.ProviderConfig {
	c, _ := cfg.(Config)
	if len(urls) > 0 {
		c.Endpoint = urls[0]
	}
	if c.Region == "" {
		c.Region = demo["region"]
	}
	if id := demo["projectId"]; id != "" {
		c.ProjectID = id
	}
	return c
}

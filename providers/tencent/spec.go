package tencent

import (
	"slices"
	"strings"

	"github.com/recordctl/recordctl/spec"
)

// Config is a tencent Provider document's own fields.
type Config struct {
	Region   string // required; one of Regions()
	Endpoint string // default DefaultEndpoint
}

// StreamScope: push domains are global, so a stream is the same stream in any account.
func (Config) StreamScope() string { return "" }

// Defaulted returns c (the endpoint default is applied by New).
func (c Config) Defaulted() spec.ProviderConfig { return c }

// Options are a tencent Recording's options (tencent.md §2): each is sent
// as is when set and left out of CreateRecordTask otherwise.
type Options struct {
	TemplateID *int64 // TemplateId
	StreamType *int64 // 0 normal push, 1 mixed stream
	Extension  string
}

// ProviderType is "tencent".
func (Options) ProviderType() string { return Type }

// regions serve the recording-task APIs (tencent.md §1, "current docs"):
// ap-beijing and ap-shanghai are not among them (CreateRecordTask answers
// UnsupportedRegion there).
var regions = []string{
	"ap-bangkok", "ap-guangzhou", "ap-hongkong", "ap-jakarta", "ap-mumbai", "ap-seoul",
	"ap-singapore", "ap-tokyo", "eu-frankfurt", "na-ashburn", "na-siliconvalley",
	"na-toronto", "sa-saopaulo",
}

// Regions returns the regions that serve the recording-task APIs.
func Regions() []string { return slices.Clone(regions) }

const templateIDMax = 1<<32 - 1

// specType is tencent's part of the documents.
type specType struct{}

func (specType) Name() string              { return Type }
func (specType) DefaultRateLimit() float64 { return RateLimit }
func (specType) Channel() bool             { return false }

func (specType) Schema() spec.TypeSchema {
	return spec.TypeSchema{
		Description: "Tencent Cloud CSS",
		Fields: []spec.SchemaField{
			{Name: "region", Schema: map[string]any{"enum": Regions(),
				"description": "tencent: a region that serves recording tasks, e.g. ap-guangzhou."}},
			{Name: "endpoint", Schema: spec.EndpointSchema()},
		},
		Required:    []string{"region"},
		Credentials: []string{"secretId", "secretKey"},
		Options: []spec.SchemaField{
			{Name: "templateId", Schema: map[string]any{"type": "integer", "minimum": 0, "maximum": templateIDMax,
				"description": "tencent: recording template id."}},
			{Name: "streamType", Schema: map[string]any{"enum": []int64{0, 1}, "description": "tencent: 0 normal push, 1 mixed stream."}},
			{Name: "extension", Schema: map[string]any{"type": "string", "description": "tencent: reserved extension field."}},
		},
	}
}

func (specType) DecodeProvider(d *spec.Decoder, fields []spec.Field) spec.ProviderConfig {
	var c Config
	for _, f := range fields {
		path := d.Path(f.Name())
		switch f.Name() {
		case "region":
			if v, ok := d.String(f.Value, path); ok {
				if !slices.Contains(regions, v) {
					d.Errorf(f.Value, "%s %q does not serve Tencent Cloud's recording tasks; use one of %s", path, v, strings.Join(regions, ", "))
				}
				c.Region = v
			}
		case "endpoint":
			c.Endpoint, _ = d.Endpoint(f.Value, path)
		}
	}
	return c
}

func (specType) DecodeOptions(d *spec.Decoder, fields []spec.Field) spec.RecordingOptions {
	var o Options
	for _, f := range fields {
		path := d.Path(f.Name())
		switch f.Name() {
		case "templateId":
			if v, ok := d.Int(f.Value, path, 0, templateIDMax); ok {
				o.TemplateID = &v
			}
		case "streamType":
			if v, ok := d.Integer(f.Value, path); ok {
				if v != 0 && v != 1 {
					d.Errorf(f.Value, "%s must be 0 (normal push) or 1 (mixed stream), got %d", path, v)
				}
				o.StreamType = &v
			}
		case "extension":
			o.Extension, _ = d.String(f.Value, path)
		}
	}
	return o
}

// configOf returns the Provider document's tencent fields (zero when unset).
func configOf(p *spec.Provider) Config { return spec.ConfigOf[Config](p) }

// optionsOf returns a Recording's tencent options (zero when unset).
func optionsOf(r *spec.Recording) Options { return spec.OptionsOf[Options](r) }

// pointAt returns cfg with its endpoint set to the first base URL and the
// emulator's demo region when the document names none.
func pointAt(cfg spec.ProviderConfig, urls []string, demo map[string]string) spec.ProviderConfig {
	c, _ := cfg.(Config)
	if len(urls) > 0 {
		c.Endpoint = urls[0]
	}
	if c.Region == "" {
		c.Region = demo["region"]
	}
	return c
}

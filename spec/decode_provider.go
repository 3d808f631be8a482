package spec

import (
	"net"
	"net/url"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var reRegion = regexp.MustCompile(regionPattern)

// commonProviderKeys are the Provider spec fields every type has.
var commonProviderKeys = []string{"type", "credentials", "rateLimit"}

// providerSpecKeys lists the fields any registered type accepts (for
// documents whose type is missing or unknown), in schema order.
func providerSpecKeys() []string {
	var own []string
	for _, t := range registeredTypes() {
		for _, f := range t.Schema().Fields {
			if !contains(own, f.Name) {
				own = append(own, f.Name)
			}
		}
	}
	return typeFieldKeys(own)
}

// typeFieldKeys is type, the type's own fields, credentials and rateLimit.
func typeFieldKeys(own []string) []string {
	return append(append([]string{"type"}, own...), "credentials", "rateLimit")
}

// providerSpec decodes a Provider's spec: type, credentials and rateLimit
// here, the type's own fields by its registered ProviderType.
func (d *decoder) providerSpec(sp *pair, p *Provider) {
	// Which fields are allowed depends on the type: check them below.
	pairs, ok := d.mapping(sp.val, "spec", nil)
	if !ok {
		return
	}
	var typ ProviderType
	for _, kv := range pairs {
		if kv.key.Value != "type" {
			continue
		}
		if v, ok := d.str(kv.val, "spec.type"); ok {
			if typ = LookupType(v); typ == nil {
				d.errf(resolve(kv.val), "spec.type %q is not a known provider type; use one of %s", v, quoteList(typeNames()))
			}
			p.Spec.Type = v
		}
	}
	if p.Spec.Type == "" && !hasKey(pairs, "type") {
		d.errf(sp.key, "spec.type is missing; use one of %s", quoteList(typeNames()))
	}
	var sch TypeSchema
	var own []string
	if typ != nil {
		info := infoOf(typ.Name())
		sch, own = info.sch, info.fields
	}
	var credNode *yaml.Node
	var fields []Field
	for _, kv := range pairs {
		k := kv.key.Value
		path := fieldPath("spec", k)
		switch k {
		case "type":
		case "credentials":
			credNode = kv.key
			p.Spec.Credentials = d.credentials(kv.val, typ, sch.Credentials)
		case "rateLimit":
			if v, ok := d.number(kv.val, path); ok {
				if v <= 0 {
					d.errf(resolve(kv.val), "%s must be > 0 requests per second (leave it out for the provider's documented limit)", path)
				}
				p.Spec.RateLimit = v
			}
		default:
			switch {
			case typ != nil && !contains(own, k):
				d.errf(kv.key, "spec.%s is not a field of %s providers; %s providers allow: %s",
					k, typ.Name(), typ.Name(), quoteList(typeFieldKeys(own)))
				continue
			case typ == nil && !contains(providerSpecKeys(), k):
				d.errf(kv.key, "spec: unknown field %q; allowed: %s", k, quoteList(providerSpecKeys()))
				continue
			}
			fields = append(fields, Field{kv.key, kv.val})
		}
	}
	if typ == nil {
		return
	}
	for _, f := range sch.Required {
		if !hasKey(pairs, f) {
			d.errf(sp.key, "spec.%s is required for %s providers", f, typ.Name())
		}
	}
	p.Spec.Config = typ.DecodeProvider(&Decoder{d: d, path: "spec", at: sp.key}, fields)
	switch {
	case credNode == nil:
		d.errf(sp.key, "spec.credentials is required for %s providers: %s, each {env: NAME} or {file: PATH}",
			typ.Name(), strings.Join(sch.Credentials, " and "))
	case p.Spec.Credentials != nil:
		for _, c := range sch.Credentials {
			if _, ok := p.Spec.Credentials[c]; !ok {
				d.errf(credNode, "spec.credentials.%s is required for %s providers: {env: NAME} or {file: PATH}", c, typ.Name())
			}
		}
	}
}

func hasKey(pairs []pair, k string) bool {
	for _, p := range pairs {
		if p.key.Value == k {
			return true
		}
	}
	return false
}

// credentials decodes the credentials mapping. Only references are accepted.
func (d *decoder) credentials(n *yaml.Node, typ ProviderType, names []string) map[string]SecretRef {
	allowed := names
	if typ == nil {
		allowed = allCredentialNames()
	}
	pairs, ok := d.mapping(n, "spec.credentials", allowed)
	if !ok {
		return nil
	}
	out := make(map[string]SecretRef, len(pairs))
	for _, kv := range pairs {
		// A reference that fails still counts as present: its own error says why.
		ref, _ := d.secretRef(kv.val, fieldPath("spec.credentials", kv.key.Value))
		out[kv.key.Value] = ref
	}
	return out
}

// endpoint checks a base URL: https, or http to a loopback host. The URL is
// never repeated in full (it could carry user:password).
func (d *decoder) endpoint(n *yaml.Node, path, s string) bool {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		d.errf(n, "%s is not a URL; use https://HOST[:PORT] (http:// only to a loopback host: 127.0.0.0/8, ::1, localhost)", path)
	case u.User != nil:
		d.errf(n, "%s must not carry a user or password; credentials go into spec.credentials", path)
	case u.RawQuery != "" || u.Fragment != "":
		d.errf(n, "%s must not have a query or fragment; use https://HOST[:PORT][/PATH]", path)
	case u.Scheme == "https":
		return true
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return true
	case u.Scheme == "http":
		d.errf(n, "%s uses http to %q, which is not a loopback host; use https (http:// is allowed only to 127.0.0.0/8, ::1 or localhost, e.g. an emulator)", path, u.Hostname())
	default:
		d.errf(n, "%s has scheme %q; use https (http:// only to a loopback host: 127.0.0.0/8, ::1, localhost)", path, u.Scheme)
	}
	return false
}

// isLoopback reports whether host is localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

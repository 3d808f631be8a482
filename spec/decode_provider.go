package spec

import (
	"net"
	"net/url"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var reRegion = regexp.MustCompile(regionPattern)

// providerSpec decodes and checks a Provider's spec against its type's rule.
func (d *decoder) providerSpec(sp *pair, p *Provider) {
	pairs, ok := d.mapping(sp.val, "spec", providerSpecKeys)
	if !ok {
		return
	}
	var rule *typeRule
	for _, kv := range pairs {
		if kv.key.Value != "type" {
			continue
		}
		if v, ok := d.str(kv.val, "spec.type"); ok {
			if rule = ruleFor(v); rule == nil {
				d.errf(resolve(kv.val), "spec.type %q is not a known provider type; use one of %s", v, quoteList(typeNames()))
			}
			p.Spec.Type = v
		}
	}
	if p.Spec.Type == "" && !hasKey(pairs, "type") {
		d.errf(sp.key, "spec.type is missing; use one of %s", quoteList(typeNames()))
	}
	var credNode *yaml.Node
	for _, kv := range pairs {
		k := kv.key.Value
		if rule != nil && k != "type" && k != "credentials" && k != "rateLimit" && !contains(rule.Fields, k) {
			d.errf(kv.key, "spec.%s is not a field of %s providers; %s providers allow: type, %s, credentials, rateLimit",
				k, rule.Type, rule.Type, quoteList(rule.Fields))
			continue
		}
		path := fieldPath("spec", k)
		switch k {
		case "region":
			if v, ok := d.str(kv.val, path); ok {
				if !reRegion.MatchString(v) {
					d.errf(resolve(kv.val), "%s %q is not a region name; use the provider's region id, e.g. ap-guangzhou, cn-shanghai, cn-north-4", path, v)
				}
				p.Spec.Region = v
			}
		case "endpoint":
			if v, ok := d.str(kv.val, path); ok && d.endpoint(resolve(kv.val), path, v) {
				p.Spec.Endpoint = v
			}
		case "projectId", "appId":
			if v, ok := d.str(kv.val, path); ok {
				if strings.TrimSpace(v) == "" {
					d.errf(resolve(kv.val), "%s must not be empty", path)
				}
				if k == "projectId" {
					p.Spec.ProjectID = v
				} else {
					p.Spec.AppID = v
				}
			}
		case "endpoints":
			eps, ok := d.stringList(kv.val, path, d.endpoint)
			if ok && len(eps) == 0 {
				d.errf(resolve(kv.val), "%s must list at least one base URL (or leave it out for the defaults %s)", path, quoteList(DefaultAgoraEndpoints))
			}
			p.Spec.Endpoints = eps
		case "credentials":
			credNode = kv.key
			p.Spec.Credentials = d.credentials(kv.val, rule)
		case "rateLimit":
			if v, ok := d.number(kv.val, path); ok {
				if v <= 0 {
					d.errf(resolve(kv.val), "%s must be > 0 requests per second (leave it out for the provider's documented limit)", path)
				}
				p.Spec.RateLimit = v
			}
		}
	}
	if rule == nil {
		return
	}
	for _, f := range rule.Required {
		if !hasKey(pairs, f) {
			d.errf(sp.key, "spec.%s is required for %s providers", f, rule.Type)
		}
	}
	switch {
	case credNode == nil:
		d.errf(sp.key, "spec.credentials is required for %s providers: %s, each {env: NAME} or {file: PATH}",
			rule.Type, strings.Join(rule.Credentials, " and "))
	case p.Spec.Credentials != nil:
		for _, c := range rule.Credentials {
			if _, ok := p.Spec.Credentials[c]; !ok {
				d.errf(credNode, "spec.credentials.%s is required for %s providers: {env: NAME} or {file: PATH}", c, rule.Type)
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
func (d *decoder) credentials(n *yaml.Node, rule *typeRule) map[string]SecretRef {
	allowed := allCredentialNames()
	if rule != nil {
		allowed = rule.Credentials
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

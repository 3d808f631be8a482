package tencentemu

import (
	"bytes"
	"encoding/json"
	"strings"
)

// params is a request body with the service's parameter checks.
type params map[string]json.RawMessage

func parseParams(body []byte) (params, *apiErr) {
	p := params{}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, errf(CodeInvalidParameter, "The request body is not a valid JSON object.")
	}
	return p, nil
}

// only rejects parameters the action does not define.
func (p params) only(names ...string) *apiErr {
	for k := range p {
		ok := false
		for _, n := range names {
			ok = ok || k == n
		}
		if !ok {
			return errf(CodeUnknownParameter, "The parameter `%s` is not recognized.", k)
		}
	}
	return nil
}

func (p params) has(name string) bool {
	v, ok := p[name]
	return ok && string(v) != "null"
}

// str reads a string parameter; required ones must be non-empty.
func (p params) str(name string, required bool) (string, *apiErr) {
	if !p.has(name) {
		if required {
			return "", errf(CodeMissingParameter, "The request is missing a required parameter `%s`.", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(p[name], &s); err != nil {
		return "", errf(CodeInvalidParamValue, "The value type of parameter `%s` is invalid: expected a string.", name)
	}
	if required && strings.TrimSpace(s) == "" {
		return "", errf(CodeInvalidParameter, "The parameter `%s` must not be empty.", name)
	}
	return s, nil
}

// uint reads an unsigned integer parameter; ok reports whether it was given.
func (p params) uint(name string, required bool) (v int64, ok bool, aerr *apiErr) {
	if !p.has(name) {
		if required {
			return 0, false, errf(CodeMissingParameter, "The request is missing a required parameter `%s`.", name)
		}
		return 0, false, nil
	}
	var n json.Number
	if raw := bytes.TrimSpace(p[name]); len(raw) > 0 && raw[0] == '"' {
		return 0, false, errf(CodeInvalidParamValue, "The value type of parameter `%s` is invalid: expected an unsigned integer.", name)
	}
	d := json.NewDecoder(bytes.NewReader(p[name]))
	d.UseNumber()
	if err := d.Decode(&n); err != nil {
		return 0, false, errf(CodeInvalidParamValue, "The value type of parameter `%s` is invalid: expected an unsigned integer.", name)
	}
	v, err := n.Int64()
	if err != nil || v < 0 {
		return 0, false, errf(CodeInvalidParamValue, "The value of parameter `%s` is invalid: expected an unsigned integer.", name)
	}
	return v, true, nil
}

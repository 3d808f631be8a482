package huaweiemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// algorithm is the APIG signature scheme the Huawei SDKs use.
const algorithm = "SDK-HMAC-SHA256"

// authorization is a parsed "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=..." header.
type authorization struct {
	Access        string
	SignedHeaders []string
	Signature     string
}

func parseAuthorization(h string) (authorization, error) {
	var a authorization
	rest, ok := strings.CutPrefix(h, algorithm+" ")
	if !ok {
		return a, errors.New("authorization does not use " + algorithm)
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Access":
			a.Access = v
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		}
	}
	if a.Access == "" || len(a.SignedHeaders) == 0 || a.Signature == "" {
		return a, errors.New("authorization lacks Access, SignedHeaders or Signature")
	}
	return a, nil
}

// expectedSignature is the emulator's own computation of the APIG
// signature of a received request: hex(HMAC-SHA256(sk, string to sign))
// over the headers the client says it signed.
func expectedSignature(r *http.Request, body []byte, signed []string, sk string) string {
	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	var segs []string
	for _, s := range strings.Split(path, "/") {
		segs = append(segs, apigEscape(s))
	}
	uri := strings.Join(segs, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	canon.WriteString(uri + "\n")
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			pairs = append(pairs, apigEscape(k)+"="+apigEscape(v))
		}
	}
	canon.WriteString(strings.Join(pairs, "&") + "\n")
	for _, name := range signed {
		v := r.Header.Get(name)
		if strings.EqualFold(name, "host") {
			v = r.Host // net/http moves Host out of the header map
		}
		canon.WriteString(strings.ToLower(name) + ":" + strings.TrimSpace(v) + "\n")
	}
	canon.WriteString("\n" + strings.Join(signed, ";") + "\n")
	payload := r.Header.Get("X-Sdk-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	canon.WriteString(payload)
	sum := sha256.Sum256([]byte(canon.String()))
	sts := algorithm + "\n" + r.Header.Get(HeaderSdkDate) + "\n" + hex.EncodeToString(sum[:])
	m := hmac.New(sha256.New, []byte(sk))
	m.Write([]byte(sts))
	return hex.EncodeToString(m.Sum(nil))
}

// apigEscape keeps A-Z a-z 0-9 _ - ~ . and writes every other byte as %XX.
func apigEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-~.", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

package huawei

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// SDK-HMAC-SHA256 constants (huaweicloud-sdk-go-v3 core/auth/signer).
const (
	Algorithm        = "SDK-HMAC-SHA256"
	HeaderSdkDate    = "X-Sdk-Date"
	HeaderContentSha = "X-Sdk-Content-Sha256"
	// DateFormat is X-Sdk-Date's layout (UTC).
	DateFormat = "20060102T150405Z"
)

// Sign adds the Authorization header to req the way the Huawei Go SDK does:
// it signs every header present now except content-type* and names with
// '_' (so Host is not signed), over a canonical URI with a trailing '/'.
// X-Sdk-Date must already be set (time.Now is used otherwise).
func Sign(req *http.Request, body []byte, ak, sk string) {
	if req.Header.Get(HeaderSdkDate) == "" {
		req.Header.Set(HeaderSdkDate, time.Now().UTC().Format(DateFormat))
	}
	if ct := strings.ToLower(req.Header.Get("Content-Type")); ct != "" &&
		!strings.Contains(ct, "application/json") && !strings.Contains(ct, "application/bson") {
		req.Header.Set(HeaderContentSha, "UNSIGNED-PAYLOAD")
	}
	signed := SignedHeaders(req.Header)
	sig := Signature(req, body, signed, sk)
	req.Header.Set("Authorization", Algorithm+" Access="+ak+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
}

// SignedHeaders lists the lower-case names the SDK signs: every header
// except content-type* , names containing '_' and Authorization, sorted.
func SignedHeaders(h http.Header) []string {
	var out []string
	for k := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "content-type") || strings.Contains(lk, "_") || lk == "authorization" {
			continue
		}
		out = append(out, lk)
	}
	sort.Strings(out)
	return out
}

// Signature is hex(HMAC-SHA256(sk, StringToSign)) over the given signed headers.
func Signature(req *http.Request, body []byte, signed []string, sk string) string {
	cr := CanonicalRequest(req, body, signed)
	m := hmac.New(sha256.New, []byte(sk))
	m.Write([]byte(StringToSign(cr, req.Header.Get(HeaderSdkDate))))
	return hex.EncodeToString(m.Sum(nil))
}

// StringToSign is "SDK-HMAC-SHA256\n<X-Sdk-Date>\n<hex(sha256(canonical request))>".
func StringToSign(canonicalRequest, sdkDate string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + sdkDate + "\n" + hex.EncodeToString(sum[:])
}

// CanonicalRequest is METHOD\nURI/\nquery\nheaders\nsigned\npayload-hash.
func CanonicalRequest(req *http.Request, body []byte, signed []string) string {
	var ch strings.Builder
	for _, name := range signed {
		v := req.Header.Get(name)
		if name == "host" && v == "" {
			v = req.Host
			if v == "" {
				v = req.URL.Host
			}
		}
		ch.WriteString(name + ":" + strings.TrimSpace(v) + "\n")
	}
	hash := req.Header.Get(HeaderContentSha)
	if hash == "" {
		s := sha256.Sum256(body)
		hash = hex.EncodeToString(s[:])
	}
	return strings.Join([]string{
		req.Method, canonicalURI(req.URL.Path), canonicalQuery(req.URL.Query()),
		ch.String(), strings.Join(signed, ";"), hash,
	}, "\n")
}

func canonicalURI(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = escape(s)
	}
	u := strings.Join(segs, "/")
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	return strings.Join(parts, "&")
}

// escape keeps A-Z a-z 0-9 _ - ~ . and encodes every other byte as %XX.
func escape(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '~' || c == '.' {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
	}
	return b.String()
}

// Authorization is a parsed SDK-HMAC-SHA256 Authorization header.
type Authorization struct {
	Access        string
	SignedHeaders []string
	Signature     string
}

// ParseAuthorization parses "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...".
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	rest, ok := strings.CutPrefix(h, Algorithm+" ")
	if !ok {
		return a, errors.New("authorization does not use " + Algorithm)
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

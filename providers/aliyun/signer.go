package aliyun

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// PercentEncode encodes s per RFC 3986 as Alibaba's RPC signature requires:
// unreserved A-Z a-z 0-9 - _ . ~ stay, every other byte becomes %XX (upper case).
func PercentEncode(s string) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&0x0f])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// CanonicalizedQuery joins every parameter except Signature as encoded k=v
// pairs sorted by encoded key (signature version 1.0, step 3).
func CanonicalizedQuery(params map[string]string) string {
	keys := make([]string, 0, len(params))
	enc := make(map[string]string, len(params))
	for k := range params {
		if k == "Signature" {
			continue
		}
		ek := PercentEncode(k)
		keys = append(keys, ek)
		enc[ek] = k
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, ek := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(ek)
		b.WriteByte('=')
		b.WriteString(PercentEncode(params[enc[ek]]))
	}
	return b.String()
}

// StringToSign is METHOD&%2F&percentEncode(CanonicalizedQuery).
func StringToSign(method string, params map[string]string) string {
	return strings.ToUpper(method) + "&" + PercentEncode("/") + "&" + PercentEncode(CanonicalizedQuery(params))
}

// SignRPC returns the HMAC-SHA1 signature (SignatureVersion 1.0) of params:
// Base64(HMAC-SHA1(secret+"&", StringToSign)).
func SignRPC(method string, params map[string]string, secret string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(StringToSign(method, params)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// EncodeQuery renders signed params plus Signature the way the SDK puts them
// on the wire (net/url form encoding, keys sorted); servers decode either form.
func EncodeQuery(params map[string]string, signature string) string {
	v := make(url.Values, len(params)+1)
	for k, val := range params {
		v.Set(k, val)
	}
	v.Set("Signature", signature)
	return v.Encode()
}

// SignACS3 returns the Authorization header of the newer ACS3-HMAC-SHA256
// scheme (darabonba GetAuthorization). headers are lower-case names; the
// signed set is host, content-type and x-acs-*. recordctl itself uses RPC v1.
func SignACS3(method, path string, query, headers map[string]string, payloadHash, accessKeyID, secret string) string {
	var names []string
	for k := range headers {
		lk := strings.ToLower(k)
		if lk == "host" || lk == "content-type" || strings.HasPrefix(lk, "x-acs-") {
			names = append(names, lk)
		}
	}
	sort.Strings(names)
	lower := make(map[string]string, len(headers))
	for k, v := range headers {
		lower[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	var ch strings.Builder
	for _, n := range names {
		ch.WriteString(n + ":" + lower[n] + "\n")
	}
	signed := strings.Join(names, ";")
	canonical := strings.Join([]string{
		strings.ToUpper(method), acs3Fix(path), acs3Query(query), ch.String(), signed, payloadHash,
	}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("ACS3-HMAC-SHA256\n" + hex.EncodeToString(sum[:])))
	return "ACS3-HMAC-SHA256 Credential=" + accessKeyID + ",SignedHeaders=" + signed +
		",Signature=" + hex.EncodeToString(m.Sum(nil))
}

func acs3Query(q map[string]string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("&" + k + "=")
		if q[k] != "" {
			b.WriteString(url.QueryEscape(q[k]))
		}
	}
	return acs3Fix(strings.TrimPrefix(b.String(), "&"))
}

func acs3Fix(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(s)
}

// Sha256Hex is the lower-case hex SHA-256 of b (x-acs-content-sha256).
func Sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

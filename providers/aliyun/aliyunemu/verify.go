package aliyunemu

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"sort"
	"strings"
)

// rpcEscape is RFC 3986 percent-encoding as signature version 1.0 wants it:
// only A-Z a-z 0-9 - _ . ~ stay literal, every other byte is %XX in upper case.
func rpcEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-_.~", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteString("%" + strings.ToUpper(hexByte(c)))
		}
	}
	return b.String()
}

func hexByte(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// StringToSign is the emulator's own rendering of signature version 1.0's
// string to sign: METHOD & %2F & escape(sorted escaped k=v pairs, Signature excluded).
func StringToSign(method string, p map[string]string) string {
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(p))
	for k, v := range p {
		if k != "Signature" {
			pairs = append(pairs, kv{rpcEscape(k), rpcEscape(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	joined := make([]string, len(pairs))
	for i, x := range pairs {
		joined[i] = x.k + "=" + x.v
	}
	return strings.ToUpper(method) + "&%2F&" + rpcEscape(strings.Join(joined, "&"))
}

// SignRPC is Base64(HMAC-SHA1(secret + "&", StringToSign)).
func SignRPC(method string, p map[string]string, secret string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(StringToSign(method, p)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

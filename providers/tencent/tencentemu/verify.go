package tencentemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// header is one (lower-case name, value) pair of the canonical headers.
type header struct{ name, value string }

// tc3Signature is the emulator's own TC3-HMAC-SHA256 computation over
// already-canonical request parts (Tencent's API 3.0 signature v3 document).
func tc3Signature(secretKey, service, method, uri, query string, hdrs []header, payloadHash string, timestamp int64) string {
	var canon strings.Builder
	names := make([]string, 0, len(hdrs))
	canon.WriteString(method + "\n" + uri + "\n" + query + "\n")
	for _, h := range hdrs {
		canon.WriteString(h.name + ":" + h.value + "\n")
		names = append(names, h.name)
	}
	canon.WriteString("\n" + strings.Join(names, ";") + "\n" + payloadHash)
	date := time.Unix(timestamp, 0).UTC().Format("2006-01-02")
	sts := Algorithm + "\n" + strconv.FormatInt(timestamp, 10) + "\n" +
		date + "/" + service + "/tc3_request\n" + hashHex([]byte(canon.String()))
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	k := mac(mac(mac([]byte("TC3"+secretKey), date), service), "tc3_request")
	return hex.EncodeToString(mac(k, sts))
}

// verifyTC3 checks a request's Authorization as the service does: the
// secret id, the timestamp within 5 minutes of now, the credential scope,
// then the TC3 signature over the signed headers and the body.
//
// What the official SDKs really send is accepted: the scope's service is
// "live", or the first label of the endpoint host (the Node.js SDK derives
// it from the endpoint, so "127" for http://127.0.0.1:PORT), and the host
// header may be signed with or without the port (the Node.js SDK drops it).
// Both are inside the signed string, so any changed byte is still refused.
func verifyTC3(r *http.Request, body []byte, secretFor func(id string) (string, bool), now time.Time) *apiErr {
	a, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return errf(CodeInvalidAuthorization, "The Authorization header is missing or malformed; expected `TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.")
	}
	key, ok := secretFor(a.secretID)
	if !ok {
		return errf(CodeSecretIDNotFound, "The SecretId is not found, please ensure that your SecretId is correct.")
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return errf(CodeInvalidParamValue, "The value of the parameter `Timestamp` is invalid; it must be a Unix time in seconds.")
	}
	if d := time.Unix(ts, 0).Sub(now); d > clockSkew || d < -clockSkew {
		return errf(CodeSignatureExpire, "Signature expire. Request timestamp %d differs from server time %d by more than 300 s.", ts, now.Unix())
	}
	hostname := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		hostname = h
	}
	firstLabel, _, _ := strings.Cut(hostname, ".")
	if (a.service != Service && a.service != firstLabel) || a.date != time.Unix(ts, 0).UTC().Format("2006-01-02") {
		return errf(CodeSignatureFailure, "The credential scope %s/%s/tc3_request does not match the request date and service `live`.", a.date, a.service)
	}
	names := strings.Split(a.signedHeaders, ";")
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	if !seen["content-type"] || !seen["host"] {
		return errf(CodeSignatureFailure, "SignedHeaders must include content-type and host.")
	}
	payload := hashHex(body)
	if r.Header.Get("X-TC-Content-SHA256") == "UNSIGNED-PAYLOAD" {
		payload = hashHex([]byte("UNSIGNED-PAYLOAD"))
	}
	// The host as received, then without its port (the Node.js SDK's form).
	for _, host := range []string{r.Host, hostname} {
		hdrs := make([]header, 0, len(names))
		for _, n := range names {
			v := r.Header.Get(n)
			if n == "host" {
				v = host
			}
			hdrs = append(hdrs, header{n, strings.TrimSpace(v)})
		}
		want := tc3Signature(key, a.service, r.Method, canonicalURI(r), r.URL.RawQuery, hdrs, payload, ts)
		if hmac.Equal([]byte(want), []byte(a.signature)) {
			return nil
		}
		if host == hostname {
			break
		}
	}
	return errf(CodeSignatureFailure, "The provided credentials could not be validated. Please check your signature is correct.")
}

// canonicalURI is the request path as sent ("/" for the API's POSTs).
func canonicalURI(r *http.Request) string {
	if p := r.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

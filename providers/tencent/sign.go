package tencent

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the name of Tencent Cloud's API 3.0 signature scheme.
const Algorithm = "TC3-HMAC-SHA256"

// Service is the credential-scope service name of the CSS (live) API.
const Service = "live"

// Signer computes TC3-HMAC-SHA256 signatures exactly as tencentcloud-sdk-go
// does for POST requests (canonical URI "/", empty query, signed headers
// content-type and host).
type Signer struct {
	SecretID  string
	SecretKey string
	// Service is the scope's service name; empty means "live".
	Service string
}

// Sign returns the Authorization header value and the hex signature for a
// POST of body to host with the given Content-Type at Unix time timestamp.
func (s Signer) Sign(host, contentType string, body []byte, timestamp int64) (authorization, signature string) {
	hdrs := []header{{"content-type", contentType}, {"host", host}}
	return s.sign("POST", "/", "", hdrs, hashHex(body), timestamp)
}

// header is one (lower-case name, value) pair of the canonical headers.
type header struct{ name, value string }

// sign runs the numbered steps of the TC3 recipe over already-canonical
// parts; the emulator reuses it to verify requests.
func (s Signer) sign(method, uri, query string, hdrs []header, payloadHash string, timestamp int64) (authorization, signature string) {
	service := s.Service
	if service == "" {
		service = Service
	}
	var canonHeaders strings.Builder
	names := make([]string, len(hdrs))
	for i, h := range hdrs {
		canonHeaders.WriteString(h.name + ":" + h.value + "\n")
		names[i] = h.name
	}
	signedHeaders := strings.Join(names, ";")
	canonical := method + "\n" + uri + "\n" + query + "\n" + canonHeaders.String() + "\n" + signedHeaders + "\n" + payloadHash

	date := time.Unix(timestamp, 0).UTC().Format("2006-01-02")
	scope := date + "/" + service + "/tc3_request"
	stringToSign := Algorithm + "\n" + strconv.FormatInt(timestamp, 10) + "\n" + scope + "\n" + hashHex([]byte(canonical))

	kDate := hmacSHA256([]byte("TC3"+s.SecretKey), date)
	kService := hmacSHA256(kDate, service)
	kSigning := hmacSHA256(kService, "tc3_request")
	signature = hex.EncodeToString(hmacSHA256(kSigning, stringToSign))
	authorization = Algorithm + " Credential=" + s.SecretID + "/" + scope +
		", SignedHeaders=" + signedHeaders + ", Signature=" + signature
	return authorization, signature
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

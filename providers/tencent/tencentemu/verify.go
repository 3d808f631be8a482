package tencentemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

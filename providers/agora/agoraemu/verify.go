package agoraemu

import (
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// basicCredential is the emulator's own HTTP Basic check (RFC 7617, as
// Agora's RESTful authentication documents it): the header must be
// "Basic " + base64(customerID + ":" + customerSecret), standard alphabet
// with padding. It reports whether the header was present and well formed
// (ok) and whether it carries exactly this credential (match).
func basicCredential(header, customerID, customerSecret string) (ok, match bool) {
	scheme, enc, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return false, false
	}
	enc = strings.TrimSpace(enc)
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || !strings.Contains(string(raw), ":") {
		return false, false
	}
	want := []byte(customerID + ":" + customerSecret)
	return true, subtle.ConstantTimeCompare(raw, want) == 1
}

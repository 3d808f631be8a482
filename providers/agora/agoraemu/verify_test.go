package agoraemu

import (
	"encoding/json"
	"testing"

	"github.com/recordctl/recordctl/providers/emu"
)

// TestVerifierAcceptsSDKVectors: the emulator's Basic check accepts the
// header the official REST client made for each credential (a customer ID
// with ':' included) and refuses it for another secret or one changed byte.
func TestVerifierAcceptsSDKVectors(t *testing.T) {
	var f struct {
		Vectors []struct {
			Name                  string `json:"name"`
			CustomerID            string `json:"customer_id"`
			CustomerSecret        string `json:"customer_secret"`
			ExpectedAuthorization string `json:"expected_authorization"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(emu.Vectors(t, "agora.json"), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			h := v.ExpectedAuthorization
			if ok, match := basicCredential(h, v.CustomerID, v.CustomerSecret); !ok || !match {
				t.Fatalf("SDK header refused: ok=%v match=%v", ok, match)
			}
			if _, match := basicCredential(h, v.CustomerID, v.CustomerSecret+"x"); match {
				t.Error("accepted for another secret")
			}
			b := []byte(h)
			b[len("Basic ")+3] ^= 1 // one base64 character of the credential
			if _, match := basicCredential(string(b), v.CustomerID, v.CustomerSecret); match {
				t.Errorf("accepted %s", b)
			}
			if ok, _ := basicCredential("Bearer "+h[len("Basic "):], v.CustomerID, v.CustomerSecret); ok {
				t.Error("accepted another scheme")
			}
		})
	}
}

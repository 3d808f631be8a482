package tencent

import (
	"encoding/json"
	"os"
	"testing"
)

// vectorFile is produced with the vendor SDK (see shared/providers/vectors/README.md).
const vectorFile = "../../../shared/providers/vectors/tencent.json"

type signVector struct {
	Name                  string            `json:"name"`
	Service               string            `json:"service"`
	Host                  string            `json:"host"`
	Timestamp             int64             `json:"timestamp"`
	SecretID              string            `json:"secret_id"`
	SecretKey             string            `json:"secret_key"`
	HeadersSent           map[string]string `json:"headers_sent"`
	Body                  string            `json:"body"`
	ExpectedAuthorization string            `json:"expected_authorization"`
	ExpectedSignature     string            `json:"expected_signature"`
}

func loadVectors(t testing.TB) []signVector {
	t.Helper()
	b, err := os.ReadFile(vectorFile)
	if os.IsNotExist(err) && os.Getenv("CI") == "true" {
		t.Fatalf("signing vectors %s are missing; CI must have ../shared beside the repository", vectorFile)
	}
	if os.IsNotExist(err) {
		t.Skipf("%s not present", vectorFile)
	}
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Algorithm string       `json:"algorithm"`
		Vectors   []signVector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if f.Algorithm != Algorithm || len(f.Vectors) == 0 {
		t.Fatalf("unexpected vector file: algorithm %q, %d vectors", f.Algorithm, len(f.Vectors))
	}
	return f.Vectors
}

// TestSignerVectors reproduces every SDK-made vector byte for byte.
func TestSignerVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			s := Signer{SecretID: v.SecretID, SecretKey: v.SecretKey, Service: v.Service}
			auth, sig := s.Sign(v.Host, v.HeadersSent["Content-Type"], []byte(v.Body), v.Timestamp)
			if sig != v.ExpectedSignature {
				t.Errorf("signature\n got %s\nwant %s", sig, v.ExpectedSignature)
			}
			if auth != v.ExpectedAuthorization {
				t.Errorf("authorization\n got %s\nwant %s", auth, v.ExpectedAuthorization)
			}
			if auth != v.HeadersSent["Authorization"] {
				t.Errorf("authorization differs from the header the SDK sent")
			}
		})
	}
}

// TestSignerDependsOnEveryInput guards against a signer that ignores an input.
func TestSignerDependsOnEveryInput(t *testing.T) {
	base := Signer{SecretID: "AKIDx", SecretKey: "k"}
	_, s0 := base.Sign("h", "application/json", []byte("{}"), 1700000000)
	variants := map[string]string{}
	_, variants["key"] = Signer{SecretID: "AKIDx", SecretKey: "k2"}.Sign("h", "application/json", []byte("{}"), 1700000000)
	_, variants["host"] = base.Sign("h2", "application/json", []byte("{}"), 1700000000)
	_, variants["ctype"] = base.Sign("h", "application/json; charset=utf-8", []byte("{}"), 1700000000)
	_, variants["body"] = base.Sign("h", "application/json", []byte("{ }"), 1700000000)
	_, variants["time"] = base.Sign("h", "application/json", []byte("{}"), 1700000001)
	for name, s := range variants {
		if s == s0 {
			t.Errorf("changing %s did not change the signature", name)
		}
	}
}

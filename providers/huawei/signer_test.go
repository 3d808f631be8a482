package huawei

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"testing"
)

const vectorPath = "../../../shared/providers/vectors/huawei.json"

type vector struct {
	Name     string            `json:"name"`
	Method   string            `json:"method"`
	URL      string            `json:"url"`
	AK       string            `json:"ak"`
	SK       string            `json:"sk"`
	Headers  map[string]string `json:"headers_sent"`
	Body     string            `json:"body"`
	Expected string            `json:"expected_authorization"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile(vectorPath)
	if os.IsNotExist(err) && os.Getenv("CI") == "true" {
		t.Fatalf("signing vectors %s are missing; CI must have ../shared beside the repository", vectorPath)
	}
	if os.IsNotExist(err) {
		t.Skip("shared vectors not present:", vectorPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

func vectorRequest(t testing.TB, v vector) *http.Request {
	req, err := http.NewRequest(v.Method, v.URL, bytes.NewReader([]byte(v.Body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, val := range v.Headers {
		if k != "Authorization" {
			req.Header.Set(k, val)
		}
	}
	return req
}

func TestSignatureVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			req := vectorRequest(t, v)
			Sign(req, []byte(v.Body), v.AK, v.SK)
			if got := req.Header.Get("Authorization"); got != v.Expected {
				t.Fatalf("Authorization =\n %s\nwant\n %s", got, v.Expected)
			}
			if v.Headers["Authorization"] != v.Expected {
				t.Fatal("vector's sent header differs from its expected value")
			}
		})
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	v := loadVectors(t)[0]
	req := vectorRequest(t, v)
	Sign(req, []byte(v.Body), v.AK, v.SK)
	a, err := ParseAuthorization(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Access != v.AK || len(a.SignedHeaders) != 3 {
		t.Fatalf("parsed %+v", a)
	}
	if Signature(req, []byte(v.Body), a.SignedHeaders, v.SK) != a.Signature {
		t.Fatal("verification of a fresh signature failed")
	}
	if Signature(req, []byte(v.Body+" "), a.SignedHeaders, v.SK) == a.Signature {
		t.Fatal("a changed body verified")
	}
}

func TestCanonicalURIAndQuery(t *testing.T) {
	if got := canonicalURI("/v1/p/record/control"); got != "/v1/p/record/control/" {
		t.Fatalf("uri = %s", got)
	}
	if got := canonicalURI("/v1/a b/"); got != "/v1/a%20b/" {
		t.Fatalf("uri = %s", got)
	}
	q := map[string][]string{"b": {"2", "1"}, "a": {"x y*"}}
	if got := canonicalQuery(q); got != "a=x%20y%2A&b=1&b=2" {
		t.Fatalf("query = %s", got)
	}
}

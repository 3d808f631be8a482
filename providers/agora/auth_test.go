package agora

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
)

// vectorFile holds Basic-auth vectors made with Go's SetBasicAuth, as
// Agora's official Go client does.
const vectorFile = "../../../shared/providers/vectors/agora.json"

type vector struct {
	Name                  string `json:"name"`
	Method                string `json:"method"`
	URL                   string `json:"url"`
	Path                  string `json:"path"`
	Body                  string `json:"body"`
	CustomerID            string `json:"customer_id"`
	CustomerSecret        string `json:"customer_secret"`
	ExpectedAuthorization string `json:"expected_authorization"`
}

func TestAuthVectors(t *testing.T) {
	raw, err := os.ReadFile(vectorFile)
	if os.IsNotExist(err) && os.Getenv("CI") == "true" {
		t.Fatalf("signing vectors %s are missing; CI must have ../shared beside the repository", vectorFile)
	}
	if os.IsNotExist(err) {
		t.Skip("vector file absent:", vectorFile)
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range doc.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			u, err := url.Parse(v.URL)
			if err != nil {
				t.Fatal(err)
			}
			segs := strings.Split(u.Path, "/") // /v1/apps/{appid}/cloud_recording/...
			p := &Provider{appID: segs[3], custID: v.CustomerID, custSec: v.CustomerSecret, userAgent: "recordctl"}
			suffix := strings.TrimPrefix(u.Path, p.basePath())
			if suffix == u.Path {
				t.Fatalf("basePath %q is not a prefix of %q", p.basePath(), u.Path)
			}
			var body []byte
			if v.Body != "" {
				body = []byte(v.Body)
			}
			req, err := p.newRequest(context.Background(), u.Scheme+"://"+u.Host, v.Method, p.basePath()+suffix, body)
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Authorization"); got != v.ExpectedAuthorization {
				t.Errorf("Authorization = %q, want %q", got, v.ExpectedAuthorization)
			}
			if req.URL.String() != v.URL || req.URL.Path != v.Path {
				t.Errorf("URL = %q, want %q", req.URL, v.URL)
			}
			if got := req.Header.Get("Content-Type"); got != "application/json;charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
		})
	}
}

// TestBodiesMatchVectors checks that our request structs serialise exactly
// like the documented examples in the vectors.
func TestBodiesMatchVectors(t *testing.T) {
	raw, err := os.ReadFile(vectorFile)
	if os.IsNotExist(err) && os.Getenv("CI") == "true" {
		t.Fatalf("signing vectors %s are missing; CI must have ../shared beside the repository", vectorFile)
	}
	if os.IsNotExist(err) {
		t.Skip("vector file absent:", vectorFile)
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	bodies := map[string]any{
		"acquire": acquireRequest{Cname: "class_101", UID: "527841",
			ClientRequest: acquireClientRequest{Scene: 0, ResourceExpiredHour: 24}},
		"start_mix": startRequest{Cname: "class_101", UID: "527841", ClientRequest: startClientRequest{
			RecordingConfig:     &recordingConfig{ChannelType: 1, StreamTypes: 2, MaxIdleTime: 600},
			RecordingFileConfig: &recordingFileConfig{AvFileType: []string{"hls", "mp4"}},
			StorageConfig: &storageConfig{Vendor: 2, Region: 0, Bucket: "rec-bucket", AccessKey: "ak", SecretKey: "sk",
				FileNamePrefix: []string{"rec", "class101"}},
		}},
	}
	seen := 0
	for _, v := range doc.Vectors {
		want, ok := bodies[v.Name]
		if !ok {
			continue
		}
		seen++
		got, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != v.Body {
			t.Errorf("%s body\n got %s\nwant %s", v.Name, got, v.Body)
		}
	}
	if seen != len(bodies) {
		t.Errorf("matched %d of %d vector bodies", seen, len(bodies))
	}
}

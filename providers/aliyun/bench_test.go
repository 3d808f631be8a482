package aliyun

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/aliyun/aliyunemu"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/spec"
)

// BenchmarkStartRoundtrip measures one signed RealTimeRecordCommand start
// over loopback HTTP against the emulator (signature built and verified).
func BenchmarkStartRoundtrip(b *testing.B) {
	emu := aliyunemu.NewEmulator(emu.Config{})
	emu.SetRateLimit(0)
	hs := httptest.NewServer(emu)
	b.Cleanup(hs.Close)
	srv := hs.URL
	b.Setenv("BENCH_ALI_ID", aliyunemu.DemoAccessKeyID)
	b.Setenv("BENCH_ALI_SK", aliyunemu.DemoAccessKeySecret)
	p := &spec.Provider{Metadata: spec.Metadata{Name: "bench"}, Spec: spec.ProviderSpec{Type: "aliyun", Config: Config{Region: aliyunemu.DemoRegion, Endpoint: srv},
		Credentials: map[string]spec.SecretRef{"accessKeyId": {Env: "BENCH_ALI_ID"}, "accessKeySecret": {Env: "BENCH_ALI_SK"}}}}
	c, err := NewClient(p, providers.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := spec.Stream{Domain: "push.example.com", App: "live", Name: "bench" + strconv.Itoa(i)}
		if _, err := c.Create(ctx, providers.CreateRequest{Stream: s}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignRPC measures the HMAC-SHA1 signer alone.
func BenchmarkSignRPC(b *testing.B) {
	p := map[string]string{"Action": "RealTimeRecordCommand", "Command": "start", "DomainName": "push.example.com",
		"AppName": "live", "StreamName": "news", "Format": "JSON", "Version": APIVersion, "AccessKeyId": aliyunemu.DemoAccessKeyID,
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": newNonce(), "Timestamp": "2026-11-21T05:18:19Z"}
	for i := 0; i < b.N; i++ {
		_ = SignRPC("POST", p, aliyunemu.DemoAccessKeySecret)
	}
}

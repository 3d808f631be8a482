package huawei

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/recordctl/recordctl/providers"
	"github.com/recordctl/recordctl/providers/emu"
	"github.com/recordctl/recordctl/providers/huawei/huaweiemu"
	"github.com/recordctl/recordctl/spec"
)

// BenchmarkStartRoundtrip measures one signed RunRecord START over loopback
// HTTP against the emulator (signature built and verified).
func BenchmarkStartRoundtrip(b *testing.B) {
	emu := huaweiemu.NewEmulator(emu.Config{})
	srv := httptest.NewServer(emu)
	b.Cleanup(srv.Close)
	b.Setenv("BENCH_HW_AK", huaweiemu.DemoAccessKey)
	b.Setenv("BENCH_HW_SK", huaweiemu.DemoSecretKey)
	p := &spec.Provider{Metadata: spec.Metadata{Name: "bench"}, Spec: spec.ProviderSpec{Type: "huawei", Config: Config{Endpoint: srv.URL,
		ProjectID: huaweiemu.DemoProjectID}, Credentials: map[string]spec.SecretRef{"accessKey": {Env: "BENCH_HW_AK"}, "secretKey": {Env: "BENCH_HW_SK"}}}}
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

// BenchmarkSign measures the SDK-HMAC-SHA256 signer alone.
func BenchmarkSign(b *testing.B) {
	v := loadVectors(b)[0]
	req := vectorRequest(b, v)
	for i := 0; i < b.N; i++ {
		req.Header.Del("Authorization")
		Sign(req, []byte(v.Body), v.AK, v.SK)
	}
}

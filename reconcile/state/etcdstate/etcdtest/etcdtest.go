// Package etcdtest runs a real etcd server in-process for tests
// (go.etcd.io/etcd/server/v3/embed) on a loopback port and a temp dir.
package etcdtest

import (
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is a running embedded etcd.
type Server struct {
	E        *embed.Etcd
	Endpoint string // host:port

	mu       sync.Mutex
	prefixes int
}

// Start runs an etcd member on 127.0.0.1 with a random client port, fast
// ticks (so leases as short as 1 s are allowed) and no fsync, in dir. It
// stops with Close.
func Start(dir string) (*Server, error) { return start(dir, nil) }

// StartTLS is Start serving clients over TLS with the server certificate
// and key given, requiring client certificates signed by the CA in caFile.
func StartTLS(dir, certFile, keyFile, caFile string) (*Server, error) {
	return start(dir, &transport.TLSInfo{CertFile: certFile, KeyFile: keyFile, TrustedCAFile: caFile, ClientCertAuth: true})
}

func start(dir string, tlsInfo *transport.TLSInfo) (*Server, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cu, _ := url.Parse("http://127.0.0.1:0")
	if tlsInfo != nil {
		cu, _ = url.Parse("https://127.0.0.1:0")
		cfg.ClientTLSInfo = *tlsInfo
	}
	pu, _ := url.Parse("http://127.0.0.1:0")
	apu, _ := url.Parse("http://127.0.0.1:1") // a single member never dials its peer URL
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*apu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, os.ErrDeadlineExceeded
	}
	return &Server{E: e, Endpoint: e.Clients[0].Addr().String()}, nil
}

// Close stops the server.
func (s *Server) Close() { s.E.Close() }

// Client returns a client of s.
func (s *Server) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Main runs a package's tests with one server shared by them all (set
// into *srv before they run), in a temp dir removed afterwards, and exits.
func Main(m *testing.M, srv **Server) {
	dir, err := os.MkdirTemp("", "etcdtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded etcd:", err)
		os.Exit(1)
	}
	s, err := Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded etcd:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	s.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Prefix returns a key prefix no other caller on s got: tests sharing one
// server keep out of each other's keys.
func (s *Server) Prefix(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefixes++
	return fmt.Sprintf("/%s%d", name, s.prefixes)
}

package etcdstate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Target is a parsed --state etcd://host:port[,host:port]/prefix.
type Target struct {
	Endpoints []string // host:port
	Prefix    string   // "/prefix"
	TLS       bool     // etcds://
}

// IsURL reports whether a --state value names a URL (scheme://...) rather
// than a local path; such a value must be an etcd URL.
func IsURL(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 {
		return strings.HasPrefix(s, "etcd:") || strings.HasPrefix(s, "etcds:")
	}
	for _, c := range s[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Parse reads etcd://host:port[,host:port...]/prefix or etcds://...
func Parse(s string) (Target, error) {
	var t Target
	scheme, rest, ok := strings.Cut(s, "://")
	switch {
	case !ok:
		return t, fmt.Errorf("--state %q: an etcd state is etcd://host:port[,host:port]/prefix", s)
	case scheme == "etcds":
		t.TLS = true
	case scheme != "etcd":
		return t, fmt.Errorf("--state %q: unknown scheme %q (a local path, etcd://host:port/prefix or etcds://host:port/prefix)", s, scheme)
	}
	hosts, prefix, _ := strings.Cut(rest, "/")
	prefix = strings.TrimRight(prefix, "/")
	if prefix == "" {
		return t, fmt.Errorf("--state %q: give a key prefix after the endpoints (etcd://host:2379/recordctl); every key recordctl writes lies under it", s)
	}
	if strings.ContainsAny(prefix, "?#") {
		return t, fmt.Errorf("--state %q: the prefix may not contain ? or #", s)
	}
	t.Prefix = "/" + prefix
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			continue
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || port == "" {
			return t, fmt.Errorf("--state %q: endpoint %q is not host:port", s, h)
		}
		t.Endpoints = append(t.Endpoints, h)
	}
	if len(t.Endpoints) == 0 {
		return t, fmt.Errorf("--state %q: no endpoint (etcd://host:port/prefix)", s)
	}
	return t, nil
}

// String is the target as a URL.
func (t Target) String() string {
	sc := "etcd"
	if t.TLS {
		sc = "etcds"
	}
	return sc + "://" + strings.Join(t.Endpoints, ",") + t.Prefix
}

// TLSFiles are the client's TLS material: each a path, or env:NAME for
// PEM text in an environment variable (a Kubernetes Secret as env).
type TLSFiles struct {
	CACert, Cert, Key string
}

// readRef reads a path or env:NAME reference.
func readRef(flag, ref string) ([]byte, error) {
	if name, ok := strings.CutPrefix(ref, "env:"); ok {
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return nil, fmt.Errorf("%s: environment variable %s is not set", flag, name)
		}
		return []byte(v), nil
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return b, nil
}

// Config builds the client TLS configuration (nil for etcd://).
func (f TLSFiles) Config(t Target) (*tls.Config, error) {
	if !t.TLS {
		if f != (TLSFiles{}) {
			return nil, errors.New("--etcd-cacert/--etcd-cert/--etcd-key need an etcds:// state")
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CACert != "" {
		b, err := readRef("--etcd-cacert", f.CACert)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, errors.New("--etcd-cacert: no PEM certificate found")
		}
		cfg.RootCAs = pool
	}
	if (f.Cert == "") != (f.Key == "") {
		return nil, errors.New("--etcd-cert and --etcd-key go together")
	}
	if f.Cert != "" {
		cb, err := readRef("--etcd-cert", f.Cert)
		if err != nil {
			return nil, err
		}
		kb, err := readRef("--etcd-key", f.Key)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(cb, kb)
		if err != nil {
			return nil, fmt.Errorf("--etcd-cert/--etcd-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// DefaultDialTimeout bounds how long Connect waits for etcd to answer.
const DefaultDialTimeout = 5 * time.Second

// Connect opens a client to t and checks, within timeout, that etcd
// answers a read; an unreachable etcd is an error naming the endpoints.
func Connect(ctx context.Context, t Target, tlsCfg *tls.Config, timeout time.Duration) (*clientv3.Client, error) {
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            t.Endpoints,
		DialTimeout:          timeout,
		DialKeepAliveTime:    timeout,
		DialKeepAliveTimeout: timeout,
		TLS:                  tlsCfg,
		Logger:               zap.NewNop(),
		Context:              context.WithoutCancel(ctx),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", t, err)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := cli.Get(cctx, t.Prefix+"/state/meta", clientv3.WithKeysOnly()); err != nil {
		cli.Close()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(cctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("etcd %s: no answer within %s (is etcd running and reachable?)", strings.Join(t.Endpoints, ","), timeout)
		}
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(t.Endpoints, ","), err)
	}
	return cli, nil
}

// Open connects to t and returns a store that closes the client on Close.
func Open(ctx context.Context, t Target, tlsCfg *tls.Config, timeout time.Duration, o Options) (*Store, error) {
	cli, err := Connect(ctx, t, tlsCfg, timeout)
	if err != nil {
		return nil, err
	}
	prev := o.Close
	o.Close = func() error {
		if prev != nil {
			prev()
		}
		return cli.Close()
	}
	st := New(cli, t.Prefix, o)
	if err := st.Init(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

package etcdstate_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/recordctl/recordctl/reconcile/state/etcdstate"
	"github.com/recordctl/recordctl/reconcile/state/etcdstate/etcdtest"
)

// pemPair issues a certificate for cn signed by ca (self-signed when ca is nil).
func pemPair(t *testing.T, cn string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, server bool) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign}
	if ca == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		ca, caKey = tmpl, key
	} else if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// etcds:// with a CA, a client certificate from a file and its key from
// an environment variable reaches an etcd that requires client certificates;
// without the client certificate it does not, and says so.
func TestTLSConnect(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caPEM, _ := pemPair(t, "test-ca", nil, nil, false)
	_, _, srvPEM, srvKey := pemPair(t, "etcd", ca, caKey, true)
	_, _, cliPEM, cliKey := pemPair(t, "recordctl", ca, caKey, false)
	w := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile, srvFile, srvKeyFile, cliFile := w("ca.pem", caPEM), w("srv.pem", srvPEM), w("srv.key", srvKey), w("cli.pem", cliPEM)
	s, err := etcdtest.StartTLS(filepath.Join(dir, "data"), srvFile, srvKeyFile, caFile)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Setenv("RECORDCTL_TEST_ETCD_KEY", string(cliKey))
	tg, err := etcdstate.Parse("etcds://" + s.Endpoint + "/tls")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := etcdstate.TLSFiles{CACert: caFile, Cert: cliFile, Key: "env:RECORDCTL_TEST_ETCD_KEY"}.Config(tg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := etcdstate.Open(context.Background(), tg, cfg, 5*time.Second, etcdstate.Options{})
	if err != nil {
		t.Fatalf("etcds:// with a client certificate: %v", err)
	}
	if snap, err := st.Snapshot(context.Background()); err != nil || snap.Lineage == "" {
		t.Errorf("snapshot over TLS: %v", err)
	}
	st.Close()
	noCert, _ := etcdstate.TLSFiles{CACert: caFile}.Config(tg)
	if _, err := etcdstate.Connect(context.Background(), tg, noCert, time.Second); err == nil {
		t.Error("connected without the client certificate etcd requires")
	}
	for f, want := range map[etcdstate.TLSFiles]string{
		{Cert: cliFile}:                    "go together",
		{CACert: filepath.Join(dir, "no")}: "no such file",
		{CACert: "env:RECORDCTL_NOT_SET"}:  "is not set",
		{CACert: cliFile + "x"}:            "no such file",
	} {
		if _, err := f.Config(tg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", f, err, want)
		}
	}
	plain, _ := etcdstate.Parse("etcd://" + s.Endpoint + "/x")
	if _, err := (etcdstate.TLSFiles{CACert: caFile}).Config(plain); err == nil {
		t.Error("TLS files with etcd:// accepted")
	}
}

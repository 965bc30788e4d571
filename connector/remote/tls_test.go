package remote

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// testCert makes a self-signed certificate for the name iggy.test and
// writes it, as the CA, to a PEM file.
func testCert(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "iggy.test"},
		DNSNames:              []string{"iggy.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, caFile
}

func TestTLS(t *testing.T) {
	srvCfg, caFile := testCert(t)
	f := newFakeServerTLS(t, srvCfg)
	cfg := testConfig(f.addr)
	cfg.TLS = TLSConfig{Enabled: true, CAFile: caFile, ServerName: "iggy.test"}
	b := newTestBroker(t, cfg)
	if _, err := b.Ping(t.Context()); err != nil {
		t.Fatalf("Ping over TLS: %v", err)
	}

	// The wrong server name fails the handshake, within the timeout.
	cfg.TLS.ServerName = "other.test"
	if _, err := New(t.Context(), cfg); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("wrong server name: %v", err)
	}
	// A CA file that is not PEM is a configuration error.
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("nope"), 0o600)
	cfg.TLS = TLSConfig{Enabled: true, CAFile: bad}
	if _, err := New(t.Context(), cfg); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("bad CA file: %v", err)
	}
}

func TestTLSToSilentServerTimesOut(t *testing.T) {
	_, caFile := testCert(t)
	cfg := testConfig(silentListener(t))
	cfg.TLS = TLSConfig{Enabled: true, CAFile: caFile, ServerName: "iggy.test"}
	start := time.Now()
	if _, err := New(t.Context(), cfg); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
}

package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/iggy/foreign/go/client"
	"github.com/apache/iggy/foreign/go/client/tcp"
	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/connector/embedded/broker"
)

// selfSigned returns a certificate for 127.0.0.1 and its PEM encoding.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rustok-iggy test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestSDKOverTLS(t *testing.T) {
	cert, certPEM := selfSigned(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := broker.Open(broker.Config{DataDir: t.TempDir(), Fsync: "never"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(b, Config{Addr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		_ = b.Close()
	})

	cli, err := client.NewIggyClient(client.WithTcp(tcp.WithServerAddress(addr.String()), tcp.WithTLS(tcp.WithTLSCAFile(caFile))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	must(cli.LoginUser(rootUser, rootPass))(t)
	s, tp := mkTopic(t, cli, "tls", "t", 1)
	ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), msgs(t, "secure", 3)))
	got := must(cli.PollMessages(nid(s), nid(tp), iggcon.DefaultConsumer(), iggcon.FirstPollingStrategy(), 10, false, ptr(uint32(0))))(t)
	if len(got.Messages) != 3 {
		t.Fatalf("%d messages over TLS", len(got.Messages))
	}

	// A plain-TCP client gets no answer it can use and the server survives.
	c := dial(t, addr.String())
	if _, err := c.Write(frame(1, nil)); err != nil {
		t.Fatal(err)
	}
	if st, _, err := readResponse(c); err == nil && st == 0 {
		t.Fatal("plain ping answered OK on a TLS listener")
	}
	ok(t, cli.Ping())
}

func TestConfigValidateTLSWithoutCertificate(t *testing.T) {
	if err := (Config{TLS: &tls.Config{}}).Validate(); err == nil {
		t.Fatal("TLS without a certificate accepted")
	}
}

func TestTLSHandshakeStallIsCutByShutdown(t *testing.T) {
	cert, _ := selfSigned(t)
	f := newFakeBackend()
	srv, err := newServer(f, Config{Addr: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr.String()) // never starts the handshake
	waitFor(t, func() bool { return srv.connCount() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("shutdown waited %v for a stalled handshake", time.Since(start))
	}
	expectClosed(t, c)
	if f.opened.Load() != 0 {
		t.Fatal("a session was opened before the handshake")
	}
}

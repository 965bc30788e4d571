package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func TestPingAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:8090": "127.0.0.1:8090", ":8090": "127.0.0.1:8090", "[::]:8090": "[::1]:8090",
		"127.0.0.2:1": "127.0.0.2:1", "localhost:8090": "localhost:8090",
	} {
		if got, err := pingAddr(in); err != nil || got != want {
			t.Errorf("pingAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"8090", "127.0.0.1:", "127.0.0.1:0"} {
		if _, err := pingAddr(in); err == nil {
			t.Errorf("pingAddr(%q): no error", in)
		}
	}
}

// TestPingCommand pings a real serve process through the command, with the
// address from --addr and from IGGY_TCP_ADDRESS.
func TestPingCommand(t *testing.T) {
	_, addr := startServe(t, nil, "--data-dir", t.TempDir(), "--tcp-addr", "127.0.0.1:0")
	run := func(args ...string) (string, error) {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(t.Context())
		return out.String(), err
	}
	if out, err := run("ping", "--addr", addr); err != nil || !strings.HasPrefix(out, "pong from "+addr) {
		t.Fatalf("ping --addr %s: %q, %v", addr, out, err)
	}
	t.Setenv("IGGY_TCP_ADDRESS", addr)
	if out, err := run("ping"); err != nil || !strings.HasPrefix(out, "pong from "+addr) {
		t.Fatalf("ping with IGGY_TCP_ADDRESS=%s: %q, %v", addr, out, err)
	}
	if _, err := run("ping", "--timeout", "0s"); err == nil {
		t.Fatal("ping --timeout 0s: no error")
	}
}

// fakeIggy accepts connections on loopback and runs answer on each.
func fakeIggy(t *testing.T, answer func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			answer(c)
			_ = c.Close()
		}
	}()
	return ln.Addr().String()
}

func TestPingFailures(t *testing.T) {
	t.Run("error status", func(t *testing.T) {
		addr := fakeIggy(t, func(c net.Conn) {
			if _, err := iggyproto.ReadRequestHeader(c); err == nil {
				_ = iggyproto.WriteResponse(c, iggyproto.CodeUnauthenticated, nil)
			}
		})
		if _, err := pingIggy(t.Context(), addr, false); err == nil || !strings.Contains(err.Error(), "answered error") {
			t.Fatalf("error status: %v", err)
		}
	})
	t.Run("closed without answer", func(t *testing.T) {
		addr := fakeIggy(t, func(c net.Conn) {})
		if _, err := pingIggy(t.Context(), addr, false); err == nil || !strings.Contains(err.Error(), "no answer") {
			t.Fatalf("closed: %v", err)
		}
	})
	t.Run("silent until the timeout", func(t *testing.T) {
		release := make(chan struct{})
		addr := fakeIggy(t, func(c net.Conn) { <-release })
		defer close(release)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		// The connection's deadline and ctx's end at the same instant:
		// either may be the error.
		_, err := pingIggy(ctx, addr, false)
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("silent server: %v, want a timeout", err)
		}
	})
	t.Run("nothing listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		if _, err := pingIggy(t.Context(), addr, false); err == nil {
			t.Fatal("ping of a closed port: no error")
		}
	})
}

// TestPingTLS starts serve with TLS from Iggy's variables and pings it
// over TLS (--tls and IGGY_TCP_TLS_ENABLED); a plain ping gets no answer.
func TestPingTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	_, addr := startServe(t, []string{"IGGY_TCP_TLS_ENABLED=true", "IGGY_TCP_TLS_CERT_FILE=" + certFile, "IGGY_TCP_TLS_KEY_FILE=" + keyFile},
		"--data-dir", dir+"/data", "--tcp-addr", "127.0.0.1:0")
	if _, err := pingIggy(t.Context(), addr, true); err != nil {
		t.Fatalf("TLS ping: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := pingIggy(ctx, addr, false); err == nil {
		t.Fatal("plain ping of a TLS listener answered OK")
	}
	cmd := newRootCmd()
	cmd.SetOut(new(bytes.Buffer))
	cmd.SetArgs([]string{"ping", "--addr", addr})
	t.Setenv("IGGY_TCP_TLS_ENABLED", "true")
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("ping with IGGY_TCP_TLS_ENABLED=true: %v", err)
	}
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its
// key as PEM files into dir.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

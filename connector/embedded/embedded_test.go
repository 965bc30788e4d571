package embedded_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/connectortest"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// open opens an embedded connector on dir and closes it when t ends.
func open(t testing.TB, cfg embedded.Config) *embedded.Broker {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	b, err := embedded.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// TestConformance runs the stream port's conformance suite against the
// embedded connector in-process. Each subtest gets its own broker (its own
// data directory), so the suite's shared-broker check of Close does not
// apply.
func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T) core.Broker {
		return open(t, embedded.Config{Fsync: "never"})
	}, connectortest.Features{NotMemberOnUnownedPartition: true, LongPoll: true})
}

func TestConfigValidate(t *testing.T) {
	t.Setenv(embedded.EnvRootUsername, "")
	t.Setenv(embedded.EnvRootPassword, "")
	ok := embedded.Config{DataDir: "/tmp/x"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	full := embedded.Config{DataDir: "/tmp/x", Fsync: "always", SegmentSize: 1 << 20, TCPAddr: "127.0.0.1:0",
		TLSCertFile: "c.pem", TLSKeyFile: "k.pem", RootUsername: "admin", RootPassword: "secret",
		HeartbeatEnabled: true, HeartbeatInterval: time.Second}
	if err := full.Validate(); err != nil {
		t.Fatalf("full config: %v", err)
	}
	for _, tc := range []struct {
		cfg  embedded.Config
		keys []string
	}{
		{embedded.Config{}, []string{"embedded.data_dir"}},
		{embedded.Config{DataDir: "d", Fsync: "sometimes"}, []string{"embedded.fsync"}},
		{embedded.Config{DataDir: "d", SegmentSize: -1}, []string{"embedded.segment_size"}},
		{embedded.Config{DataDir: "d", HeartbeatInterval: -time.Second}, []string{"embedded.heartbeat_interval"}},
		{embedded.Config{DataDir: "d", SegmentSize: 3 << 30}, []string{"embedded.segment_size"}},
		{embedded.Config{DataDir: "d", TCPAddr: "localhost"}, []string{"embedded.tcp_addr"}},
		{embedded.Config{DataDir: "d", TCPAddr: "127.0.0.1:70000"}, []string{"embedded.tcp_addr"}},
		{embedded.Config{DataDir: "d", TCPAddr: ":1", TLSCertFile: "c.pem"}, []string{"embedded.tls_cert_file"}},
		{embedded.Config{DataDir: "d", TLSCertFile: "c.pem", TLSKeyFile: "k.pem"}, []string{"embedded.tls_cert_file"}},
		{embedded.Config{DataDir: "d", RootUsername: "ab", RootPassword: "x"}, []string{"embedded.root_username", "embedded.root_password"}},
		{embedded.Config{Fsync: "x", SegmentSize: -5}, []string{"embedded.data_dir", "embedded.fsync", "embedded.segment_size"}},
	} {
		err := tc.cfg.Validate()
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: Validate = %v, want core.ErrInvalid", tc.cfg, err)
			continue
		}
		for _, k := range tc.keys {
			if !strings.Contains(err.Error(), k) {
				t.Errorf("%+v: %q does not name %s", tc.cfg, err, k)
			}
		}
	}
	// Open refuses what Validate refuses, before touching the disk.
	dir := filepath.Join(t.TempDir(), "never")
	if _, err := embedded.Open(context.Background(), embedded.Config{DataDir: dir, Fsync: "bad"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Open with a bad fsync = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open with a bad config created the data dir: %v", err)
	}
}

func TestConfigLogValueHidesPassword(t *testing.T) {
	cfg := embedded.Config{DataDir: "d", RootUsername: "admin", RootPassword: "hunter22"}
	if s := cfg.LogValue().String(); strings.Contains(s, "hunter22") || !strings.Contains(s, "admin") {
		t.Errorf("LogValue = %s", s)
	}
}

func TestRootCredentialsFromEnvironment(t *testing.T) {
	t.Setenv(embedded.EnvRootUsername, "x")
	t.Setenv(embedded.EnvRootPassword, "envpass")
	// The environment is used (and checked) when the fields are empty...
	err := embedded.Config{DataDir: "d"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "embedded.root_username") {
		t.Errorf("a 1-byte IGGY_ROOT_USERNAME passed Validate: %v", err)
	}
	// ...and the fields win over it.
	if err := (embedded.Config{DataDir: "d", RootUsername: "admin"}).Validate(); err != nil {
		t.Errorf("RootUsername set: %v", err)
	}
}

// TestRootCredentialsReachListener checks that the root user is created
// with the environment's credentials: a wrong password is refused over TCP
// and the right one accepted.
func TestRootCredentialsReachListener(t *testing.T) {
	t.Setenv(embedded.EnvRootUsername, "admin")
	t.Setenv(embedded.EnvRootPassword, "s3cret")
	b := open(t, embedded.Config{TCPAddr: "127.0.0.1:0"})
	if code := rawLogin(t, b.TCPAddr(), "admin", "s3cret"); code != 0 {
		t.Errorf("login with the environment's credentials: status %d", code)
	}
	if code := rawLogin(t, b.TCPAddr(), "iggy", "iggy"); code != uint32(iggyproto.CodeInvalidCredentials) {
		t.Errorf("login with the defaults: status %d, want %d", code, iggyproto.CodeInvalidCredentials)
	}
}

// rawLogin sends one LoginUser frame and returns the response status.
func rawLogin(t *testing.T, addr, user, pass string) uint32 {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	payload := iggyproto.EncodeLoginUser(nil, iggyproto.LoginUser{Username: user, Password: pass})
	if _, err := c.Write(iggyproto.AppendRequestFrame(nil, iggyproto.CmdLoginUser, payload)); err != nil {
		t.Fatalf("write: %v", err)
	}
	h, _, err := iggyproto.ReadResponse(c, 1<<20)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return uint32(h.Status)
}

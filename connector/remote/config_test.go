package remote

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Addresses: []string{"127.0.0.1:8090"}, Username: "iggy", Password: "iggy"}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tok := Config{Addresses: []string{"iggy.example:8090", "[::1]:8090"}, Token: "abc"}
	if err := tok.Validate(); err != nil {
		t.Fatalf("token config: %v", err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		keys []string
	}{
		{"empty", Config{}, []string{"remote.addresses", "remote.username", "remote.password"}},
		{"bad address", Config{Addresses: []string{"nohost", ":1", "h:0", "h:x"}, Username: "iggy", Password: "iggy"},
			[]string{"addresses[0]", "addresses[1]", "addresses[2]", "addresses[3]"}},
		{"both credentials", Config{Addresses: []string{"h:1"}, Username: "iggy", Password: "iggy", Token: "t"}, []string{"remote.token"}},
		{"tls off", Config{Addresses: []string{"h:1"}, Token: "t", TLS: TLSConfig{CAFile: "ca.pem", ServerName: "x"}},
			[]string{"remote.tls.ca_file", "remote.tls.server_name"}},
		{"negatives", Config{Addresses: []string{"h:1"}, Token: "t", ConnectTimeout: -1, RequestTimeout: -1, PoolSize: -1,
			Reconnect: BackoffConfig{Min: -1, Max: -1}}, []string{"connect_timeout", "request_timeout", "pool_size", "reconnect.min", "reconnect.max"}},
		{"pool too big", Config{Addresses: []string{"h:1"}, Token: "t", PoolSize: MaxPoolSize + 1}, []string{"pool_size"}},
		{"backoff order", Config{Addresses: []string{"h:1"}, Token: "t", Reconnect: BackoffConfig{Min: time.Minute}}, []string{"reconnect.min"}},
	} {
		err := tc.cfg.Validate()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, k := range tc.keys {
			if !strings.Contains(err.Error(), k) {
				t.Errorf("%s: error %q does not name %s", tc.name, err, k)
			}
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	d := Config{}.withDefaults()
	if d.ConnectTimeout != 5*time.Second || d.RequestTimeout != 10*time.Second || d.PoolSize != 4 ||
		d.Reconnect.Min != 100*time.Millisecond || d.Reconnect.Max != 5*time.Second || d.Heartbeat != 5*time.Second || d.Logger == nil {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	cfg := Config{Addresses: []string{"h:1"}, Username: "iggy", Password: "hunter22", Token: "tok-secret"}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("cfg", "config", cfg, "password", cfg.Password, "token", cfg.Token)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg.Password)
	for _, secret := range []string{"hunter22", "tok-secret"} {
		if strings.Contains(out, secret) {
			t.Fatalf("secret %q leaked: %s", secret, out)
		}
	}
	if !strings.Contains(buf.String(), "[REDACTED]") {
		t.Fatalf("no redaction marker in %s", buf.String())
	}
}

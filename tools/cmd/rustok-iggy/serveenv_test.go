package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestApplyIggyEnv(t *testing.T) {
	base := serveOptions{DataDir: "./data/iggy", TCPAddr: "127.0.0.1:8090", Fsync: "interval",
		HeartbeatInterval: 5 * time.Second, RebalancingTimeout: 30 * time.Second}
	cases := []struct {
		name    string
		env     map[string]string
		changed []string
		want    func(o *serveOptions)
		wantErr []string
	}{
		{name: "none", want: func(*serveOptions) {}},
		{name: "image defaults", env: map[string]string{
			"IGGY_SYSTEM_PATH": "/data", "IGGY_TCP_ADDRESS": "0.0.0.0:8090", "IGGY_HTTP_ADDRESS": "0.0.0.0:3000",
		}, want: func(o *serveOptions) { o.DataDir, o.TCPAddr, o.HTTPAddr = "/data", "0.0.0.0:8090", "0.0.0.0:3000" }},
		{name: "flags win", env: map[string]string{
			"IGGY_SYSTEM_PATH": "/data", "IGGY_TCP_ADDRESS": "0.0.0.0:8090", "IGGY_HTTP_ADDRESS": "0.0.0.0:3000",
			"IGGY_SYSTEM_PARTITION_ENFORCE_FSYNC": "true",
		}, changed: []string{"data-dir", "tcp-addr", "http-addr", "fsync"}, want: func(*serveOptions) {}},
		{name: "empty is unset", env: map[string]string{"IGGY_TCP_ADDRESS": "", "IGGY_HTTP_ENABLED": " "},
			want: func(*serveOptions) {}},
		{name: "http enabled without address is Iggy's default", env: map[string]string{"IGGY_HTTP_ENABLED": "true"},
			want: func(o *serveOptions) { o.HTTPAddr = "127.0.0.1:3000" }},
		{name: "http disabled wins over its address", env: map[string]string{"IGGY_HTTP_ENABLED": "false", "IGGY_HTTP_ADDRESS": "127.0.0.1:3000"},
			want: func(*serveOptions) {}},
		{name: "tls", env: map[string]string{"IGGY_TCP_TLS_ENABLED": "true", "IGGY_TCP_TLS_CERT_FILE": "/c.pem", "IGGY_TCP_TLS_KEY_FILE": "/k.pem"},
			want: func(o *serveOptions) { o.TLSCert, o.TLSKey = "/c.pem", "/k.pem" }},
		{name: "tls files without enabled are unused", env: map[string]string{"IGGY_TCP_TLS_CERT_FILE": "/c.pem", "IGGY_TCP_TLS_KEY_FILE": "/k.pem"},
			want: func(*serveOptions) {}},
		{name: "heartbeat, rebalancing, fsync", env: map[string]string{
			"IGGY_HEARTBEAT_ENABLED": "true", "IGGY_HEARTBEAT_INTERVAL": "2 s",
			"IGGY_CONSUMER_GROUP_REBALANCING_TIMEOUT": "1m 30s", "IGGY_SYSTEM_PARTITION_ENFORCE_FSYNC": "true",
		}, want: func(o *serveOptions) {
			o.Heartbeat, o.HeartbeatInterval, o.RebalancingTimeout, o.Fsync = true, 2*time.Second, 90*time.Second, "always"
		}},
		{name: "enforce fsync false is interval", env: map[string]string{"IGGY_SYSTEM_PARTITION_ENFORCE_FSYNC": "false"},
			want: func(o *serveOptions) { o.Fsync = "interval" }},
		{name: "bad values are all reported", env: map[string]string{
			"IGGY_TCP_ENABLED": "false", "IGGY_HTTP_ENABLED": "yes please", "IGGY_HEARTBEAT_INTERVAL": "5 days",
			"IGGY_TCP_TLS_ENABLED": "true", "IGGY_TCP_TLS_CERT_FILE": "/c.pem",
		}, want: func(*serveOptions) {}, wantErr: []string{
			"IGGY_TCP_ENABLED: false is not supported", `IGGY_HTTP_ENABLED: "yes please" is not true or false`,
			`IGGY_HEARTBEAT_INTERVAL: "5 days" is not a duration`, "IGGY_TCP_TLS_ENABLED: true needs IGGY_TCP_TLS_CERT_FILE and IGGY_TCP_TLS_KEY_FILE",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, want := base, base
			tc.want(&want)
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			changed := func(f string) bool {
				for _, c := range tc.changed {
					if c == f {
						return true
					}
				}
				return false
			}
			err := applyIggyEnv(&got, lookup, changed)
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatalf("error: %v", err)
			}
			for _, w := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v does not say %q", err, w)
				}
			}
			if got != want {
				t.Errorf("options:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseIggyDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"5 s": 5 * time.Second, "30s": 30 * time.Second, "1m 30s": 90 * time.Second,
		"500 ms": 500 * time.Millisecond, " 1 h ": time.Hour} {
		if got, err := parseIggyDuration(in); err != nil || got != want {
			t.Errorf("parseIggyDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "5", "1 d", "soon"} {
		if _, err := parseIggyDuration(in); err == nil {
			t.Errorf("parseIggyDuration(%q): no error", in)
		}
	}
}

// TestServeReadsIggyEnv starts serve with its address, data directory and
// HTTP address from Iggy's variables only.
func TestServeReadsIggyEnv(t *testing.T) {
	dir := t.TempDir() + "/from-env"
	_, addr := startServe(t, []string{"IGGY_TCP_ADDRESS=127.0.0.1:0", "IGGY_SYSTEM_PATH=" + dir})
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("listening on %s", addr)
	}
	if _, err := pingIggy(t.Context(), addr, false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("data dir %s from IGGY_SYSTEM_PATH: %v", dir, err)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// TestServeHeartbeatFromConfig: embedded.heartbeat in the configuration
// turns on stale client removal; a client that never pings gets
// StaleClient (30) within a few intervals.
func TestServeHeartbeatFromConfig(t *testing.T) {
	t.Setenv(envRootUsername, "")
	t.Setenv(envRootPassword, "")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	yaml := "events:\n  iggy:\n    embedded:\n      data_dir: " + filepath.Join(dir, "data") +
		"\n      tcp_port: 0\n      http_port: 0\n      fsync: never\n      heartbeat:\n        enabled: true\n        interval: 1s\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := serveInProcess(t, "--config", cfg, "serve")
	c := dial(t, match(t, tcpLine, p.line(t)))
	if st, _ := call(t, c, iggyproto.LoginUser{Username: "iggy", Password: "iggy"}); st != 0 {
		t.Fatalf("login: %d", st)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, _ := call(t, c, iggyproto.GetStreams{}) // not a heartbeat
		if st == iggyproto.CodeStaleClient {
			break
		}
		if st != 0 || time.Now().After(deadline) {
			t.Fatalf("status %d; never removed as stale", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := p.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeHeartbeatFlags(t *testing.T) {
	cmd := newServeCmd(&rootFlags{})
	var out strings.Builder
	cmd.SetOut(&out)
	if err := cmd.Usage(); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--heartbeat ", "--heartbeat-interval"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("serve --help lacks %s", flag)
		}
	}
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"serve", "--heartbeat", "--heartbeat-interval", "0s"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--heartbeat-interval") {
		t.Fatalf("zero heartbeat interval: %v", err)
	}
}

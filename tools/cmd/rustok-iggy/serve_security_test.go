package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestServeRefusesDefaultPasswordOffLoopback(t *testing.T) {
	t.Setenv(envRootPassword, "")
	o := serveOptions{DataDir: t.TempDir(), TCPAddr: "0.0.0.0:0", Fsync: "never"}
	// Refused before anything is bound.
	err := runServe(context.Background(), o, io.Discard, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), envRootPassword) || !strings.Contains(err.Error(), "--allow-default-password") {
		t.Fatalf("want a refusal naming %s and the override: %v", envRootPassword, err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8090": true, "[::1]:8090": true, "localhost:1": true, "127.3.2.1:0": true,
		"0.0.0.0:8090": false, ":8090": false, "[::]:1": false, "10.0.0.1:8090": false, "example.com:1": false, "bad": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v", addr, got)
		}
	}
}

func TestServeHelpShowsTheLimits(t *testing.T) {
	cmd := newServeCmd(&rootFlags{})
	var out bytes.Buffer
	cmd.SetOut(&out)
	if err := cmd.Usage(); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--login-timeout", "--idle-timeout", "--read-timeout", "--write-timeout", "--max-connections",
		"--max-pending", "--max-pending-per-addr", "--max-frame-memory", "--allow-default-password"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("serve --help lacks %s", flag)
		}
	}
}

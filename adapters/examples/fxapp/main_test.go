package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFxAppRuns builds the example and runs it twice on one data
// directory; each run must publish and consume its own events and exit 0.
func TestFxAppRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fxapp")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "events.yaml")
	doc := "events:\n  iggy:\n    topology:\n      domain_partitions: 2\n    embedded:\n      data_dir: " +
		filepath.Join(dir, "data") + "\n      tcp_port: 0\n      http_port: 0\n      fsync: never\n"
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bin, "-events", "4")
		cmd.Env = append(os.Environ(), "RUSTOK_IGGY_CONFIG="+cfg)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out)
		}
		s := string(out)
		for _, want := range []string{"published 4 events", "consumed 4/4: order.placed", "done"} {
			if !strings.Contains(s, want) {
				t.Errorf("run %d: output lacks %q:\n%s", run, want, s)
			}
		}
	}
}

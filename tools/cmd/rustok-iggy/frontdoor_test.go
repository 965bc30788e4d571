package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// newTestRoot is the program's command tree with the front-door commands,
// whether or not root.go registers them already.
func newTestRoot() *cobra.Command {
	root := newRootCmd()
	for _, c := range root.Commands() {
		if c.Name() == "demo" {
			return root
		}
	}
	addFrontDoorCommands(root)
	return root
}

// runCLI runs the program in-process and returns stdout, stderr and the
// error Execute returned.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newTestRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// writeTestConfig writes an embedded-mode config on a fresh data dir with
// a free TCP port and no HTTP listener, and returns its path.
func writeTestConfig(t *testing.T, dataDir string) string {
	t.Helper()
	if dataDir == "" {
		dataDir = filepath.Join(t.TempDir(), "data")
	}
	doc := "events:\n  iggy:\n    topology:\n      domain_partitions: 4\n    embedded:\n      data_dir: " + dataDir +
		"\n      tcp_port: 0\n      http_port: 0\n      fsync: never\n"
	path := filepath.Join(t.TempDir(), "events.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func decodeSummary(t *testing.T, out string) demoSummary {
	t.Helper()
	var s demoSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	return s
}

// TestDemoTwiceOnOneDataDir runs the demo twice on one data directory; each
// run must pass every check and count only its own events.
func TestDemoTwiceOnOneDataDir(t *testing.T) {
	cfg := writeTestConfig(t, "")
	for run := range 2 {
		out, errOut, err := runCLI(t, "", "--config", cfg, "demo", "--events", "300", "--tenants", "6", "--json")
		if err != nil {
			t.Fatalf("run %d: %v\nstdout:\n%s\nstderr:\n%s", run, err, out, errOut)
		}
		s := decodeSummary(t, out)
		if !s.Pass || len(s.Checks) != 14 {
			t.Fatalf("run %d: summary does not pass: %+v", run, s)
		}
		for _, c := range s.Checks {
			if !c.Pass {
				t.Errorf("run %d: check %s failed: %s", run, c.Name, c.Detail)
			}
		}
		if s.Published != 300 || s.Consumed+s.DeadLettered != 300 || s.DeadLettered == 0 || s.Redriven != s.DeadLettered ||
			s.Replayed == 0 || s.OrderedTenants != 6 {
			t.Errorf("run %d: counts are off: %+v", run, s)
		}
		sum := 0
		for _, n := range s.ConsumedByWorker {
			sum += n
		}
		if len(s.ConsumedByWorker) != demoWorkers || sum != s.Consumed {
			t.Errorf("run %d: the split per worker %v does not add up to %d over %d workers", run, s.ConsumedByWorker, s.Consumed, demoWorkers)
		}
	}
}

func TestDemoHumanSummary(t *testing.T) {
	out, errOut, err := runCLI(t, "", "--config", writeTestConfig(t, ""), "demo", "--events", "60", "--tenants", "3")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	for _, want := range []string{"✔ published", "✔ per-tenant order", "✔ redriven", "All 14 checks passed.", "✔ outbox once", "✔ inbox once", "-u iggy -p iggy"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBadConfigIsAClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("events:\n  iggy:\n    mode: cloud\n    topology:\n      domain_partitions: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"demo", "topology", "health", "consume"} {
		_, _, err := runCLI(t, "", "--config", path, cmd)
		if err == nil {
			t.Fatalf("%s: no error for a bad config", cmd)
		}
		msg := err.Error()
		for _, want := range []string{"bad configuration", "events.iggy.mode", `"cloud"`, "events.iggy.topology.domain_partitions"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: error lacks %q: %s", cmd, want, msg)
			}
		}
	}
	if _, _, err := runCLI(t, "", "--config", filepath.Join(t.TempDir(), "missing.yaml"), "health"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing config file: %v", err)
	}
}

func TestBadFlags(t *testing.T) {
	cfg := writeTestConfig(t, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--events", "0"}, "--events"},
		{[]string{"publish"}, "exactly one source"},
		{[]string{"publish", "--tenant", "acme"}, "--type is required"},
		{[]string{"publish", "--tenant", "acme", "--type", "a.b", "--data", "{"}, "--data is not valid JSON"},
		{[]string{"consume", "--from", "middle"}, "--from"},
		{[]string{"replay", "--topic", "orders"}, "--topic"},
		{[]string{"replay", "--from-time", "yesterday"}, "--from-time"},
		{[]string{"dlq", "list", "--since", "soon"}, "--since"},
		{[]string{"demo", "--nope"}, "unknown flag"},
	} {
		_, _, err := runCLI(t, "", append([]string{"--config", cfg}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
}

// TestCommands drives publish, consume, replay, dlq, topology and health
// on one embedded data directory.
func TestCommands(t *testing.T) {
	cfg := writeTestConfig(t, "")
	run := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, err := runCLI(t, stdin, append([]string{"--config", cfg}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s\n%s", args, err, out, errOut)
		}
		return out
	}
	out := run("", "publish", "--tenant", "acme", "--type", "order.placed", "--data", `{"order_id":"A-1"}`, "--count", "2")
	if strings.Count(out, "published ") != 2 || !strings.Contains(out, "topic=domain") {
		t.Errorf("publish from flags:\n%s", out)
	}
	stdin := `{"tenant_id":"acme","event_type":"order.paid","data":{"order_id":"A-1"}}
{"tenant_id":"globex","event_type":"system.cache_invalidated","event":{"type":"CacheInvalidated"}}
`
	out = run(stdin, "publish", "-")
	if !strings.Contains(out, "topic=system") || strings.Count(out, "published ") != 2 {
		t.Errorf("publish from stdin:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "events.json")
	if err := os.WriteFile(file, []byte(`[{"tenant_id":"acme","event_type":"order.shipped","data":{"order_id":"A-1"}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out = run("", "publish", "--file", file); !strings.Contains(out, "order.shipped") {
		t.Errorf("publish from file:\n%s", out)
	}
	if _, _, err := runCLI(t, `{"tenant_id":"acme","event_type":"x.y","colour":"red"}`+"\n", "--config", cfg, "publish", "--stdin"); err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "colour") {
		t.Errorf("bad stdin line: %v", err)
	}

	out = run("", "consume", "--group", "cli-test", "--limit", "4", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("consume --limit 4 printed %d lines:\n%s", len(lines), out)
	}
	var first eventLine
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Topic != "domain" || len(first.Envelope) == 0 {
		t.Errorf("consume JSON line: %v %+v", err, first)
	}
	// The 4 domain events were consumed; with --system the group goes on
	// with the system topic's event.
	out = run("", "consume", "--group", "cli-test", "--limit", "1", "--system")
	if !strings.Contains(out, "system.cache_invalidated") {
		t.Errorf("consume --system continues with the system event:\n%s", out)
	}

	out = run("", "replay", "--tenant", "acme", "--type", "order.placed")
	if strings.Count(out, "order.placed") != 2 || strings.Contains(out, "order.paid") {
		t.Errorf("replay filtered:\n%s", out)
	}
	out = run("", "replay", "--tenant", "acme", "--from-offset", "2", "--limit", "1")
	if strings.Count(out, "\n") != 1 {
		t.Errorf("replay --limit 1:\n%s", out)
	}

	out = run("", "topology", "--json")
	var topo struct {
		Stream string
		Topics []topicJSON
	}
	if err := json.Unmarshal([]byte(out), &topo); err != nil || topo.Stream != "rustok" || len(topo.Topics) != 3 || topo.Topics[0].Messages != 4 {
		t.Errorf("topology: %v\n%s", err, out)
	}
	out = run("", "health")
	if !strings.HasPrefix(out, "healthy") && !strings.HasPrefix(out, "degraded") {
		t.Errorf("health:\n%s", out)
	}
	out = run("", "dlq", "list")
	if !strings.Contains(out, "0 entries") {
		t.Errorf("dlq list on an empty DLQ:\n%s", out)
	}
}

// TestDLQCommands dead-letters events with the demo, then lists and
// redrives them with the dlq commands.
func TestDLQCommands(t *testing.T) {
	// A demo run leaves its DLQ entries redriven; --all lists them.
	cfg := writeTestConfig(t, "")
	out, _, err := runCLI(t, "", "--config", cfg, "demo", "--events", "40", "--tenants", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	s := decodeSummary(t, out)
	out, _, err = runCLI(t, "", "--config", cfg, "dlq", "list", "--all", "--json", "--group", s.Group)
	if err != nil {
		t.Fatal(err)
	}
	var es []dlqEntryJSON
	if err := json.Unmarshal([]byte(out), &es); err != nil || s.DeadLettered == 0 || len(es) != s.DeadLettered || !es[0].Redriven || es[0].EventType != demoFailingType {
		t.Fatalf("dlq list --all: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "", "--config", cfg, "dlq", "list", "--group", s.Group)
	if err != nil || !strings.Contains(out, "0 entries") {
		t.Errorf("dlq list (pending only): %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "", "--config", cfg, "dlq", "redrive")
	if err != nil || !strings.Contains(out, "0 redriven, 0 failed") {
		t.Errorf("dlq redrive after the demo's: %v\n%s", err, out)
	}
}

// TestExitCodes runs the program as a child process (see TestMain) to
// check exit statuses.
func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("events:\n  iggy:\n    serialization: bincode\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--config", bad, "demo"}, 1, "bincode"},
		{[]string{"--config", writeTestConfig(t, ""), "demo", "--events", "30", "--tenants", "2", "--json"}, 0, `"pass": true`},
	} {
		cmd := exec.Command(os.Args[0], tc.args...)
		cmd.Env = append(os.Environ(), "RUSTOK_IGGY_TEST_RUN_MAIN=1")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: exit %d, want %d; output:\n%s", tc.args, code, tc.code, out)
		}
		if strings.Contains(string(out), `unknown command "demo"`) {
			t.Fatal(`root.go does not register the front-door commands: add addFrontDoorCommands(root) to newRootCmd`)
		}
	}
}

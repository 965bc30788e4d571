package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestDemoCleanup: --cleanup adds a passing cleanup check, after which the
// run's group is gone from both topics.
func TestDemoCleanup(t *testing.T) {
	cfg := writeTestConfig(t, "")
	out, errOut, err := runCLI(t, "", "--config", cfg, "demo", "--events", "200", "--tenants", "4", "--json", "--cleanup")
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	s := decodeSummary(t, out)
	if !s.Pass || len(s.Checks) != 15 || s.Checks[14].Name != "cleanup" || !s.Checks[14].Pass {
		t.Fatalf("summary: %+v", s)
	}
	out, _, err = runCLI(t, "", "--config", cfg, "group", "delete", s.Group, "--yes")
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("group delete after --cleanup: %v, want not found\n%s", err, out)
	}
}

// TestGroupDelete: without --yes nothing is deleted; with it the group
// goes from both topics; a second delete finds nothing.
func TestGroupDelete(t *testing.T) {
	cfg := writeTestConfig(t, "")
	out, errOut, err := runCLI(t, "", "--config", cfg, "demo", "--events", "100", "--tenants", "2", "--json")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	group := decodeSummary(t, out).Group
	for range 2 { // a dry run changes nothing, so it says the same twice
		out, _, err = runCLI(t, "", "--config", cfg, "group", "delete", group)
		if !errors.Is(err, errNotConfirmed) {
			t.Fatalf("group delete without --yes: %v, want %v", err, errNotConfirmed)
		}
		if strings.Count(out, "would delete group") != 2 {
			t.Fatalf("dry run output:\n%s", out)
		}
	}
	out, _, err = runCLI(t, "", "--config", cfg, "group", "delete", group, "--yes")
	if err != nil || strings.Count(out, "deleted group") != 2 {
		t.Fatalf("group delete --yes: %v\n%s", err, out)
	}
	if _, _, err = runCLI(t, "", "--config", cfg, "group", "delete", group, "--yes"); err == nil {
		t.Fatal("deleting a deleted group succeeded")
	}
	if _, _, err = runCLI(t, "", "--config", cfg, "group", "delete", "g", "--topic", "nope", "--yes"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("bad --topic: %v, want a usage error", err)
	}
	if _, _, err = runCLI(t, "", "--config", cfg, "group", "delete", "--yes"); err == nil {
		t.Fatal("group delete without a group name succeeded")
	}
}

// TestTopologyDelete: a dry run keeps the messages; deleting a topic and
// then the stream leaves an empty topology when it is next opened.
func TestTopologyDelete(t *testing.T) {
	cfg := writeTestConfig(t, "")
	if out, errOut, err := runCLI(t, "", "--config", cfg, "demo", "--events", "100", "--tenants", "2", "--json"); err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	messages := func() map[string]uint64 {
		t.Helper()
		out, _, err := runCLI(t, "", "--config", cfg, "topology", "--json")
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Topics []topicJSON `json:"topics"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		m := map[string]uint64{}
		for _, tp := range v.Topics {
			m[tp.Name] = tp.Messages
		}
		return m
	}
	before := messages()
	if before["domain"] == 0 || before["dlq"] == 0 {
		t.Fatalf("the demo left %v", before)
	}
	out, _, err := runCLI(t, "", "--config", cfg, "topology", "delete")
	if !errors.Is(err, errNotConfirmed) || !strings.Contains(out, "would delete stream") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if got := messages(); got["domain"] != before["domain"] {
		t.Fatalf("a dry run changed the messages: %v -> %v", before, got)
	}
	if out, _, err = runCLI(t, "", "--config", cfg, "topology", "delete", "--topic", "dlq", "--yes"); err != nil || !strings.Contains(out, "deleted topic") {
		t.Fatalf("topic delete: %v\n%s", err, out)
	}
	if got := messages(); got["dlq"] != 0 || got["domain"] != before["domain"] {
		t.Fatalf("after deleting dlq: %v (before %v)", got, before)
	}
	if out, _, err = runCLI(t, "", "--config", cfg, "topology", "delete", "--yes"); err != nil || !strings.Contains(out, "deleted stream") {
		t.Fatalf("stream delete: %v\n%s", err, out)
	}
	if got := messages(); got["domain"] != 0 || got["system"] != 0 {
		t.Fatalf("after deleting the stream: %v", got)
	}
	if _, _, err = runCLI(t, "", "--config", cfg, "topology", "delete", "--topic", "bogus", "--yes"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("bad --topic: %v, want a usage error", err)
	}
}

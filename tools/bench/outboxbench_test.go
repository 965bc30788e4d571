package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"testing"
)

// The outbox target with tiny counts: SQLite rows always; PostgreSQL rows
// and the Watermill forwarder's when RUSTOK_TEST_POSTGRES_DSN names a
// server (required in CI).
func TestOutboxRows(t *testing.T) {
	pg := os.Getenv(EnvPostgresDSN) != ""
	if !pg && (os.Getenv("RUSTOK_CI") != "" || os.Getenv("CI") != "") {
		t.Fatal(EnvPostgresDSN + " is not set in CI")
	}
	var out bytes.Buffer
	args := []string{"--json", "--targets", "outbox", "--events", "300", "--publishers", "2", "--partitions", "2", "--dir", t.TempDir()}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	rows := map[string]Row{}
	for _, r := range rep.Rows {
		rows[r.Target+" "+r.Scenario] = r
	}
	targets := []string{"rustok-outbox-sqlite"}
	if pg {
		targets = append(targets, "rustok-outbox-pg", "watermill-forwarder-pg")
	}
	for _, target := range targets {
		for _, sc := range []string{scOBWrite1, scOBWrite100, scOBRelay} {
			if r, ok := rows[target+" "+sc]; !ok || r.Err != "" || r.MsgsPerSec <= 0 {
				t.Errorf("%s %s: %+v", target, sc, r)
			}
		}
		if r := rows[target+" "+scOBRelay]; r.Messages != 330 {
			t.Errorf("%s relayed %d, want 330 (30 single + 300 batched)", target, r.Messages)
		}
	}
	if pg {
		if r := rows["rustok-outbox-pg "+scOBRelay]; r.VsPeer <= 0 {
			t.Errorf("relay not compared with the forwarder: %+v", r)
		}
		if r := rows["rustok-outbox-pg "+scOBLatency]; r.Samples == 0 || r.P50us <= 0 {
			t.Errorf("latency: %+v", r)
		}
	}
}

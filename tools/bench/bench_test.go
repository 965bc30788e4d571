package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tinyArgs is the quick path with counts small enough for CI (and -race).
var tinyArgs = []string{
	"--quick", "--json",
	"--messages", "2000", "--batch", "100", "--partitions", "4",
	"--events", "400", "--publish-batch", "50",
	"--e2e-rate", "2000", "--e2e-duration", "100ms",
	"--disk-bytes", "1048576",
}

// TestQuickRun runs every in-process target (all but iggy-server and the
// child-process targets rustok-serve and scale, which TestServeAndScale
// covers) with tiny counts and checks that each scenario of each target
// produced a row that moved all its messages, with no error.
func TestQuickRun(t *testing.T) {
	var out bytes.Buffer
	args := append(append([]string{}, tinyArgs...), "--dir", t.TempDir(), "--iggy-addr", "",
		"--targets", "limits,inproc,sdk,http,jetstream,transport")
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out.String())
	}
	if rep.Limits.DiskMBps <= 0 || rep.Limits.MemcpyMBps <= 0 {
		t.Errorf("limits not measured: %+v", rep.Limits)
	}
	rows := map[string]Row{}
	for _, r := range rep.Rows {
		if r.Err != "" {
			t.Errorf("%s %s: %s", r.Target, r.Scenario, r.Err)
		}
		rows[r.Target+" "+r.Scenario] = r
	}
	broker := []string{scPinnedProducer, scPinnedConsumer, scBalancedProd, scBalancedGroup}
	for _, target := range []string{"rustok-inproc", "rustok-tcp-sdk", "jetstream"} {
		for _, sc := range broker {
			r, ok := rows[target+" "+sc]
			if !ok {
				t.Errorf("no row for %s %s", target, sc)
				continue
			}
			if r.Messages != 2000 || r.Bytes != 2000*1000 || r.MsgsPerSec <= 0 || r.LatencyOf != "batch" || r.P50us <= 0 {
				t.Errorf("%s %s: %+v", target, sc, r)
			}
		}
		if r := rows[target+" "+scEndToEnd]; r.Messages != 200 || r.LatencyOf != "e2e" || r.Samples != 200 {
			t.Errorf("%s end-to-end: %+v", target, r)
		}
	}
	for _, codec := range []string{"json", "cbor"} {
		for _, sc := range []string{scTPSync, scTPAsync, scTPBatch, scTPConsume} {
			r, ok := rows["rustok-transport "+sc+"/"+codec]
			if !ok || r.Messages != 400 || r.Bytes <= 400*256 {
				t.Errorf("rustok-transport %s/%s: %+v", sc, codec, r)
			}
			if sc == scTPBatch {
				continue
			}
			if p, ok := rows["jetstream "+sc+"/"+codec]; !ok || p.Messages != 400 {
				t.Errorf("jetstream %s/%s: %+v", sc, codec, p)
			}
		}
	}
	// Ratios are filled against JetStream and the limits.
	if r := rows["rustok-inproc "+scPinnedProducer]; r.VsPeer <= 0 || r.Limit != "disk" || r.VsLimit <= 0 {
		t.Errorf("ratios of rustok-inproc pinned-producer: %+v", r)
	}
	if r := rows["rustok-transport "+scTPBatch+"/cbor"]; r.VsPeer <= 0 {
		t.Errorf("publish-batch is not compared with JetStream's async publish: %+v", r)
	}
}

// TestServeAndScale builds rustok-iggy, runs the rustok-serve and scale
// targets against child processes with tiny counts, and checks that every
// row moved its messages and measured the server apart. Skipped with
// -short (the build alone takes seconds).
func TestServeAndScale(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs rustok-iggy serve")
	}
	var out bytes.Buffer
	args := []string{"--json", "--targets", "serve,scale", "--dir", t.TempDir(),
		"--messages", "2000", "--batch", "100", "--partitions", "4",
		"--e2e-rate", "2000", "--e2e-duration", "100ms",
		"--scale-messages", "3000", "--scale-partitions", "50", "--scale-polls", "5"}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out.String())
	}
	rows := map[string]Row{}
	for _, r := range rep.Rows {
		if r.Err != "" {
			t.Errorf("%s %s: %s", r.Target, r.Scenario, r.Err)
		}
		rows[r.Scenario] = r
	}
	for _, sc := range []string{scPinnedProducer, scPinnedConsumer, scBalancedProd, scBalancedGroup} {
		r, ok := rows[sc]
		if !ok || r.Target != "rustok-serve" || r.Messages != 2000 || r.ServerPeakRSSMB <= 0 {
			t.Errorf("rustok-serve %s: %+v", sc, r)
		}
	}
	if r := rows[scEndToEnd]; r.Messages != 200 || r.Samples != 200 {
		t.Errorf("rustok-serve end-to-end: %+v", r)
	}
	if r := rows[scScaleCreate]; r.P50us <= 0 {
		t.Errorf("create-partitions: %+v", r)
	}
	if r := rows[scScalePublish]; r.Messages != 3000 || r.ServerPeakRSSMB <= 0 {
		t.Errorf("scale publish: %+v", r)
	}
	reopen, ok := rows[scScaleReopen]
	if !ok || reopen.P50us <= 0 || reopen.Messages < 3000+5*100 {
		t.Errorf("reopen: %+v", reopen)
	}
	for _, at := range []string{"0", "middle", "end"} {
		if r := rows[scScalePoll+at]; r.Samples != 5 || r.Messages <= 0 {
			t.Errorf("poll at %s: %+v", at, r)
		}
	}
	if r := rows[scScaleConsume]; r.Messages != reopen.Messages {
		t.Errorf("consume read %d, the partition holds %d: %+v", r.Messages, reopen.Messages, r)
	}
}

// TestTable checks the text table of a small run of one target.
func TestTable(t *testing.T) {
	var out bytes.Buffer
	args := []string{"--quick", "--targets", "inproc", "--scenarios", "pinned", "--messages", "500", "--batch", "100", "--dir", t.TempDir()}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"machine:", "rustok-inproc", "pinned-producer", "pinned-consumer", "fsync=interval", "msgs/s"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "balanced") || strings.Contains(s, "ERROR") {
		t.Errorf("table has rows it should not:\n%s", s)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--fsync", "sometimes"},
		{"--messages", "0"},
		{"--targets", "kafka"},
		{"--message-size", "4"},
		{"--profile", "rustok-inproc/pinned-producer"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	o, err := parseFlags([]string{"--quick", "--messages", "7"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.messages != 7 || o.events != 30000 || o.diskBytes != 256<<20 {
		t.Errorf("--quick did not keep the explicit flag and set the rest: %+v", o)
	}
}

func TestQuantile(t *testing.T) {
	s := make([]int64, 1000)
	for i := range s {
		s[i] = int64(i + 1)
	}
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 500}, {0.99, 990}, {0.999, 999}, {1, 1000}, {0, 1}} {
		if got := quantile(s, c.q); int64(got) != c.want {
			t.Errorf("quantile(%v) = %d, want %d", c.q, got, c.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

// TestCharts draws a small report and checks that both SVG files name the
// targets, scenarios and percentiles they plot, and that a report with
// nothing to chart is an error.
func TestCharts(t *testing.T) {
	rep := &Report{Rows: []Row{
		{Target: "limits", Scenario: "memcpy", Kind: kindLatency, MBPerSec: 9000},
		{Target: "rustok-tcp", Scenario: scPinnedProducer, Durability: "fsync never", Kind: kindWrite, MsgsPerSec: 900000, LatencyOf: "batch", Samples: 100, P50us: 300, P99us: 900, P999us: 2000},
		{Target: "jetstream", Scenario: scPinnedProducer, Durability: "fsync never", Kind: kindWrite, MsgsPerSec: 400000, LatencyOf: "batch", Samples: 100, P50us: 500, P99us: 1500, P999us: 4000},
		{Target: "rustok-tcp", Scenario: scPinnedConsumer, Kind: kindRead, MsgsPerSec: 2e6},
		{Target: "broken", Scenario: scPinnedConsumer, Kind: kindRead, Err: "boom"},
	}}
	dir := t.TempDir()
	if err := rep.writeCharts(dir); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string][]string{
		chartThroughput: {"rustok-tcp (fsync never)", "jetstream (fsync never)", scPinnedProducer, scPinnedConsumer},
		chartLatency:    {"p50", "p99.9", "jetstream / " + scPinnedProducer},
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("<?xml")) || !bytes.Contains(b, []byte("<svg")) {
			t.Fatalf("%s is not SVG: %.80q", file, b)
		}
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				t.Errorf("%s does not name %q", file, w)
			}
		}
		for _, no := range []string{"broken", "memcpy"} {
			if bytes.Contains(b, []byte(no)) {
				t.Errorf("%s charts the row %q it should leave out", file, no)
			}
		}
	}
	if err := (&Report{}).writeCharts(t.TempDir()); err == nil {
		t.Error("an empty report was charted")
	}
}

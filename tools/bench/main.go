// Command bench measures rustok-iggy beside its peers, in one run on one
// machine, and prints a table (or JSON).
//
// Targets:
//
//	rustok-inproc     the embedded broker in-process, through core.Broker
//	rustok-tcp-sdk    the embedded broker's Iggy TCP listener, driven by the
//	                  official Iggy Go SDK's TCP client (one connection per
//	                  producer or consumer, as Iggy's bench tool)
//	rustok-serve      `rustok-iggy serve` as a separate child process on a
//	                  loopback port (built once per run, or --serve-bin),
//	                  driven by the same SDK code; CPU and peak RSS are
//	                  reported for the clients and the server apart
//	rustok-http       the embedded broker's Iggy HTTP API (JSON, base64
//	                  payloads), one keep-alive connection and bearer token
//	                  per producer or consumer; no consumer-group scenario
//	                  (Iggy's HTTP API has no group join)
//	jetstream         embedded NATS JetStream, file storage, in-process
//	                  connections, async publish and durable pull consumers
//	iggy-server       the Iggy server at IGGY_ADDR (IGGY_USERNAME,
//	                  IGGY_PASSWORD), driven by the same SDK code
//	rustok-transport  the transport (package transport) over the embedded
//	                  broker in-process: Publish, async Publish,
//	                  PublishBatch and group consumption, JSON and CBOR
//	limits            the disk's sequential write rate (write + fdatasync)
//	                  and a memcpy rate
//	scale             one partition of --scale-messages messages in a
//	                  `rustok-iggy serve` child: publish and consume it
//	                  (server peak RSS), reopen after SIGKILL mid-write,
//	                  poll latency at offsets 0, middle and end; and one
//	                  topic of --scale-partitions partitions created
//
// Scenarios, named after Iggy's bench tool: pinned-producer,
// pinned-consumer, balanced-producer, balanced-consumer-group, end-to-end
// (a fixed rate of single messages, latency from send to read), and the
// transport-* scenarios. Every row reports messages/s, MB/s (10^6 bytes of
// payload), p50/p99/p999 latency, CPU time per message (getrusage of the
// whole process), peak RSS during the row, and ratios to JetStream's row
// and to the machine's limit.
//
// Flow: flags -> limits -> each target in turn, on a fresh data directory
// under --dir (removed at the end) -> ratios -> table or JSON on stdout;
// progress lines go to stderr. See docs/benchmarks.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// options are the parsed flags.
type options struct {
	quick, jsonOut, md bool
	jsonFile           string
	fromJSON           string
	charts             string
	messages, msgSize  int
	batch              int
	producers          int
	consumers          int
	partitions         int
	e2eRate            int
	e2eDur             time.Duration
	e2eIdle            time.Duration
	events, eventData  int
	publishers         int
	tpBatch            int
	codecs             []string
	fsync              string
	diskBytes          int64
	dir                string
	targets            map[string]bool
	scenarios          []string
	iggyAddr           string
	iggyUser, iggyPass string
	skipDataValidation bool
	natsTCP            bool
	cpuProfile         string
	profileRow         string
	memProfile         string
	blockProfile       string
	serveBin           string
	scaleMessages      int
	scalePartitions    int
	scalePolls         int
	progress           io.Writer

	// builtServe and buildErr cache the rustok-iggy build of this run.
	builtServe string
	buildErr   error
}

func (o *options) wantScenario(sc string) bool {
	if len(o.scenarios) == 0 {
		return true
	}
	for _, f := range o.scenarios {
		if sc == f || strings.HasPrefix(sc, f) {
			return true
		}
	}
	return false
}

func (o *options) logf(format string, args ...any) {
	if o.progress != nil {
		fmt.Fprintf(o.progress, format+"\n", args...)
	}
}

// quickValues are the defaults --quick puts in place of the full ones, for
// flags not given explicitly. Quick mode leaves out the child-process
// targets (rustok-serve builds rustok-iggy first; scale writes a big
// partition) unless --targets names them.
var quickValues = map[string]string{
	"targets":        "limits,inproc,sdk,http,jetstream,iggy,transport",
	"messages":       "50000",
	"events":         "30000",
	"e2e-duration":   "1s",
	"disk-bytes":     "268435456",
	"scale-messages": "100000",
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.BoolVar(&o.quick, "quick", false, "small counts: the whole run takes under a minute on 2 cores")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON instead of a table")
	fs.BoolVar(&o.md, "md", false, "print the table as markdown")
	fs.StringVar(&o.jsonFile, "json-file", "", "also write the JSON report to this file")
	fs.StringVar(&o.charts, "charts", "", "also write the report as SVG charts ("+chartThroughput+", "+chartLatency+") into this directory")
	fs.StringVar(&o.fromJSON, "from-json", "", "run nothing: print the report saved in this JSON file (with --md or as a table)")
	fs.IntVar(&o.messages, "messages", 1_000_000, "messages per broker-level producer scenario, all producers together")
	fs.IntVar(&o.msgSize, "message-size", 1000, "payload bytes per message (Iggy's bench: 1000)")
	fs.IntVar(&o.batch, "batch", 1000, "messages per send and per poll")
	fs.IntVar(&o.producers, "producers", 2, "producers (pinned: one stream each; also the pinned consumers)")
	fs.IntVar(&o.consumers, "consumers", 2, "consumer group members (and JetStream fetchers)")
	fs.IntVar(&o.partitions, "partitions", 8, "partitions of the balanced topic")
	fs.IntVar(&o.e2eRate, "e2e-rate", 10_000, "messages per second of the end-to-end scenario")
	fs.DurationVar(&o.e2eDur, "e2e-duration", 10*time.Second, "duration of the end-to-end scenario")
	fs.DurationVar(&o.e2eIdle, "e2e-idle", 20*time.Microsecond, "end-to-end consumer's pause after an empty poll (0: spin with runtime.Gosched)")
	fs.IntVar(&o.events, "events", 300_000, "envelopes per transport-level scenario")
	fs.IntVar(&o.eventData, "event-data", 256, "bytes of each envelope's event data (JSON)")
	fs.IntVar(&o.publishers, "publishers", 4, "goroutines calling Publish / PublishBatch")
	fs.IntVar(&o.tpBatch, "publish-batch", 100, "envelopes per PublishBatch")
	codecs := fs.String("codecs", "json,cbor", "codecs of the transport-level scenarios")
	fs.StringVar(&o.fsync, "fsync", "interval", "fsync policy of rustok (never, interval, always); JetStream gets the matching sync_interval")
	fs.Int64Var(&o.diskBytes, "disk-bytes", 1<<30, "bytes written for the disk limit")
	fs.StringVar(&o.dir, "dir", "", "directory for data (default: a new temporary directory, removed at the end)")
	targets := fs.String("targets", "limits,inproc,sdk,serve,http,jetstream,iggy,transport,scale", "targets to run (outbox, which needs "+EnvPostgresDSN+" for its PostgreSQL rows, only when named)")
	fs.StringVar(&o.serveBin, "serve-bin", "", "rustok-iggy binary for the rustok-serve and scale targets (default: go build it into --dir)")
	fs.IntVar(&o.scaleMessages, "scale-messages", 10_000_000, "messages (of --message-size bytes) in the scale target's one partition")
	fs.IntVar(&o.scalePartitions, "scale-partitions", 1000, "partitions of the scale target's create-partitions row (one topic, one request; at most 1000)")
	fs.IntVar(&o.scalePolls, "scale-polls", 200, "polls of --batch messages per scale poll-latency row")
	scenarios := fs.String("scenarios", "", "comma-separated scenario names or prefixes (default: all)")
	fs.StringVar(&o.iggyAddr, "iggy-addr", os.Getenv("IGGY_ADDR"), "Iggy server for the iggy-server target (default $IGGY_ADDR; empty skips it)")
	fs.StringVar(&o.iggyUser, "iggy-username", envOr("IGGY_USERNAME", "iggy"), "Iggy user (default $IGGY_USERNAME or iggy)")
	fs.StringVar(&o.iggyPass, "iggy-password", envOr("IGGY_PASSWORD", "iggy"), "Iggy password (default $IGGY_PASSWORD or iggy)")
	fs.BoolVar(&o.skipDataValidation, "skip-data-validation", false, "build the transport WithoutDataValidation")
	fs.Bool("sdk-log", false, "let the Iggy SDK's standard-logger lines through to stderr")
	fs.BoolVar(&o.natsTCP, "nats-tcp", false, "connect to JetStream over loopback TCP instead of in-process pipes")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (the whole run, or --profile's row)")
	fs.StringVar(&o.profileRow, "profile", "", "TARGET/SCENARIO: limit --cpuprofile to this row's measured part")
	fs.StringVar(&o.memProfile, "memprofile", "", "write an allocation profile (whole run) to this file")
	fs.StringVar(&o.blockProfile, "blockprofile", "", "write blocking and mutex-contention profiles (whole run) to this file and FILE.mutex")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range quickValues {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					return nil, err
				}
			}
		}
	}
	o.targets = map[string]bool{}
	for _, t := range splitList(*targets) {
		o.targets[t] = true
	}
	o.scenarios = splitList(*scenarios)
	o.codecs = splitList(*codecs)
	var errs []error
	positive := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("--%s must be positive, got %d", name, v))
		}
	}
	positive("messages", o.messages)
	positive("message-size", o.msgSize)
	positive("batch", o.batch)
	positive("producers", o.producers)
	positive("consumers", o.consumers)
	positive("partitions", o.partitions)
	positive("e2e-rate", o.e2eRate)
	positive("events", o.events)
	positive("publishers", o.publishers)
	positive("publish-batch", o.tpBatch)
	positive("scale-messages", o.scaleMessages)
	positive("scale-partitions", o.scalePartitions)
	positive("scale-polls", o.scalePolls)
	if o.scalePartitions > 1000 {
		errs = append(errs, fmt.Errorf("--scale-partitions must be at most 1000 (Iggy's limit per request), got %d", o.scalePartitions))
	}
	if o.msgSize < 8 {
		errs = append(errs, fmt.Errorf("--message-size must be at least 8 (the end-to-end timestamp), got %d", o.msgSize))
	}
	if o.diskBytes <= 0 {
		errs = append(errs, fmt.Errorf("--disk-bytes must be positive, got %d", o.diskBytes))
	}
	switch o.fsync {
	case "never", "interval", "always":
	default:
		errs = append(errs, fmt.Errorf("--fsync %q is not never, interval or always", o.fsync))
	}
	for t := range o.targets {
		switch t {
		case "limits", "inproc", "sdk", "serve", "http", "jetstream", "iggy", "transport", "scale", "outbox":
		default:
			errs = append(errs, fmt.Errorf("--targets: unknown target %q", t))
		}
	}
	if o.profileRow != "" && o.cpuProfile == "" {
		errs = append(errs, errors.New("--profile needs --cpuprofile"))
	}
	return o, errors.Join(errs...)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func main() {
	// The Iggy SDK reports every connection's cluster check through the
	// standard logger; keep the output to the table unless asked.
	if !slices.Contains(os.Args[1:], "--sdk-log") && !slices.Contains(os.Args[1:], "-sdk-log") {
		log.SetOutput(io.Discard)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(2)
	}
}

// run is the program: it parses args, runs the targets and writes the
// report to stdout. A row that fails is reported in the table; run fails
// only on bad flags, an unusable directory or an unwritable output.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	o.progress = stderr
	if o.fromJSON != "" {
		b, err := os.ReadFile(o.fromJSON)
		if err != nil {
			return err
		}
		var rep Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("%s: %w", o.fromJSON, err)
		}
		if o.charts != "" {
			if err := rep.writeCharts(o.charts); err != nil {
				return err
			}
		}
		return rep.writeText(stdout, o.md)
	}
	base := o.dir
	if base == "" {
		if base, err = os.MkdirTemp("", "rustok-bench-*"); err != nil {
			return err
		}
		defer os.RemoveAll(base)
	} else if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if o.profileRow == "" {
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		} else {
			armed = &armedProfile{row: o.profileRow, out: f}
			defer func() { armed = nil }()
		}
	}
	if o.blockProfile != "" {
		runtime.SetBlockProfileRate(int(10 * time.Microsecond))
		runtime.SetMutexProfileFraction(10)
		defer runtime.SetBlockProfileRate(0)
		defer runtime.SetMutexProfileFraction(0)
	}
	started := time.Now()
	rep := &Report{
		Command: "bench " + strings.Join(args, " "),
		Started: started.UTC().Format(time.RFC3339),
		Machine: machine(),
		Config:  o.public(),
	}
	if o.targets["limits"] {
		rep.Limits = limits(o, base)
		rep.Rows = append(rep.Rows,
			Row{Target: "limits", Scenario: "disk-sequential-write", Durability: "fdatasync at end", Kind: kindLatency, MBPerSec: rep.Limits.DiskMBps},
			Row{Target: "limits", Scenario: "disk-sequential-write", Durability: "fdatasync per MiB", Kind: kindLatency, MBPerSec: rep.Limits.DiskSyncedMBps},
			Row{Target: "limits", Scenario: "memcpy", Durability: "-", Kind: kindLatency, MBPerSec: rep.Limits.MemcpyMBps})
	}
	rep.Rows = append(rep.Rows, runTargets(ctx, o, base)...)
	rep.Seconds = time.Since(started).Seconds()
	rep.ratios()
	if o.memProfile != "" {
		if err := writeProfile("allocs", o.memProfile); err != nil {
			return err
		}
	}
	if o.blockProfile != "" {
		if err := writeProfile("block", o.blockProfile); err != nil {
			return err
		}
		if err := writeProfile("mutex", o.blockProfile+".mutex"); err != nil {
			return err
		}
	}
	if o.jsonFile != "" {
		f, err := os.Create(o.jsonFile)
		if err != nil {
			return err
		}
		err = rep.writeJSON(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if o.charts != "" {
		if err := rep.writeCharts(o.charts); err != nil {
			return err
		}
	}
	if o.jsonOut {
		return rep.writeJSON(stdout)
	}
	return rep.writeText(stdout, o.md)
}

func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func limits(o *options, base string) Limits {
	l := Limits{DiskBytes: o.diskBytes, DiskDir: base}
	o.logf("limits: writing %d MiB + fdatasync in %s", o.diskBytes>>20, base)
	mbps, err := diskRate(base, o.diskBytes, 0)
	if err != nil {
		l.Err = err.Error()
	}
	l.DiskMBps = mbps
	// The same amount with an fdatasync per MiB: what fsync=always
	// with batches of 1000 × 1 KB asks of the disk.
	if mbps, err = diskRate(base, o.diskBytes, 1<<20); err != nil {
		l.Err = err.Error()
	}
	l.DiskSyncedMBps = mbps
	d := time.Second
	if o.quick {
		d = 300 * time.Millisecond
	}
	l.MemcpyMBps = memcpyRate(d)
	o.logf("limits: disk %.0f MB/s (%.0f MB/s with fdatasync per MiB), memcpy %.0f MB/s", l.DiskMBps, l.DiskSyncedMBps, l.MemcpyMBps)
	return l
}

// public is the configuration as the JSON report shows it.
func (o *options) public() map[string]any {
	return map[string]any{
		"quick": o.quick, "messages": o.messages, "message_size": o.msgSize, "batch": o.batch,
		"producers": o.producers, "consumers": o.consumers, "partitions": o.partitions,
		"e2e_rate": o.e2eRate, "e2e_duration": o.e2eDur.String(), "e2e_idle": o.e2eIdle.String(), "events": o.events,
		"event_data": o.eventData, "publishers": o.publishers, "publish_batch": o.tpBatch,
		"codecs": o.codecs, "fsync": o.fsync, "disk_bytes": o.diskBytes,
		"skip_data_validation": o.skipDataValidation, "iggy_addr": o.iggyAddr, "nats_tcp": o.natsTCP,
		"scale_messages": o.scaleMessages, "scale_partitions": o.scalePartitions, "scale_polls": o.scalePolls,
	}
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVer: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
				m.MemoryGB = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// Demo settings the command applies over the configuration, so that the
// failing events reach the DLQ in milliseconds.
const (
	demoMaxAttempts    = 3
	demoInitialBackoff = 2 * time.Millisecond
	demoMaxBackoff     = 20 * time.Millisecond
	demoBatchSize      = 500
	// demoWorkers is the demo subscription's workers per topic.
	demoWorkers = 4
)

type demoOptions struct {
	events      int
	tenants     int
	json        bool
	timeout     time.Duration
	keepRunning bool
	seed        uint64
	cleanup     bool
}

func newDemoCmd() *cobra.Command {
	o := demoOptions{events: 10000, tenants: 20, timeout: 2 * time.Minute}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole transport scenario and print a summary of checks",
		Long: `Runs rustok-iggy end to end on the configured broker (by default the
embedded one in ./data/iggy, with the Iggy TCP listener on 127.0.0.1:8090, or
a free port if that one is taken):

  1. creates the stream and its domain, system and dlq topics;
  2. publishes a multi-tenant stream of business events (--events across
     --tenants: content, orders, payments, sign-ups, inventory, system);
  3. consumes them with one consumer-group subscription of 4 workers (one
     group member per topic, its partitions' batches spread over the
     workers; the summary shows each worker's share); the handler of
     ` + demoFailingType + ` fails on purpose, so those events are retried
     and then dead-lettered;
  4. verifies that every tenant's events arrived in publish order;
  5. replays one tenant's events;
  6. "fixes" the failing handler and redrives the DLQ;
  7. checks health;
  8. the transactional outbox and inbox, on a broker and a SQLite database
     of their own in a temporary directory: orders committed and rolled
     back with their events, a relay stopped between publish and mark and
     a second one taking over, every committed event once in Iggy (by id,
     deduplication on), none rolled back, tenant order; an inbox consumer
     writing invoices with forced redeliveries, each invoice once;
  9. with --cleanup, deletes the run's consumer group (a broker that cannot
     delete fails this check);
  and prints a summary (--json: as JSON).

Every run uses its own consumer group and counts only its own events, so it
is safe to run again on the same data. Exits with status 1 if a check fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.events < 1 {
				return usageError("--events must be at least 1, got %d", o.events)
			}
			if o.tenants < 1 || o.tenants > 10000 {
				return usageError("--tenants must be 1 to 10000, got %d", o.tenants)
			}
			if o.timeout <= 0 {
				return usageError("--timeout must be positive")
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			return runDemo(ctx, cmd, cfg, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.events, "events", o.events, "number of events to publish")
	f.IntVar(&o.tenants, "tenants", o.tenants, "number of tenants")
	f.BoolVar(&o.json, "json", false, "print the summary as JSON")
	f.DurationVar(&o.timeout, "timeout", o.timeout, "give up waiting for consumption after this `duration`")
	f.BoolVar(&o.keepRunning, "keep-running", false, "after the summary, keep the embedded broker serving the Iggy TCP protocol until interrupted")
	f.Uint64Var(&o.seed, "seed", 0, "random seed of the generated events (0: a new one per run)")
	f.BoolVar(&o.cleanup, "cleanup", false, "delete the run's consumer group at the end")
	return cmd
}

// demoCheck is one line of the summary.
type demoCheck struct {
	Name   string `json:"name"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail"`
}

// demoSummary is what the demo prints (--json: this, as JSON).
type demoSummary struct {
	RunID            string      `json:"run_id"`
	Mode             string      `json:"mode"`
	Broker           string      `json:"broker"`
	TCPAddr          string      `json:"tcp_addr,omitempty"`
	Stream           string      `json:"stream"`
	Group            string      `json:"group"`
	Events           int         `json:"events"`
	Tenants          int         `json:"tenants"`
	Published        int         `json:"published"`
	Consumed         int         `json:"consumed"`
	ConsumedByWorker []int       `json:"consumed_by_worker"`
	Duplicates       int         `json:"duplicates"`
	OrderedTenants   int         `json:"ordered_tenants"`
	OrderViolations  int         `json:"order_violations"`
	Retried          uint64      `json:"retried"`
	DeadLettered     int         `json:"dead_lettered"`
	Redriven         int         `json:"redriven"`
	RedrivenHandled  int         `json:"redriven_handled"`
	ReplayTenant     string      `json:"replay_tenant"`
	Replayed         int         `json:"replayed"`
	Health           string      `json:"health"`
	PublishRate      float64     `json:"publish_events_per_second"`
	EndToEndRate     float64     `json:"end_to_end_events_per_second"`
	DurationSeconds  float64     `json:"duration_seconds"`
	Notices          []string    `json:"notices,omitempty"`
	Checks           []demoCheck `json:"checks"`
	Pass             bool        `json:"pass"`
}

// demoHooks counts the run's retries and dead letters (the transport's
// instrumentation hooks, next to the Prometheus ones).
type demoHooks struct {
	transport.NopHooks
	group   string
	retried atomic.Uint64
	dead    atomic.Uint64
	onDead  func()
}

func (h *demoHooks) Retried(group, _ string, _ uint32, _ int) {
	if group == h.group {
		h.retried.Add(1)
	}
}

func (h *demoHooks) DeadLettered(group, _ string, _ uint32, _ string) {
	if group == h.group {
		h.dead.Add(1)
		h.onDead()
	}
}

// demoTracker records what the subscription's workers handled.
type demoTracker struct {
	batch   *demoBatch
	tenants []demoTenant
	fixed   atomic.Bool

	mu         sync.Mutex
	seen       map[uuid.UUID]bool // first deliveries
	okDone     map[uuid.UUID]bool // handled successfully (not redrives)
	redriven   map[uuid.UUID]bool // redriven events handled successfully
	last       map[orderKey]int
	badTenant  map[int]bool
	violations []string
	duplicates int
	byWorker   []int
	consumed   int
	wantOK     int
	wantFail   int
	dead       func() uint64
	phase1     chan struct{} // closed when every event was handled or dead-lettered
	phase1Once sync.Once
	phase2     chan struct{} // closed when every redriven event was handled
	wantRedrv  atomic.Int64
	phase2Once sync.Once
}

var errSimulatedOutage = errors.New("smtp relay rejected the message (simulated outage)")

func (tk *demoTracker) handler() transport.Handler {
	return func(_ context.Context, d transport.Delivery) error {
		m, ours := tk.batch.meta[d.Envelope.ID]
		if !ours {
			return nil // another run's event
		}
		tk.mu.Lock()
		defer tk.mu.Unlock()
		if d.Envelope.RetryCount > 0 { // a DLQ redrive
			if m.failing && !tk.fixed.Load() {
				return errSimulatedOutage
			}
			if !tk.redriven[d.Envelope.ID] {
				tk.redriven[d.Envelope.ID] = true
				if w := tk.wantRedrv.Load(); w > 0 && int64(len(tk.redriven)) >= w {
					tk.phase2Once.Do(func() { close(tk.phase2) })
				}
			}
			return nil
		}
		if !tk.seen[d.Envelope.ID] {
			tk.seen[d.Envelope.ID] = true
			k := orderKey{m.tenant, m.topic}
			last, ok := tk.last[k]
			if !ok {
				last = -1
			}
			if m.seq != last+1 {
				tk.violations = append(tk.violations, fmt.Sprintf("tenant %s, %s topic: event #%d arrived after #%d",
					tk.tenants[m.tenant].Name, m.topic, m.seq, last))
				tk.badTenant[m.tenant] = true
			}
			tk.last[k] = max(last, m.seq)
		} else if d.Attempt == 1 {
			tk.duplicates++
		}
		if m.failing && !tk.fixed.Load() {
			return errSimulatedOutage
		}
		if !tk.okDone[d.Envelope.ID] {
			tk.okDone[d.Envelope.ID] = true
			tk.consumed++
			if d.Worker >= 0 && d.Worker < len(tk.byWorker) {
				tk.byWorker[d.Worker]++
			}
		}
		tk.check()
		return nil
	}
}

// check closes phase1 once every event was handled or dead-lettered;
// called with mu held.
func (tk *demoTracker) check() {
	if tk.consumed >= tk.wantOK && int(tk.dead()) >= tk.wantFail {
		tk.phase1Once.Do(func() { close(tk.phase1) })
	}
}

func (tk *demoTracker) progress() (int, int) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.consumed, len(tk.redriven)
}

func newRunID() (string, uint64) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]), binary.LittleEndian.Uint64(b[:])
}

func runDemo(ctx context.Context, cmd *cobra.Command, cfg config.Config, o demoOptions) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	say := func(format string, args ...any) {
		if !o.json {
			fmt.Fprintf(out, format+"\n", args...)
		}
	}
	run, seed := newRunID()
	if o.seed != 0 {
		seed = o.seed
	}
	group := "demo-" + run[:8]
	c := &cfg.Events.Iggy.Consumer
	c.MaxAttempts, c.InitialBackoff, c.MaxBackoff = demoMaxAttempts, demoInitialBackoff, demoMaxBackoff
	hooks := &demoHooks{group: group}
	began := time.Now()
	httpAddr := ""
	if o.keepRunning && cfg.Events.Iggy.Mode == config.ModeEmbedded {
		httpAddr = compose.HTTPAddr(cfg)
	}
	app, err := openApp(ctx, cfg, cliLogger(cmd, slog.LevelError), compose.WithHooks(hooks), compose.WithPortFallback(), compose.WithHTTPAddr(httpAddr),
		compose.WithoutOutboxRelay()) // the outbox part runs relays of its own
	if err != nil {
		return err
	}
	defer closeApp(app)
	tr := app.Transport()
	stream := cfg.Events.Iggy.Topology.StreamName
	s := demoSummary{RunID: run[:8], Mode: string(cfg.Events.Iggy.Mode), Broker: app.Describe(), TCPAddr: app.TCPAddr(),
		Stream: stream, Group: group, Events: o.events, Tenants: o.tenants, Notices: app.Notices()}
	say("rustok-iggy demo, run %s: %s", s.RunID, s.Broker)
	for _, n := range s.Notices {
		say("note: %s", n)
	}
	say("stream %q with topics domain, system and dlq is ready; consumer group %q", stream, group)
	app.Health().Check(ctx) // the baseline of the DLQ growth check

	tenants := demoTenants(o.tenants)
	batch := generateDemoEvents(o.events, tenants, run[:16], seed)
	domain, err := app.Broker().Topic(ctx, stream, transport.TopicDomain)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	startOffsets := map[uint32]uint64{}
	for _, p := range domain.Partitions {
		if p.MessagesCount > 0 {
			startOffsets[p.ID] = p.CurrentOffset + 1
		}
	}

	tk := &demoTracker{batch: &batch, tenants: tenants, badTenant: map[int]bool{}, seen: map[uuid.UUID]bool{}, okDone: map[uuid.UUID]bool{}, redriven: map[uuid.UUID]bool{},
		last: map[orderKey]int{}, byWorker: make([]int, demoWorkers), wantOK: len(batch.events) - batch.failing, wantFail: batch.failing,
		dead: hooks.dead.Load, phase1: make(chan struct{}), phase2: make(chan struct{})}
	hooks.onDead = func() { tk.mu.Lock(); tk.check(); tk.mu.Unlock() }
	var subs []*transport.Subscription
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		for _, sub := range subs {
			_ = sub.Stop(sctx)
		}
	}()
	sub, err := tr.Subscribe(ctx, group, tk.handler(), transport.SubscribeOptions{
		Concurrency: demoWorkers, IncludeSystem: true, StartFrom: transport.StartLatest,
	})
	if err != nil {
		return fmt.Errorf("demo: subscribe: %w", err)
	}
	subs = append(subs, sub)

	// Publish.
	bar := newProgressBar(errOut)
	pubStart := time.Now()
	for i := 0; i < len(batch.events); i += demoBatchSize {
		end := min(i+demoBatchSize, len(batch.events))
		if err := tr.PublishBatch(ctx, batch.events[i:end]); err != nil {
			bar.done()
			return fmt.Errorf("demo: publish: %w", err)
		}
		s.Published = end
		bar.show("publishing", end, len(batch.events))
	}
	pubDur := time.Since(pubStart)
	bar.done()
	s.PublishRate = float64(s.Published) / pubDur.Seconds()
	say("published %d events for %d tenants in %s (%d to the system topic, %d of type %s)",
		s.Published, o.tenants, pubDur.Round(time.Millisecond), batch.system, batch.failing, demoFailingType)

	// Consume.
	if err := waitFor(ctx, tk.phase1, o.timeout, func() { n, _ := tk.progress(); bar.show("consuming", n+int(hooks.dead.Load()), len(batch.events)) }); err != nil {
		bar.done()
		n, _ := tk.progress()
		say("consumption stalled: %d of %d handled, %d dead-lettered", n, tk.wantOK, hooks.dead.Load())
		s.Checks = append(s.Checks, demoCheck{"consumed", false, err.Error()})
		return finishDemo(out, &s, o, began)
	}
	bar.done()
	e2e := time.Since(pubStart)
	s.EndToEndRate = float64(len(batch.events)) / e2e.Seconds()
	tk.mu.Lock()
	s.Consumed, s.ConsumedByWorker, s.Duplicates = tk.consumed, slices.Clone(tk.byWorker), tk.duplicates
	violations := append([]string(nil), tk.violations...)
	active := 0
	for i := range tenants {
		complete, has := true, false
		for _, topic := range []string{transport.TopicDomain, transport.TopicSystem} {
			k := orderKey{i, topic}
			if n := batch.perKey[k]; n > 0 {
				has = true
				if last, ok := tk.last[k]; !ok || last != n-1 {
					complete = false
				}
			}
		}
		if has {
			active++
			if complete && !tk.badTenant[i] {
				s.OrderedTenants++
			}
		}
	}
	tk.mu.Unlock()
	s.Retried = hooks.retried.Load()
	say("consumed %d events with %d workers (%s) in %s", s.Consumed, demoWorkers, splitString(s.ConsumedByWorker), e2e.Round(time.Millisecond))

	s.OrderViolations = len(violations)

	// The DLQ.
	entries, err := tr.DLQ().List(ctx, transport.DLQFilter{Groups: []string{group}})
	if err != nil {
		return fmt.Errorf("demo: dlq list: %w", err)
	}
	s.DeadLettered = len(entries)
	badEntries := 0
	for _, e := range entries {
		if e.EventType != demoFailingType || e.Attempts != demoMaxAttempts || e.Error != errSimulatedOutage.Error() {
			badEntries++
		}
	}
	say("dead letter queue: %d entries of group %s (%s, %d attempts each)", s.DeadLettered, group, demoFailingType, demoMaxAttempts)

	// Replay one tenant.
	rt := 0
	for i := range tenants { // the tenant with the most domain events
		if batch.perKey[orderKey{i, transport.TopicDomain}] > batch.perKey[orderKey{rt, transport.TopicDomain}] {
			rt = i
		}
	}
	s.ReplayTenant = tenants[rt].Name
	wantReplay := batch.perKey[orderKey{rt, transport.TopicDomain}]
	part := transport.TenantPartition(tenants[rt].ID, domain.PartitionsCount)
	replayOrdered := true
	lastSeq := -1
	res, err := tr.Replay(ctx, transport.ReplayRequest{
		Topic: transport.TopicDomain, Tenants: []uuid.UUID{tenants[rt].ID}, From: transport.AtOffset(startOffsets[part]),
	}, func(_ context.Context, d transport.Delivery) error {
		m, ours := batch.meta[d.Envelope.ID]
		if !ours || d.Envelope.RetryCount > 0 {
			return nil
		}
		if m.seq != lastSeq+1 {
			replayOrdered = false
		}
		lastSeq = m.seq
		s.Replayed++
		return nil
	})
	if err != nil {
		return fmt.Errorf("demo: replay: %w", err)
	}
	say("replayed tenant %s: %d events (%d scanned) without moving any consumer group", s.ReplayTenant, s.Replayed, res.Scanned)

	// Fix the handler and redrive.
	tk.fixed.Store(true)
	tk.wantRedrv.Store(int64(len(entries)))
	rr, err := tr.DLQ().Redrive(ctx, transport.DLQFilter{Groups: []string{group}})
	if err != nil {
		return fmt.Errorf("demo: dlq redrive: %w", err)
	}
	s.Redriven = len(rr.Redriven)
	var redriveErr error
	if s.Redriven > 0 {
		redriveErr = waitFor(ctx, tk.phase2, o.timeout, func() { _, n := tk.progress(); bar.show("redriving", n, s.Redriven) })
		bar.done()
	}
	_, s.RedrivenHandled = tk.progress()
	again, err := tr.DLQ().Redrive(ctx, transport.DLQFilter{Groups: []string{group}})
	if err != nil {
		return fmt.Errorf("demo: dlq redrive again: %w", err)
	}
	say("fixed the handler and redrove %d DLQ entries; %d handled; a second redrive found %d to do", s.Redriven, s.RedrivenHandled, len(again.Redriven))

	// Health.
	rep := app.Health().Check(ctx)
	s.Health = rep.Status.String()
	healthDetail := rep.Status.String()
	for _, c := range rep.Checks {
		if c.Status != transport.Healthy {
			healthDetail += "; " + c.Name + ": " + c.Detail
		}
	}
	if rep.Status == transport.Degraded && s.DeadLettered > 0 {
		healthDetail += " (expected: the demo dead-lettered events on purpose)"
	}

	s.Checks = []demoCheck{
		{"published", s.Published == o.events, fmt.Sprintf("%d events across %d tenants (%d domain, %d system)", s.Published, active, s.Published-batch.system, batch.system)},
		{"consumed", s.Consumed == tk.wantOK, fmt.Sprintf("%d of %d by %d workers (%s), %d redelivered", s.Consumed, tk.wantOK, demoWorkers, splitString(s.ConsumedByWorker), s.Duplicates)},
		{"per-tenant order", len(violations) == 0 && s.OrderedTenants == active, fmt.Sprintf("%d/%d tenants verified in publish order, %d violations", s.OrderedTenants, active, len(violations))},
		{"retried", s.Retried == uint64(batch.failing*(demoMaxAttempts-1)), fmt.Sprintf("%d retries (%d failing events x %d)", s.Retried, batch.failing, demoMaxAttempts-1)},
		{"dead-lettered", batch.failing > 0 && s.DeadLettered == batch.failing && badEntries == 0, fmt.Sprintf("%d of %d %s events, after %d attempts", s.DeadLettered, batch.failing, demoFailingType, demoMaxAttempts)},
		{"redriven", redriveErr == nil && s.Redriven == batch.failing && s.RedrivenHandled == s.Redriven && len(rr.Failed) == 0 && len(again.Redriven) == 0,
			fmt.Sprintf("%d redriven, %d handled after the fix, %d on a second redrive", s.Redriven, s.RedrivenHandled, len(again.Redriven))},
		{"replayed", s.Replayed == wantReplay && replayOrdered, fmt.Sprintf("tenant %s: %d of %d domain events, in order", s.ReplayTenant, s.Replayed, wantReplay)},
		{"health", rep.Status != transport.Unhealthy, healthDetail},
		{"throughput", s.PublishRate > 0 && s.EndToEndRate > 0, fmt.Sprintf("publish %.0f events/s, end to end %.0f events/s", s.PublishRate, s.EndToEndRate)},
	}
	if len(violations) > 0 {
		s.Checks[2].Detail += ": " + violations[0]
	}
	obChecks, err := demoOutbox(ctx, run, o.timeout, say)
	if err != nil {
		obChecks = []demoCheck{{"outbox", false, err.Error()}}
	}
	s.Checks = append(s.Checks, obChecks...)
	if o.cleanup {
		for _, sub := range subs {
			_ = sub.Stop(ctx)
		}
		s.Checks = append(s.Checks, demoCleanup(ctx, app.Broker(), stream, group))
	}
	err = finishDemo(out, &s, o, began)
	if err == nil && !o.json {
		live := ""
		if o.keepRunning {
			live = app.TCPAddr()
		}
		printDemoConnect(out, cfg, live)
	}
	if o.keepRunning && app.TCPAddr() != "" {
		for _, sub := range subs {
			_ = sub.Stop(ctx)
		}
		fmt.Fprintf(errOut, "serving the Iggy TCP protocol on %s", app.TCPAddr())
		if h := app.HTTPAddr(); h != "" {
			fmt.Fprintf(errOut, " and /health, /metrics on http://%s", h)
		}
		fmt.Fprintln(errOut, "; press Ctrl-C to stop")
		<-ctx.Done()
	}
	return err
}

// splitString formats a per-worker split as "a + b + c".
func splitString(n []int) string {
	parts := make([]string, len(n))
	for i, v := range n {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, " + ")
}

// demoCleanup deletes the run's consumer group from the topics it
// subscribed (core.Deleter); a group already gone counts as deleted.
func demoCleanup(ctx context.Context, b core.Broker, stream, group string) demoCheck {
	d, ok := b.(core.Deleter)
	if !ok {
		return demoCheck{"cleanup", false, "the broker cannot delete (no core.Deleter)"}
	}
	for _, topic := range []string{transport.TopicDomain, transport.TopicSystem} {
		if err := d.DeleteGroup(ctx, stream, topic, group); err != nil && !errors.Is(err, core.ErrNotFound) {
			return demoCheck{"cleanup", false, err.Error()}
		}
	}
	return demoCheck{"cleanup", true, fmt.Sprintf("consumer group %s deleted from the domain and system topics", group)}
}

// waitFor waits until done is closed, calling tick every 100ms; it fails
// after timeout or when ctx ends.
func waitFor(ctx context.Context, done <-chan struct{}, timeout time.Duration, tick func()) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case <-done:
			tick()
			return nil
		case <-t.C:
			tick()
		case <-deadline.C:
			return fmt.Errorf("not done within %s (--timeout)", timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// finishDemo prints the summary and returns an error when a check failed.
func finishDemo(out io.Writer, s *demoSummary, o demoOptions, began time.Time) error {
	s.DurationSeconds = time.Since(began).Seconds()
	s.Pass = len(s.Checks) > 0
	failed := 0
	for _, c := range s.Checks {
		if !c.Pass {
			s.Pass = false
			failed++
		}
	}
	if o.json {
		if err := writeJSON(out, s); err != nil {
			return err
		}
	} else {
		printDemoTable(out, s)
	}
	if !s.Pass {
		return fmt.Errorf("demo: %d of %d checks failed", failed, len(s.Checks))
	}
	return nil
}

func printDemoTable(out io.Writer, s *demoSummary) {
	fmt.Fprintf(out, "\nSummary of run %s (%.1fs)\n\n", s.RunID, s.DurationSeconds)
	for _, c := range s.Checks {
		mark, verdict := "✔", "PASS"
		if !c.Pass {
			mark, verdict = "✘", "FAIL"
		}
		fmt.Fprintf(out, "  %s %-18s %-5s %s\n", mark, c.Name, verdict, c.Detail)
	}
	if s.Pass {
		fmt.Fprintf(out, "\nAll %d checks passed.\n", len(s.Checks))
	}
}

// printDemoConnect tells how to reach the broker with the Iggy CLI or an
// SDK; live is the embedded listener's address when it keeps running.
func printDemoConnect(out io.Writer, cfg config.Config, live string) {
	ig := cfg.Events.Iggy
	stream := ig.Topology.StreamName
	if ig.Mode == config.ModeRemote {
		addr := ig.Remote.Addresses[0]
		fmt.Fprintf(out, `
The events are on the Iggy server at %s (stream %q, topics domain, system, dlq).
Look at them with the Iggy CLI:
  iggy --tcp-server-address %s -u %s -p <password> topic list %s
`, addr, stream, addr, ig.Remote.Username, stream)
		return
	}
	if live != "" {
		fmt.Fprintf(out, `
The embedded broker keeps serving the Iggy TCP protocol on %s (stream %q,
topics domain, system, dlq). Connect as user iggy, password iggy:
  iggy --tcp-server-address %s -u iggy -p iggy topic list %s
  Go SDK: client.NewIggyClient(client.WithTcp(tcp.WithServerAddress("%s"))), then LoginUser("iggy", "iggy")
`, live, stream, live, stream, live)
		return
	}
	port := ig.Embedded.TCPPort
	if port == 0 {
		port = 8090
	}
	addr := net.JoinHostPort(ig.Embedded.BindAddress, strconv.Itoa(port))
	fmt.Fprintf(out, `
The events are stored in %s (stream %q, topics domain, system, dlq).
To reach them with the Iggy CLI or an Iggy SDK, serve that directory over the
Iggy TCP protocol (or run the demo with --keep-running):
  rustok-iggy serve --data-dir %s --tcp-addr %s
then connect as user iggy, password iggy (IGGY_ROOT_USERNAME/IGGY_ROOT_PASSWORD
on the first start change them):
  iggy --tcp-server-address %s -u iggy -p iggy topic list %s
  Go SDK: client.NewIggyClient(client.WithTcp(tcp.WithServerAddress("%s"))), then LoginUser("iggy", "iggy")
or run this demo against it in remote mode (events.iggy.mode: remote,
remote.addresses: ["%s"], remote.username: iggy, remote.password: iggy).
`, ig.Embedded.DataDir, stream, ig.Embedded.DataDir, addr, addr, stream, addr, addr)
}

// progressBar draws a one-line progress bar on a terminal; elsewhere it
// draws nothing.
type progressBar struct {
	w     io.Writer
	on    bool
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	on := false
	if ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progressBar{w: w, on: on}
}

func (p *progressBar) show(label string, n, total int) {
	if !p.on || total <= 0 {
		return
	}
	const width = 30
	n = min(n, total)
	filled := width * n / total
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < filled {
			bar[i] = '#'
		}
	}
	fmt.Fprintf(p.w, "\r%-11s [%s] %3d%% %d/%d ", label, bar, 100*n/total, n, total)
	p.drawn = true
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

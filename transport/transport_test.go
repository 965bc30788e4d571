package transport_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/core/coretest"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fakeHarness() transporttest.Harness {
	return transporttest.Harness{
		Broker: func(testing.TB) core.Broker { return newFakeBroker() },
		Down:   func(_ testing.TB, b core.Broker) { b.(*fakeBroker).SetDown(true) },
		Up:     func(_ testing.TB, b core.Broker) { b.(*fakeBroker).SetDown(false) },
	}
}

func TestScenarios(t *testing.T) { transporttest.Run(t, fakeHarness()) }

// TestScenariosCooperative runs the group scenarios against the fake with
// Iggy 0.8.0's cooperative joins, where a hand-over must deliver nothing
// twice.
func TestScenariosCooperative(t *testing.T) {
	h := fakeHarness()
	h.Broker = func(testing.TB) core.Broker { return coretest.New(coretest.Options{}) }
	h.CooperativeGroups = true
	t.Run("GroupConsume", func(t *testing.T) { transporttest.GroupConsume(t, h) })
	t.Run("GroupRebalance", func(t *testing.T) { transporttest.GroupRebalance(t, h) })
	t.Run("GroupHandOver", func(t *testing.T) { transporttest.GroupHandOver(t, h) })
}

func TestXXH32(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{
		{"", 0x02CC5D05},
		{"abc", 0x32D153FF},
		{"Nobody inspects the spammish repetition", 0xE2293B2F},
	} {
		if got := transport.XXH32([]byte(c.in)); got != c.want {
			t.Errorf("XXH32(%q) = %#08x, want %#08x", c.in, got, c.want)
		}
	}
	u := uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f")
	if got, want := transport.TenantPartition(u, 8), transport.XXH32([]byte(u.String()))%8; got != want {
		t.Errorf("TenantPartition = %d, want %d", got, want)
	}
	if transport.PartitionFor([]byte("x"), 0) != 0 {
		t.Error("PartitionFor with 0 partitions")
	}
}

func TestConfig(t *testing.T) {
	d := transport.Config{}.WithDefaults()
	if d.Topology.StreamName != "rustok" || d.Topology.DomainPartitions != 8 || d.Topology.DLQPartitions != 8 ||
		d.Retention.Domain.MaxAge != 30*24*time.Hour || d.Retention.Domain.MaxSize != 10_000_000_000 ||
		d.Retention.DLQ.MaxAge != 365*24*time.Hour || d.Publisher.Mode != "sync" || d.Publisher.Linger != time.Millisecond ||
		d.Publisher.MaxBatch != 1000 || d.Publisher.BufferSize != 10000 || d.Consumer.MaxAttempts != 5 ||
		d.Consumer.InitialBackoff != 100*time.Millisecond || d.Consumer.MaxBackoff != 10*time.Second ||
		d.Consumer.StartFrom != "earliest" || d.Consumer.PollBatch != 100 {
		t.Fatalf("defaults: %+v", d)
	}
	if err := (transport.Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	var c transport.Config
	c.Topology.DomainPartitions = 5000
	c.Publisher.Mode = "fast"
	c.Publisher.MaxBatch = 100
	c.Publisher.BufferSize = 10
	c.Consumer.MaxAttempts = -1
	c.Consumer.StartFrom = "middle"
	c.Consumer.InitialBackoff = time.Minute
	c.Health.LagDegraded = 10
	c.Health.LagUnhealthy = 5
	err := c.Validate()
	if !errors.Is(err, transport.ErrConfig) || !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("Validate = %v", err)
	}
	for _, key := range []string{"topology.domain_partitions", "publisher.mode", "publisher.buffer_size", "consumer.max_attempts",
		"consumer.start_from", "consumer.max_backoff", "health.lag_unhealthy"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
	if _, err := transport.New(c, newFakeBroker(), transporttest.JSONCodec{}, nil); err == nil {
		t.Error("New accepted a bad config")
	}
}

func newStarted(t *testing.T, b *fakeBroker, mutate func(*transport.Config)) *transport.Transport {
	t.Helper()
	var cfg transport.Config
	if mutate != nil {
		mutate(&cfg)
	}
	tr, err := transport.New(cfg, b, transporttest.JSONCodec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestPublishBeforeStart(t *testing.T) {
	tr, err := transport.New(transport.Config{}, newFakeBroker(), transporttest.JSONCodec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(context.Background(), transporttest.Event(uuid.New(), "a.b", 0)); !errors.Is(err, transport.ErrNotStarted) {
		t.Fatalf("Publish before Start = %v", err)
	}
}

// PublishBatch sends one message batch per (topic, partition).
func TestPublishBatchGrouping(t *testing.T) {
	b := newFakeBroker()
	var sends atomic.Int64
	b.SetHooks(coretest.Hooks{Send: func(context.Context, coretest.SendCall) error { sends.Add(1); return nil }})
	tr := newStarted(t, b, nil)
	defer tr.Shutdown(context.Background())
	tenants := transporttest.Tenants(40)
	var events []core.Envelope
	parts := map[uint32]bool{}
	for s := range 5 {
		for _, tn := range tenants {
			events = append(events, transporttest.Event(tn, "node.updated", s))
			parts[transport.TenantPartition(tn, 8)] = true
		}
	}
	events = append(events, transporttest.Event(tenants[0], "system.tick", 0))
	before := sends.Load()
	if err := tr.PublishBatch(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	if got, want := sends.Load()-before, int64(len(parts)+1); got != want {
		t.Fatalf("%d sends for %d domain partitions and one system partition", got, want)
	}
}

// A failing send fails only its group, and the error names those events.
func TestPublishBatchPartialFailure(t *testing.T) {
	b := newFakeBroker()
	tr := newStarted(t, b, nil)
	defer tr.Shutdown(context.Background())
	tenants := transporttest.Tenants(20)
	bad := transport.TenantPartition(tenants[0], 8)
	b.SetHooks(coretest.Hooks{Send: func(_ context.Context, c coretest.SendCall) error {
		if c.Partition == bad {
			return core.ErrUnavailable
		}
		return nil
	}})
	var events []core.Envelope
	want := map[uuid.UUID]bool{}
	for _, tn := range tenants {
		ev := transporttest.Event(tn, "node.updated", 0)
		events = append(events, ev)
		if transport.TenantPartition(tn, 8) == bad {
			want[ev.ID] = true
		}
	}
	err := tr.PublishBatch(context.Background(), events)
	var be *transport.BatchError
	if !errors.As(err, &be) || !errors.Is(err, core.ErrUnavailable) || len(be.IDs()) != len(want) {
		t.Fatalf("PublishBatch = %v", err)
	}
	for _, id := range be.IDs() {
		if !want[id] {
			t.Errorf("%s reported failed", id)
		}
	}
}

// A full async buffer blocks Publish until ctx ends; a failed flush is
// reported by Acknowledge.
func TestAsyncBackpressure(t *testing.T) {
	b := newFakeBroker()
	release := make(chan struct{})
	var fail atomic.Bool
	b.SetHooks(coretest.Hooks{Send: func(ctx context.Context, _ coretest.SendCall) error {
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		if fail.Load() {
			return core.ErrUnavailable
		}
		return nil
	}})
	tr := newStarted(t, b, func(c *transport.Config) {
		c.Publisher.Mode = transport.ModeAsync
		c.Publisher.MaxBatch = 4
		c.Publisher.BufferSize = 8
	})
	tenant := uuid.New()
	ctx := context.Background()
	var ids []uuid.UUID
	for i := range 8 {
		ev := transporttest.Event(tenant, "node.updated", i)
		ids = append(ids, ev.ID)
		if err := tr.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := tr.Publish(short, transporttest.Event(tenant, "node.updated", 8)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish into a full buffer = %v, want deadline exceeded", err)
	}
	blocked := make(chan error, 1)
	late := transporttest.Event(tenant, "node.updated", 9)
	go func() { blocked <- tr.Publish(ctx, late) }()
	select {
	case err := <-blocked:
		t.Fatalf("Publish returned %v while the buffer is full", err)
	case <-time.After(10 * time.Millisecond):
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := tr.Acknowledge(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Acknowledge(ctx, late.ID); err != nil {
		t.Fatalf("late event: %v", err)
	}
	fail.Store(true)
	ev := transporttest.Event(tenant, "node.updated", 10)
	if err := tr.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if err := tr.Acknowledge(ctx, ev.ID); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("Acknowledge of a failed event = %v", err)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// Shutdown with a deadline reports events it could not deliver and still
// stops the flusher.
func TestAsyncShutdownDeadline(t *testing.T) {
	b := newFakeBroker()
	b.SetHooks(coretest.Hooks{Send: func(ctx context.Context, _ coretest.SendCall) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	tr := newStarted(t, b, func(c *transport.Config) { c.Publisher.Mode = transport.ModeAsync })
	ev := transporttest.Event(uuid.New(), "node.updated", 0)
	if err := tr.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := tr.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "1 event(s) not stored") {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := tr.Acknowledge(context.Background(), ev.ID); err == nil {
		t.Fatal("Acknowledge of an undelivered event returned nil")
	}
}

// start_from latest skips what was there when the group first subscribed.
func TestStartLatest(t *testing.T) {
	b := newFakeBroker()
	tr := newStarted(t, b, func(c *transport.Config) { c.Consumer.StartFrom = transport.StartLatest })
	defer tr.Shutdown(context.Background())
	tenant := uuid.New()
	ctx := context.Background()
	for i := range 5 {
		if err := tr.Publish(ctx, transporttest.Event(tenant, "node.updated", i)); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan int, 10)
	sub, err := tr.Subscribe(ctx, "late", func(_ context.Context, d transport.Delivery) error {
		got <- transporttest.Seq(d.Envelope)
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(ctx, transporttest.Event(tenant, "node.updated", 5)); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != 5 {
		t.Fatalf("first event handled: seq %d, want 5", s)
	}
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// Stop's deadline cancels a handler that blocks.
func TestStopDeadlineCancelsHandler(t *testing.T) {
	b := newFakeBroker()
	tr := newStarted(t, b, nil)
	defer tr.Shutdown(context.Background())
	ctx := context.Background()
	entered := make(chan struct{})
	sub, err := tr.Subscribe(ctx, "stuck", func(hctx context.Context, d transport.Delivery) error {
		close(entered)
		<-hctx.Done()
		return hctx.Err()
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Publish(ctx, transporttest.Event(uuid.New(), "node.updated", 0)); err != nil {
		t.Fatal(err)
	}
	<-entered
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := sub.Stop(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v", err)
	}
	if st := sub.Stats(); st.DeadLettered != 0 || st.Processed != 0 {
		t.Fatalf("a cancelled handler must not dead-letter: %+v", st)
	}
}

func TestHealthReconnecting(t *testing.T) {
	b := newFakeBroker()
	tr := newStarted(t, b, nil)
	defer tr.Shutdown(context.Background())
	b.SetReconnecting(true)
	r := tr.Health(context.Background())
	if r.Status != transport.Degraded || !strings.Contains(r.String(), "reconnecting") {
		t.Fatalf("%s", r)
	}
}

func FuzzParseDLQEntry(f *testing.F) {
	f.Add("handler", "3", "1", "42", "2026-01-02T03:04:05.123456789Z", "5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f", "domain")
	f.Add("", "-1", "x", "99999999999999999999999", "yesterday", "not-a-uuid", "")
	f.Add("decode", "0", "4294967296", "0", "", "", "dlq")
	f.Fuzz(func(t *testing.T, reason, attempts, part, off, ts, tenant, topic string) {
		m := core.Message{Offset: 7, Headers: core.Headers{
			core.StringHeader(transport.HeaderDLQReason, reason),
			core.StringHeader(transport.HeaderDLQAttempts, attempts),
			core.StringHeader(transport.HeaderDLQSourcePartition, part),
			core.StringHeader(transport.HeaderDLQSourceOffset, off),
			core.StringHeader(transport.HeaderDLQFirstFailure, ts),
			core.StringHeader(transport.HeaderDLQLastFailure, ts),
			core.StringHeader(transport.HeaderTenantID, tenant),
			core.StringHeader(transport.HeaderDLQSourceTopic, topic),
			{Key: transport.HeaderDLQGroup, Kind: core.HeaderUint8, Value: []byte(reason)},
		}}
		e, err := transport.ParseDLQEntry(3, m)
		if e.Partition != 3 || e.Offset != 7 {
			t.Fatalf("location lost: %+v", e)
		}
		if err == nil && (e.SourceTopic != topic || e.Reason != reason) {
			t.Fatalf("fields: %+v", e)
		}
		if err != nil && !errors.Is(err, core.ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
	})
}

func TestSubscribeSystemAndRateLimit(t *testing.T) {
	b := newFakeBroker()
	tr := newStarted(t, b, nil)
	defer tr.Shutdown(context.Background())
	ctx := context.Background()
	tenant := uuid.New()
	for i := range 10 {
		if err := tr.Publish(ctx, transporttest.Event(tenant, "system.tick", i)); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan string, 10)
	sub, err := tr.Subscribe(ctx, "sys", func(_ context.Context, d transport.Delivery) error {
		got <- d.Topic
		return nil
	}, transport.SubscribeOptions{IncludeSystem: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if topic := <-got; topic != transport.TopicSystem {
			t.Fatalf("delivered from %s", topic)
		}
	}
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := tr.Replay(ctx, transport.ReplayRequest{Topic: transport.TopicSystem, RateLimit: 500}, func(context.Context, transport.Delivery) error { return nil })
	if err != nil || res.Delivered != 10 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	// 10 events at 500/s: the 10th is due 18 ms after the start.
	if el := time.Since(start); el < 18*time.Millisecond {
		t.Fatalf("rate-limited replay took %v", el)
	}
}

func TestWithoutDataValidation(t *testing.T) {
	b := newFakeBroker()
	tr, err := transport.New(transport.Config{}, b, fixedCodec{[]byte("x")}, nil, transport.WithoutDataValidation())
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	ev := transporttest.Event(uuid.New(), "a.b", 0)
	ev.Event.Data = []byte("{not json")
	if err := tr.Publish(context.Background(), ev); err != nil {
		t.Fatalf("data check not skipped: %v", err)
	}
	ev.TenantID = uuid.Nil
	if err := tr.Publish(context.Background(), ev); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("other checks skipped: %v", err)
	}
}

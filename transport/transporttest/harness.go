// Package transporttest runs the transport's scenarios against any
// core.Broker: the unit tests run them against core/coretest, the
// integration module against the embedded and remote connectors. It uses
// only the standard library's testing package.
package transporttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// Harness says how to reach a broker.
type Harness struct {
	// Broker returns the broker a test uses. Every test uses its own
	// stream, so one broker may serve them all; the harness never closes
	// it.
	Broker func(t testing.TB) core.Broker
	// Codec encodes events (default JSONCodec). Extra codecs are
	// registered for decoding.
	Codec core.Codec
	// Extra are registered as additional codecs.
	Extra []core.Codec
	// Down and Up, when both set, make the broker unreachable and reachable
	// again; the health scenario skips that part without them.
	Down, Up func(t testing.TB, b core.Broker)
	// Timeout bounds each scenario's waits (default 30s).
	Timeout time.Duration
	// CooperativeGroups says the broker hands a group's partition to a
	// joining member only once the old owner stored the offset it polled
	// (Iggy 0.8.0's cooperative rebalance). GroupHandOver then requires no
	// event to be delivered twice; without it duplicates are only counted.
	CooperativeGroups bool
}

func (h Harness) codec() core.Codec {
	if h.Codec != nil {
		return h.Codec
	}
	return JSONCodec{}
}

func (h Harness) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 30 * time.Second
}

// Run runs every scenario as a subtest.
func Run(t *testing.T, h Harness) {
	for _, s := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Topology", Topology},
		{"PublishMapping", PublishMapping},
		{"PublishBatchOrder", PublishBatchOrder},
		{"Async", Async},
		{"GroupConsume", GroupConsume},
		{"GroupRebalance", GroupRebalance},
		{"GroupHandOver", GroupHandOver},
		{"RetryDLQRedrive", RetryDLQRedrive},
		{"PoisonToDLQ", PoisonToDLQ},
		{"Replay", Replay},
		{"RustGolden", RustGoldenScenario},
		{"Health", Health},
		{"Shutdown", Shutdown},
		{"Tracing", Tracing},
		{"TracingBatch", TracingBatch},
	} {
		t.Run(s.name, func(t *testing.T) { s.fn(t, h) })
	}
}

// JSONCodec is the envelope's JSON form (core.Envelope's MarshalJSON), for
// tests.
type JSONCodec struct{}

// Encode returns e's JSON.
func (JSONCodec) Encode(e core.Envelope) ([]byte, error) { return e.MarshalJSON() }

// Decode parses an envelope.
func (JSONCodec) Decode(b []byte) (core.Envelope, error) {
	var e core.Envelope
	err := e.UnmarshalJSON(b)
	return e, err
}

// ContentType is "application/json".
func (JSONCodec) ContentType() string { return "application/json" }

// StreamName returns a fresh stream name for a test.
func StreamName(t testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t-" + hex.EncodeToString(b[:])
}

// env is a test's transport and broker.
type env struct {
	t  *testing.T
	h  Harness
	b  core.Broker
	tr *transport.Transport
	// hooks counts what the transport reports.
	hooks *Hooks
}

// newEnv starts a transport on a fresh stream; mutate adjusts the config.
func newEnv(t *testing.T, h Harness, mutate func(*transport.Config)) *env {
	t.Helper()
	b := h.Broker(t)
	cfg := transport.Config{}
	cfg.Topology.StreamName = StreamName(t)
	cfg.Topology.DomainPartitions = 8
	cfg.Consumer.InitialBackoff = time.Millisecond
	cfg.Consumer.MaxBackoff = 5 * time.Millisecond
	cfg.Consumer.PollIdleMax = 10 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	return startEnv(t, h, b, cfg)
}

func startEnv(t *testing.T, h Harness, b core.Broker, cfg transport.Config, opts ...transport.Option) *env {
	t.Helper()
	hooks := NewHooks()
	opts = append([]transport.Option{transport.WithHooks(hooks), transport.WithCodecs(h.Extra...)}, opts...)
	tr, err := transport.New(cfg, b, h.codec(), nil, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout())
	defer cancel()
	if err := tr.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.timeout())
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &env{t: t, h: h, b: b, tr: tr, hooks: hooks}
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), e.h.timeout())
	e.t.Cleanup(cancel)
	return ctx
}

func (e *env) stream() string { return e.tr.Config().Topology.StreamName }

// Event returns a valid envelope of tenant with data {"seq": seq}.
func Event(tenant uuid.UUID, eventType string, seq int) core.Envelope {
	e := core.NewEnvelope(tenant, eventType, core.Event{Type: "Test", Data: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq))})
	return e
}

// Seq returns the seq of an Event's data, or -1.
func Seq(e core.Envelope) int {
	var d struct {
		Seq *int `json:"seq"`
	}
	if json.Unmarshal(e.Event.Data, &d) != nil || d.Seq == nil {
		return -1
	}
	return *d.Seq
}

// Tenants returns n random tenant ids.
func Tenants(n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = uuid.New()
	}
	return out
}

// readAll reads every message of a topic partition with a single consumer.
func (e *env) readAll(topic string, p uint32) []core.Message {
	e.t.Helper()
	var out []core.Message
	req := core.PollRequest{Stream: e.stream(), Topic: topic, Partition: p,
		Consumer: core.Consumer{Kind: core.SingleConsumer, Name: "transporttest"}, Strategy: core.First(), Count: 1000}
	for {
		polled, err := e.b.Poll(e.ctx(), req)
		if err != nil {
			e.t.Fatalf("poll %s/%d: %v", topic, p, err)
		}
		if len(polled.Messages) == 0 {
			return out
		}
		out = append(out, polled.Messages...)
		req.Strategy = core.FromOffset(polled.Messages[len(polled.Messages)-1].Offset + 1)
	}
}

func (e *env) readTopic(topic string) map[uint32][]core.Message {
	e.t.Helper()
	info, err := e.b.Topic(e.ctx(), e.stream(), topic)
	if err != nil {
		e.t.Fatalf("topic %s: %v", topic, err)
	}
	out := map[uint32][]core.Message{}
	for _, p := range info.Partitions {
		out[p.ID] = e.readAll(topic, p.ID)
	}
	return out
}

// Hooks is a transport.Hooks that counts and signals, for tests.
type Hooks struct {
	mu                                   sync.Mutex
	published, handled, retried, replays int
	dead                                 int
	// DeadLettered receives a value per dead-lettered event (buffered,
	// dropped when full).
	DeadLetteredCh chan string
}

// NewHooks returns empty Hooks.
func NewHooks() *Hooks { return &Hooks{DeadLetteredCh: make(chan string, 1024)} }

// Published counts events published.
func (h *Hooks) Published(_ string, n int, _ time.Duration, err error) {
	if err == nil {
		h.mu.Lock()
		h.published += n
		h.mu.Unlock()
	}
}

// Handled counts handler calls.
func (h *Hooks) Handled(string, string, uint32, time.Duration, error) {
	h.mu.Lock()
	h.handled++
	h.mu.Unlock()
}

// Retried counts retries.
func (h *Hooks) Retried(string, string, uint32, int) {
	h.mu.Lock()
	h.retried++
	h.mu.Unlock()
}

// DeadLettered counts and signals.
func (h *Hooks) DeadLettered(_, _ string, _ uint32, reason string) {
	h.mu.Lock()
	h.dead++
	h.mu.Unlock()
	select {
	case h.DeadLetteredCh <- reason:
	default:
	}
}

// Replayed counts replayed events.
func (h *Hooks) Replayed(_ string, n int) {
	h.mu.Lock()
	h.replays += n
	h.mu.Unlock()
}

// Lag does nothing.
func (h *Hooks) Lag(string, string, uint32, uint64) {}

// Counts returns published, handled, retried, dead-lettered, replayed.
func (h *Hooks) Counts() (published, handled, retried, dead, replayed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.published, h.handled, h.retried, h.dead, h.replays
}

// wait waits for ch to deliver or the scenario's timeout.
func wait[T any](t *testing.T, h Harness, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(h.timeout()):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

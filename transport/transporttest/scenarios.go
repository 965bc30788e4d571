package transporttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// Topology: concurrent starts on one stream, partitions added when the
// config grows, conflicting retention reported and left alone.
func Topology(t *testing.T, h Harness) {
	b := h.Broker(t)
	stream := StreamName(t)
	cfg := transport.Config{}
	cfg.Topology.StreamName = stream
	cfg.Topology.DomainPartitions = 4
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := transport.New(cfg, b, h.codec(), nil)
			if err != nil {
				errs[i] = err
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), h.timeout())
			defer cancel()
			errs[i] = tr.Start(ctx)
			_ = tr.Shutdown(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Start %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout())
	defer cancel()
	si, err := b.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]core.TopicInfo{}
	for _, tp := range si.Topics {
		got[tp.Name] = tp
	}
	for _, name := range []string{transport.TopicDomain, transport.TopicSystem, transport.TopicDLQ} {
		tp, ok := got[name]
		if !ok || tp.PartitionsCount != 4 {
			t.Fatalf("topic %s: %+v (present %v), want 4 partitions", name, tp, ok)
		}
	}
	if got[transport.TopicDomain].MessageExpiry != transport.DefaultDomainMaxAge || got[transport.TopicDomain].MaxSize != transport.DefaultDomainMaxSize {
		t.Errorf("domain retention: %v / %d", got[transport.TopicDomain].MessageExpiry, got[transport.TopicDomain].MaxSize)
	}
	if got[transport.TopicDLQ].MessageExpiry != transport.DefaultDLQMaxAge {
		t.Errorf("dlq expiry: %v", got[transport.TopicDLQ].MessageExpiry)
	}

	// Grow the domain topic.
	cfg.Topology.DomainPartitions = 6
	cfg.Topology.SystemPartitions = 4
	cfg.Topology.DLQPartitions = 4
	tr, err := transport.New(cfg, b, h.codec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tr.EnsureTopology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.PartitionsAdded[transport.TopicDomain] != 2 || rep.Partitions[transport.TopicDomain] != 6 || len(rep.Created) != 0 {
		t.Fatalf("grow: %+v", rep)
	}
	if len(rep.Conflicts) != 0 {
		t.Fatalf("unexpected conflicts: %v", rep.Conflicts)
	}

	// Conflicting retention is reported, not applied.
	cfg.Retention.Domain.MaxAge = time.Hour
	tr, err = transport.New(cfg, b, h.codec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(ctx)
	if c := tr.TopologyConflicts(); len(c) != 1 {
		t.Fatalf("conflicts = %q, want one", c)
	}
	ti, err := b.Topic(ctx, stream, transport.TopicDomain)
	if err != nil || ti.MessageExpiry != transport.DefaultDomainMaxAge {
		t.Fatalf("domain expiry changed: %v %v", ti.MessageExpiry, err)
	}
	r := tr.Health(ctx)
	if c := findCheck(r, "topology"); c.Status != transport.Degraded {
		t.Fatalf("health topology check = %+v, want degraded\n%s", c, r)
	}
}

func findCheck(r transport.HealthReport, name string) transport.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return transport.Check{Name: name, Detail: "missing"}
}

// PublishMapping: message id, headers, topic and partition of a published
// event.
func PublishMapping(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	tenant := uuid.New()
	ev := Event(tenant, "node.created", 1)
	ev.CausationID = uuid.New()
	ev.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ev.SchemaVersion = 3
	if err := e.tr.Publish(e.ctx(), ev); err != nil {
		t.Fatal(err)
	}
	sys := Event(tenant, "system.cache_cleared", 2)
	if err := e.tr.Publish(e.ctx(), sys); err != nil {
		t.Fatal(err)
	}
	p := transport.TenantPartition(tenant, 8)
	msgs := e.readAll(transport.TopicDomain, p)
	if len(msgs) != 1 {
		t.Fatalf("domain partition %d holds %d messages, want 1", p, len(msgs))
	}
	m := msgs[0]
	if m.ID != core.MessageIDFromUUID(ev.ID) || uuid.UUID(core.UUIDFromMessageID(m.ID)) != ev.ID {
		t.Errorf("message id %x for event %s", m.ID, ev.ID)
	}
	want := map[string]string{
		transport.HeaderTenantID:      tenant.String(),
		transport.HeaderEventType:     "node.created",
		transport.HeaderSchemaVersion: "3",
		transport.HeaderContentType:   h.codec().ContentType(),
		transport.HeaderCorrelationID: ev.CorrelationID.String(),
		transport.HeaderCausationID:   ev.CausationID.String(),
		transport.HeaderTraceID:       ev.TraceID,
	}
	for k, v := range want {
		hd, ok := m.Headers.Get(k)
		if !ok || hd.Kind != core.HeaderString || string(hd.Value) != v {
			t.Errorf("header %s = %+v, want string %q", k, hd, v)
		}
	}
	got, err := h.codec().Decode(m.Payload)
	if err != nil || got.ID != ev.ID || Seq(got) != 1 {
		t.Errorf("payload decodes to %+v, %v", got, err)
	}
	sm := e.readAll(transport.TopicSystem, p)
	if len(sm) != 1 || sm[0].Headers.Value(transport.HeaderEventType) != "system.cache_cleared" {
		t.Fatalf("system topic partition %d: %d messages", p, len(sm))
	}
	// No causation or trace id: headers omitted.
	if _, ok := sm[0].Headers.Get(transport.HeaderCausationID); ok {
		t.Errorf("causation_id header present for a nil causation id")
	}
	// Nothing anywhere else.
	total := 0
	for _, ms := range e.readTopic(transport.TopicDomain) {
		total += len(ms)
	}
	if total != 1 {
		t.Errorf("domain topic holds %d messages, want 1", total)
	}
	// Invalid envelopes are refused before the broker.
	bad := ev
	bad.TenantID = uuid.Nil
	if err := e.tr.Publish(e.ctx(), bad); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Publish(invalid) = %v, want ErrInvalid", err)
	}
	if e.tr.ReliabilityLevel() != core.Streaming {
		t.Errorf("ReliabilityLevel = %v", e.tr.ReliabilityLevel())
	}
	if err := e.tr.Acknowledge(e.ctx(), ev.ID); err != nil {
		t.Errorf("sync Acknowledge = %v", err)
	}
}

// interleaved returns events of tenants, seq 0..n-1 each, interleaved.
func interleaved(tenants []uuid.UUID, n int, eventType string) []core.Envelope {
	out := make([]core.Envelope, 0, len(tenants)*n)
	for s := range n {
		for _, tn := range tenants {
			out = append(out, Event(tn, eventType, s))
		}
	}
	return out
}

// checkStoredOrder checks that every event of tenants sits on its tenant's
// partition with seqs 0..n-1 in order.
func (e *env) checkStoredOrder(tenants []uuid.UUID, n int) {
	e.t.Helper()
	byTenant := map[uuid.UUID][]int{}
	for p, msgs := range e.readTopic(transport.TopicDomain) {
		for _, m := range msgs {
			ev, err := e.h.codec().Decode(m.Payload)
			if err != nil {
				e.t.Fatalf("decode: %v", err)
			}
			if want := transport.TenantPartition(ev.TenantID, 8); want != p {
				e.t.Fatalf("tenant %s on partition %d, want %d", ev.TenantID, p, want)
			}
			byTenant[ev.TenantID] = append(byTenant[ev.TenantID], Seq(ev))
		}
	}
	for _, tn := range tenants {
		seqs := byTenant[tn]
		if len(seqs) != n {
			e.t.Fatalf("tenant %s: %d events stored, want %d", tn, len(seqs), n)
		}
		for i, s := range seqs {
			if s != i {
				e.t.Fatalf("tenant %s: position %d holds seq %d", tn, i, s)
			}
		}
	}
}

// PublishBatchOrder: a batch keeps per-tenant order and names the events
// that failed.
func PublishBatchOrder(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	tenants := Tenants(10)
	events := interleaved(tenants, 50, "node.updated")
	bad := Event(uuid.New(), "node.updated", 0)
	bad.Event.Type = ""
	events = slices.Insert(events, 17, bad)
	err := e.tr.PublishBatch(e.ctx(), events)
	var be *transport.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[0].ID != bad.ID || be.Failed[0].Index != 17 {
		t.Fatalf("PublishBatch = %v, want a BatchError naming %s", err, bad.ID)
	}
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("BatchError does not unwrap to ErrInvalid: %v", err)
	}
	e.checkStoredOrder(tenants, 50)
}

// Async: buffered publishing from several goroutines, Acknowledge and
// Flush; per-tenant order kept.
func Async(t *testing.T, h Harness) {
	e := newEnv(t, h, func(c *transport.Config) {
		c.Publisher.Mode = transport.ModeAsync
		c.Publisher.MaxBatch = 64
		c.Publisher.BufferSize = 256
		c.Publisher.Linger = 2 * time.Millisecond
	})
	tenants := Tenants(8)
	const n = 300
	var wg sync.WaitGroup
	var last []uuid.UUID
	var mu sync.Mutex
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var id uuid.UUID
			for s := range n {
				for _, tn := range tenants[g*2 : g*2+2] {
					ev := Event(tn, "node.updated", s)
					if err := e.tr.Publish(e.ctx(), ev); err != nil {
						t.Errorf("async Publish: %v", err)
						return
					}
					id = ev.ID
				}
			}
			mu.Lock()
			last = append(last, id)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, id := range last {
		if err := e.tr.Acknowledge(e.ctx(), id); err != nil {
			t.Fatalf("Acknowledge: %v", err)
		}
	}
	if err := e.tr.Flush(e.ctx()); err != nil {
		t.Fatal(err)
	}
	e.checkStoredOrder(tenants, n)
	// A lone event is acknowledged without waiting for a full batch.
	ev := Event(tenants[0], "node.updated", n)
	if err := e.tr.Publish(e.ctx(), ev); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Acknowledge(e.ctx(), ev.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Acknowledge(e.ctx(), uuid.New()); err != nil {
		t.Errorf("Acknowledge(unknown) = %v, want nil", err)
	}
}

// Tracker checks per-tenant order of first deliveries: each tenant's
// events (Event seqs 0..n-1) must be first delivered in seq order;
// redeliveries of events already seen are counted as duplicates.
type Tracker struct {
	mu    sync.Mutex
	next  map[uuid.UUID]int
	seen  map[uuid.UUID]bool
	dups  int
	total int
	want  int
	errs  []string
	done  chan struct{}
}

// NewTracker expects want distinct events.
func NewTracker(want int) *Tracker {
	return &Tracker{next: map[uuid.UUID]int{}, seen: map[uuid.UUID]bool{}, want: want, done: make(chan struct{})}
}

// Record notes a delivery.
func (k *Tracker) Record(e core.Envelope) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.seen[e.ID] {
		k.dups++
		return
	}
	k.seen[e.ID] = true
	if s := Seq(e); s != k.next[e.TenantID] {
		k.errs = append(k.errs, fmt.Sprintf("tenant %s: seq %d delivered first, want %d", e.TenantID, s, k.next[e.TenantID]))
	} else {
		k.next[e.TenantID] = s + 1
	}
	k.total++
	if k.total == k.want {
		close(k.done)
	}
}

// Done is closed when every expected event was delivered.
func (k *Tracker) Done() <-chan struct{} { return k.done }

// Result returns distinct deliveries, duplicates and order violations.
func (k *Tracker) Result() (total, dups int, errs []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.total, k.dups, slices.Clone(k.errs)
}

func (e *env) publishAll(events []core.Envelope) {
	e.t.Helper()
	for len(events) > 0 {
		n := min(len(events), 500)
		if err := e.tr.PublishBatch(e.ctx(), events[:n]); err != nil {
			e.t.Fatalf("PublishBatch: %v", err)
		}
		events = events[n:]
	}
}

// GroupConsume: 50 tenants x 200 events through one subscription with 3
// workers: one group member owning every partition, every event once,
// per-tenant order, never two events of one partition at once, and each
// worker within 25% of a fair share.
func GroupConsume(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	tenants := Tenants(50)
	e.publishAll(interleaved(tenants, 200, "node.updated"))
	k := NewTracker(50 * 200)
	const workers = 3
	var perWorker [workers]atomic.Int64
	var inPartition sync.Map // partition -> *atomic.Int32, handler calls running
	var overlaps, badWorker atomic.Int64
	sub, err := e.tr.Subscribe(e.ctx(), "g1", func(ctx context.Context, d transport.Delivery) error {
		c, _ := inPartition.LoadOrStore(d.Partition, new(atomic.Int32))
		running := c.(*atomic.Int32)
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer running.Add(-1)
		if d.Worker < 0 || d.Worker >= workers {
			badWorker.Add(1)
		} else {
			perWorker[d.Worker].Add(1)
		}
		k.Record(d.Envelope)
		return nil
	}, transport.SubscribeOptions{Concurrency: workers})
	if err != nil {
		t.Fatal(err)
	}
	gi, err := e.b.Group(e.ctx(), e.stream(), transport.TopicDomain, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if len(gi.Members) != 1 {
		t.Fatalf("group has %d members, want 1 (one per subscription and topic)", len(gi.Members))
	}
	if got := len(gi.Members[0].Partitions); got != int(transport.DefaultPartitions) {
		t.Errorf("the only member has %d partitions, want all %d", got, transport.DefaultPartitions)
	}
	wait(t, h, k.Done(), "all events handled")
	if err := sub.Stop(e.ctx()); err != nil {
		t.Fatal(err)
	}
	total, dups, errs := k.Result()
	if len(errs) > 0 || dups != 0 || total != 10000 {
		t.Fatalf("handled %d, duplicates %d, order errors %d: %v", total, dups, len(errs), errs[:min(len(errs), 5)])
	}
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d handler calls overlapped another of the same partition", n)
	}
	if n := badWorker.Load(); n > 0 {
		t.Errorf("%d deliveries named a worker outside 0..%d", n, workers-1)
	}
	st := sub.Stats()
	if st.Processed != 10000 || st.Failed != 0 {
		t.Errorf("stats: %+v", st)
	}
	fair := 10000 / workers
	t.Logf("split over %d workers: %d + %d + %d", workers, perWorker[0].Load(), perWorker[1].Load(), perWorker[2].Load())
	if len(st.Workers) != workers {
		t.Errorf("stats list %d workers, want %d", len(st.Workers), workers)
	}
	for i := range workers {
		n := int(perWorker[i].Load())
		if n < fair*3/4 || n > fair*5/4 {
			t.Errorf("worker %d handled %d events, want %d +-25%%", i, n, fair)
		}
		if i < len(st.Workers) && st.Workers[i].Processed != uint64(n) {
			t.Errorf("stats say worker %d processed %d, the handler counted %d", i, st.Workers[i].Processed, n)
		}
	}
	lag, err := e.tr.GroupLag(e.ctx(), transport.TopicDomain, "g1")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lag {
		if l.Lag != 0 {
			t.Errorf("lag after Stop: %+v", l)
		}
	}
}

// GroupRebalance: three subscriptions of one group (as three processes);
// one stops mid-way; nothing is lost and first deliveries keep per-tenant
// order. Duplicates are possible (at least once) and reported.
func GroupRebalance(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	tenants := Tenants(50)
	e.publishAll(interleaved(tenants, 200, "node.updated"))
	k := NewTracker(50 * 200)
	var handled atomic.Int64
	third := make(chan struct{})
	handler := func(ctx context.Context, d transport.Delivery) error {
		k.Record(d.Envelope)
		if handled.Add(1) == 3000 {
			close(third)
		}
		return nil
	}
	var subs []*transport.Subscription
	for range 3 {
		s, err := e.tr.Subscribe(e.ctx(), "g2", handler, transport.SubscribeOptions{Concurrency: 1})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	wait(t, h, third, "a third of the events")
	if err := subs[1].Stop(e.ctx()); err != nil {
		t.Fatal(err)
	}
	gi, err := e.b.Group(e.ctx(), e.stream(), transport.TopicDomain, "g2")
	if err != nil || len(gi.Members) != 2 {
		t.Fatalf("after a stop the group has %+v, %v; want 2 members", gi, err)
	}
	wait(t, h, k.Done(), "all events handled")
	total, dups, errs := k.Result()
	if len(errs) > 0 || total != 10000 {
		t.Fatalf("handled %d, order errors %v", total, errs[:min(len(errs), 5)])
	}
	t.Logf("rebalance: %d distinct events, %d redelivered", total, dups)
}

// GroupHandOver: subscription A (as one process) is mid-way through 10k
// events, its handlers held, when subscription B of the same group joins;
// later A stops. Every event is handled, first deliveries in per-tenant
// order, each subscription's workers share its events, and with
// Harness.CooperativeGroups no event is delivered twice: the joining
// member waits for the partition's batch in A to be stored, and A's Stop
// stores what it handled before it leaves.
func GroupHandOver(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	tenants := Tenants(50)
	e.publishAll(interleaved(tenants, 200, "node.updated"))
	k := NewTracker(50 * 200)
	var handled atomic.Int64
	held, joined := make(chan struct{}), make(chan struct{})
	var heldOnce sync.Once
	sixK := make(chan struct{})
	count := func() int64 {
		n := handled.Add(1)
		if n == 6000 {
			close(sixK)
		}
		return n
	}
	handlerA := func(ctx context.Context, d transport.Delivery) error {
		k.Record(d.Envelope)
		if count() >= 2000 {
			select {
			case <-joined:
			default:
				heldOnce.Do(func() { close(held) })
				select {
				case <-joined:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return nil
	}
	handlerB := func(ctx context.Context, d transport.Delivery) error {
		k.Record(d.Envelope)
		count()
		return nil
	}
	a, err := e.tr.Subscribe(e.ctx(), "g3", handlerA, transport.SubscribeOptions{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, h, held, "2000 events in A")
	b, err := e.tr.Subscribe(e.ctx(), "g3", handlerB, transport.SubscribeOptions{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	close(joined)
	gi, err := e.b.Group(e.ctx(), e.stream(), transport.TopicDomain, "g3")
	if err != nil || len(gi.Members) != 2 {
		t.Fatalf("after B joined the group is %+v, %v; want 2 members", gi, err)
	}
	wait(t, h, sixK, "6000 events")
	if err := a.Stop(e.ctx()); err != nil {
		t.Fatal(err)
	}
	wait(t, h, k.Done(), "all events handled")
	if err := b.Stop(e.ctx()); err != nil {
		t.Fatal(err)
	}
	total, dups, errs := k.Result()
	if len(errs) > 0 || total != 10000 {
		t.Fatalf("handled %d, order errors %v", total, errs[:min(len(errs), 5)])
	}
	for _, s := range []*transport.Subscription{a, b} {
		var shares []uint64
		for _, w := range s.Stats().Workers {
			shares = append(shares, w.Processed)
		}
		t.Logf("hand-over: worker shares %v", shares)
	}
	if h.CooperativeGroups && dups != 0 {
		t.Fatalf("hand-over: %d events delivered twice, want none from a cooperative broker", dups)
	}
	t.Logf("hand-over: %d distinct events, %d redelivered", total, dups)
}

// RetryDLQRedrive: a failing event is retried max_attempts times, goes to
// the DLQ with provenance, the group continues; redrive brings it back
// once.
func RetryDLQRedrive(t *testing.T, h Harness) {
	e := newEnv(t, h, func(c *transport.Config) { c.Consumer.MaxAttempts = 3 })
	tenant := uuid.New()
	events := make([]core.Envelope, 10)
	for i := range events {
		events[i] = Event(tenant, "order.placed", i)
	}
	poison := events[4].ID
	e.publishAll(events)
	var attempts atomic.Int32
	k := NewTracker(9)
	redriven := make(chan core.Envelope, 1)
	sub, err := e.tr.Subscribe(e.ctx(), "g3", func(ctx context.Context, d transport.Delivery) error {
		if d.Envelope.ID == poison {
			if d.Envelope.RetryCount > 0 {
				redriven <- d.Envelope
				return nil
			}
			attempts.Add(1)
			if d.Attempt == 2 {
				panic("boom") // a panic counts as a failure
			}
			return fmt.Errorf("cannot handle seq %d", Seq(d.Envelope))
		}
		k.Record(d.Envelope)
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := wait(t, h, e.hooks.DeadLetteredCh, "dead letter"); r != transport.DLQReasonHandler {
		t.Fatalf("reason %q", r)
	}
	// The rest of the tenant's events still arrive: 9 distinct.
	wait(t, h, k.Done(), "the other events")
	if n := attempts.Load(); n != 3 {
		t.Fatalf("handler called %d times for the failing event, want 3", n)
	}
	st := sub.Stats()
	if st.DeadLettered != 1 || st.Retried != 2 || st.Failed != 3 {
		t.Errorf("stats %+v", st)
	}
	dlq := e.tr.DLQ()
	entries, err := dlq.List(e.ctx(), transport.DLQFilter{Tenants: []uuid.UUID{tenant}})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d dlq entries, want 1", len(entries))
	}
	en := entries[0]
	src := transport.TenantPartition(tenant, 8)
	if en.HeaderErr != nil || en.ID != poison || en.TenantID != tenant || en.EventType != "order.placed" ||
		en.Attempts != 3 || en.SourceTopic != transport.TopicDomain || en.SourcePartition != src ||
		en.SourceOffset != 4 || en.Group != "g3" || en.Reason != transport.DLQReasonHandler ||
		en.Error != "cannot handle seq 4" || en.FirstFailure.IsZero() || en.LastFailure.Before(en.FirstFailure) {
		t.Fatalf("dlq entry %+v", en)
	}
	orig := e.readAll(transport.TopicDomain, src)[4]
	if string(en.Message.Payload) != string(orig.Payload) || en.Message.ID != orig.ID ||
		en.Message.Headers.Value(transport.HeaderCorrelationID) != orig.Headers.Value(transport.HeaderCorrelationID) {
		t.Errorf("dlq entry does not carry the original bytes and headers")
	}
	for _, f := range []transport.DLQFilter{{EventTypes: []string{"x"}}, {Groups: []string{"other"}}, {Tenants: []uuid.UUID{uuid.New()}}, {Since: time.Now().Add(time.Hour)}} {
		if es, err := dlq.List(e.ctx(), f); err != nil || len(es) != 0 {
			t.Errorf("List(%+v) = %d entries, %v; want none", f, len(es), err)
		}
	}
	if got, err := dlq.Get(e.ctx(), en.Partition, en.Offset); err != nil || got.ID != poison {
		t.Errorf("Get = %+v, %v", got.ID, err)
	}
	// Redrive: once.
	res, err := dlq.Redrive(e.ctx(), transport.DLQFilter{Groups: []string{"g3"}})
	if err != nil || len(res.Redriven) != 1 || len(res.Failed) != 0 {
		t.Fatalf("Redrive = %+v, %v", res, err)
	}
	back := wait(t, h, redriven, "redriven event")
	if back.ID != poison || back.RetryCount != 1 {
		t.Fatalf("redriven %s retry_count %d", back.ID, back.RetryCount)
	}
	res, err = dlq.Redrive(e.ctx(), transport.DLQFilter{})
	if err != nil || len(res.Redriven) != 0 {
		t.Fatalf("second Redrive = %+v, %v; want nothing", res, err)
	}
	if n := len(e.readAll(transport.TopicDomain, src)); n != 11 {
		t.Fatalf("source partition holds %d messages, want 11 (10 + one redrive)", n)
	}
	var dlqReplay int
	if _, err := e.tr.Replay(e.ctx(), transport.ReplayRequest{Topic: transport.TopicDLQ}, func(ctx context.Context, d transport.Delivery) error {
		dlqReplay++
		return nil
	}); err != nil || dlqReplay != 1 {
		t.Errorf("dlq replay delivered %d (markers must be skipped), %v", dlqReplay, err)
	}
	c, err := dlq.Counts(e.ctx())
	if err != nil || c.Entries != 1 || c.Redriven != 1 || c.Pending != 0 {
		t.Fatalf("Counts = %+v, %v", c, err)
	}
	if es, _ := dlq.List(e.ctx(), transport.DLQFilter{}); len(es) != 0 {
		t.Errorf("List shows %d pending entries after redrive", len(es))
	}
	if es, _ := dlq.List(e.ctx(), transport.DLQFilter{IncludeRedriven: true}); len(es) != 1 || !es[0].Redriven {
		t.Errorf("List(IncludeRedriven) = %+v", es)
	}
	if err := sub.Stop(e.ctx()); err != nil {
		t.Fatal(err)
	}
}

// PoisonToDLQ: bytes that do not decode go to the DLQ untouched, without
// retries, and the group moves on.
func PoisonToDLQ(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	tenant := uuid.New()
	key := []byte(tenant.String())
	raw := []byte("{definitely not an envelope")
	msg := core.Message{
		ID: core.MessageIDFromUUID(uuid.New()),
		Headers: core.Headers{
			core.StringHeader(transport.HeaderTenantID, tenant.String()),
			core.StringHeader(transport.HeaderContentType, h.codec().ContentType()),
			core.StringHeader(transport.HeaderEventType, "node.created"),
		},
		Payload: raw,
	}
	if err := e.b.Send(e.ctx(), e.stream(), transport.TopicDomain, core.ByKey(key), []core.Message{msg}); err != nil {
		t.Fatal(err)
	}
	good := Event(tenant, "node.created", 1)
	if err := e.tr.Publish(e.ctx(), good); err != nil {
		t.Fatal(err)
	}
	got := make(chan core.Envelope, 2)
	sub, err := e.tr.Subscribe(e.ctx(), "g4", func(ctx context.Context, d transport.Delivery) error {
		got <- d.Envelope
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := wait(t, h, e.hooks.DeadLetteredCh, "poison dead letter"); r != transport.DLQReasonDecode {
		t.Fatalf("reason %q", r)
	}
	if ev := wait(t, h, got, "good event"); ev.ID != good.ID {
		t.Fatalf("handler got %s", ev.ID)
	}
	es, err := e.tr.DLQ().List(e.ctx(), transport.DLQFilter{})
	if err != nil || len(es) != 1 {
		t.Fatalf("List = %d, %v", len(es), err)
	}
	if string(es[0].Message.Payload) != string(raw) || es[0].Reason != transport.DLQReasonDecode || es[0].Attempts != 0 || es[0].Error == "" {
		t.Fatalf("poison entry %+v", es[0])
	}
	res, err := e.tr.DLQ().Redrive(e.ctx(), transport.DLQFilter{})
	if err != nil || len(res.Failed) != 1 || len(res.Redriven) != 0 {
		t.Fatalf("redrive of poison = %+v, %v; want one failure", res, err)
	}
	if st := sub.Stats(); st.DecodeErrors != 1 || st.Retried != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Replay by offset, time, tenant and type; group offsets untouched.
func Replay(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	tenants := Tenants(3)
	first := interleaved(tenants, 10, "node.created")
	e.publishAll(first)
	mid := time.Now()
	// Make sure the second half is stored strictly after mid.
	time.Sleep(2 * time.Millisecond)
	e.publishAll(interleaved(tenants, 10, "node.deleted"))
	k := NewTracker(60)
	sub, err := e.tr.Subscribe(e.ctx(), "g5", func(ctx context.Context, d transport.Delivery) error {
		k.Record(d.Envelope)
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, h, k.Done(), "events handled")
	if err := sub.Stop(e.ctx()); err != nil {
		t.Fatal(err)
	}
	before, err := e.tr.GroupLag(e.ctx(), transport.TopicDomain, "g5")
	if err != nil {
		t.Fatal(err)
	}
	collect := func(req transport.ReplayRequest) []core.Envelope {
		t.Helper()
		var out []core.Envelope
		var progress int
		req.Progress = func(transport.ReplayProgress) { progress++ }
		res, err := e.tr.Replay(e.ctx(), req, func(ctx context.Context, d transport.Delivery) error {
			if d.DecodeErr != nil {
				return d.DecodeErr
			}
			out = append(out, d.Envelope)
			return nil
		})
		if err != nil {
			t.Fatalf("Replay(%+v): %v", req, err)
		}
		if int(res.Delivered) != len(out) || (len(out) > 0 && progress == 0) {
			t.Fatalf("result %+v for %d events, progress %d", res, len(out), progress)
		}
		return out
	}
	if n := len(collect(transport.ReplayRequest{})); n != 60 {
		t.Errorf("full replay: %d events", n)
	}
	tn := collect(transport.ReplayRequest{Tenants: []uuid.UUID{tenants[1]}})
	if len(tn) != 20 {
		t.Errorf("tenant replay: %d events", len(tn))
	}
	for i, ev := range tn {
		if ev.TenantID != tenants[1] || Seq(ev) != i%10 {
			t.Fatalf("tenant replay event %d: %s seq %d", i, ev.TenantID, Seq(ev))
		}
	}
	if n := len(collect(transport.ReplayRequest{EventTypes: []string{"node.deleted"}})); n != 30 {
		t.Errorf("type replay: %d events", n)
	}
	if n := len(collect(transport.ReplayRequest{From: transport.AtTime(mid)})); n != 30 {
		t.Errorf("time replay: %d events", n)
	}
	if n := len(collect(transport.ReplayRequest{To: transport.AtTime(mid)})); n != 30 {
		t.Errorf("replay up to a time: %d events", n)
	}
	// Offsets 5..9 of the tenant's partition: its 6th to 10th events.
	p := transport.TenantPartition(tenants[0], 8)
	off := collect(transport.ReplayRequest{Partitions: []uint32{p}, From: transport.AtOffset(5), To: transport.AtOffset(9), Tenants: []uuid.UUID{tenants[0]}})
	all := e.readAll(transport.TopicDomain, p)
	var want int
	for _, m := range all[5:10] {
		if m.Headers.Value(transport.HeaderTenantID) == tenants[0].String() {
			want++
		}
	}
	if len(off) != want {
		t.Errorf("offset replay: %d events, want %d", len(off), want)
	}
	// The handler's error stops the replay.
	stop := errors.New("stop")
	if _, err := e.tr.Replay(e.ctx(), transport.ReplayRequest{}, func(context.Context, transport.Delivery) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Replay with failing handler = %v", err)
	}
	after, err := e.tr.GroupLag(e.ctx(), transport.TopicDomain, "g5")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(before, after) {
		t.Fatalf("group offsets moved: %+v -> %+v", before, after)
	}
}

// RustGolden is an envelope exactly as the Rust service serialises it
// (core/testdata/envelope_full.json).
const RustGolden = `{"id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f","event_type":"node.created","schema_version":2,"correlation_id":"0190f1a2-7b3c-7d4e-8f50-000000000001","causation_id":"0190f1a2-7b3c-7d4e-8f50-000000000002","tenant_id":"5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","timestamp":"2025-03-14T09:26:53.589793238Z","actor_id":"7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e5f","event":{"type":"NodeCreated","data":{"node_id":"0190f1a2-7b3c-7d4e-8f50-0000000000aa","kind":"page"}},"retry_count":0}`

// RustGolden: a message produced as the Rust service would (JSON payload,
// its headers, messages-key partitioning by tenant) is consumed, and lands
// on the partition the Go side computes.
func RustGoldenScenario(t *testing.T, h Harness) { rustGolden(t, h) }

func rustGolden(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	tenant := uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f")
	id := uuid.MustParse("0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f")
	msg := core.Message{
		ID: core.MessageIDFromUUID(id),
		Headers: core.Headers{
			core.StringHeader(transport.HeaderTenantID, tenant.String()),
			core.StringHeader(transport.HeaderEventType, "node.created"),
			core.StringHeader(transport.HeaderContentType, "application/json"),
		},
		Payload: []byte(RustGolden),
	}
	if err := e.b.Send(e.ctx(), e.stream(), transport.TopicDomain, core.ByKey([]byte(tenant.String())), []core.Message{msg}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.readAll(transport.TopicDomain, transport.TenantPartition(tenant, 8))); n != 1 {
		t.Fatalf("the broker's messages-key partition differs from TenantPartition")
	}
	got := make(chan transport.Delivery, 1)
	sub, err := e.tr.Subscribe(e.ctx(), "rust", func(ctx context.Context, d transport.Delivery) error {
		got <- d
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(e.ctx())
	d := wait(t, h, got, "rust event")
	ev := d.Envelope
	if ev.ID != id || ev.TenantID != tenant || ev.SchemaVersion != 2 || ev.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" ||
		ev.Timestamp.Nanosecond() != 589793238 || ev.Event.Type != "NodeCreated" {
		t.Fatalf("decoded %+v", ev)
	}
}

// Health: healthy, degraded on lag and on DLQ growth, and, with Down/Up,
// unhealthy while the broker is down and healthy again after.
func Health(t *testing.T, h Harness) {
	e := newEnv(t, h, func(c *transport.Config) {
		c.Health.LagDegraded = 5
		c.Consumer.MaxAttempts = 1
	})
	r := e.tr.Health(e.ctx())
	if r.Status != transport.Healthy {
		t.Fatalf("fresh transport:\n%s", r)
	}
	for _, name := range []string{"broker", "topology", "dlq"} {
		if c := findCheck(r, name); c.Status != transport.Healthy || c.Detail == "missing" {
			t.Fatalf("check %s: %+v", name, c)
		}
	}
	tenant := uuid.New()
	release := make(chan struct{})
	var once sync.Once
	sub, err := e.tr.Subscribe(e.ctx(), "slow", func(ctx context.Context, d transport.Delivery) error {
		if Seq(d.Envelope) == 0 {
			return errors.New("fail once") // max_attempts 1: straight to the DLQ
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events := make([]core.Envelope, 20)
	for i := range events {
		events[i] = Event(tenant, "node.updated", i)
	}
	e.publishAll(events)
	wait(t, h, e.hooks.DeadLetteredCh, "dead letter")
	r = e.tr.Health(e.ctx())
	if r.Status != transport.Degraded || findCheck(r, "lag slow").Status != transport.Degraded || findCheck(r, "dlq").Status != transport.Degraded {
		t.Fatalf("with lag and a dead letter:\n%s", r)
	}
	once.Do(func() { close(release) })
	if err := sub.Stop(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if h.Down == nil || h.Up == nil {
		return
	}
	h.Down(t, e.b)
	r = e.tr.Health(e.ctx())
	if r.Status != transport.Unhealthy || findCheck(r, "broker").Status != transport.Unhealthy {
		t.Fatalf("broker down:\n%s", r)
	}
	h.Up(t, e.b)
	r = e.tr.Health(e.ctx())
	if c := findCheck(r, "broker"); c.Status != transport.Healthy {
		t.Fatalf("broker back:\n%s", r)
	}
}

// Shutdown: in-flight handlers finish, later calls fail with ErrClosed.
func Shutdown(t *testing.T, h Harness) {
	b := h.Broker(t)
	cfg := transport.Config{}
	cfg.Topology.StreamName = StreamName(t)
	cfg.Publisher.Mode = transport.ModeAsync
	tr, err := transport.New(cfg, b, h.codec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout())
	defer cancel()
	if err := tr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tenant := uuid.New()
	entered := make(chan struct{})
	var finished atomic.Bool
	sub, err := tr.Subscribe(ctx, "sd", func(ctx context.Context, d transport.Delivery) error {
		if Seq(d.Envelope) == 0 {
			close(entered)
			time.Sleep(20 * time.Millisecond) // a handler doing work
			finished.Store(true)
		}
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := tr.Publish(ctx, Event(tenant, "node.updated", i)); err != nil {
			t.Fatal(err)
		}
	}
	<-entered
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Shutdown returned before the in-flight handler finished")
	}
	select {
	case <-sub.Done():
	default:
		t.Fatal("subscription still running after Shutdown")
	}
	if err := tr.Publish(ctx, Event(tenant, "node.updated", 9)); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Publish after Shutdown = %v", err)
	}
	// Offsets of handled events were stored: at least event 0.
	off, err := b.Offset(ctx, core.Consumer{Kind: core.GroupConsumer, Name: "sd"}, cfg.Topology.StreamName, transport.TopicDomain, transport.TenantPartition(tenant, 8))
	if err != nil {
		t.Fatalf("group offset after Shutdown: %v", err)
	}
	_ = off
}

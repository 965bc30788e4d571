package transporttest

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// spanLog records ended spans (through tracetest's SpanRecorder) and lets
// a test wait until the spans it expects have ended.
type spanLog struct {
	*tracetest.SpanRecorder
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every ended span
}

func newSpanLog() *spanLog {
	return &spanLog{SpanRecorder: tracetest.NewSpanRecorder(), changed: make(chan struct{})}
}

func (l *spanLog) OnEnd(s sdktrace.ReadOnlySpan) {
	l.SpanRecorder.OnEnd(s)
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// waitFor waits until pred holds for the ended spans, or fails the test.
func (l *spanLog) waitFor(t *testing.T, h Harness, what string, pred func([]sdktrace.ReadOnlySpan) bool) []sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.After(h.timeout())
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if spans := l.Ended(); pred(spans) {
			return spans
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for spans: %s; have %s", what, spanNames(l.Ended()))
		}
	}
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name() + "@" + s.SpanContext().SpanID().String()
	}
	return out
}

func attrOf(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, a := range s.Attributes() {
		if a.Key == k {
			return a.Value.String()
		}
	}
	return ""
}

// byEvent returns the ended spans named name whose message id attribute is id.
func byEvent(spans []sdktrace.ReadOnlySpan, name string, id uuid.UUID) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name && attrOf(s, transport.AttrMessageID) == id.String() {
			out = append(out, s)
		}
	}
	return out
}

func countEvent(name string, id uuid.UUID, n int) func([]sdktrace.ReadOnlySpan) bool {
	return func(spans []sdktrace.ReadOnlySpan) bool { return len(byEvent(spans, name, id)) >= n }
}

// traceParentRE is the W3C traceparent form the Rust opentelemetry crate
// writes: version 00, 32 hex trace id, 16 hex span id, 2 hex flags.
var traceParentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`)

func tracedEnv(t *testing.T, h Harness, mutate func(*transport.Config)) (*env, *spanLog, trace.Tracer) {
	log := newSpanLog()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(log))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	b := h.Broker(t)
	cfg := transport.Config{}
	cfg.Topology.StreamName = StreamName(t)
	cfg.Topology.DomainPartitions = 4
	cfg.Consumer.InitialBackoff = time.Millisecond
	cfg.Consumer.MaxBackoff = 5 * time.Millisecond
	cfg.Consumer.PollIdleMax = 10 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	e := startEnv(t, h, b, cfg, transport.WithTracerProvider(tp), transport.WithPropagator(propagation.TraceContext{}))
	return e, log, tp.Tracer("transporttest")
}

// Tracing: with a tracer provider and the W3C propagator, a published
// event carries traceparent (and its trace id in the envelope); its
// handling is a CONSUMER span child of the PRODUCER span, each retry
// links to the attempt before, the DLQ send and the redrive stay in the
// trace, and the redriven event's handling is a child of the redrive. A
// message without trace headers, or with a malformed traceparent, is
// handled in a new root span without error.
func Tracing(t *testing.T, h Harness) {
	e, log, tracer := tracedEnv(t, h, func(c *transport.Config) { c.Consumer.MaxAttempts = 2 })
	tenant := uuid.New()
	ok := Event(tenant, "order.placed", 1)
	poison := Event(tenant, "order.placed", 2)
	plain := Event(tenant, "order.placed", 3)
	garbled := Event(tenant, "order.placed", 4)

	callerCtx, caller := tracer.Start(e.ctx(), "caller")
	for _, ev := range []core.Envelope{ok, poison} {
		if err := e.tr.Publish(callerCtx, ev); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	caller.End()
	traceID := caller.SpanContext().TraceID()
	// Plain SDK-style messages: no trace headers, or a malformed one.
	codec := e.h.codec()
	for _, m := range []struct {
		ev core.Envelope
		hs core.Headers
	}{
		{plain, nil},
		{garbled, core.Headers{core.StringHeader(transport.HeaderTraceParent, "00-zz-not-a-trace-parent")}},
	} {
		payload, err := codec.Encode(m.ev)
		if err != nil {
			t.Fatal(err)
		}
		hs := append(m.hs, core.StringHeader(transport.HeaderContentType, codec.ContentType()))
		msg := core.Message{ID: core.MessageIDFromUUID(m.ev.ID), Headers: hs, Payload: payload}
		if err := e.b.Send(e.ctx(), e.stream(), transport.TopicDomain, core.ByKey([]byte(tenant.String())), []core.Message{msg}); err != nil {
			t.Fatalf("raw send: %v", err)
		}
	}

	// What the broker holds: traceparent of the send span, trace id in the envelope.
	sends := log.waitFor(t, h, "send spans", func(s []sdktrace.ReadOnlySpan) bool {
		return len(byEvent(s, "send domain", ok.ID)) == 1 && len(byEvent(s, "send domain", poison.ID)) == 1
	})
	okSend := byEvent(sends, "send domain", ok.ID)[0]
	poisonSend := byEvent(sends, "send domain", poison.ID)[0]
	for _, s := range []sdktrace.ReadOnlySpan{okSend, poisonSend} {
		if s.SpanKind() != trace.SpanKindProducer || s.Parent().SpanID() != caller.SpanContext().SpanID() ||
			s.SpanContext().TraceID() != traceID {
			t.Fatalf("send span %s: kind %v parent %v, want PRODUCER child of caller", s.Name(), s.SpanKind(), s.Parent())
		}
		if attrOf(s, transport.AttrMessagingSystem) != "iggy" || attrOf(s, transport.AttrDestinationName) != transport.TopicDomain ||
			attrOf(s, transport.AttrOperationType) != "send" || attrOf(s, transport.AttrTenantID) != tenant.String() ||
			attrOf(s, transport.AttrEventType) != "order.placed" {
			t.Fatalf("send span attributes %v", s.Attributes())
		}
	}
	stored := e.readAll(transport.TopicDomain, transport.TenantPartition(tenant, 4))
	if len(stored) != 4 {
		t.Fatalf("%d messages stored, want 4", len(stored))
	}
	tp := stored[0].Headers.Value(transport.HeaderTraceParent)
	if !traceParentRE.MatchString(tp) || tp[3:35] != traceID.String() || tp[36:52] != okSend.SpanContext().SpanID().String() {
		t.Fatalf("traceparent %q, want 00-%s-%s-01", tp, traceID, okSend.SpanContext().SpanID())
	}
	env0, err := codec.Decode(stored[0].Payload)
	if err != nil || env0.TraceID != traceID.String() {
		t.Fatalf("stored envelope trace_id %q (%v), want %s", env0.TraceID, err, traceID)
	}

	var mu sync.Mutex
	handlerSpans := map[uuid.UUID][]trace.SpanContext{}
	redriven := make(chan struct{}, 1)
	_, err = e.tr.Subscribe(e.ctx(), "traced", func(ctx context.Context, d transport.Delivery) error {
		mu.Lock()
		handlerSpans[d.Envelope.ID] = append(handlerSpans[d.Envelope.ID], trace.SpanContextFromContext(ctx))
		mu.Unlock()
		if d.Envelope.ID == poison.ID {
			if d.Envelope.RetryCount == 0 {
				return errPoison
			}
			redriven <- struct{}{}
		}
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, h, e.hooks.DeadLetteredCh, "dead letter")
	spans := log.waitFor(t, h, "process and dlq spans", func(s []sdktrace.ReadOnlySpan) bool {
		return countEvent("process domain", ok.ID, 1)(s) && countEvent("process domain", plain.ID, 1)(s) &&
			countEvent("process domain", garbled.ID, 1)(s) && countEvent("process domain", poison.ID, 2)(s) &&
			countEvent("send dlq", poison.ID, 1)(s)
	})
	p := byEvent(spans, "process domain", ok.ID)[0]
	if p.SpanKind() != trace.SpanKindConsumer || p.Parent().SpanID() != okSend.SpanContext().SpanID() ||
		p.SpanContext().TraceID() != traceID || !p.Parent().IsRemote() {
		t.Fatalf("process span: kind %v parent %v, want CONSUMER child of the send span %v", p.SpanKind(), p.Parent(), okSend.SpanContext())
	}
	if attrOf(p, transport.AttrConsumerGroup) != "traced" || attrOf(p, transport.AttrOperationType) != "process" ||
		attrOf(p, transport.AttrPartitionID) == "" || attrOf(p, transport.AttrTenantID) != tenant.String() {
		t.Fatalf("process span attributes %v", p.Attributes())
	}
	mu.Lock()
	if got := handlerSpans[ok.ID]; len(got) != 1 || got[0].SpanID() != p.SpanContext().SpanID() {
		t.Errorf("handler ctx span %v, want the process span %v", got, p.SpanContext())
	}
	mu.Unlock()
	for _, id := range []uuid.UUID{plain.ID, garbled.ID} {
		r := byEvent(spans, "process domain", id)[0]
		if r.Parent().IsValid() || r.SpanContext().TraceID() == traceID {
			t.Errorf("message without a valid traceparent: parent %v, want a new root", r.Parent())
		}
	}
	tries := byEvent(spans, "process domain", poison.ID)
	for _, s := range tries {
		if s.Parent().SpanID() != poisonSend.SpanContext().SpanID() {
			t.Fatalf("attempt span parent %v, want the send span", s.Parent())
		}
	}
	if l := tries[1].Links(); len(l) != 1 || l[0].SpanContext.SpanID() != tries[0].SpanContext().SpanID() {
		t.Errorf("retry links %v, want the first attempt", l)
	}
	dl := byEvent(spans, "send dlq", poison.ID)[0]
	if dl.SpanKind() != trace.SpanKindProducer || dl.SpanContext().TraceID() != traceID ||
		len(dl.Links()) != 1 || dl.Links()[0].SpanContext.SpanID() != tries[1].SpanContext().SpanID() {
		t.Fatalf("dlq span: kind %v trace %v links %v", dl.SpanKind(), dl.SpanContext().TraceID(), dl.Links())
	}

	rctx, redriveOp := tracer.Start(e.ctx(), "operator redrive")
	res, err := e.tr.DLQ().Redrive(rctx, transport.DLQFilter{Tenants: []uuid.UUID{tenant}})
	redriveOp.End()
	if err != nil || len(res.Redriven) != 1 {
		t.Fatalf("Redrive: %+v, %v", res, err)
	}
	wait(t, h, redriven, "redriven event")
	spans = log.waitFor(t, h, "redrive spans", func(s []sdktrace.ReadOnlySpan) bool {
		return countEvent("redrive domain", poison.ID, 1)(s) && countEvent("process domain", poison.ID, 3)(s)
	})
	rd := byEvent(spans, "redrive domain", poison.ID)[0]
	if rd.SpanContext().TraceID() != traceID || rd.Parent().SpanID() != dl.SpanContext().SpanID() ||
		len(rd.Links()) != 1 || rd.Links()[0].SpanContext.SpanID() != redriveOp.SpanContext().SpanID() {
		t.Fatalf("redrive span: parent %v links %v, want child of the dlq send linked to the operator", rd.Parent(), rd.Links())
	}
	last := byEvent(spans, "process domain", poison.ID)[2]
	if last.Parent().SpanID() != rd.SpanContext().SpanID() || last.SpanContext().TraceID() != traceID {
		t.Fatalf("redriven event's process span parent %v, want the redrive span", last.Parent())
	}
}

type tracingErr string

func (e tracingErr) Error() string { return string(e) }

const errPoison = tracingErr("poison")

// TracingBatch: PublishBatch is one PRODUCER span "send" with the batch
// count, and each event a "create" span (its child) whose context the
// message carries, so each event's handling is a child of its own create
// span. Replay spans link to the same create spans.
func TracingBatch(t *testing.T, h Harness) {
	e, log, _ := tracedEnv(t, h, nil)
	tenants := Tenants(3)
	events := make([]core.Envelope, 6)
	for i := range events {
		events[i] = Event(tenants[i%3], "order.placed", i)
	}
	if err := e.tr.PublishBatch(e.ctx(), events); err != nil {
		t.Fatal(err)
	}
	for i := range events {
		if events[i].TraceID != "" {
			t.Fatalf("PublishBatch modified the caller's event %d (trace_id %q)", i, events[i].TraceID)
		}
	}
	k := NewTracker(len(events))
	if _, err := e.tr.Subscribe(e.ctx(), "traced-batch", func(_ context.Context, d transport.Delivery) error {
		k.Record(d.Envelope)
		return nil
	}, transport.SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	wait(t, h, k.Done(), "batch events")
	if _, err := e.tr.Replay(e.ctx(), transport.ReplayRequest{}, func(context.Context, transport.Delivery) error { return nil }); err != nil {
		t.Fatal(err)
	}
	spans := log.waitFor(t, h, "batch spans", func(s []sdktrace.ReadOnlySpan) bool {
		for _, ev := range events {
			if !countEvent("process domain", ev.ID, 1)(s) || !countEvent("replay domain", ev.ID, 1)(s) {
				return false
			}
		}
		return true
	})
	var batch sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == "send" {
			batch = s
		}
	}
	if batch == nil || attrOf(batch, transport.AttrBatchMessageCount) != "6" || batch.SpanKind() != trace.SpanKindProducer {
		t.Fatalf("batch span %v", batch)
	}
	for _, ev := range events {
		c := byEvent(spans, "create domain", ev.ID)
		if len(c) != 1 || c[0].Parent().SpanID() != batch.SpanContext().SpanID() {
			t.Fatalf("create span of %s: %v", ev.ID, c)
		}
		p := byEvent(spans, "process domain", ev.ID)[0]
		if p.Parent().SpanID() != c[0].SpanContext().SpanID() {
			t.Errorf("process span parent %v, want the create span %v", p.Parent(), c[0].SpanContext())
		}
		r := byEvent(spans, "replay domain", ev.ID)[0]
		if l := r.Links(); len(l) != 1 || l[0].SpanContext.SpanID() != c[0].SpanContext().SpanID() {
			t.Errorf("replay span links %v, want the create span", l)
		}
	}
}

package transport_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TestTraceContextWithoutProvider: with no tracer provider (the otel
// global, never set) the transport starts no span, but an event published
// inside the caller's span still gets the caller's trace id in the
// envelope, and traceparent is written only when a propagator is given
// (the global one propagates nothing). A noop provider behaves the same.
func TestTraceContextWithoutProvider(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	for _, c := range []struct {
		name   string
		opts   []transport.Option
		header bool
	}{
		{"defaults", nil, false},
		{"propagator", []transport.Option{transport.WithPropagator(propagation.TraceContext{})}, true},
		{"noop provider", []transport.Option{transport.WithTracerProvider(noop.NewTracerProvider()), transport.WithPropagator(propagation.TraceContext{})}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newFakeBroker()
			var cfg transport.Config
			cfg.Topology.StreamName = transporttest.StreamName(t)
			cfg.Topology.DomainPartitions = 1
			tr, err := transport.New(cfg, b, transporttest.JSONCodec{}, nil, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := tr.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tr.Shutdown(ctx) }()
			sctx, span := tp.Tracer("test").Start(ctx, "caller")
			ev := transporttest.Event(uuid.New(), "order.placed", 1)
			if err := tr.Publish(sctx, ev); err != nil {
				t.Fatal(err)
			}
			span.End()
			polled, err := b.Poll(ctx, core.PollRequest{Stream: cfg.Topology.StreamName, Topic: transport.TopicDomain,
				Consumer: core.Consumer{Kind: core.SingleConsumer, Name: "x"}, Strategy: core.First(), Count: 10})
			if err != nil || len(polled.Messages) != 1 {
				t.Fatalf("poll: %d messages, %v", len(polled.Messages), err)
			}
			m := polled.Messages[0]
			got, err := transporttest.JSONCodec{}.Decode(m.Payload)
			if err != nil || got.TraceID != span.SpanContext().TraceID().String() {
				t.Fatalf("trace_id %q (%v), want %s", got.TraceID, err, span.SpanContext().TraceID())
			}
			want := ""
			if c.header {
				want = "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
			}
			if tp := m.Headers.Value(transport.HeaderTraceParent); tp != want {
				t.Fatalf("traceparent %q, want %q", tp, want)
			}
			if got.TraceID != m.Headers.Value(transport.HeaderTraceID) {
				t.Fatalf("trace_id header %q", m.Headers.Value(transport.HeaderTraceID))
			}
		})
	}
}

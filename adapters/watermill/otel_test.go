package iggywm_test

import (
	"context"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	iggywm "github.com/rustok/rustok-iggy/adapters/watermill"
	"github.com/rustok/rustok-iggy/core"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestTraceContextBothWays: a message published inside a span carries the
// W3C traceparent as a header; the subscriber hands it back as metadata
// and as the message Context's remote span context. A traceparent the
// caller put in the metadata wins over the Context's; a message without
// one arrives with no span context.
func TestTraceContextBothWays(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b core.Broker) {
		tp := sdktrace.NewTracerProvider()
		defer func() { _ = tp.Shutdown(context.Background()) }()
		prop := propagation.TraceContext{}
		p := newPublisher(t, b, iggywm.PublisherConfig{Propagator: prop})
		ctx, span := tp.Tracer("test").Start(t.Context(), "produce")
		span.End()
		sc := span.SpanContext()
		traced := message.NewMessage("traced", []byte("a"))
		traced.SetContext(ctx)
		given := message.NewMessage("given", []byte("b"))
		given.SetContext(ctx)
		const callerTP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		given.Metadata.Set("traceparent", callerTP)
		plain := message.NewMessage("plain", []byte("c"))
		if err := p.Publish("traced", traced, given, plain); err != nil {
			t.Fatal(err)
		}
		s := newSubscriber(t, b, iggywm.SubscriberConfig{Propagator: prop})
		ch, err := s.Subscribe(t.Context(), "traced")
		if err != nil {
			t.Fatal(err)
		}
		want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
		for _, c := range []struct{ id, tp string }{{"traced", want}, {"given", callerTP}, {"plain", ""}} {
			m := receive(t, ch)
			if m.UUID != c.id || m.Metadata.Get("traceparent") != c.tp {
				t.Fatalf("message %q traceparent %q, want %q %q", m.UUID, m.Metadata.Get("traceparent"), c.id, c.tp)
			}
			got := trace.SpanContextFromContext(m.Context())
			if c.tp == "" {
				if got.IsValid() {
					t.Errorf("plain message has span context %v", got)
				}
			} else if !got.IsRemote() || "00-"+got.TraceID().String()+"-"+got.SpanID().String()+"-01" != c.tp {
				t.Errorf("message %q context %v, want %s", m.UUID, got, c.tp)
			}
			m.Ack()
		}
	})
}

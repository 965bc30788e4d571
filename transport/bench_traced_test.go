package transport_test

import (
	"context"
	"sync"
	"testing"

	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardExporter drops the spans a batch span processor hands it: the
// traced benchmarks measure the cost of recording, not of shipping.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// tracedOpts is tracing on as a production service runs it: always
// sample, batch span processor, W3C propagator.
func tracedOpts(b *testing.B) []transport.Option {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(discardExporter{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return []transport.Option{transport.WithTracerProvider(tp), transport.WithPropagator(propagation.TraceContext{})}
}

func BenchmarkTracedPublishSync(b *testing.B) {
	tr := benchTransport(b, nullBroker{newFakeBroker()}, fixedCodec{make([]byte, 300)}, transport.ModeSync, tracedOpts(b)...)
	events := benchEvents(1024)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := tr.Publish(ctx, events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTracedPublishBatch100(b *testing.B) {
	tr := benchTransport(b, nullBroker{newFakeBroker()}, fixedCodec{make([]byte, 300)}, transport.ModeSync, tracedOpts(b)...)
	events := benchEvents(100)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := tr.PublishBatch(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTracedConsume is BenchmarkConsume with traced events and
// tracing on: a process span per event, child of the extracted context.
func BenchmarkTracedConsume(b *testing.B) {
	broker := newFakeBroker()
	tr := benchTransport(b, broker, transporttest.JSONCodec{}, transport.ModeSync, tracedOpts(b)...)
	events := benchEvents(b.N)
	for len(events) > 0 {
		n := min(len(events), 1000)
		if err := tr.PublishBatch(context.Background(), events[:n]); err != nil {
			b.Fatal(err)
		}
		events = events[n:]
	}
	var mu sync.Mutex
	seen := 0
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	sub, err := tr.Subscribe(context.Background(), "bench", func(context.Context, transport.Delivery) error {
		mu.Lock()
		seen++
		if seen == b.N {
			close(done)
		}
		mu.Unlock()
		return nil
	}, transport.SubscribeOptions{Concurrency: 4})
	if err != nil {
		b.Fatal(err)
	}
	<-done
	b.StopTimer()
	_ = sub.Stop(context.Background())
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

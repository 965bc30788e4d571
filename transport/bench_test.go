package transport_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// fixedCodec returns one pre-encoded payload: it measures the transport's
// own cost per event, without a codec's.
type fixedCodec struct{ payload []byte }

func (c fixedCodec) Encode(core.Envelope) ([]byte, error) { return c.payload, nil }
func (c fixedCodec) Decode([]byte) (core.Envelope, error) { return core.Envelope{}, nil }
func (fixedCodec) ContentType() string                    { return "application/x-fixed" }

// nullBroker stores nothing: a Send costs what the transport costs.
type nullBroker struct{ *fakeBroker }

func (nullBroker) Send(context.Context, string, string, core.Partitioning, []core.Message) error {
	return nil
}

func benchEvents(n int) []core.Envelope {
	tenants := transporttest.Tenants(64)
	out := make([]core.Envelope, n)
	data := make([]byte, 0, 256)
	data = append(data, `{"blob":"`...)
	for len(data) < 254 {
		data = append(data, 'x')
	}
	data = append(data, `"}`...)
	for i := range out {
		out[i] = core.NewEnvelope(tenants[i%len(tenants)], "node.updated", core.Event{Type: "NodeUpdated", Data: data})
	}
	return out
}

func benchTransport(b *testing.B, broker core.Broker, codec core.Codec, mode string, opts ...transport.Option) *transport.Transport {
	var cfg transport.Config
	cfg.Publisher.Mode = mode
	tr, err := transport.New(cfg, broker, codec, nil, opts...)
	if err != nil {
		b.Fatal(err)
	}
	if err := tr.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}

func codecs() []struct {
	name  string
	codec core.Codec
} {
	return []struct {
		name  string
		codec core.Codec
	}{{"json", transporttest.JSONCodec{}}, {"fixed", fixedCodec{make([]byte, 300)}}}
}

func BenchmarkPublishSync(b *testing.B) {
	for _, c := range codecs() {
		b.Run(c.name, func(b *testing.B) {
			tr := benchTransport(b, nullBroker{newFakeBroker()}, c.codec, transport.ModeSync)
			events := benchEvents(1024)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := tr.Publish(ctx, events[i%len(events)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPublishAsync(b *testing.B) {
	for _, c := range codecs() {
		for _, store := range []string{"null", "null-nodatacheck", "fake", "fake-nodatacheck"} {
			b.Run(c.name+"/"+store, func(b *testing.B) {
				var broker core.Broker = newFakeBroker()
				if store == "null" || store == "null-nodatacheck" {
					broker = nullBroker{newFakeBroker()}
				}
				var opts []transport.Option
				if store == "fake-nodatacheck" || store == "null-nodatacheck" {
					opts = append(opts, transport.WithoutDataValidation())
				}
				tr := benchTransport(b, broker, c.codec, transport.ModeAsync, opts...)
				events := benchEvents(1024)
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				var next sync.Mutex
				i := 0
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						next.Lock()
						e := events[i%len(events)]
						i++
						next.Unlock()
						if err := tr.Publish(ctx, e); err != nil {
							b.Fatal(err)
						}
					}
				})
				if err := tr.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

func BenchmarkPublishBatch100(b *testing.B) {
	for _, c := range codecs() {
		b.Run(c.name, func(b *testing.B) {
			tr := benchTransport(b, nullBroker{newFakeBroker()}, c.codec, transport.ModeSync)
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
		})
	}
}

// BenchmarkConsume measures handling through a group of 4 members over the
// in-memory fake broker.
func BenchmarkConsume(b *testing.B) {
	broker := newFakeBroker()
	tr := benchTransport(b, broker, transporttest.JSONCodec{}, transport.ModeSync)
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

var _ = uuid.Nil

// BenchmarkLatency10k publishes at a steady 10k events/s (sync, 64
// tenants) and reports the publish-to-handler latency percentiles through a
// group of 4 members over the fake broker. b.N is ignored beyond one run of
// 20k events.
func BenchmarkLatency10k(b *testing.B) {
	for _, idle := range []time.Duration{transport.DefaultPollIdleMin} {
		for _, conc := range []int{1, 4} {
			b.Run(fmt.Sprintf("idle=%v/members=%d", idle, conc), func(b *testing.B) { benchLatency(b, idle, conc) })
		}
	}
}

func benchLatency(b *testing.B, idle time.Duration, conc int) {
	var cfg transport.Config
	cfg.Consumer.PollIdleMin = idle
	tr, err := transport.New(cfg, newFakeBroker(), transporttest.JSONCodec{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := tr.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	const n = 20000
	events := benchEvents(n)
	sent := make([]time.Time, n)
	index := make(map[uuid.UUID]int, n)
	for i, e := range events {
		index[e.ID] = i
	}
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	done := make(chan struct{})
	sub, err := tr.Subscribe(context.Background(), "lat", func(_ context.Context, d transport.Delivery) error {
		now := time.Now()
		mu.Lock()
		lat = append(lat, now.Sub(sent[index[d.Envelope.ID]]))
		if len(lat) == n {
			close(done)
		}
		mu.Unlock()
		return nil
	}, transport.SubscribeOptions{Concurrency: conc})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range events {
		due := start.Add(time.Duration(i) * 100 * time.Microsecond)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		if err := tr.Publish(context.Background(), events[i]); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	_ = sub.Stop(context.Background())
	slices.Sort(lat)
	b.ReportMetric(float64(lat[n/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[n*99/100].Microseconds()), "p99-µs")
}

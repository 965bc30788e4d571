package integration

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// These benchmarks run the transport over the real embedded connector (in
// this process, on a temporary data directory): the numbers issue 6 and 8
// set targets for.

// benchEnvelopes returns n envelopes of 64 tenants with 256 bytes of JSON
// event data each.
func benchEnvelopes(n int) []core.Envelope {
	data := make([]byte, 0, 256)
	data = append(data, `{"blob":"`...)
	for len(data) < 254 {
		data = append(data, 'x')
	}
	data = append(data, `"}`...)
	out := make([]core.Envelope, n)
	for i := range out {
		tenant := uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i % 64)})
		out[i] = core.NewEnvelope(tenant, "node.updated", core.Event{Type: "NodeUpdated", Data: data})
	}
	return out
}

// benchEmbedded opens an embedded broker and a started transport over it
// with the named codec and publisher mode.
func benchEmbedded(b *testing.B, codecName, mode string) *transport.Transport {
	b.Helper()
	bk, err := embedded.Open(context.Background(), embedded.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	c, err := codec.ByName(codecName)
	if err != nil {
		b.Fatal(err)
	}
	var cfg transport.Config
	cfg.Publisher.Mode = mode
	tr, err := transport.New(cfg, bk, c, nil, transport.WithOwnedBroker())
	if err != nil {
		b.Fatal(err)
	}
	if err := tr.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}

// BenchmarkEmbeddedPublishAsync publishes 256 B envelopes in async mode
// from parallel goroutines through the embedded connector.
func BenchmarkEmbeddedPublishAsync(b *testing.B) {
	for _, name := range []string{"cbor", "json"} {
		b.Run(name, func(b *testing.B) {
			tr := benchEmbedded(b, name, transport.ModeAsync)
			events := benchEnvelopes(1024)
			ctx := context.Background()
			var next sync.Mutex
			i := 0
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					next.Lock()
					e := events[i%len(events)]
					i++
					next.Unlock()
					if err := tr.Publish(ctx, e); err != nil {
						b.Error(err)
						return
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

// BenchmarkEmbeddedPublishBatch100 publishes batches of 100 256 B
// envelopes through the embedded connector.
func BenchmarkEmbeddedPublishBatch100(b *testing.B) {
	for _, name := range []string{"cbor", "json"} {
		b.Run(name, func(b *testing.B) {
			tr := benchEmbedded(b, name, transport.ModeSync)
			events := benchEnvelopes(100)
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

// BenchmarkEndToEndLatency publishes (sync, CBOR) at a paced 10k events/s
// and reports the publish-to-handler latency percentiles through a group
// of 4 members over the embedded connector, and those of the sync Publish
// call alone. Each iteration is 5000 events (half a second). pace=spin
// sends every 100 µs (see pace); pace=sleep paces with time.Sleep, which
// on a VM with a 1 ms timer tick sends bursts of about ten events each
// millisecond, so events queue behind each other.
func BenchmarkEndToEndLatency(b *testing.B) {
	for _, spin := range []bool{true, false} {
		name := "pace=spin"
		if !spin {
			name = "pace=sleep"
		}
		b.Run(name, func(b *testing.B) { benchLatency(b, 4, spin) })
	}
}

func benchLatency(b *testing.B, members int, spin bool) {
	tr := benchEmbedded(b, "cbor", transport.ModeSync)
	const n = 5000
	events := benchEnvelopes(n)
	index := make(map[uuid.UUID]int, n)
	for i, e := range events {
		index[e.ID] = i
	}
	sent := make([]time.Time, n)
	var lat, pub []time.Duration
	var mu sync.Mutex
	got := 0
	done := make(chan struct{}, 1)
	sub, err := tr.Subscribe(context.Background(), "lat", func(_ context.Context, d transport.Delivery) error {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if i, ok := index[d.Envelope.ID]; ok && !sent[i].IsZero() {
			lat = append(lat, now.Sub(sent[i]))
			sent[i] = time.Time{}
			if got++; got == n {
				done <- struct{}{}
			}
		}
		return nil
	}, transport.SubscribeOptions{Concurrency: members})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Stop(context.Background()) }()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		mu.Lock()
		got = 0
		mu.Unlock()
		for i := range events {
			events[i].ID = uuid.Must(uuid.NewV7())
		}
		mu.Lock()
		clear(index)
		for i, e := range events {
			index[e.ID] = i
		}
		mu.Unlock()
		start := time.Now()
		for i := range events {
			due := start.Add(time.Duration(i) * 100 * time.Microsecond)
			if spin {
				pace(due)
			} else if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			mu.Lock()
			sent[i] = time.Now()
			mu.Unlock()
			before := time.Now()
			if err := tr.Publish(ctx, events[i]); err != nil {
				b.Fatal(err)
			}
			pub = append(pub, time.Since(before))
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			b.Fatal("events not delivered within 30 s")
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1e3, "max-µs")
	// The sync Publish alone (validate, encode, the broker's write): the
	// part of the latency before a consumer can see the event.
	slices.Sort(pub)
	b.ReportMetric(float64(pub[len(pub)/2].Nanoseconds())/1e3, "publish-p50-µs")
	b.ReportMetric(float64(pub[len(pub)*99/100].Nanoseconds())/1e3, "publish-p99-µs")
}

// pace returns at due. time.Sleep cannot pace 100 µs steps: on a VM it
// sleeps a whole timer tick (about 1 ms here), which turns a steady 10k
// events/s into bursts of ten; so the last stretch is spent yielding
// (runtime.Gosched), which lets the consumers run on this P meanwhile.
func pace(due time.Time) {
	if d := time.Until(due); d > 2*time.Millisecond {
		time.Sleep(d - 2*time.Millisecond)
	}
	for time.Now().Before(due) {
		runtime.Gosched()
	}
}

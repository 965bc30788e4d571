package embedded_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
)

// Shape of the send benchmark, shared with the remote connector's
// benchmark (connector/remote/remote_embedded_test.go) so the numbers
// compare.
const (
	benchBatch   = 100
	benchPayload = 256
)

// BenchmarkSend sends batches of 100 messages of 256 bytes through the
// embedded connector in-process, one batch at a time, to one partition
// (fsync interval). It reports messages per second and the p99 latency of
// one batch.
func BenchmarkSend(b *testing.B) {
	br := open(b, embedded.Config{})
	benchSend(b, br)
}

func benchSend(b *testing.B, br core.Broker) {
	ctx := context.Background()
	if _, err := br.CreateStream(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	if _, err := br.CreateTopic(ctx, "bench", "t", core.TopicConfig{Partitions: 1}); err != nil {
		b.Fatal(err)
	}
	batch := make([]core.Message, benchBatch)
	payload := make([]byte, benchPayload)
	for i := range batch {
		batch[i].Payload = payload
	}
	lat := make([]time.Duration, 0, 1<<16)
	b.SetBytes(benchBatch * benchPayload)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		if err := br.Send(ctx, "bench", "t", core.ToPartition(0), batch); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat)*benchBatch)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds()), "p99-us/batch")
}

package server

import (
	"bytes"
	"net"
	"slices"
	"testing"
	"time"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Benchmarks drive the server with the official Go SDK over loopback, the
// broker using its default fsync policy (interval).

// BenchmarkSDKSendBatch sends batches of 1000 messages of 1 KiB to one
// partition: MB/s (payload) and msgs/s.
func BenchmarkSDKSendBatch(b *testing.B) {
	e := newEnvFsync(b, logstore.FsyncInterval)
	cli := e.root(b)
	s, tp := mkTopic(b, cli, "bench", "t", 1)
	const n, size = 1000, 1024
	batch := make([]iggcon.IggyMessage, n)
	for i := range batch {
		batch[i] = must(iggcon.NewIggyMessage(bytes.Repeat([]byte{byte(i)}, size)))(b)
	}
	b.SetBytes(n * size)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkSDKSendRoundTrip sends one 1 KiB message per request and reports
// the round-trip latency percentiles.
func BenchmarkSDKSendRoundTrip(b *testing.B) {
	e := newEnvFsync(b, logstore.FsyncInterval)
	cli := e.root(b)
	s, tp := mkTopic(b, cli, "bench", "t", 1)
	msg := []iggcon.IggyMessage{must(iggcon.NewIggyMessage(bytes.Repeat([]byte{'x'}, 1024)))(b)}
	lat := make([]time.Duration, 0, 1<<16)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if err := cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), msg); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// BenchmarkSDKPoll polls 1000 messages of 1 KiB per request.
func BenchmarkSDKPoll(b *testing.B) {
	e := newEnvFsync(b, logstore.FsyncInterval)
	cli := e.root(b)
	s, tp := mkTopic(b, cli, "bench", "t", 1)
	const n, size = 1000, 1024
	batch := make([]iggcon.IggyMessage, n)
	for i := range batch {
		batch[i] = must(iggcon.NewIggyMessage(bytes.Repeat([]byte{byte(i)}, size)))(b)
	}
	ok(b, cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), batch))
	b.SetBytes(n * size)
	b.ResetTimer()
	for b.Loop() {
		got, err := cli.PollMessages(nid(s), nid(tp), iggcon.DefaultConsumer(), iggcon.FirstPollingStrategy(), n, false, ptr(uint32(0)))
		if err != nil || len(got.Messages) != n {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawSendBatch sends the same 1000 x 1 KiB batch as
// BenchmarkSDKSendBatch from a prebuilt frame over a raw connection: the
// server and broker cost without the SDK's encoding.
func BenchmarkRawSendBatch(b *testing.B) {
	e := newEnvFsync(b, logstore.FsyncInterval)
	mkTopic(b, e.root(b), "bench", "t", 1)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	send := func(frame []byte) {
		if _, err := c.Write(frame); err != nil {
			b.Fatal(err)
		}
		if st, _, err := readResponse(c); err != nil || st != 0 {
			b.Fatalf("status %d, %v", st, err)
		}
	}
	login, err := iggyproto.AppendRequest(nil, iggyproto.LoginUser{Username: rootUser, Password: rootPass})
	if err != nil {
		b.Fatal(err)
	}
	send(login)
	var batch []byte
	for i := range 1000 {
		batch = iggyproto.AppendMessage(batch, [16]byte{}, 1, bytes.Repeat([]byte{byte(i)}, 1024), nil)
	}
	frame, err := iggyproto.AppendRequest(nil, iggyproto.SendMessages{Stream: iggyproto.NumericID(0), Topic: iggyproto.NumericID(0),
		Partitioning: iggyproto.PartitionIDPartitioning(0), Count: 1000, Messages: batch})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(1000 * 1024)
	for b.Loop() {
		send(frame)
	}
}

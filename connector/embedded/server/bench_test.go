package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Benchmarks drive the server with the official Go SDK over loopback, the
// broker using its default fsync policy (interval). On a shared machine the
// wall time is noisy; cpu-µs/op (the whole process: client, server and
// broker) is the steadier figure to compare.

// cpuMeter starts measuring the process CPU time; the function it returns,
// called after the loop, reports it per operation as cpu-µs/op.
func cpuMeter(b *testing.B) func() {
	start := processCPU(b)
	return func() {
		if d := processCPU(b) - start; d > 0 && b.N > 0 {
			b.ReportMetric(float64(d.Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
		}
	}
}

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
	stop := cpuMeter(b)
	for b.Loop() {
		if err := cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), batch); err != nil {
			b.Fatal(err)
		}
	}
	stop()
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
	stop := cpuMeter(b)
	for b.Loop() {
		t0 := time.Now()
		if err := cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), msg); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	stop()
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
	stop := cpuMeter(b)
	for b.Loop() {
		got, err := cli.PollMessages(nid(s), nid(tp), iggcon.DefaultConsumer(), iggcon.FirstPollingStrategy(), n, false, ptr(uint32(0)))
		if err != nil || len(got.Messages) != n {
			b.Fatal(err)
		}
	}
	stop()
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
	stop := cpuMeter(b)
	for b.Loop() {
		send(frame)
	}
	stop()
}

// rawBenchConn dials the server of e, logs in as root and returns the
// connection with a function that sends one prebuilt frame and reads its
// response into a reused buffer (failing on a non-zero status).
func rawBenchConn(b *testing.B, e *testEnv) func(frame []byte) []byte {
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	var hdr [8]byte
	var buf []byte
	send := func(frame []byte) []byte {
		if _, err := c.Write(frame); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			b.Fatal(err)
		}
		if st := binary.LittleEndian.Uint32(hdr[:4]); st != 0 {
			b.Fatalf("status %d", st)
		}
		n := int(binary.LittleEndian.Uint32(hdr[4:]))
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
		return buf
	}
	login, err := iggyproto.AppendRequest(nil, iggyproto.LoginUser{Username: rootUser, Password: rootPass})
	if err != nil {
		b.Fatal(err)
	}
	send(login)
	return send
}

// BenchmarkRawPoll polls 1000 messages of 1 KiB per request from a
// prebuilt frame over a raw connection, reading the answer into a reused
// buffer: the server and broker cost of a poll without the SDK's decoding.
func BenchmarkRawPoll(b *testing.B) {
	e := newEnvFsync(b, logstore.FsyncInterval)
	mkTopic(b, e.root(b), "bench", "t", 1)
	send := rawBenchConn(b, e)
	const n = 1000
	var batch []byte
	for i := range n {
		batch = iggyproto.AppendMessage(batch, [16]byte{}, 1, bytes.Repeat([]byte{byte(i)}, 1024), nil)
	}
	frame, err := iggyproto.AppendRequest(nil, iggyproto.SendMessages{Stream: iggyproto.NumericID(0), Topic: iggyproto.NumericID(0),
		Partitioning: iggyproto.PartitionIDPartitioning(0), Count: n, Messages: batch})
	if err != nil {
		b.Fatal(err)
	}
	send(frame)
	poll, err := iggyproto.AppendRequest(nil, iggyproto.PollMessages{
		Consumer: iggyproto.Consumer{Kind: iggyproto.ConsumerSingle, ID: iggyproto.NumericID(1)},
		Stream:   iggyproto.NumericID(0), Topic: iggyproto.NumericID(0),
		Partition: iggyproto.SomePartition(0),
		Strategy:  iggyproto.PollingStrategy{Kind: iggyproto.PollOffset, Value: 0},
		Count:     n,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n * 1024)
	stop := cpuMeter(b)
	for b.Loop() {
		resp := send(poll)
		if h, _, err := iggyproto.DecodePollResponse(resp); err != nil || h.Count != n {
			b.Fatalf("poll: %d messages, %v", h.Count, err)
		}
	}
	stop()
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRawSmallRequests sends the requests of the end-to-end scenario
// over raw connections: one 1 KiB message per SendMessages, and a
// PollMessages at the end of the partition (nothing new: the 16-byte
// answer a caught-up consumer gets most of the time).
func BenchmarkRawSmallRequests(b *testing.B) {
	e := newEnvFsync(b, logstore.FsyncInterval)
	mkTopic(b, e.root(b), "bench", "t", 1)
	send := rawBenchConn(b, e)
	one, err := iggyproto.AppendRequest(nil, iggyproto.SendMessages{Stream: iggyproto.NumericID(0), Topic: iggyproto.NumericID(0),
		Partitioning: iggyproto.PartitionIDPartitioning(0), Count: 1,
		Messages: iggyproto.AppendMessage(nil, [16]byte{}, 1, bytes.Repeat([]byte{'x'}, 1024), nil)})
	if err != nil {
		b.Fatal(err)
	}
	send(one)
	b.Run("send", func(b *testing.B) {
		stop := cpuMeter(b)
		for b.Loop() {
			send(one)
		}
		stop()
	})
	b.Run("poll-empty", func(b *testing.B) {
		poll, err := iggyproto.AppendRequest(nil, iggyproto.PollMessages{
			Consumer: iggyproto.Consumer{Kind: iggyproto.ConsumerSingle, ID: iggyproto.NumericID(1)},
			Stream:   iggyproto.NumericID(0), Topic: iggyproto.NumericID(0), Partition: iggyproto.SomePartition(0),
			Strategy: iggyproto.PollingStrategy{Kind: iggyproto.PollOffset, Value: 1 << 40}, Count: 1000,
		})
		if err != nil {
			b.Fatal(err)
		}
		stop := cpuMeter(b)
		for b.Loop() {
			if resp := send(poll); len(resp) != iggyproto.PollHeadSize {
				b.Fatalf("%d bytes", len(resp))
			}
		}
		stop()
	})
}

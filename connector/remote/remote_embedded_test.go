package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/connectortest"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/remote"
	"github.com/rustok/rustok-iggy/core"
)

// The remote connector against the embedded broker's Iggy TCP listener, in
// this process: the conformance suite, the fault tests of issue 5 and the
// loopback send benchmark. (TestMain, with goleak, is in main_test.go.)

// openEmbedded opens an embedded broker on dir listening on addr and
// closes it when t ends (Close is idempotent, so a test may close it
// earlier).
func openEmbedded(t testing.TB, dir, addr string) *embedded.Broker {
	t.Helper()
	e, err := embedded.Open(context.Background(), embedded.Config{DataDir: dir, TCPAddr: addr})
	if err != nil {
		t.Fatalf("embedded.Open(%s, %s): %v", dir, addr, err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// newRemote connects a remote connector with cfg and closes it when t ends.
func newRemote(t testing.TB, cfg remote.Config) *remote.Broker {
	t.Helper()
	r, err := remote.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("remote.New(%v): %v", cfg.Addresses, err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func rootConfig(addr string) remote.Config {
	return remote.Config{Addresses: []string{addr}, Username: "iggy", Password: "iggy", PoolSize: 2}
}

// waitFor polls cond until it holds or the deadline passes (the remote
// connector's recovery has no event to wait on).
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConformanceOverEmbeddedTCP runs the stream port's conformance suite
// against the remote connector talking to one embedded broker over
// loopback TCP.
func TestConformanceOverEmbeddedTCP(t *testing.T) {
	e := openEmbedded(t, t.TempDir(), "127.0.0.1:0")
	connectortest.Run(t, func(t *testing.T) core.Broker {
		return newRemote(t, rootConfig(e.TCPAddr()))
	}, connectortest.Features{SharedBroker: true})
}

// TestRemoteSharesEmbeddedData: what the in-process connector writes, the
// remote connector reads over TCP, and the other way round.
func TestRemoteSharesEmbeddedData(t *testing.T) {
	ctx := t.Context()
	e := openEmbedded(t, t.TempDir(), "127.0.0.1:0")
	r := newRemote(t, rootConfig(e.TCPAddr()))
	if _, err := e.CreateStream(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateTopic(ctx, "s", "t", core.TopicConfig{Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	hs := core.Headers{core.StringHeader("tenant_id", "t1")}
	if err := e.Send(ctx, "s", "t", core.ByKey([]byte("t1")), []core.Message{{Payload: []byte("in-process"), Headers: hs}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Send(ctx, "s", "t", core.ByKey([]byte("t1")), []core.Message{{Payload: []byte("over-tcp"), Headers: hs}}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []core.Broker{e, r} {
		var got []string
		for p := range uint32(2) {
			polled, err := b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Partition: p, Strategy: core.First(), Count: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range polled.Messages {
				if m.Headers.Value("tenant_id") != "t1" {
					t.Errorf("%T: headers %+v", b, m.Headers)
				}
				got = append(got, fmt.Sprintf("%d:%s", p, m.Payload))
			}
		}
		if len(got) != 2 || got[0][:2] != got[1][:2] || got[0][2:] != "in-process" || got[1][2:] != "over-tcp" {
			t.Errorf("%T reads %v, want both messages of the key on one partition, in order", b, got)
		}
	}
	// A group member joined over TCP shows in the in-process view.
	if _, err := e.CreateGroup(ctx, "s", "t", "g"); err != nil {
		t.Fatal(err)
	}
	m, err := r.JoinGroup(ctx, "s", "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	if g, err := e.Group(ctx, "s", "t", "g"); err != nil || len(g.Members) != 1 || len(g.Members[0].Partitions) != 2 {
		t.Errorf("in-process view of the remote member: %+v, %v", g, err)
	}
	if err := m.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the member to leave", func() bool {
		g, err := e.Group(ctx, "s", "t", "g")
		return err == nil && len(g.Members) == 0
	})
}

// sendLog records a sender's outcomes.
type sendLog struct {
	mu       sync.Mutex
	acked    []int           // sequence numbers of acknowledged sends, in order
	failed   []time.Duration // how long each failed send took
	badErrs  []error         // failures that are not core.ErrUnavailable
	attempts int
}

func (l *sendLog) counts() (acked, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked), len(l.failed)
}

// TestRemoteRecoversWhenEmbeddedListenerRestarts stops the embedded
// broker's listener (closing the broker) in the middle of a stream of sends
// and reopens it on the same data directory and port: while it is down,
// calls fail fast with core.ErrUnavailable; then the connector recovers by
// itself, its group member joins again, and every acknowledged message is
// stored.
func TestRemoteRecoversWhenEmbeddedListenerRestarts(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	e1 := openEmbedded(t, dir, "127.0.0.1:0")
	addr := e1.TCPAddr()
	const requestTimeout = 2 * time.Second
	cfg := rootConfig(addr)
	cfg.ConnectTimeout = 5 * time.Second // argon2 logins are slow under -race
	cfg.RequestTimeout = requestTimeout
	cfg.Reconnect = remote.BackoffConfig{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}
	cfg.Heartbeat = 50 * time.Millisecond
	r := newRemote(t, cfg)
	if _, err := r.CreateStream(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateTopic(ctx, "s", "t", core.TopicConfig{Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateGroup(ctx, "s", "t", "g"); err != nil {
		t.Fatal(err)
	}
	member, err := r.JoinGroup(ctx, "s", "t", "g")
	if err != nil {
		t.Fatal(err)
	}

	var log sendLog
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			cctx, cancel := context.WithTimeout(ctx, 3*requestTimeout)
			start := time.Now()
			err := r.Send(cctx, "s", "t", core.ToPartition(0), []core.Message{{Payload: fmt.Appendf(nil, "%d", i)}})
			took := time.Since(start)
			cancel()
			log.mu.Lock()
			log.attempts++
			switch {
			case err == nil:
				log.acked = append(log.acked, i)
			case errors.Is(err, core.ErrUnavailable):
				log.failed = append(log.failed, took)
			default:
				log.badErrs = append(log.badErrs, err)
			}
			log.mu.Unlock()
			if err != nil {
				// Do not spin while the broker is down.
				time.Sleep(2 * time.Millisecond)
			}
		}
	})
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	waitFor(t, 10*time.Second, "20 acknowledged sends", func() bool { a, _ := log.counts(); return a >= 20 })
	if err := e1.Close(); err != nil {
		t.Fatalf("closing the embedded broker: %v", err)
	}
	waitFor(t, 10*time.Second, "sends to fail while the broker is down", func() bool { _, f := log.counts(); return f >= 10 })
	start := time.Now()
	_, err = r.Ping(ctx)
	if !errors.Is(err, core.ErrUnavailable) || time.Since(start) > requestTimeout {
		t.Errorf("Ping while down = %v after %s, want core.ErrUnavailable at once", err, time.Since(start))
	}
	if !r.Reconnecting() {
		t.Errorf("Reconnecting() = false while the broker is down")
	}
	ackedBefore, _ := log.counts()

	e2 := openEmbedded(t, dir, addr) // same data, same port
	if e2.TCPAddr() != addr {
		t.Fatalf("reopened on %s, want %s", e2.TCPAddr(), addr)
	}
	waitFor(t, 15*time.Second, "20 more acknowledged sends after the restart", func() bool {
		a, _ := log.counts()
		return a >= ackedBefore+20
	})
	close(stop)
	wg.Wait()

	log.mu.Lock()
	defer log.mu.Unlock()
	for _, err := range log.badErrs {
		t.Errorf("a send failed with %v, want core.ErrUnavailable", err)
	}
	slices.Sort(log.failed)
	p50, worst := log.failed[len(log.failed)/2], log.failed[len(log.failed)-1]
	t.Logf("%d sends: %d acknowledged, %d failed while down (median %s, worst %s)", log.attempts, len(log.acked), len(log.failed), p50, worst)
	if worst > requestTimeout+time.Second {
		t.Errorf("a send took %s to fail, more than the request timeout %s", worst, requestTimeout)
	}
	if p50 > 100*time.Millisecond {
		t.Errorf("sends failed in %s (median) while down, want fast failures", p50)
	}

	// Every acknowledged message is stored, in acknowledgement order.
	offsetOf := map[string]uint64{}
	for next := uint64(0); ; {
		p, err := e2.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Strategy: core.FromOffset(next), Count: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Messages) == 0 {
			break
		}
		for _, m := range p.Messages {
			offsetOf[string(m.Payload)] = m.Offset
		}
		next = p.Messages[len(p.Messages)-1].Offset + 1
	}
	var last uint64
	for k, i := range log.acked {
		off, ok := offsetOf[fmt.Sprint(i)]
		if !ok {
			t.Fatalf("acknowledged send %d is lost", i)
		}
		if k > 0 && off <= last {
			t.Fatalf("acknowledged send %d at offset %d, not after the previous one (%d)", i, off, last)
		}
		last = off
	}

	// The member joined the group again by itself and reads.
	waitFor(t, 10*time.Second, "the group member to re-join", func() bool {
		g, err := e2.Group(ctx, "s", "t", "g")
		return err == nil && len(g.Members) == 1
	})
	waitFor(t, 10*time.Second, "the re-joined member to poll", func() bool {
		p, err := member.Poll(ctx, core.GroupPoll{Strategy: core.First(), Count: 1})
		return err == nil && len(p.Messages) == 1
	})
}

// TestRemoteWrongPasswordAgainstEmbedded: refused credentials are
// core.ErrUnauthenticated at connect, without waiting for a timeout.
func TestRemoteWrongPasswordAgainstEmbedded(t *testing.T) {
	e := openEmbedded(t, t.TempDir(), "127.0.0.1:0")
	for _, cfg := range []remote.Config{
		{Addresses: []string{e.TCPAddr()}, Username: "iggy", Password: "wrong-password"},
		{Addresses: []string{e.TCPAddr()}, Username: "nobody", Password: "iggy"},
	} {
		cfg.ConnectTimeout = 3 * time.Second
		start := time.Now()
		r, err := remote.New(t.Context(), cfg)
		took := time.Since(start)
		if err == nil {
			_ = r.Close()
			t.Fatalf("user %q connected with a wrong password", cfg.Username)
		}
		if !errors.Is(err, core.ErrUnauthenticated) {
			t.Errorf("user %q: %v, want core.ErrUnauthenticated", cfg.Username, err)
		}
		if took >= cfg.ConnectTimeout {
			t.Errorf("user %q: refused after %s, the whole connect timeout", cfg.Username, took)
		}
	}
}

// TestRemoteUnreachableAddressesFailWithinTimeout: a list of addresses none
// of which answers (a closed port, a closed embedded broker's listener, a
// black-hole address) fails with core.ErrUnavailable within the connect
// timeout per address.
func TestRemoteUnreachableAddressesFailWithinTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	e := openEmbedded(t, t.TempDir(), "127.0.0.1:0")
	closedEmbedded := e.TCPAddr()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// A listener whose backlog is never accepted: the TCP handshake
	// succeeds but no Iggy answer ever comes.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	addrs := []string{refused, closedEmbedded, "192.0.2.1:8090", silent.Addr().String()}
	const connectTimeout = 300 * time.Millisecond
	start := time.Now()
	r, err := remote.New(t.Context(), remote.Config{Addresses: addrs, Username: "iggy", Password: "iggy", ConnectTimeout: connectTimeout})
	took := time.Since(start)
	if err == nil {
		_ = r.Close()
		t.Fatal("connected to an unreachable address list")
	}
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("err = %v, want core.ErrUnavailable", err)
	}
	if limit := time.Duration(len(addrs))*connectTimeout + time.Second; took > limit {
		t.Errorf("failed after %s, want within %s (%d addresses x %s)", took, limit, len(addrs), connectTimeout)
	}
	t.Logf("%d unreachable addresses failed after %s: %v", len(addrs), took, err)
}

// Shape of the send benchmark, as in connector/embedded/bench_test.go.
const (
	benchBatch   = 100
	benchPayload = 256
)

func benchTopic(b *testing.B, br core.Broker, stream string) []core.Message {
	ctx := context.Background()
	if _, err := br.CreateStream(ctx, stream); err != nil {
		b.Fatal(err)
	}
	if _, err := br.CreateTopic(ctx, stream, "t", core.TopicConfig{Partitions: 1}); err != nil {
		b.Fatal(err)
	}
	batch := make([]core.Message, benchBatch)
	payload := make([]byte, benchPayload)
	for i := range batch {
		batch[i].Payload = payload
	}
	return batch
}

func p99(lat []time.Duration) time.Duration {
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

// BenchmarkRemoteSend sends batches of 100 messages of 256 bytes through
// the remote connector to an embedded broker over loopback TCP, one batch
// at a time (fsync interval): messages per second and the p99 latency of
// one batch.
func BenchmarkRemoteSend(b *testing.B) {
	e := openEmbedded(b, b.TempDir(), "127.0.0.1:0")
	r := newRemote(b, rootConfig(e.TCPAddr()))
	batch := benchTopic(b, r, "bench")
	ctx := context.Background()
	lat := make([]time.Duration, 0, 1<<14)
	b.SetBytes(benchBatch * benchPayload)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		t0 := time.Now()
		if err := r.Send(ctx, "bench", "t", core.ToPartition(0), batch); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.ReportMetric(float64(len(lat)*benchBatch)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(p99(lat).Microseconds()), "p99-us/batch")
}

// BenchmarkSendSideBySide alternates the same batch (100 x 256 B) between
// the embedded connector in-process and the remote connector over loopback
// to the same embedded broker, so both run under the same conditions, and
// reports each one's messages per second and p99 batch latency and the
// in-process / TCP throughput ratio.
func BenchmarkSendSideBySide(b *testing.B) {
	e := openEmbedded(b, b.TempDir(), "127.0.0.1:0")
	r := newRemote(b, rootConfig(e.TCPAddr()))
	batch := benchTopic(b, e, "in-process")
	benchTopic(b, r, "tcp")
	ctx := context.Background()
	var inLat, tcpLat []time.Duration
	var inTotal, tcpTotal time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := e.Send(ctx, "in-process", "t", core.ToPartition(0), batch); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := r.Send(ctx, "tcp", "t", core.ToPartition(0), batch); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		inLat, tcpLat = append(inLat, t1.Sub(t0)), append(tcpLat, t2.Sub(t1))
		inTotal += t1.Sub(t0)
		tcpTotal += t2.Sub(t1)
	}
	inRate := float64(len(inLat)*benchBatch) / inTotal.Seconds()
	tcpRate := float64(len(tcpLat)*benchBatch) / tcpTotal.Seconds()
	b.ReportMetric(inRate, "embedded-msgs/s")
	b.ReportMetric(tcpRate, "remote-msgs/s")
	b.ReportMetric(float64(p99(inLat).Microseconds()), "embedded-p99-us")
	b.ReportMetric(float64(p99(tcpLat).Microseconds()), "remote-p99-us")
	b.ReportMetric(inRate/tcpRate, "x-faster-in-process")
}

package remote

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// capture records the payload of every request with the given code and
// answers it with status.
type capture struct {
	mu       sync.Mutex
	payloads [][]byte
}

func (c *capture) handler(code uint32, status uint32) func(uint32, []byte) (uint32, []byte, bool) {
	return func(got uint32, p []byte) (uint32, []byte, bool) {
		if got != code {
			return 3, nil, false
		}
		c.mu.Lock()
		c.payloads = append(c.payloads, append([]byte(nil), p...))
		c.mu.Unlock()
		return status, nil, false
	}
}

func (c *capture) last(t *testing.T) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.payloads) == 0 {
		t.Fatal("no request captured")
	}
	return c.payloads[len(c.payloads)-1]
}

// reader walks a captured request.
type reader struct {
	t *testing.T
	b []byte
}

func (r *reader) take(n int) []byte {
	r.t.Helper()
	if len(r.b) < n {
		r.t.Fatalf("request truncated: want %d more bytes, have %d", n, len(r.b))
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
func (r *reader) u8() byte    { return r.take(1)[0] }
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *reader) ident() string {
	r.t.Helper()
	if k := r.u8(); k != 2 {
		r.t.Fatalf("identifier kind %d, want 2 (name)", k)
	}
	return string(r.take(int(r.u8())))
}

func TestSendRequestBytes(t *testing.T) {
	f := newFakeServer(t)
	var c capture
	f.handle = c.handler(101, 0)
	b := newTestBroker(t, testConfig(f.addr))
	id := [16]byte{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xbb}
	origin := time.UnixMicro(1_650_000_000_000_000)
	hs := core.Headers{core.StringHeader("tenant_id", "t1"), {Key: "raw", Kind: core.HeaderRaw, Value: []byte{0, 1}}}
	err := b.Send(t.Context(), "orders", "events", core.ByKey([]byte("tenant-1")), []core.Message{
		{ID: id, OriginTimestamp: origin, Headers: hs, Payload: []byte("first")},
		{Payload: []byte("second!")},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := &reader{t: t, b: c.last(t)}
	metaLen := r.u32()
	meta := &reader{t: t, b: r.take(int(metaLen))}
	if s, tp := meta.ident(), meta.ident(); s != "orders" || tp != "events" {
		t.Fatalf("stream/topic %q/%q", s, tp)
	}
	if kind, n := meta.u8(), meta.u8(); kind != 3 || string(meta.take(int(n))) != "tenant-1" {
		t.Fatalf("partitioning kind %d", kind)
	}
	if n := meta.u32(); n != 2 {
		t.Fatalf("messages count %d", n)
	}
	r.take(2 * 16) // index
	type msg struct {
		id       []byte
		origin   uint64
		hdr, pay []byte
	}
	var got []msg
	for len(r.b) > 0 {
		h := r.take(64)
		hl := binary.LittleEndian.Uint32(h[48:52])
		pl := binary.LittleEndian.Uint32(h[52:56])
		got = append(got, msg{id: h[8:24], origin: binary.LittleEndian.Uint64(h[40:48]), pay: r.take(int(pl)), hdr: r.take(int(hl))})
	}
	if len(got) != 2 {
		t.Fatalf("%d messages on the wire", len(got))
	}
	if !bytes.Equal(got[0].id, id[:]) || got[0].origin != uint64(origin.UnixMicro()) || string(got[0].pay) != "first" {
		t.Fatalf("message 0 on the wire: %+v", got[0])
	}
	dec, err := DecodeHeaders(got[0].hdr)
	if err != nil || len(dec) != 2 || dec.Value("tenant_id") != "t1" || !bytes.Equal(dec[1].Value, []byte{0, 1}) || dec[1].Kind != core.HeaderRaw {
		t.Fatalf("headers on the wire: %+v, %v", dec, err)
	}
	if !bytes.Equal(got[1].id, make([]byte, 16)) || got[1].origin == 0 || string(got[1].pay) != "second!" || len(got[1].hdr) != 0 {
		t.Fatalf("message 1 on the wire: %+v", got[1])
	}
}

func TestCreateTopicRequestBytes(t *testing.T) {
	f := newFakeServer(t)
	var c capture
	f.handle = c.handler(302, 2013)
	b := newTestBroker(t, testConfig(f.addr))
	_, err := b.CreateTopic(t.Context(), "s", "t", core.TopicConfig{Partitions: 3, MessageExpiry: 2 * time.Hour, MaxSize: 5 << 30})
	if !errorsIs(err, core.ErrAlreadyExists) {
		t.Fatalf("CreateTopic: %v", err)
	}
	r := &reader{t: t, b: c.last(t)}
	if s := r.ident(); s != "s" {
		t.Fatalf("stream %q", s)
	}
	parts, comp, expiry, maxSize, rf := r.u32(), r.u8(), r.u64(), r.u64(), r.u8()
	if parts != 3 || comp != 1 || expiry != uint64((2*time.Hour).Microseconds()) || maxSize != 5<<30 || rf != 0 {
		t.Fatalf("create topic fields: partitions %d compression %d expiry %d max %d rf %d", parts, comp, expiry, maxSize, rf)
	}
	if name := string(r.take(int(r.u8()))); name != "t" {
		t.Fatalf("name %q", name)
	}
}

func TestPollRequestBytes(t *testing.T) {
	f := newFakeServer(t)
	var c capture
	f.handle = c.handler(100, 1009)
	b := newTestBroker(t, testConfig(f.addr))
	_, err := b.Poll(t.Context(), core.PollRequest{Stream: "s", Topic: "t", Partition: 3,
		Consumer: core.Consumer{Kind: core.SingleConsumer, Name: "worker"}, Strategy: core.FromOffset(42), Count: 10, AutoCommit: true})
	if !errorsIs(err, core.ErrNotFound) {
		t.Fatalf("Poll: %v", err)
	}
	r := &reader{t: t, b: c.last(t)}
	if kind := r.u8(); kind != 1 {
		t.Fatalf("consumer kind %d", kind)
	}
	if name := r.ident(); name != "worker" {
		t.Fatalf("consumer %q", name)
	}
	if s, tp := r.ident(), r.ident(); s != "s" || tp != "t" {
		t.Fatalf("stream/topic %q/%q", s, tp)
	}
	if flag, p := r.u8(), r.u32(); flag != 1 || p != 3 {
		t.Fatalf("partition flag %d id %d", flag, p)
	}
	if kind, v := r.u8(), r.u64(); kind != 1 || v != 42 {
		t.Fatalf("strategy %d %d", kind, v)
	}
	if n, ac := r.u32(), r.u8(); n != 10 || ac != 1 {
		t.Fatalf("count %d auto-commit %d", n, ac)
	}
}

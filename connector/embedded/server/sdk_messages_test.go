package server

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/OneOfOne/xxhash"
	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/google/uuid"
	"github.com/zeebo/xxh3"
)

func xxh32Of(s string) uint32 { return xxhash.ChecksumString32(s) }

func TestXXH32Vectors(t *testing.T) {
	if got := xxhash.Checksum32(nil); got != 0x02CC5D05 {
		t.Fatalf("XXH32(\"\") = %#x", got)
	}
	if got := xxh32Of("abc"); got != 0x32D153FF {
		t.Fatalf("XXH32(\"abc\") = %#x", got)
	}
}

// allHeaderKinds returns one user header of every kind the SDK knows.
func allHeaderKinds() []iggcon.HeaderEntry {
	le := binary.LittleEndian
	val := func(k iggcon.HeaderKind, b []byte) iggcon.HeaderValue { return iggcon.HeaderValue{Kind: k, Value: b} }
	f32 := le.AppendUint32(nil, math.Float32bits(1.5))
	f64 := le.AppendUint64(nil, math.Float64bits(-2.25))
	values := []iggcon.HeaderValue{
		val(iggcon.Raw, []byte{0, 1, 2, 255}),
		val(iggcon.String, []byte("tenant-42")),
		val(iggcon.Bool, []byte{1}),
		val(iggcon.Int8, []byte{0x80}),
		val(iggcon.Int16, le.AppendUint16(nil, 0xfffe)),
		val(iggcon.Int32, le.AppendUint32(nil, 0x7fffffff)),
		val(iggcon.Int64, le.AppendUint64(nil, 1<<62)),
		val(iggcon.Int128, bytes.Repeat([]byte{0xab}, 16)),
		val(iggcon.Uint8, []byte{200}),
		val(iggcon.Uint16, le.AppendUint16(nil, 65535)),
		val(iggcon.Uint32, le.AppendUint32(nil, 4_000_000_000)),
		val(iggcon.Uint64, le.AppendUint64(nil, math.MaxUint64)),
		val(iggcon.Uint128, bytes.Repeat([]byte{0xcd}, 16)),
		val(iggcon.Float, f32),
		val(iggcon.Double, f64),
	}
	out := make([]iggcon.HeaderEntry, 0, len(values)+1)
	for i, v := range values {
		k, err := iggcon.NewHeaderKeyString("key-" + itoa(i))
		if err != nil {
			panic(err)
		}
		out = append(out, iggcon.HeaderEntry{Key: k, Value: v})
	}
	// Keys carry their own kind too.
	out = append(out, iggcon.HeaderEntry{Key: iggcon.NewHeaderKeyInt32(-7), Value: val(iggcon.String, []byte("int key"))})
	return out
}

func TestSDKMessagesRoundTrip(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 1)

	headers := allHeaderKinds()
	id1 := uuid.New()
	before := uint64(time.Now().UnixMicro())
	batch := []iggcon.IggyMessage{
		must(iggcon.NewIggyMessage([]byte("with headers and id"), iggcon.WithID(id1), iggcon.WithUserHeaders(headers)))(t),
		must(iggcon.NewIggyMessage([]byte("no id: server assigns one")))(t),
		must(iggcon.NewIggyMessage(bytes.Repeat([]byte{0x5a}, 100_000)))(t),
	}
	batch[1].Header.OriginTimestamp = 12345
	ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), batch))
	after := uint64(time.Now().UnixMicro())

	got := must(cli.PollMessages(nid(s), nid(tp), iggcon.DefaultConsumer(), iggcon.FirstPollingStrategy(), 10, false, ptr(uint32(0))))(t)
	if len(got.Messages) != 3 {
		t.Fatalf("%d messages", len(got.Messages))
	}
	m0, m1, m2 := got.Messages[0], got.Messages[1], got.Messages[2]
	if m0.Header.Id != iggcon.MessageID(id1) {
		t.Fatalf("id %x, want %x", m0.Header.Id, id1)
	}
	if m1.Header.Id == (iggcon.MessageID{}) {
		t.Fatal("server did not assign an id")
	}
	if m1.Header.OriginTimestamp != 12345 {
		t.Fatalf("origin timestamp %d", m1.Header.OriginTimestamp)
	}
	for i, m := range got.Messages {
		if m.Header.Offset != uint64(i) {
			t.Fatalf("message %d offset %d", i, m.Header.Offset)
		}
		if m.Header.Timestamp < before || m.Header.Timestamp > after || m.Header.Timestamp != m0.Header.Timestamp {
			t.Fatalf("message %d timestamp %d not the batch's [%d, %d]", i, m.Header.Timestamp, before, after)
		}
		// The checksum is XXH3-64 of everything after the checksum field.
		raw := append(m.Header.ToBytes(), m.Payload...)
		raw = append(raw, m.UserHeaders...)
		if sum := xxh3.Hash(raw[8:]); sum != m.Header.Checksum {
			t.Fatalf("message %d checksum %#x, want %#x", i, m.Header.Checksum, sum)
		}
	}
	if string(m0.Payload) != "with headers and id" || !bytes.Equal(m2.Payload, batch[2].Payload) {
		t.Fatal("payload changed")
	}
	if !bytes.Equal(m0.UserHeaders, iggcon.GetHeadersBytes(headers)) {
		t.Fatal("user header bytes changed")
	}
	back, err := iggcon.DeserializeHeaders(m0.UserHeaders)
	if err != nil || len(back) != len(headers) {
		t.Fatalf("headers: %d, %v", len(back), err)
	}
	for i := range headers {
		if back[i].Key.Kind != headers[i].Key.Kind || !bytes.Equal(back[i].Key.Value, headers[i].Key.Value) ||
			back[i].Value.Kind != headers[i].Value.Kind || !bytes.Equal(back[i].Value.Value, headers[i].Value.Value) {
			t.Fatalf("header %d: %+v, want %+v", i, back[i], headers[i])
		}
	}
	if len(m1.UserHeaders) != 0 || m1.Header.UserHeaderLength != 0 {
		t.Fatal("headers appeared on a message without them")
	}
}

func TestSDKMessagesKeyPartitioning(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	const parts = 7
	s, tp := mkTopic(t, cli, "s", "t", parts)
	keys := []string{"tenant-a", "tenant-b", "tenant-c", "abc", "x", "a-much-longer-tenant-identifier-0001"}
	for _, k := range keys {
		pk, err := iggcon.EntityIdString(k)
		ok(t, err)
		ok(t, cli.SendMessages(nid(s), nid(tp), pk, []iggcon.IggyMessage{must(iggcon.NewIggyMessage([]byte(k)))(t)}))
	}
	seen := map[string]uint32{}
	for p := uint32(0); p < parts; p++ {
		got := must(cli.PollMessages(nid(s), nid(tp), iggcon.DefaultConsumer(), iggcon.FirstPollingStrategy(), 100, false, ptr(p)))(t)
		for _, m := range got.Messages {
			seen[string(m.Payload)] = p
		}
	}
	for _, k := range keys {
		want := xxh32Of(k) % parts
		if p, found := seen[k]; !found || p != want {
			t.Errorf("key %q on partition %d (found %v), want XXH32 %% %d = %d", k, p, found, parts, want)
		}
	}
	// "abc" by the fact sheet's vector: 0x32D153FF % 7.
	if seen["abc"] != 0x32D153FF%parts {
		t.Fatalf("abc on %d", seen["abc"])
	}
}

func TestSDKBalancedPartitioningRoundRobin(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 3)
	for i := range 6 {
		ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.None(), msgs(t, "b"+itoa(i), 1)))
	}
	for p := uint32(0); p < 3; p++ {
		got := must(cli.PollMessages(nid(s), nid(tp), iggcon.DefaultConsumer(), iggcon.FirstPollingStrategy(), 10, false, ptr(p)))(t)
		if len(got.Messages) != 2 || string(got.Messages[0].Payload) != "b"+itoa(int(p))+"-0" ||
			string(got.Messages[1].Payload) != "b"+itoa(int(p)+3)+"-0" {
			t.Fatalf("partition %d: %d messages", p, len(got.Messages))
		}
	}
}

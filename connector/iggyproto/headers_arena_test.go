package iggyproto

import (
	"bytes"
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

// benchHeaders is the header set transport writes on every event (the
// well-known keys) plus one application header.
func benchHeaders() core.Headers {
	return core.Headers{
		core.StringHeader("tenant_id", "8b5c2f3e-0000-4000-8000-000000000001"),
		core.StringHeader("event_type", "order.created"),
		core.StringHeader("schema_version", "1"),
		core.StringHeader("content_type", "application/cbor"),
		core.StringHeader("correlation_id", "0192d3e4-5f60-7a8b-9c0d-1e2f3a4b5c6d"),
		core.StringHeader("causation_id", "0192d3e4-5f60-7a8b-9c0d-1e2f3a4b5c6e"),
		core.StringHeader("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
		core.StringHeader("app_region", "eu-west-1"),
	}
}

// BenchmarkDecodeUserHeaders decodes one event's header block.
func BenchmarkDecodeUserHeaders(b *testing.B) {
	blk, err := AppendUserHeaders(nil, benchHeaders())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeUserHeaders(blk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeCoreMessages100 decodes a poll result of 100 events
// (200-byte payloads, the headers above); ns/op and allocs/op are per batch.
func BenchmarkDecodeCoreMessages100(b *testing.B) {
	var buf []byte
	for range 100 {
		var err error
		buf, err = AppendCoreMessage(buf, core.Message{Payload: make([]byte, 200), Headers: benchHeaders()})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ms, err := DecodeCoreMessages(buf, 100)
		if err != nil || len(ms) != 100 {
			b.Fatal(len(ms), err)
		}
	}
}

// TestDecodeUserHeadersOwnsMemory checks the result does not alias the
// input, interned and other keys decode alike, and appending to one value
// or to the whole result never overwrites anything.
func TestDecodeUserHeadersOwnsMemory(t *testing.T) {
	hs := benchHeaders()
	hs = append(hs, core.StringHeader("x", "yz"), core.Uint64Header("tenant_id", 9))
	blk, err := AppendUserHeaders(nil, hs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeUserHeaders(blk)
	if err != nil {
		t.Fatal(err)
	}
	for i := range blk {
		blk[i] ^= 0xff
	}
	checkHeaders(t, got, hs)
	_ = append(got[0].Value, "overwrite?"...)
	_ = append(got, core.Header{Key: "k"})
	checkHeaders(t, got, hs)
}

func checkHeaders(t *testing.T, got, want core.Headers) {
	t.Helper()
	if len(got) != len(want) || cap(got) != len(got) {
		t.Fatalf("len %d cap %d, want %d", len(got), cap(got), len(want))
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].Kind != want[i].Kind || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Errorf("header %d: got %+v, want %+v", i, got[i], want[i])
		}
		if cap(got[i].Value) != len(got[i].Value) {
			t.Errorf("header %d: value cap %d > len %d", i, cap(got[i].Value), len(got[i].Value))
		}
	}
}

// TestDecodeCoreMessagesSharedHeaders decodes a batch whose messages have
// different headers (none, well-known, unknown keys) and checks each one,
// after scribbling over the input's header bytes.
func TestDecodeCoreMessagesSharedHeaders(t *testing.T) {
	sets := []core.Headers{
		nil,
		benchHeaders(),
		{core.StringHeader("a", "1"), core.StringHeader("bb", "22")},
		{core.StringHeader("dlq_reason", "handler"), core.StringHeader("ccc", "3")},
	}
	var buf []byte
	for i, hs := range sets {
		var err error
		buf, err = AppendCoreMessage(buf, core.Message{Payload: []byte{byte(i)}, Headers: hs})
		if err != nil {
			t.Fatal(err)
		}
	}
	ms, err := DecodeCoreMessages(buf, len(sets))
	if err != nil || len(ms) != len(sets) {
		t.Fatalf("%d messages, %v", len(ms), err)
	}
	// Scribble over the header blocks (payloads alias buf by contract).
	_ = WalkMessages(buf, func(v MessageView) error {
		uh := v.UserHeaders()
		for i := range uh {
			uh[i] = 0
		}
		return nil
	})
	for i, hs := range sets {
		if len(hs) == 0 {
			if ms[i].Headers != nil {
				t.Errorf("message %d: headers %+v, want none", i, ms[i].Headers)
			}
			continue
		}
		checkHeaders(t, ms[i].Headers, hs)
		if ms[i].Payload[0] != byte(i) {
			t.Errorf("message %d: payload %v", i, ms[i].Payload)
		}
	}
}

// TestDecodeCoreMessagesBadHeaders returns the messages before a message
// with a bad header block, and an error naming its offset.
func TestDecodeCoreMessagesBadHeaders(t *testing.T) {
	buf, _ := AppendCoreMessage(nil, core.Message{Payload: []byte("p"), Headers: core.Headers{core.StringHeader("k", "v")}})
	buf = AppendMessage(buf, [16]byte{1}, 7, []byte("q"), []byte{2, 1, 0, 0, 0})
	ms, err := DecodeCoreMessages(buf, 2)
	if err == nil || len(ms) != 1 || ms[0].Headers.Value("k") != "v" {
		t.Fatalf("got %d messages, %v", len(ms), err)
	}
}

// FuzzDecodeCoreMessages checks the shared-buffer decoder against decoding
// each message's headers on its own.
func FuzzDecodeCoreMessages(f *testing.F) {
	b, _ := AppendCoreMessage(nil, core.Message{Payload: []byte("p"), Headers: benchHeaders()})
	b, _ = AppendCoreMessage(b, core.Message{Payload: []byte("q"), Headers: core.Headers{core.StringHeader("zz", "1")}})
	f.Add(b)
	f.Add(AppendMessage(nil, [16]byte{1}, 2, []byte("payload"), []byte("headers")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, buf []byte) {
		ms, err := DecodeCoreMessages(buf, -1)
		var want []core.Headers
		werr := WalkMessages(buf, func(v MessageView) error {
			hs, err := DecodeUserHeaders(v.UserHeaders())
			if err != nil {
				return err
			}
			want = append(want, hs)
			return nil
		})
		if (err == nil) != (werr == nil) || len(ms) != len(want) {
			t.Fatalf("got %d messages, %v; reference %d, %v", len(ms), err, len(want), werr)
		}
		for i := range want {
			if len(ms[i].Headers) != len(want[i]) {
				t.Fatalf("message %d: %d headers, want %d", i, len(ms[i].Headers), len(want[i]))
			}
			for j, h := range want[i] {
				g := ms[i].Headers[j]
				if g.Key != h.Key || g.Kind != h.Kind || !bytes.Equal(g.Value, h.Value) {
					t.Fatalf("message %d header %d: %+v, want %+v", i, j, g, h)
				}
			}
		}
	})
}

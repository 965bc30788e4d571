package iggywm_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	iggywm "github.com/rustok/rustok-iggy/adapters/watermill"
	"github.com/rustok/rustok-iggy/core"
)

// trickyMessages are messages whose UUID, metadata or payload do not fit
// plain Iggy headers, next to ordinary ones.
func trickyMessages() map[string]*message.Message {
	long := strings.Repeat("v", 300)
	mk := func(id string, payload []byte, md map[string]string) *message.Message {
		m := message.NewMessage(id, payload)
		maps.Copy(m.Metadata, md)
		return m
	}
	many := map[string]string{}
	for i := range 12 {
		many[strings.Repeat(string(rune('a'+i)), 3)] = strings.Repeat(string(rune('A'+i)), 290)
	}
	return map[string]*message.Message{
		"plain":          mk("6ba7b810-9dad-11d1-80b4-00c04fd430c8", []byte("hello"), map[string]string{"k": "v", "tenant": "t1"}),
		"empty payload":  mk("6ba7b811-9dad-11d1-80b4-00c04fd430c8", []byte{}, nil),
		"nil payload":    mk("id-nil", nil, map[string]string{"a": "b"}),
		"zero payload":   mk("id-zero", []byte{0}, nil), // the placeholder byte itself, for real
		"empty uuid":     mk("", []byte("x"), nil),
		"long uuid":      mk(strings.Repeat("u", 256), []byte("x"), nil),
		"non-uuid id":    mk("order-17", []byte("x"), nil),
		"empty value":    mk("id", []byte("x"), map[string]string{"empty": ""}),
		"long value":     mk("id", []byte("x"), map[string]string{"long": long}),
		"empty key":      mk("id", []byte("x"), map[string]string{"": "v"}),
		"long key":       mk("id", []byte("x"), map[string]string{strings.Repeat("k", 256): "v"}),
		"reserved keys":  mk("id", []byte("x"), map[string]string{iggywm.HeaderUUID: "spoof", iggywm.HeaderExtPrefix + "0": "spoof", "_watermill_other": "x"}),
		"non-utf8 value": mk("id", []byte("x"), map[string]string{"bin": "\xff\xfe\x00"}),
		"non-utf8 key":   mk("id", []byte("x"), map[string]string{"\xff": "v"}),
		"non-utf8 uuid":  mk("\xc3\x28", []byte("x"), nil),
		"unicode":        mk("id", []byte("x"), map[string]string{"ключ": "значение ✓"}),
		"many chunks":    mk("id", []byte("x"), many),
		"binary payload": mk("id", []byte{0, 1, 2, 255}, map[string]string{"k": "v"}),
	}
}

// equalMessage reports how got differs from want in UUID, metadata and
// payload bytes ("" when equal; nil and empty payloads are equal).
func equalMessage(want, got *message.Message) string {
	switch {
	case got.UUID != want.UUID:
		return "UUID " + quote(got.UUID) + ", want " + quote(want.UUID)
	case !bytes.Equal(got.Payload, want.Payload):
		return "payload " + hex.EncodeToString(got.Payload) + ", want " + hex.EncodeToString(want.Payload)
	case len(got.Metadata) != len(want.Metadata) || !maps.Equal(got.Metadata, want.Metadata):
		return "metadata differs"
	}
	return ""
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return "\"" + s + "\""
}

// checkHeaders fails t unless every header is one Iggy accepts.
func checkHeaders(t *testing.T, hs core.Headers) {
	t.Helper()
	for _, h := range hs {
		if n := len(h.Key); n < 1 || n > 255 {
			t.Errorf("header key %q is %d bytes", h.Key, n)
		}
		if n := len(h.Value); n < 1 || n > 255 {
			t.Errorf("header %q value is %d bytes", h.Key, n)
		}
	}
}

func TestDefaultMarshalerRoundTrip(t *testing.T) {
	var m iggywm.DefaultMarshaler
	for name, msg := range trickyMessages() {
		t.Run(name, func(t *testing.T) {
			im, err := m.Marshal("topic", msg)
			if err != nil {
				t.Fatal(err)
			}
			checkHeaders(t, im.Headers)
			if len(im.Payload) == 0 {
				t.Error("empty Iggy payload (the SDKs refuse one)")
			}
			got, err := m.Unmarshal(im)
			if err != nil {
				t.Fatal(err)
			}
			if d := equalMessage(msg, got); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestDefaultMarshalerLayout pins the wire form: what fits travels as
// plain headers, readable by any Iggy client.
func TestDefaultMarshalerLayout(t *testing.T) {
	msg := message.NewMessage("6ba7b810-9dad-11d1-80b4-00c04fd430c8", []byte("hi"))
	msg.Metadata.Set("z", "last")
	msg.Metadata.Set("a", "first")
	msg.Metadata.Set("bin", "\xff")
	im, err := iggywm.DefaultMarshaler{}.Marshal("t", msg)
	if err != nil {
		t.Fatal(err)
	}
	want := core.Headers{
		core.StringHeader(iggywm.HeaderUUID, msg.UUID),
		core.StringHeader("a", "first"),
		{Key: "bin", Kind: core.HeaderRaw, Value: []byte{0xff}},
		core.StringHeader("z", "last"),
	}
	if len(im.Headers) != len(want) {
		t.Fatalf("headers %v, want %v", im.Headers, want)
	}
	for i := range want {
		if im.Headers[i].Key != want[i].Key || im.Headers[i].Kind != want[i].Kind || !bytes.Equal(im.Headers[i].Value, want[i].Value) {
			t.Errorf("header %d = %+v, want %+v", i, im.Headers[i], want[i])
		}
	}
	// The UUID is also the Iggy message id, as the transport stores event ids.
	wantID := core.MessageIDFromUUID([16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8})
	if im.ID != wantID {
		t.Errorf("ID %x, want %x", im.ID, wantID)
	}
	if string(im.Payload) != "hi" {
		t.Errorf("payload %q", im.Payload)
	}
}

// TestExtensionBlockGolden pins the extension block's bytes.
func TestExtensionBlockGolden(t *testing.T) {
	msg := message.NewMessage("", nil)
	msg.Metadata.Set("e", "")
	im, err := iggywm.DefaultMarshaler{}.Marshal("t", msg)
	if err != nil {
		t.Fatal(err)
	}
	// version 1, flags 3 (empty payload, UUID), UUID "" (u32 0),
	// 1 entry: key "e" (u32 1, 'e'), value "" (u32 0).
	const golden = "01" + "03" + "00000000" + "01000000" + "01000000" + "65" + "00000000"
	if len(im.Headers) != 1 || im.Headers[0].Key != iggywm.HeaderExtPrefix+"0" || im.Headers[0].Kind != core.HeaderRaw {
		t.Fatalf("headers %+v, want one raw %s0", im.Headers, iggywm.HeaderExtPrefix)
	}
	if got := hex.EncodeToString(im.Headers[0].Value); got != golden {
		t.Errorf("block %s, want %s", got, golden)
	}
	if !bytes.Equal(im.Payload, []byte{0}) {
		t.Errorf("payload %x, want the placeholder 00", im.Payload)
	}
	back, err := iggywm.DefaultMarshaler{}.Unmarshal(core.Message{
		Payload: []byte{0},
		Headers: core.Headers{{Key: iggywm.HeaderExtPrefix + "0", Kind: core.HeaderRaw, Value: mustHex(t, golden)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := equalMessage(msg, back); d != "" {
		t.Error(d)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUnmarshalForeign reads a message another producer wrote (the
// rustok-iggy transport, an Iggy CLI): no UUID header, typed headers.
func TestUnmarshalForeign(t *testing.T) {
	id := core.MessageIDFromUUID([16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8})
	got, err := iggywm.DefaultMarshaler{}.Unmarshal(core.Message{
		ID:      id,
		Payload: []byte(`{"x":1}`),
		Headers: core.Headers{
			core.StringHeader("tenant_id", "t1"),
			core.Uint64Header("attempt", 3),
			core.StringHeader("tenant_id", "second wins not"),
			core.StringHeader("_watermill_future", "ignored"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := message.NewMessage("6ba7b810-9dad-11d1-80b4-00c04fd430c8", []byte(`{"x":1}`))
	want.Metadata = message.Metadata{"tenant_id": "t1", "attempt": "3"}
	if d := equalMessage(want, got); d != "" {
		t.Errorf("%s: got %+v", d, got.Metadata)
	}
	noID, err := iggywm.DefaultMarshaler{}.Unmarshal(core.Message{Payload: []byte("x")})
	if err != nil || noID.UUID != "" {
		t.Errorf("zero id: UUID %q, err %v; want empty, nil", noID.UUID, err)
	}
}

func TestUnmarshalMalformed(t *testing.T) {
	ext := func(i, hexBlock string) core.Header {
		return core.Header{Key: iggywm.HeaderExtPrefix + i, Kind: core.HeaderRaw, Value: mustHex(t, hexBlock)}
	}
	for name, hs := range map[string]core.Headers{
		"bad version":       {ext("0", "020000000000")},
		"unknown flag":      {ext("0", "018000000000")},
		"short":             {ext("0", "01")},
		"truncated uuid":    {ext("0", "010205000000616263")},
		"no count":          {ext("0", "010000")},
		"count too large":   {ext("0", "0100ffffffff")},
		"truncated key":     {ext("0", "01000100000005000000")},
		"truncated value":   {ext("0", "0100010000000100000061050000")},
		"trailing bytes":    {ext("0", "01000000000000")},
		"missing chunk":     {ext("1", "010000000000"), core.StringHeader("k", "v")},
		"duplicate chunk":   {ext("0", "0100"), ext("0", "00000000")},
		"bad index":         {ext("01", "010000000000")},
		"negative index":    {ext("-1", "010000000000")},
		"huge index":        {ext("999999", "010000000000")},
		"non-digit index":   {ext("x", "010000000000")},
		"index past header": {ext("3", "010000000000")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := iggywm.DefaultMarshaler{}.Unmarshal(core.Message{Payload: []byte("x"), Headers: hs})
			if !errors.Is(err, iggywm.ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestExtensionSplitAcrossChunks: a block cut into chunks decodes in any
// header order.
func TestExtensionSplitAcrossChunks(t *testing.T) {
	msg := trickyMessages()["many chunks"]
	im, err := iggywm.DefaultMarshaler{}.Marshal("t", msg)
	if err != nil {
		t.Fatal(err)
	}
	chunks := 0
	for _, h := range im.Headers {
		if strings.HasPrefix(h.Key, iggywm.HeaderExtPrefix) {
			chunks++
		}
	}
	if chunks < 10 {
		t.Fatalf("%d chunks, want the block spread over at least 10", chunks)
	}
	for i, j := 0, len(im.Headers)-1; i < j; i, j = i+1, j-1 {
		im.Headers[i], im.Headers[j] = im.Headers[j], im.Headers[i]
	}
	got, err := iggywm.DefaultMarshaler{}.Unmarshal(im)
	if err != nil {
		t.Fatal(err)
	}
	if d := equalMessage(msg, got); d != "" {
		t.Error(d)
	}
}

func TestPartitioners(t *testing.T) {
	msg := message.NewMessage("id", []byte("x"))
	if p, _ := iggywm.Balanced()("t", msg); p.Kind != core.PartitionBalanced {
		t.Errorf("Balanced: %+v", p)
	}
	by := iggywm.ByMetadata("tenant")
	if p, _ := by("t", msg); p.Kind != core.PartitionBalanced {
		t.Errorf("ByMetadata without the key: %+v, want balanced", p)
	}
	msg.Metadata.Set("tenant", "t1")
	if p, _ := by("t", msg); p.Kind != core.PartitionByKey || string(p.Key) != "t1" {
		t.Errorf("ByMetadata: %+v, want key t1", p)
	}
	long := strings.Repeat("x", 256)
	msg.Metadata.Set("tenant", long)
	p1, _ := by("t", msg)
	msg.Metadata.Set("tenant", long+"y")
	p2, _ := by("t", msg)
	if p1.Kind != core.PartitionByKey || len(p1.Key) != 32 || bytes.Equal(p1.Key, p2.Key) {
		t.Errorf("long keys: %+v, %+v; want distinct 32-byte digests", p1, p2)
	}
}

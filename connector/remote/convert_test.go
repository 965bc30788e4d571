package remote

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/core"
)

func allKindsHeaders() core.Headers {
	le := binary.LittleEndian
	return core.Headers{
		{Key: "raw", Kind: core.HeaderRaw, Value: []byte{0, 1, 2, 0xff}},
		core.StringHeader("str", "héllo"),
		{Key: "bool", Kind: core.HeaderBool, Value: []byte{1}},
		{Key: "i8", Kind: core.HeaderInt8, Value: []byte{0x80}},
		{Key: "i16", Kind: core.HeaderInt16, Value: le.AppendUint16(nil, 0xfffe)},
		{Key: "i32", Kind: core.HeaderInt32, Value: le.AppendUint32(nil, 1<<31)},
		{Key: "i64", Kind: core.HeaderInt64, Value: le.AppendUint64(nil, 1<<63)},
		{Key: "i128", Kind: core.HeaderInt128, Value: bytes.Repeat([]byte{0xab}, 16)},
		{Key: "u8", Kind: core.HeaderUint8, Value: []byte{7}},
		{Key: "u16", Kind: core.HeaderUint16, Value: le.AppendUint16(nil, 65535)},
		{Key: "u32", Kind: core.HeaderUint32, Value: le.AppendUint32(nil, 42)},
		core.Uint64Header("u64", math.MaxUint64),
		{Key: "u128", Kind: core.HeaderUint128, Value: bytes.Repeat([]byte{1}, 16)},
		{Key: "f32", Kind: core.HeaderFloat32, Value: le.AppendUint32(nil, math.Float32bits(1.5))},
		{Key: "f64", Kind: core.HeaderFloat64, Value: le.AppendUint64(nil, math.Float64bits(-2.25))},
		{Key: "str", Kind: core.HeaderString, Value: []byte("duplicate keys keep their order")},
	}
}

func TestHeadersRoundTripAndSDKCompat(t *testing.T) {
	hs := allKindsHeaders()
	b, err := EncodeHeaders(nil, hs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHeaders(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(hs) {
		t.Fatalf("decoded %d headers, want %d", len(got), len(hs))
	}
	for i := range hs {
		if got[i].Key != hs[i].Key || got[i].Kind != hs[i].Kind || !bytes.Equal(got[i].Value, hs[i].Value) {
			t.Errorf("header %d: got %+v, want %+v", i, got[i], hs[i])
		}
	}
	// The SDK reads our bytes the same way, and writes the same bytes.
	sdk, err := iggcon.DeserializeHeaders(b)
	if err != nil {
		t.Fatalf("SDK cannot read the block: %v", err)
	}
	entries := make([]iggcon.HeaderEntry, len(hs))
	for i, h := range hs {
		if string(sdk[i].Key.Value) != h.Key || int(sdk[i].Value.Kind) != int(h.Kind) || !bytes.Equal(sdk[i].Value.Value, h.Value) {
			t.Errorf("SDK header %d: %+v", i, sdk[i])
		}
		k, _ := iggcon.NewHeaderKeyString(h.Key)
		entries[i] = iggcon.HeaderEntry{Key: k, Value: iggcon.HeaderValue{Kind: iggcon.HeaderKind(h.Kind), Value: h.Value}}
	}
	if sdkBytes := iggcon.GetHeadersBytes(entries); !bytes.Equal(sdkBytes, b) {
		t.Errorf("SDK encoding differs:\n sdk %x\n our %x", sdkBytes, b)
	}
	if got := got.Value("u64"); got != "18446744073709551615" {
		t.Errorf("u64 value text %q", got)
	}
}

func TestEncodeHeadersRejects(t *testing.T) {
	long := string(bytes.Repeat([]byte("k"), 256))
	for name, h := range map[string]core.Header{
		"empty key":   {Key: "", Kind: core.HeaderString, Value: []byte("v")},
		"long key":    {Key: long, Kind: core.HeaderString, Value: []byte("v")},
		"empty value": core.StringHeader("k", ""),
		"long value":  core.StringHeader("k", long),
		"kind 0":      {Key: "k", Kind: 0, Value: []byte("v")},
		"kind 16":     {Key: "k", Kind: 16, Value: []byte("v")},
		"short u64":   {Key: "k", Kind: core.HeaderUint64, Value: []byte{1, 2}},
	} {
		if _, err := EncodeHeaders(nil, core.Headers{h}); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestDecodeHeadersErrors(t *testing.T) {
	good, _ := EncodeHeaders(nil, core.Headers{core.StringHeader("key", "value")})
	cases := map[string][]byte{
		"truncated key length": good[:3],
		"truncated key":        good[:7],
		"truncated value":      good[:len(good)-1],
		"zero key length":      {2, 0, 0, 0, 0},
		"huge key length":      {2, 0xff, 0xff, 0xff, 0xff, 'k'},
		"kind 0":               {0, 1, 0, 0, 0, 'k', 2, 1, 0, 0, 0, 'v'},
		"bad fixed width":      {2, 1, 0, 0, 0, 'k', byte(core.HeaderUint32), 1, 0, 0, 0, 'v'},
	}
	for name, b := range cases {
		_, err := DecodeHeaders(b)
		var he *HeaderError
		if !errors.As(err, &he) || !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: %v, want a *HeaderError", name, err)
		}
	}
	if hs, err := DecodeHeaders(nil); err != nil || hs != nil {
		t.Errorf("empty block: %v %v", hs, err)
	}
}

func FuzzDecodeHeaders(f *testing.F) {
	good, _ := EncodeHeaders(nil, allKindsHeaders())
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{2, 1, 0, 0, 0, 'k', 2, 1, 0, 0, 0, 'v'})
	f.Add([]byte{2, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{9, 1, 0, 0, 0, 'k', 77, 3, 0, 0, 0, 'a', 'b', 'c'})
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := DecodeHeaders(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes when its key kind
		// was a string and its value kind a known one.
		known := true
		for _, h := range hs {
			if h.Kind < core.HeaderRaw || h.Kind > core.HeaderFloat64 {
				known = false
			}
		}
		if !known {
			return
		}
		again, err := EncodeHeaders(nil, hs)
		if err != nil {
			t.Fatalf("decoded headers do not re-encode: %v", err)
		}
		back, err := DecodeHeaders(again)
		if err != nil || len(back) != len(hs) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range hs {
			if back[i].Key != hs[i].Key || back[i].Kind != hs[i].Kind || !bytes.Equal(back[i].Value, hs[i].Value) {
				t.Fatalf("round trip header %d: %+v != %+v", i, back[i], hs[i])
			}
		}
	})
}

func TestToSDKMessages(t *testing.T) {
	now := time.UnixMicro(1_700_000_000_000_000)
	origin := time.UnixMicro(1_600_000_000_000_123)
	payload := []byte("payload")
	id := [16]byte{1, 2, 3}
	out, err := toSDKMessages([]core.Message{
		{ID: id, Payload: payload, OriginTimestamp: origin, Headers: core.Headers{core.StringHeader("a", "b")}},
		{Payload: []byte("x")},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	payload[0] = 'P' // the caller reuses its buffer
	if string(out[0].Payload) != "payload" {
		t.Fatalf("payload aliases the caller's buffer: %q", out[0].Payload)
	}
	if [16]byte(out[0].Header.Id) != id || out[0].Header.OriginTimestamp != uint64(origin.UnixMicro()) ||
		out[0].Header.PayloadLength != 7 || int(out[0].Header.UserHeaderLength) != len(out[0].UserHeaders) {
		t.Fatalf("header %+v", out[0].Header)
	}
	if out[1].Header.Id != (iggcon.MessageID{}) || out[1].Header.OriginTimestamp != uint64(now.UnixMicro()) {
		t.Fatalf("zero id / origin: %+v", out[1].Header)
	}
	if _, err := toSDKMessages(nil, now); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("empty batch: %v", err)
	}
	if _, err := toSDKMessages([]core.Message{{}}, now); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("empty payload: %v", err)
	}
}

func TestDurationsAndSizes(t *testing.T) {
	for d, want := range map[time.Duration]iggcon.Duration{0: 0, time.Second: 1_000_000, time.Nanosecond: 1, 1500 * time.Nanosecond: 2} {
		if got, err := expiryToSDK(d); err != nil || got != want {
			t.Errorf("expiryToSDK(%s) = %d, %v; want %d", d, got, err, want)
		}
	}
	if _, err := expiryToSDK(-time.Second); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("negative expiry: %v", err)
	}
	for v, want := range map[iggcon.Duration]time.Duration{0: 0, iggcon.IggyExpiryNeverExpire: 0, 1_000_000: time.Second} {
		if got := expiryFromSDK(v); got != want {
			t.Errorf("expiryFromSDK(%d) = %s, want %s", v, got, want)
		}
	}
	if sizeFromSDK(math.MaxUint64) != 0 || sizeFromSDK(5) != 5 {
		t.Error("sizeFromSDK")
	}
	if !microTime(0).IsZero() || microTime(1).UnixMicro() != 1 {
		t.Error("microTime")
	}
}

func TestPartitioningAndStrategy(t *testing.T) {
	if p, err := partitioning(core.ByKey([]byte("tenant"))); err != nil || p.Kind != iggcon.MessageKey || string(p.Value) != "tenant" {
		t.Errorf("by key: %+v %v", p, err)
	}
	if p, err := partitioning(core.ToPartition(3)); err != nil || p.Kind != iggcon.PartitionIdKind || binary.LittleEndian.Uint32(p.Value) != 3 {
		t.Errorf("by id: %+v %v", p, err)
	}
	if p, err := partitioning(core.Balanced()); err != nil || p.Kind != iggcon.Balanced {
		t.Errorf("balanced: %+v %v", p, err)
	}
	for _, bad := range []core.Partitioning{core.ByKey(nil), core.ByKey(make([]byte, 256)), {Kind: 9}} {
		if _, err := partitioning(bad); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("partitioning %+v: %v", bad, err)
		}
	}
	if s, err := pollingStrategy(core.FromOffset(5)); err != nil || s.Kind != iggcon.POLLING_OFFSET || s.Value != 5 {
		t.Errorf("strategy: %+v %v", s, err)
	}
	if _, err := pollingStrategy(core.PollStrategy{Kind: 6}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("bad strategy: %v", err)
	}
	if _, err := ident("stream", ""); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("empty name: %v", err)
	}
	if c, err := consumer(core.Consumer{Kind: core.SingleConsumer, Name: "c"}); err != nil || c.Kind != iggcon.ConsumerKindSingle || string(c.Id.Value) != "c" {
		t.Errorf("consumer: %+v %v", c, err)
	}
}

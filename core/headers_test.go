package core

import (
	"encoding/binary"
	"math"
	"testing"
)

func TestHeaderString(t *testing.T) {
	le16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	le64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	tests := []struct {
		name string
		h    Header
		want string
	}{
		{"string", StringHeader("k", "tenant-1"), "tenant-1"},
		{"empty string", StringHeader("k", ""), ""},
		{"bool true", Header{Kind: HeaderBool, Value: []byte{1}}, "true"},
		{"bool false", Header{Kind: HeaderBool, Value: []byte{0}}, "false"},
		{"int8", Header{Kind: HeaderInt8, Value: []byte{0xff}}, "-1"},
		{"uint8", Header{Kind: HeaderUint8, Value: []byte{0xff}}, "255"},
		{"int16", Header{Kind: HeaderInt16, Value: le16(0xfffe)}, "-2"},
		{"uint16", Header{Kind: HeaderUint16, Value: le16(0xfffe)}, "65534"},
		{"int32", Header{Kind: HeaderInt32, Value: le32(0xfffffffd)}, "-3"},
		{"uint32", Header{Kind: HeaderUint32, Value: le32(0xfffffffd)}, "4294967293"},
		{"int64", Header{Kind: HeaderInt64, Value: le64(math.MaxUint64)}, "-1"},
		{"uint64", Uint64Header("k", math.MaxUint64), "18446744073709551615"},
		{"uint64 small", Uint64Header("k", 7), "7"},
		{"float32", Header{Kind: HeaderFloat32, Value: le32(math.Float32bits(1.5))}, "1.5"},
		{"float64", Header{Kind: HeaderFloat64, Value: le64(math.Float64bits(-0.25))}, "-0.25"},
		{"raw", Header{Kind: HeaderRaw, Value: []byte{0, 'a'}}, `"\x00a"`},
		{"int128 is quoted", Header{Kind: HeaderInt128, Value: make([]byte, 16)}, `"` + `\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00` + `"`},
		{"bool wrong length", Header{Kind: HeaderBool, Value: []byte{1, 1}}, `"\x01\x01"`},
		{"uint64 wrong length", Header{Kind: HeaderUint64, Value: []byte{1}}, `"\x01"`},
		{"int16 empty", Header{Kind: HeaderInt16}, `""`},
		{"unknown kind", Header{Kind: 200, Value: []byte("x")}, `"x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.h.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeaderConstructors(t *testing.T) {
	h := StringHeader("tenant_id", "abc")
	if h.Key != "tenant_id" || h.Kind != HeaderString || string(h.Value) != "abc" {
		t.Fatalf("StringHeader = %+v", h)
	}
	u := Uint64Header("attempts", 0x0102030405060708)
	if u.Key != "attempts" || u.Kind != HeaderUint64 || len(u.Value) != 8 || u.Value[0] != 0x08 || u.Value[7] != 0x01 {
		t.Fatalf("Uint64Header = %+v, want 8 little-endian bytes", u)
	}
	if HeaderRaw != 1 || HeaderString != 2 || HeaderUint64 != 12 || HeaderFloat64 != 15 {
		t.Fatal("header kinds are not numbered as on the Iggy wire")
	}
}

func TestHeadersGetValue(t *testing.T) {
	hs := Headers{
		StringHeader("event_type", "node.created"),
		Uint64Header("attempts", 3),
		StringHeader("event_type", "second"),
	}
	if h, ok := hs.Get("event_type"); !ok || h.String() != "node.created" {
		t.Fatalf("Get returned %+v %v, want the first header", h, ok)
	}
	if _, ok := hs.Get("missing"); ok {
		t.Fatal("Get found a missing key")
	}
	if v := hs.Value("attempts"); v != "3" {
		t.Fatalf("Value(attempts) = %q", v)
	}
	if v := hs.Value("missing"); v != "" {
		t.Fatalf("Value(missing) = %q", v)
	}
	if v := (Headers)(nil).Value("x"); v != "" {
		t.Fatalf("nil Headers Value = %q", v)
	}
}

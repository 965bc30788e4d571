package iggyproto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

func TestUserHeadersRoundTrip(t *testing.T) {
	hs := core.Headers{
		core.StringHeader("tenant_id", "8b5c2f3e-0000-4000-8000-000000000001"),
		core.Uint64Header("attempts", 5),
		{Key: "flag", Kind: core.HeaderBool, Value: []byte{1}},
		{Key: "blob", Kind: core.HeaderRaw, Value: []byte{0, 1, 2, 255}},
	}
	b, err := AppendUserHeaders(nil, hs)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != UserHeadersSize(hs) {
		t.Fatalf("size %d, UserHeadersSize says %d", len(b), UserHeadersSize(hs))
	}
	// First entry, byte for byte: string key kind, length, key, string value kind, length, value.
	want := append([]byte{2, 9, 0, 0, 0}, "tenant_id"...)
	want = append(want, 2, 36, 0, 0, 0)
	if !bytes.HasPrefix(b, want) {
		t.Fatalf("encoding starts % x, want % x", b[:len(want)], want)
	}
	got, err := DecodeUserHeaders(b)
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
	if got.Value("attempts") != "5" {
		t.Errorf("attempts = %q", got.Value("attempts"))
	}
}

func TestUserHeadersRejects(t *testing.T) {
	for _, hs := range []core.Headers{
		{core.StringHeader("", "v")},
		{core.StringHeader("k", "")},
		{{Key: "k", Kind: 0, Value: []byte{1}}},
		{core.StringHeader("k", string(make([]byte, 256)))},
	} {
		if _, err := AppendUserHeaders(nil, hs); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%+v: err = %v, want ErrInvalid", hs, err)
		}
	}
	for _, b := range [][]byte{
		{2},
		{2, 1, 0, 0, 0},
		{2, 1, 0, 0, 0, 'k', 2, 0, 0, 0, 0},
		{0, 1, 0, 0, 0, 'k', 2, 1, 0, 0, 0, 'v'},
		{2, 255, 255, 255, 255, 'k'},
	} {
		if _, err := DecodeUserHeaders(b); err == nil {
			t.Errorf("% x: decoded without error", b)
		}
	}
}

func FuzzDecodeUserHeaders(f *testing.F) {
	b, _ := AppendUserHeaders(nil, core.Headers{core.StringHeader("a", "b"), core.Uint64Header("n", 7)})
	f.Add(b)
	f.Add([]byte{2, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := DecodeUserHeaders(b)
		if err != nil {
			return
		}
		for _, h := range hs {
			// The decoder keeps unknown value kinds (as the SDK does);
			// the encoder only writes the kinds Iggy defines.
			if h.Kind > core.HeaderFloat64 {
				return
			}
		}
		again, err := AppendUserHeaders(nil, hs)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		hs2, err := DecodeUserHeaders(again)
		if err != nil || len(hs2) != len(hs) {
			t.Fatalf("round trip: %v, %d vs %d", err, len(hs2), len(hs))
		}
	})
}

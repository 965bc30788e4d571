package iggyproto

import (
	"encoding/binary"
	"fmt"

	"github.com/rustok/rustok-iggy/core"
)

// User headers block: a sequence of entries, each
//
//	[u8 key_kind][u32 key_len][key][u8 value_kind][u32 value_len][value]
//
// with lengths 1..255 and kind 0 reserved. The server stores the block
// untouched; these helpers convert it to and from core.Headers, whose keys
// are strings (key kind 2).

// MaxHeaderLen is the longest key or value the SDKs accept, in bytes.
const MaxHeaderLen = 255

// UserHeadersSize returns the encoded size of hs.
func UserHeadersSize(hs core.Headers) int {
	n := 0
	for _, h := range hs {
		n += 10 + len(h.Key) + len(h.Value)
	}
	return n
}

// AppendUserHeaders appends the encoding of hs to dst. Keys and values must
// be 1..255 bytes and kinds 1..15, as the SDKs require.
func AppendUserHeaders(dst []byte, hs core.Headers) ([]byte, error) {
	for _, h := range hs {
		if len(h.Key) == 0 || len(h.Key) > MaxHeaderLen {
			return dst, fmt.Errorf("%w: header key %q: %d bytes, want 1..%d", core.ErrInvalid, h.Key, len(h.Key), MaxHeaderLen)
		}
		if len(h.Value) == 0 || len(h.Value) > MaxHeaderLen {
			return dst, fmt.Errorf("%w: header %q: value of %d bytes, want 1..%d", core.ErrInvalid, h.Key, len(h.Value), MaxHeaderLen)
		}
		if h.Kind < core.HeaderRaw || h.Kind > core.HeaderFloat64 {
			return dst, fmt.Errorf("%w: header %q: unknown kind %d", core.ErrInvalid, h.Key, h.Kind)
		}
		dst = append(dst, byte(core.HeaderString))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = append(dst, byte(h.Kind))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(h.Value)))
		dst = append(dst, h.Value...)
	}
	return dst, nil
}

// DecodeUserHeaders parses a user-headers block. Keys of any kind become the
// key's bytes as a string. Values are copied, so the result does not alias b.
// Bad input gives an error naming the byte position.
func DecodeUserHeaders(b []byte) (core.Headers, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var hs core.Headers
	pos := 0
	field := func(what string) (byte, []byte, error) {
		if len(b)-pos < 5 {
			return 0, nil, fmt.Errorf("user headers: %s at byte %d: truncated", what, pos)
		}
		kind := b[pos]
		n := binary.LittleEndian.Uint32(b[pos+1:])
		if kind == 0 {
			return 0, nil, fmt.Errorf("user headers: %s at byte %d: kind 0 is reserved", what, pos)
		}
		if n == 0 || n > MaxHeaderLen {
			return 0, nil, fmt.Errorf("user headers: %s at byte %d: length %d, want 1..%d", what, pos, n, MaxHeaderLen)
		}
		if uint64(len(b)-pos-5) < uint64(n) {
			return 0, nil, fmt.Errorf("user headers: %s at byte %d: %d bytes declared, %d left", what, pos, n, len(b)-pos-5)
		}
		v := b[pos+5 : pos+5+int(n)]
		pos += 5 + int(n)
		return kind, v, nil
	}
	for pos < len(b) {
		_, key, err := field("key")
		if err != nil {
			return nil, err
		}
		kind, val, err := field("value")
		if err != nil {
			return nil, err
		}
		hs = append(hs, core.Header{Key: string(key), Kind: core.HeaderKind(kind), Value: append([]byte(nil), val...)})
	}
	return hs, nil
}

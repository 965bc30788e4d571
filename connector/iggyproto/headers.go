package iggyproto

import (
	"encoding/binary"
	"fmt"
	"strings"

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
//
// The result costs at most three allocations whatever the number of
// entries: the slice, one buffer shared by all values (each value's capacity
// ends at its length, so appending to one never overwrites another) and one
// string shared by the keys that are not well known (see internKey).
func DecodeUserHeaders(b []byte) (core.Headers, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var sz headersSize
	if err := sz.scan(b); err != nil {
		return nil, err
	}
	var a headersArena
	a.init(sz)
	return a.decode(b), nil
}

// headersSize counts what decoding one or more validated header blocks needs.
type headersSize struct {
	entries  int
	valueLen int // bytes of all values
	keyLen   int // bytes of the keys internKey does not know
}

// scan validates the block b and adds its needs to s. The error names the
// byte position of the first bad field.
func (s *headersSize) scan(b []byte) error {
	pos := 0
	field := func(what string) ([]byte, error) {
		if len(b)-pos < 5 {
			return nil, fmt.Errorf("user headers: %s at byte %d: truncated", what, pos)
		}
		kind := b[pos]
		n := binary.LittleEndian.Uint32(b[pos+1:])
		if kind == 0 {
			return nil, fmt.Errorf("user headers: %s at byte %d: kind 0 is reserved", what, pos)
		}
		if n == 0 || n > MaxHeaderLen {
			return nil, fmt.Errorf("user headers: %s at byte %d: length %d, want 1..%d", what, pos, n, MaxHeaderLen)
		}
		if uint64(len(b)-pos-5) < uint64(n) {
			return nil, fmt.Errorf("user headers: %s at byte %d: %d bytes declared, %d left", what, pos, n, len(b)-pos-5)
		}
		v := b[pos+5 : pos+5+int(n)]
		pos += 5 + int(n)
		return v, nil
	}
	for pos < len(b) {
		key, err := field("key")
		if err != nil {
			return err
		}
		val, err := field("value")
		if err != nil {
			return err
		}
		s.entries++
		s.valueLen += len(val)
		if internKey(key) == "" {
			s.keyLen += len(key)
		}
	}
	return nil
}

// headersArena hands out the memory counted by a headersSize: decoded
// entries share one slice, all values one buffer and all keys unknown to
// internKey one string.
type headersArena struct {
	hs   core.Headers    // capacity for every entry
	vals []byte          // capacity for every value
	keys strings.Builder // capacity for every unknown key; never copied
}

// init allocates what s counted: one slice, one value buffer and one key
// buffer at most.
func (a *headersArena) init(s headersSize) {
	if s.entries > 0 {
		a.hs = make(core.Headers, 0, s.entries)
	}
	if s.valueLen > 0 {
		a.vals = make([]byte, 0, s.valueLen)
	}
	if s.keyLen > 0 {
		a.keys.Grow(s.keyLen)
	}
}

// decode appends the entries of b, which scan has validated and counted into
// this arena's headersSize, and returns them (nil for an empty block). The
// result's capacity ends at its length, and so does each value's. Appending
// to the key builder never changes the bytes of strings it returned before,
// so the keys stay immutable.
func (a *headersArena) decode(b []byte) core.Headers {
	if len(b) == 0 {
		return nil
	}
	start := len(a.hs)
	for pos := 0; pos < len(b); {
		kn := int(binary.LittleEndian.Uint32(b[pos+1:]))
		key := b[pos+5 : pos+5+kn]
		pos += 5 + kn
		kind := b[pos]
		vn := int(binary.LittleEndian.Uint32(b[pos+1:]))
		val := b[pos+5 : pos+5+vn]
		pos += 5 + vn
		k := internKey(key)
		if k == "" {
			a.keys.Write(key)
			all := a.keys.String()
			k = all[len(all)-kn:]
		}
		vs := len(a.vals)
		a.vals = append(a.vals, val...)
		a.hs = append(a.hs, core.Header{Key: k, Kind: core.HeaderKind(kind), Value: a.vals[vs:len(a.vals):len(a.vals)]})
	}
	return a.hs[start:len(a.hs):len(a.hs)]
}

// internKey returns the constant string equal to key if key is one of the
// header names rustok writes on every event or dead letter (the names are
// the ones exported by package transport, which this package cannot
// import), or "" if it is not. It does not allocate.
func internKey(key []byte) string {
	switch string(key) {
	case "tenant_id":
		return "tenant_id"
	case "event_type":
		return "event_type"
	case "schema_version":
		return "schema_version"
	case "content_type":
		return "content_type"
	case "correlation_id":
		return "correlation_id"
	case "causation_id":
		return "causation_id"
	case "trace_id":
		return "trace_id"
	case "dlq_error":
		return "dlq_error"
	case "dlq_reason":
		return "dlq_reason"
	case "dlq_attempts":
		return "dlq_attempts"
	case "dlq_source_topic":
		return "dlq_source_topic"
	case "dlq_source_partition":
		return "dlq_source_partition"
	case "dlq_source_offset":
		return "dlq_source_offset"
	case "dlq_group":
		return "dlq_group"
	case "dlq_first_failure_at":
		return "dlq_first_failure_at"
	case "dlq_last_failure_at":
		return "dlq_last_failure_at"
	case "dlq_redrive_of":
		return "dlq_redrive_of"
	case "dlq_redriven_at":
		return "dlq_redriven_at"
	case "dlq_redriven_from":
		return "dlq_redriven_from"
	}
	return ""
}

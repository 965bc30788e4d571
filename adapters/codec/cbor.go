package codec

import (
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/core"
)

// CBOR is the CBOR codec (application/cbor, RFC 8949). The zero value is
// ready to use and safe for concurrent use.
//
// # Layout
//
// An envelope is one CBOR map with small integer keys (one byte each, so a
// key costs nothing next to JSON's names), encoded with the deterministic
// "Core Deterministic Encoding" rules of RFC 8949 section 4.2.1 (shortest
// heads, definite lengths, keys sorted): equal envelopes give equal bytes.
//
//	key  field            CBOR type                              when absent
//	0    id               byte string, 16 bytes (UUID)           required
//	1    event_type       text string                            required
//	2    schema_version   unsigned integer                       required
//	3    correlation_id   byte string, 16 bytes                  required
//	4    causation_id     byte string, 16 bytes                  omitted when nil
//	5    tenant_id        byte string, 16 bytes                  required
//	6    trace_id         text string                            omitted when ""
//	7    timestamp        tag 1001 {1: seconds, -9: nanoseconds} required
//	8    actor_id         byte string, 16 bytes                  omitted when nil
//	9    event.type       text string                            required
//	10   event.data       byte string holding the JSON as is     omitted when empty
//	11   retry_count      unsigned integer                       omitted when 0
//
// The timestamp is an RFC 9581 extended time (tag 1001): key 1 holds the
// Unix seconds and key -9 the nanoseconds within the second (omitted when
// 0), so the round trip is exact to the nanosecond; tag 1 with a float
// would lose precision. Decoded timestamps are in UTC. event.data stays the
// JSON text the Rust side defines, carried as bytes without re-parsing.
//
// Decoding ignores unknown keys (so later versions can add fields), and
// rejects duplicate keys, indefinite lengths, nesting deeper than 4 levels,
// maps over 32 pairs, invalid UTF-8, missing required fields, UUIDs that are
// not exactly 16 bytes, nanoseconds of 1e9 or more, timestamps outside the
// years 0 to 9999, trailing bytes, and input over MaxEncodedSize. Tag 55799
// (self-described CBOR) is ignored before any value; other tags are refused
// except tag 1001 on the timestamp and inside the values of unknown keys.
// null stands for an absent field. The decoder is written by hand, without
// reflection (cbordec.go lists its exact rules).
type CBOR struct{}

var _ core.Codec = CBOR{}

// TagExtendedTime is the CBOR tag of the timestamp (RFC 9581 extended
// time).
const TagExtendedTime = 1001

// ContentType returns "application/cbor".
func (CBOR) ContentType() string { return ContentTypeCBOR }

// Encode returns e in the layout described on CBOR. It does not validate
// e. It writes the bytes directly, without reflection, into one buffer of
// the exact size (the same bytes the fxamacker/cbor encoder gives for the
// layout in Core Deterministic mode, which a test checks), and never
// fails.
func (CBOR) Encode(e core.Envelope) ([]byte, error) {
	return appendCBOR(make([]byte, 0, cborSize(&e)), &e), nil
}

// CBOR major types (RFC 8949 section 3.1).
const (
	cborUint  = 0
	cborNeg   = 1
	cborBytes = 2
	cborText  = 3
	cborMap   = 5
	cborTag   = 6
)

// cborHeadSize is the size of the shortest head for argument n.
func cborHeadSize(n uint64) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffffff:
		return 5
	}
	return 9
}

// appendCBORHead appends the shortest head of a major type with argument
// n, as deterministic encoding requires.
func appendCBORHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= 0xff:
		return append(dst, m|24, byte(n))
	case n <= 0xffff:
		return append(dst, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(dst, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// cborTime returns the seconds and nanoseconds of the timestamp; the zero
// time.Time (year 1) keeps its own Unix seconds.
func cborTime(e *core.Envelope) (int64, uint32) {
	if e.Timestamp.IsZero() {
		return zeroTimeUnix, 0
	}
	return e.Timestamp.Unix(), uint32(e.Timestamp.Nanosecond())
}

// cborInt returns the major type and argument of a signed integer.
func cborInt(v int64) (byte, uint64) {
	if v >= 0 {
		return cborUint, uint64(v)
	}
	return cborNeg, uint64(-1 - v)
}

// cborSize is the exact encoded size of e.
func cborSize(e *core.Envelope) int {
	text := func(s int) int { return cborHeadSize(uint64(s)) + s }
	const id = 1 + 1 + 16 // key, head, 16 bytes
	n := 1 + 3*id +
		1 + text(len(e.EventType)) +
		1 + cborHeadSize(uint64(e.SchemaVersion)) +
		1 + text(len(e.Event.Type))
	if e.CausationID != uuid.Nil {
		n += id
	}
	if e.ActorID != uuid.Nil {
		n += id
	}
	if e.TraceID != "" {
		n += 1 + text(len(e.TraceID))
	}
	if len(e.Event.Data) > 0 {
		n += 1 + text(len(e.Event.Data))
	}
	if e.RetryCount != 0 {
		n += 1 + cborHeadSize(uint64(e.RetryCount))
	}
	sec, nsec := cborTime(e)
	_, arg := cborInt(sec)
	n += 1 + 3 + 1 + 1 + cborHeadSize(arg) // key, tag 1001, map head, key 1, seconds
	if nsec != 0 {
		n += 1 + cborHeadSize(uint64(nsec))
	}
	return n
}

// appendCBOR appends e in the layout described on CBOR: keys in ascending
// order (their one-byte encodings sort bytewise as the integers do),
// shortest heads, definite lengths.
func appendCBOR(dst []byte, e *core.Envelope) []byte {
	pairs := uint64(7)
	for _, set := range [...]bool{e.CausationID != uuid.Nil, e.TraceID != "", e.ActorID != uuid.Nil, len(e.Event.Data) > 0, e.RetryCount != 0} {
		if set {
			pairs++
		}
	}
	uuidField := func(dst []byte, key byte, id uuid.UUID) []byte {
		dst = append(dst, key, cborBytes<<5|16)
		return append(dst, id[:]...)
	}
	textField := func(dst []byte, key byte, s string) []byte {
		dst = appendCBORHead(append(dst, key), cborText, uint64(len(s)))
		return append(dst, s...)
	}
	dst = appendCBORHead(dst, cborMap, pairs)
	dst = uuidField(dst, 0, e.ID)
	dst = textField(dst, 1, e.EventType)
	dst = appendCBORHead(append(dst, 2), cborUint, uint64(e.SchemaVersion))
	dst = uuidField(dst, 3, e.CorrelationID)
	if e.CausationID != uuid.Nil {
		dst = uuidField(dst, 4, e.CausationID)
	}
	dst = uuidField(dst, 5, e.TenantID)
	if e.TraceID != "" {
		dst = textField(dst, 6, e.TraceID)
	}
	// 7: tag 1001 {1: seconds, -9: nanoseconds}; key 1 (0x01) sorts
	// before key -9 (0x28).
	dst = appendCBORHead(append(dst, 7), cborTag, TagExtendedTime)
	sec, nsec := cborTime(e)
	if nsec != 0 {
		dst = appendCBORHead(dst, cborMap, 2)
	} else {
		dst = appendCBORHead(dst, cborMap, 1)
	}
	major, arg := cborInt(sec)
	dst = appendCBORHead(append(dst, 1), major, arg)
	if nsec != 0 {
		dst = appendCBORHead(append(dst, cborNeg<<5|8), cborUint, uint64(nsec)) // key -9
	}
	if e.ActorID != uuid.Nil {
		dst = uuidField(dst, 8, e.ActorID)
	}
	dst = textField(dst, 9, e.Event.Type)
	if len(e.Event.Data) > 0 {
		dst = appendCBORHead(append(dst, 10), cborBytes, uint64(len(e.Event.Data)))
		dst = append(dst, e.Event.Data...)
	}
	if e.RetryCount != 0 {
		dst = appendCBORHead(append(dst, 11), cborUint, uint64(e.RetryCount))
	}
	return dst
}

var (
	zeroTimeUnix = time.Time{}.Unix()
	// Decoded timestamps are kept to the years RFC 3339 (and so the JSON
	// codec) can write.
	minUnixSeconds = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnixSeconds = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

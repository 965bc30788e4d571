package iggyproto

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// rd is a bounds-checked little-endian reader over a payload. The first
// failure sticks: later reads return zero values and rd.err keeps the
// first error, so decoders read a whole record and check once.
type rd struct {
	b   []byte
	pos int
	err error
	// what names the record being decoded, for error messages.
	what string
}

func newRd(what string, b []byte) *rd { return &rd{b: b, what: what} }

func (r *rd) fail(code Code, format string, args ...any) {
	if r.err == nil {
		r.err = &Error{Code: code, Msg: fmt.Sprintf("%s at byte %d: %s", r.what, r.pos, fmt.Sprintf(format, args...))}
	}
}

func (r *rd) remaining() int { return len(r.b) - r.pos }

// take returns the next n bytes (aliasing the payload), or nil with a
// CodeInvalidCommand failure when fewer remain.
func (r *rd) take(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.remaining() {
		r.fail(CodeInvalidCommand, "%s: need %d bytes, %d left", field, n, r.remaining())
		return nil
	}
	v := r.b[r.pos : r.pos+n : r.pos+n]
	r.pos += n
	return v
}

func (r *rd) u8(field string) uint8 {
	if b := r.take(1, field); b != nil {
		return b[0]
	}
	return 0
}

func (r *rd) u16(field string) uint16 {
	if b := r.take(2, field); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *rd) u32(field string) uint32 {
	if b := r.take(4, field); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *rd) u64(field string) uint64 {
	if b := r.take(8, field); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *rd) flag(field string) bool { return r.u8(field) != 0 }

// utf8String converts b after checking it is valid UTF-8 (else
// CodeInvalidCommand).
func (r *rd) utf8String(b []byte, field string) string {
	if r.err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		r.fail(CodeInvalidCommand, "%s: invalid UTF-8", field)
		return ""
	}
	return string(b)
}

// name8 reads a Name8: [u8 n][n bytes UTF-8], n in 1..255. n == 0 fails
// with CodeInvalidFormat.
func (r *rd) name8(field string) string {
	n := r.u8(field + " length")
	if r.err == nil && n == 0 {
		r.fail(CodeInvalidFormat, "%s: empty name", field)
		return ""
	}
	return r.utf8String(r.take(int(n), field), field)
}

// str8 reads a Str8: [u8 n][n bytes UTF-8], n may be 0.
func (r *rd) str8(field string) string {
	n := r.u8(field + " length")
	return r.utf8String(r.take(int(n), field), field)
}

// str32 reads a Str32: [u32 n][n bytes UTF-8]. n is bounded by the bytes
// left before anything is allocated.
func (r *rd) str32(field string) string {
	n := r.u32(field + " length")
	if r.err == nil && uint64(n) > uint64(r.remaining()) {
		r.fail(CodeInvalidCommand, "%s: need %d bytes, %d left", field, n, r.remaining())
		return ""
	}
	return r.utf8String(r.take(int(n), field), field)
}

// ident reads an Identifier with the generic rules (see DecodeIdentifier).
func (r *rd) ident(field string) Identifier {
	if r.err != nil {
		return Identifier{}
	}
	id, n, err := DecodeIdentifier(r.b[r.pos:])
	if err != nil {
		e := err.(*Error)
		r.err = &Error{Code: e.Code, Msg: fmt.Sprintf("%s at byte %d: %s: %s", r.what, r.pos, field, e.Msg)}
		return Identifier{}
	}
	r.pos += n
	return id
}

func appendName8(dst []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

func appendStr32(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }
func appendU64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

// DecodeIdentifier decodes an Identifier ([u8 kind][u8 len][value]) at the
// start of b and returns it with the number of bytes used. Checks run in the
// server's order: truncated input -> CodeInvalidCommand; then numeric length
// != 4 or an empty name -> CodeInvalidFormat; a name that is not UTF-8 or a
// kind other than 1/2 -> CodeInvalidCommand. Inside SendMessages,
// DecodeSendMessages maps every identifier failure to
// CodeInvalidIdentifier instead.
func DecodeIdentifier(b []byte) (Identifier, int, error) {
	if len(b) < 2 {
		return Identifier{}, 0, &Error{Code: CodeInvalidCommand, Msg: fmt.Sprintf("identifier: %d bytes, need at least 2", len(b))}
	}
	kind, n := IdentifierKind(b[0]), int(b[1])
	if len(b) < 2+n {
		return Identifier{}, 0, &Error{Code: CodeInvalidCommand, Msg: fmt.Sprintf("identifier: value of %d bytes, %d left", n, len(b)-2)}
	}
	value := b[2 : 2+n]
	switch kind {
	case NumericKind:
		if n != 4 {
			return Identifier{}, 0, &Error{Code: CodeInvalidFormat, Msg: fmt.Sprintf("numeric identifier of length %d", n)}
		}
		return NumericID(binary.LittleEndian.Uint32(value)), 6, nil
	case StringKind:
		if n == 0 {
			return Identifier{}, 0, &Error{Code: CodeInvalidFormat, Msg: "empty string identifier"}
		}
		if !utf8.Valid(value) {
			return Identifier{}, 0, &Error{Code: CodeInvalidCommand, Msg: "string identifier is not UTF-8"}
		}
		return NamedID(string(value)), 2 + n, nil
	}
	return Identifier{}, 0, &Error{Code: CodeInvalidCommand, Msg: fmt.Sprintf("identifier kind %d", kind)}
}

// decodeSendIdentifier decodes an identifier with the older parser of the
// SendMessages path: any problem is CodeInvalidIdentifier, names are not
// checked for UTF-8.
func decodeSendIdentifier(b []byte) (Identifier, int, error) {
	if len(b) < 2 {
		return Identifier{}, 0, &Error{Code: CodeInvalidIdentifier, Msg: fmt.Sprintf("identifier: %d bytes, need at least 2", len(b))}
	}
	kind, n := IdentifierKind(b[0]), int(b[1])
	switch {
	case kind != NumericKind && kind != StringKind:
		return Identifier{}, 0, &Error{Code: CodeInvalidIdentifier, Msg: fmt.Sprintf("identifier kind %d", kind)}
	case len(b) < 2+n:
		return Identifier{}, 0, &Error{Code: CodeInvalidIdentifier, Msg: fmt.Sprintf("identifier: value of %d bytes, %d left", n, len(b)-2)}
	case n == 0:
		return Identifier{}, 0, &Error{Code: CodeInvalidIdentifier, Msg: "empty identifier"}
	case kind == NumericKind && n != 4:
		return Identifier{}, 0, &Error{Code: CodeInvalidIdentifier, Msg: fmt.Sprintf("numeric identifier of length %d", n)}
	case kind == NumericKind:
		return NumericID(binary.LittleEndian.Uint32(b[2:6])), 6, nil
	}
	return NamedID(string(b[2 : 2+n])), 2 + n, nil
}

// AppendIdentifier appends the wire form of id to dst. A name longer than
// 255 bytes is cut at 255 (callers validate names first). An identifier of
// unknown kind is written as its kind byte with length 0, which decoders
// reject.
func AppendIdentifier(dst []byte, id Identifier) []byte {
	switch id.Kind {
	case NumericKind:
		dst = append(dst, byte(NumericKind), 4)
		return binary.LittleEndian.AppendUint32(dst, id.ID)
	case StringKind:
		return appendName8(append(dst, byte(StringKind)), id.Name)
	default:
		return append(dst, byte(id.Kind), 0)
	}
}

// OptPartition is the optional partition id of offset and poll requests
// (wire: [u8 flag][u32 id], always 5 bytes; the id counts only if the flag
// is 1).
type OptPartition struct {
	Present bool
	ID      uint32
}

// SomePartition returns an OptPartition holding id.
func SomePartition(id uint32) OptPartition { return OptPartition{Present: true, ID: id} }

func (r *rd) optPartition() OptPartition {
	flag := r.u8("partition flag")
	id := r.u32("partition id")
	if flag != 1 {
		return OptPartition{}
	}
	return OptPartition{Present: true, ID: id}
}

func appendOptPartition(dst []byte, p OptPartition) []byte {
	if !p.Present {
		return append(dst, 0, 0, 0, 0, 0)
	}
	return binary.LittleEndian.AppendUint32(append(dst, 1), p.ID)
}

// ConsumerKind tells a single consumer from a consumer group.
type ConsumerKind uint8

// Consumer kinds, as on the wire.
const (
	ConsumerSingle ConsumerKind = 1
	ConsumerGroup  ConsumerKind = 2
)

// Consumer names who polls or owns offsets: [u8 kind][Id]. For a single
// consumer a string id stands for XXH32 of the name (ConsumerIDForName);
// for a group the Id names a consumer group of the topic.
type Consumer struct {
	Kind ConsumerKind
	ID   Identifier
}

func (r *rd) consumer() Consumer {
	k := ConsumerKind(r.u8("consumer kind"))
	if r.err == nil && k != ConsumerSingle && k != ConsumerGroup {
		r.fail(CodeInvalidCommand, "consumer kind %d", k)
	}
	return Consumer{Kind: k, ID: r.ident("consumer id")}
}

// AppendConsumer appends the wire form of c to dst.
func AppendConsumer(dst []byte, c Consumer) []byte {
	return AppendIdentifier(append(dst, byte(c.Kind)), c.ID)
}

// PollKind is a polling strategy kind.
type PollKind uint8

// Polling strategy kinds (fact sheet 6.9).
const (
	PollOffset    PollKind = 1
	PollTimestamp PollKind = 2
	PollFirst     PollKind = 3
	PollLast      PollKind = 4
	PollNext      PollKind = 5
)

// PollingStrategy is where a poll starts: [u8 kind][u64 value]. Value is an
// offset for PollOffset and a µs timestamp for PollTimestamp; other kinds
// ignore it.
type PollingStrategy struct {
	Kind  PollKind
	Value uint64
}

func (r *rd) pollingStrategy() PollingStrategy {
	k := PollKind(r.u8("polling kind"))
	if r.err == nil && (k < PollOffset || k > PollNext) {
		r.fail(CodeInvalidCommand, "polling kind %d", k)
	}
	return PollingStrategy{Kind: k, Value: r.u64("polling value")}
}

func appendPollingStrategy(dst []byte, s PollingStrategy) []byte {
	return binary.LittleEndian.AppendUint64(append(dst, byte(s.Kind)), s.Value)
}

// PartitioningKind says how SendMessages picks a partition.
type PartitioningKind uint8

// Partitioning kinds, as on the wire.
const (
	PartitionBalanced     PartitioningKind = 1
	PartitionByID         PartitioningKind = 2
	PartitionByMessageKey PartitioningKind = 3
)

// Partitioning is the partition choice of SendMessages:
// [u8 kind][u8 len][value]. Balanced has no value, PartitionByID a u32
// (0-based partition id), PartitionByMessageKey 0..255 raw key bytes (the
// server accepts an empty key; the Go SDK never sends one).
type Partitioning struct {
	Kind        PartitioningKind
	PartitionID uint32 // for PartitionByID
	Key         []byte // for PartitionByMessageKey; aliases the payload when decoded
}

// BalancedPartitioning returns the balanced (round-robin) choice.
func BalancedPartitioning() Partitioning { return Partitioning{Kind: PartitionBalanced} }

// PartitionIDPartitioning returns the choice of partition id.
func PartitionIDPartitioning(id uint32) Partitioning {
	return Partitioning{Kind: PartitionByID, PartitionID: id}
}

// MessageKeyPartitioning returns the choice by key (XXH32(key) mod count).
func MessageKeyPartitioning(key []byte) Partitioning {
	return Partitioning{Kind: PartitionByMessageKey, Key: key}
}

// DecodePartitioning decodes a Partitioning at the start of b and returns
// it with the bytes used, with the SendMessages parser's rules: truncation,
// an unknown kind or a wrong length (balanced != 0, partition id != 4) give
// CodeInvalidCommand; an empty messages key is accepted.
func DecodePartitioning(b []byte) (Partitioning, int, error) {
	r := newRd("partitioning", b)
	p := r.partitioning()
	return p, r.pos, r.err
}

func (r *rd) partitioning() Partitioning {
	k := PartitioningKind(r.u8("partitioning kind"))
	n := int(r.u8("partitioning length"))
	if r.err != nil {
		return Partitioning{}
	}
	switch k {
	case PartitionBalanced:
		if n != 0 {
			r.fail(CodeInvalidCommand, "balanced partitioning with length %d", n)
		}
		return Partitioning{Kind: k}
	case PartitionByID:
		if n != 4 {
			r.fail(CodeInvalidCommand, "partition id partitioning with length %d", n)
			return Partitioning{}
		}
		return Partitioning{Kind: k, PartitionID: r.u32("partition id")}
	case PartitionByMessageKey:
		return Partitioning{Kind: k, Key: r.take(n, "messages key")}
	default:
		r.fail(CodeInvalidCommand, "partitioning kind %d", k)
		return Partitioning{}
	}
}

// AppendPartitioning appends the wire form of p to dst. A key longer than
// 255 bytes is cut at 255.
func AppendPartitioning(dst []byte, p Partitioning) []byte {
	switch p.Kind {
	case PartitionBalanced:
		return append(dst, byte(p.Kind), 0)
	case PartitionByID:
		return binary.LittleEndian.AppendUint32(append(dst, byte(p.Kind), 4), p.PartitionID)
	case PartitionByMessageKey:
		k := p.Key
		if len(k) > 255 {
			k = k[:255]
		}
		return append(append(dst, byte(p.Kind), byte(len(k))), k...)
	default:
		return append(dst, byte(p.Kind), 0)
	}
}

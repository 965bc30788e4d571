package iggyproto

import (
	"encoding/binary"
	"fmt"

	"github.com/zeebo/xxh3"
)

// Message layout (Iggy 0.8.0): the same bytes travel in SendMessages, sit in
// segment files and come back in PollMessages. All integers little-endian.
//
//	0   u64  checksum          XXH3-64 (seed 0) of bytes [8, end of message)
//	8   u128 id                client id or zero (the broker assigns one)
//	24  u64  offset            set by the broker
//	32  u64  timestamp         broker time, µs, one value per batch
//	40  u64  origin_timestamp  producer time, µs
//	48  u32  user_headers_length (H)
//	52  u32  payload_length (P)
//	56  u64  reserved
//	64  P    payload
//	64+P H   user headers
const (
	MessageHeaderSize = 64

	offChecksum        = 0
	offID              = 8
	offOffset          = 24
	offTimestamp       = 32
	offOriginTimestamp = 40
	offHeadersLen      = 48
	offPayloadLen      = 52
	offReserved        = 56

	// MaxPayloadSize is the largest message payload the server accepts.
	MaxPayloadSize = 64_000_000
	// MaxUserHeadersSize is the largest user-headers block accepted.
	MaxUserHeadersSize = 100_000
)

// MessageHeader is the decoded 64-byte message header.
type MessageHeader struct {
	Checksum          uint64
	ID                [16]byte
	Offset            uint64
	Timestamp         uint64
	OriginTimestamp   uint64
	UserHeadersLength uint32
	PayloadLength     uint32
	Reserved          uint64
}

// Size is the whole message's size: header, payload and user headers.
func (h MessageHeader) Size() int {
	return MessageHeaderSize + int(h.PayloadLength) + int(h.UserHeadersLength)
}

// DecodeMessageHeader decodes the header at the start of b.
func DecodeMessageHeader(b []byte) (MessageHeader, error) {
	if len(b) < MessageHeaderSize {
		return MessageHeader{}, fmt.Errorf("message header: %d bytes, need %d", len(b), MessageHeaderSize)
	}
	var h MessageHeader
	h.Checksum = binary.LittleEndian.Uint64(b[offChecksum:])
	copy(h.ID[:], b[offID:offID+16])
	h.Offset = binary.LittleEndian.Uint64(b[offOffset:])
	h.Timestamp = binary.LittleEndian.Uint64(b[offTimestamp:])
	h.OriginTimestamp = binary.LittleEndian.Uint64(b[offOriginTimestamp:])
	h.UserHeadersLength = binary.LittleEndian.Uint32(b[offHeadersLen:])
	h.PayloadLength = binary.LittleEndian.Uint32(b[offPayloadLen:])
	h.Reserved = binary.LittleEndian.Uint64(b[offReserved:])
	return h, nil
}

// AppendMessageHeader appends the 64-byte encoding of h to dst.
func AppendMessageHeader(dst []byte, h MessageHeader) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, h.Checksum)
	dst = append(dst, h.ID[:]...)
	dst = binary.LittleEndian.AppendUint64(dst, h.Offset)
	dst = binary.LittleEndian.AppendUint64(dst, h.Timestamp)
	dst = binary.LittleEndian.AppendUint64(dst, h.OriginTimestamp)
	dst = binary.LittleEndian.AppendUint32(dst, h.UserHeadersLength)
	dst = binary.LittleEndian.AppendUint32(dst, h.PayloadLength)
	dst = binary.LittleEndian.AppendUint64(dst, h.Reserved)
	return dst
}

// MessageView is one message inside a buffer of messages, without a copy.
type MessageView struct {
	Header MessageHeader
	// Raw is the whole message (header, payload, user headers); it aliases
	// the walked buffer.
	Raw []byte
}

// Payload returns the payload bytes (aliasing Raw).
func (m MessageView) Payload() []byte {
	return m.Raw[MessageHeaderSize : MessageHeaderSize+int(m.Header.PayloadLength)]
}

// UserHeaders returns the user-headers bytes (aliasing Raw).
func (m MessageView) UserHeaders() []byte {
	return m.Raw[MessageHeaderSize+int(m.Header.PayloadLength):]
}

// WalkMessages calls fn for each message in buf, a sequence of messages back
// to back. It stops at the first error from fn. A truncated or oversized
// message gives an error naming its byte position; nothing panics.
func WalkMessages(buf []byte, fn func(MessageView) error) error {
	pos := 0
	for pos < len(buf) {
		h, err := DecodeMessageHeader(buf[pos:])
		if err != nil {
			return fmt.Errorf("message at byte %d: %w", pos, err)
		}
		if h.PayloadLength > MaxPayloadSize || h.UserHeadersLength > MaxUserHeadersSize {
			return fmt.Errorf("message at byte %d: payload %d / user headers %d bytes over the limit", pos, h.PayloadLength, h.UserHeadersLength)
		}
		size := h.Size()
		if size > len(buf)-pos {
			return fmt.Errorf("message at byte %d: %d bytes declared, %d left", pos, size, len(buf)-pos)
		}
		if err := fn(MessageView{Header: h, Raw: buf[pos : pos+size : pos+size]}); err != nil {
			return err
		}
		pos += size
	}
	return nil
}

// Checksum returns the Iggy checksum of a whole encoded message: XXH3-64
// (seed 0) of everything after the checksum field.
func Checksum(msg []byte) uint64 { return xxh3.Hash(msg[8:]) }

// Stamp writes the broker-assigned fields into an encoded message in place:
// id (only if zero, from newID), offset and timestamp, and then the
// checksum. msg must hold a whole message.
func Stamp(msg []byte, offset, timestamp uint64, newID func() [16]byte) {
	id := msg[offID : offID+16]
	zero := true
	for _, b := range id {
		if b != 0 {
			zero = false
			break
		}
	}
	if zero && newID != nil {
		v := newID()
		copy(id, v[:])
	}
	binary.LittleEndian.PutUint64(msg[offOffset:], offset)
	binary.LittleEndian.PutUint64(msg[offTimestamp:], timestamp)
	binary.LittleEndian.PutUint64(msg[offChecksum:], Checksum(msg))
}

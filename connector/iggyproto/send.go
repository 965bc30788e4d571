package iggyproto

import (
	"encoding/binary"
	"fmt"
)

// IndexEntrySize is the size of one SendMessages index entry: u32 offset
// (0), u32 position (cumulative end of the message in the message area),
// u64 timestamp (0).
const IndexEntrySize = 16

// SendMessages (101) as decoded, without copying:
//
//	u32 metadata_len, Id stream, Id topic, Partitioning, u32 count,
//	count x 16-byte index, count messages back to back
//
// Messages is the message area (aliasing the payload), validated so that
// WalkMessages yields exactly Count messages with in-limit sizes; it is
// ready to be stamped (Stamp) and handed to the log store.
type SendMessages struct {
	Stream, Topic Identifier
	Partitioning  Partitioning
	Count         uint32
	// Indexes is the raw index area (Count x 16 bytes, aliasing the
	// payload). EncodeSendMessages ignores it and recomputes the index.
	Indexes []byte
	// Messages is the message area, aliasing the payload.
	Messages []byte
}

// Command implements Request.
func (SendMessages) Command() Command { return CmdSendMessages }

// Walk calls fn for every message of the batch (see WalkMessages).
func (s SendMessages) Walk(fn func(MessageView) error) error { return WalkMessages(s.Messages, fn) }

func sendErr(code Code, format string, args ...any) error {
	return &Error{Code: code, Msg: "send_messages: " + fmt.Sprintf(format, args...)}
}

// DecodeSendMessages decodes and validates a SendMessages payload in the
// order and with the codes of Iggy 0.8.0 (fact sheet 6.5):
//
//   - metadata_len missing or beyond the payload, a truncated or bad
//     Partitioning, a missing messages_count, an index area (count x 16)
//     beyond the payload -> CodeInvalidCommand (3); any identifier problem
//     -> CodeInvalidIdentifier (6); metadata bytes after messages_count are
//     ignored;
//   - count 0 -> CodeInvalidMessagesCount (4009);
//   - per message i, in order: index offset != 0 -> CodeNonZeroOffset
//     (4031); index timestamp != 0 -> CodeNonZeroTimestamp (4032); its
//     slice [position(i-1), position(i)) (0 for the first; the last runs to
//     the end of the area) outside the area, reversed, shorter than 64
//     bytes or than the header's 64+P+H -> CodeMissingIndex (4033);
//     P > MaxPayloadSize -> CodeTooBigMessagePayload (4022);
//     H > MaxUserHeadersSize -> CodeTooBigUserHeaders (4017); header
//     offset below the previous message's -> CodeInvalidOffset (4100);
//     position(i) below position(i-1) -> CodeCannotReadIndexPosition
//     (10011, reachable through the last entry, whose slice ignores it);
//   - sum of message sizes != area length -> CodeInvalidMessagesSize (4036).
//
// Authentication (first), stream/topic existence, permissions and the
// partition choice (after) are the server's. Nothing is copied: Indexes,
// Messages and a messages key alias p.
func DecodeSendMessages(p []byte) (SendMessages, error) {
	var s SendMessages
	if len(p) < 4 {
		return s, sendErr(CodeInvalidCommand, "%d bytes, no metadata length", len(p))
	}
	mlen := binary.LittleEndian.Uint32(p)
	if uint64(mlen) > uint64(len(p)-4) { // the server: > frame payload -> 3, or a short read
		return s, sendErr(CodeInvalidCommand, "metadata length %d, %d bytes left", mlen, len(p)-4)
	}
	meta := p[4 : 4+int(mlen)]
	pos := 0
	var err error
	var n int
	if s.Stream, n, err = decodeSendIdentifier(meta); err != nil {
		return SendMessages{}, sendErr(CodeInvalidIdentifier, "stream id: %v", err)
	}
	pos += n
	if s.Topic, n, err = decodeSendIdentifier(meta[pos:]); err != nil {
		return SendMessages{}, sendErr(CodeInvalidIdentifier, "topic id: %v", err)
	}
	pos += n
	if s.Partitioning, n, err = DecodePartitioning(meta[pos:]); err != nil {
		return SendMessages{}, sendErr(CodeInvalidCommand, "%v", err)
	}
	pos += n
	if len(meta)-pos < 4 {
		return SendMessages{}, sendErr(CodeInvalidCommand, "no messages count in metadata")
	}
	s.Count = binary.LittleEndian.Uint32(meta[pos:])
	if s.Count == 0 {
		return SendMessages{}, sendErr(CodeInvalidMessagesCount, "no messages")
	}
	rest := p[4+int(mlen):]
	idxLen := uint64(s.Count) * IndexEntrySize
	if idxLen > uint64(len(rest)) {
		return SendMessages{}, sendErr(CodeInvalidCommand, "%d index entries need %d bytes, %d left", s.Count, idxLen, len(rest))
	}
	s.Indexes = rest[:idxLen:idxLen]
	s.Messages = rest[idxLen:]
	if err := validateBatch(s.Indexes, s.Messages); err != nil {
		return SendMessages{}, err
	}
	return s, nil
}

// validateBatch checks the index entries against the message area in the
// order of Iggy 0.8.0's batch validation.
func validateBatch(index, area []byte) error {
	count := len(index) / IndexEntrySize
	pos := func(i int) uint64 { return uint64(binary.LittleEndian.Uint32(index[i*IndexEntrySize+4:])) }
	var prevOffset, prevPos, total uint64
	for i := range count {
		e := index[i*IndexEntrySize:]
		if off := binary.LittleEndian.Uint32(e[0:4]); off != 0 {
			return sendErr(CodeNonZeroOffset, "message %d: index offset %d", i, off)
		}
		if ts := binary.LittleEndian.Uint64(e[8:16]); ts != 0 {
			return sendErr(CodeNonZeroTimestamp, "message %d: index timestamp %d", i, ts)
		}
		var start, end uint64
		if i > 0 {
			start = pos(i - 1)
		}
		end = uint64(len(area))
		if i < count-1 {
			end = pos(i)
		}
		if start > uint64(len(area)) || end > uint64(len(area)) || start > end || end-start < MessageHeaderSize {
			return sendErr(CodeMissingIndex, "message %d: bytes [%d, %d) of a %d-byte message area", i, start, end, len(area))
		}
		slice := area[start:end]
		h, _ := DecodeMessageHeader(slice)
		size := uint64(MessageHeaderSize) + uint64(h.PayloadLength) + uint64(h.UserHeadersLength)
		if size > uint64(len(slice)) {
			return sendErr(CodeMissingIndex, "message %d: header declares %d bytes, slice holds %d", i, size, len(slice))
		}
		if h.PayloadLength > MaxPayloadSize {
			return sendErr(CodeTooBigMessagePayload, "message %d: payload of %d bytes", i, h.PayloadLength)
		}
		if h.UserHeadersLength > MaxUserHeadersSize {
			return sendErr(CodeTooBigUserHeaders, "message %d: user headers of %d bytes", i, h.UserHeadersLength)
		}
		if h.Offset < prevOffset {
			return sendErr(CodeInvalidOffset, "message %d: offset %d below %d", i, h.Offset, prevOffset)
		}
		if pos(i) < prevPos {
			return sendErr(CodeCannotReadIndexPosition, "message %d: position %d below %d", i, pos(i), prevPos)
		}
		prevOffset, prevPos = h.Offset, pos(i)
		total += size
	}
	if total != uint64(len(area)) {
		return sendErr(CodeInvalidMessagesSize, "messages add up to %d bytes, area holds %d", total, len(area))
	}
	return nil
}

// EncodeSendMessages appends a SendMessages payload to dst, as the Go SDK
// builds it: metadata, v.Count index entries with zero offset and timestamp
// and cumulative end positions, then v.Messages. Positions are computed by
// walking v.Messages' headers; entries past the last whole message get the
// area's length. v.Indexes is ignored.
func EncodeSendMessages(dst []byte, v SendMessages) []byte {
	var meta []byte
	meta = AppendIdentifier(meta, v.Stream)
	meta = AppendIdentifier(meta, v.Topic)
	meta = AppendPartitioning(meta, v.Partitioning)
	meta = appendU32(meta, v.Count)
	dst = appendU32(dst, uint32(len(meta)))
	dst = append(dst, meta...)
	pos := 0
	for range v.Count {
		if h, err := DecodeMessageHeader(v.Messages[pos:]); err == nil && h.Size() <= len(v.Messages)-pos {
			pos += h.Size()
		} else {
			pos = len(v.Messages)
		}
		dst = appendU32(dst, 0)
		dst = appendU32(dst, uint32(pos))
		dst = appendU64(dst, 0)
	}
	return append(dst, v.Messages...)
}

// AppendMessage appends one message in wire form to dst, as a client sends
// it: checksum, offset, timestamp and reserved zero; id as given (all zero
// lets the broker assign one); payload then user headers.
func AppendMessage(dst []byte, id [16]byte, originTimestamp uint64, payload, userHeaders []byte) []byte {
	dst = AppendMessageHeader(dst, MessageHeader{
		ID:                id,
		OriginTimestamp:   originTimestamp,
		UserHeadersLength: uint32(len(userHeaders)),
		PayloadLength:     uint32(len(payload)),
	})
	return append(append(dst, payload...), userHeaders...)
}

package iggyproto

import (
	"errors"
	"fmt"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// AppendCoreMessage appends m in the Iggy message layout to dst, ready for a
// send: offset, timestamp and checksum zero, origin timestamp from m (now
// when zero). The payload must be at most MaxPayloadSize bytes and the
// encoded headers at most MaxUserHeadersSize.
func AppendCoreMessage(dst []byte, m core.Message) ([]byte, error) {
	if len(m.Payload) > MaxPayloadSize {
		return dst, Errorf(CodeTooBigMessagePayload, "payload of %d bytes, the limit is %d", len(m.Payload), MaxPayloadSize)
	}
	hsize := UserHeadersSize(m.Headers)
	if hsize > MaxUserHeadersSize {
		return dst, Errorf(CodeTooBigUserHeaders, "user headers of %d bytes, the limit is %d", hsize, MaxUserHeadersSize)
	}
	origin := m.OriginTimestamp
	if origin.IsZero() {
		origin = time.Now()
	}
	dst = AppendMessageHeader(dst, MessageHeader{
		ID:                m.ID,
		OriginTimestamp:   uint64(origin.UnixMicro()),
		UserHeadersLength: uint32(hsize),
		PayloadLength:     uint32(len(m.Payload)),
	})
	dst = append(dst, m.Payload...)
	return AppendUserHeaders(dst, m.Headers)
}

// MessagesSize returns the encoded size of msgs, headers included.
func MessagesSize(msgs []core.Message) int {
	n := 0
	for i := range msgs {
		n += MessageHeaderSize + len(msgs[i].Payload) + UserHeadersSize(msgs[i].Headers)
	}
	return n
}

// DecodeCoreMessages parses count messages stored back to back in buf into
// core messages. Payloads alias buf (callers hand in a buffer they own);
// headers are copied, so they do not alias buf: all messages' headers share
// one entry slice, one value buffer and one key string (well-known keys are
// constants), about four allocations per call whatever the count. Each
// message's Headers and each value has its capacity cut at its length, so
// appending to one never overwrites another. Bad input gives an error, never
// a panic.
func DecodeCoreMessages(buf []byte, count int) ([]core.Message, error) {
	if count < 0 || count > len(buf)/MessageHeaderSize {
		count = len(buf) / MessageHeaderSize
	}
	var sz headersSize
	n := 0
	err := WalkMessages(buf, func(v MessageView) error {
		if err := sz.scan(v.UserHeaders()); err != nil {
			return fmt.Errorf("message at offset %d: %w", v.Header.Offset, err)
		}
		n++
		return nil
	})
	// The second walk decodes the n messages the first one validated (on
	// error, those before the bad one, returned with the error as before).
	var a headersArena
	a.init(sz)
	out := make([]core.Message, 0, max(count, n))
	_ = WalkMessages(buf, func(v MessageView) error {
		if len(out) == n {
			return errStopWalk
		}
		out = append(out, core.Message{
			ID:              v.Header.ID,
			Offset:          v.Header.Offset,
			Timestamp:       time.UnixMicro(int64(v.Header.Timestamp)),
			OriginTimestamp: time.UnixMicro(int64(v.Header.OriginTimestamp)),
			Checksum:        v.Header.Checksum,
			Headers:         a.decode(v.UserHeaders()),
			Payload:         v.Payload(),
		})
		return nil
	})
	return out, err
}

// errStopWalk ends DecodeCoreMessages' second walk at the first bad message.
var errStopWalk = errors.New("stop")

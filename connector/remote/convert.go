package remote

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// Header wire format (Iggy user headers, as the SDKs write them): a
// sequence of [u8 key kind][u32 key len][key][u8 value kind][u32 value
// len][value], little-endian, every length 1 to 255.
const maxHeaderField = iggyproto.MaxHeaderLen

// HeaderError is a malformed user-header block: where decoding stopped and
// why. It matches core.ErrInvalid.
type HeaderError struct {
	// Offset is the byte offset in the block where decoding failed.
	Offset int
	// Reason says what was wrong.
	Reason string
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("user headers: at byte %d: %s", e.Offset, e.Reason)
}

// Is matches core.ErrInvalid.
func (e *HeaderError) Is(target error) bool { return target == core.ErrInvalid }

// fixedSize is the value length a header kind requires, or -1 when any
// length (1-255) is allowed.
func fixedSize(k core.HeaderKind) int {
	switch k {
	case core.HeaderBool, core.HeaderInt8, core.HeaderUint8:
		return 1
	case core.HeaderInt16, core.HeaderUint16:
		return 2
	case core.HeaderInt32, core.HeaderUint32, core.HeaderFloat32:
		return 4
	case core.HeaderInt64, core.HeaderUint64, core.HeaderFloat64:
		return 8
	case core.HeaderInt128, core.HeaderUint128:
		return 16
	}
	return -1
}

// EncodeHeaders appends hs to dst in the Iggy user-header format, keys as
// strings (key kind 2), values with their kind and bytes unchanged. It
// checks what every Iggy SDK's reader checks: keys and values of 1 to 255
// bytes, a known kind, and the natural width of fixed-size kinds; a
// violation wraps core.ErrInvalid.
func EncodeHeaders(dst []byte, hs core.Headers) ([]byte, error) {
	for _, h := range hs {
		if want := fixedSize(h.Kind); want >= 0 && len(h.Value) != want {
			return nil, fmt.Errorf("%w: header %q: kind %d needs %d bytes, got %d", core.ErrInvalid, h.Key, h.Kind, want, len(h.Value))
		}
	}
	// The layout, lengths and kinds as the embedded broker writes them.
	out, err := iggyproto.AppendUserHeaders(dst, hs)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeHeaders parses an Iggy user-header block. Keys of any kind are
// returned as the string of their bytes; values keep their kind (even one
// this package does not know) and bytes, copied out of b. A malformed block
// gives a *HeaderError; it never panics.
func DecodeHeaders(b []byte) (core.Headers, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var hs core.Headers
	pos := 0
	field := func(what string) ([]byte, byte, error) {
		if len(b)-pos < 5 {
			return nil, 0, &HeaderError{Offset: pos, Reason: what + ": truncated kind and length"}
		}
		kind := b[pos]
		if kind == 0 {
			return nil, 0, &HeaderError{Offset: pos, Reason: what + ": kind 0 is reserved"}
		}
		n := binary.LittleEndian.Uint32(b[pos+1 : pos+5])
		if n == 0 || n > maxHeaderField {
			return nil, 0, &HeaderError{Offset: pos + 1, Reason: fmt.Sprintf("%s: length %d, want 1 to 255", what, n)}
		}
		if uint32(len(b)-pos-5) < n {
			return nil, 0, &HeaderError{Offset: pos + 5, Reason: fmt.Sprintf("%s: %d bytes announced, %d left", what, n, len(b)-pos-5)}
		}
		v := b[pos+5 : pos+5+int(n)]
		pos += 5 + int(n)
		return v, kind, nil
	}
	for pos < len(b) {
		key, _, err := field("key")
		if err != nil {
			return nil, err
		}
		at := pos
		val, kind, err := field("value")
		if err != nil {
			return nil, err
		}
		if want := fixedSize(core.HeaderKind(kind)); want >= 0 && len(val) != want {
			return nil, &HeaderError{Offset: at, Reason: fmt.Sprintf("value of kind %d is %d bytes, want %d", kind, len(val), want)}
		}
		hs = append(hs, core.Header{Key: string(key), Kind: core.HeaderKind(kind), Value: append([]byte(nil), val...)})
	}
	return hs, nil
}

// toSDKMessages converts msgs for SendMessages. Payloads are copied into
// one buffer, so that a request the SDK is still marshalling after Send
// returned (ctx ended) never reads the caller's memory.
func toSDKMessages(msgs []core.Message, now time.Time) ([]iggcon.IggyMessage, error) {
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: empty batch", core.ErrInvalid)
	}
	total := 0
	for i := range msgs {
		if len(msgs[i].Payload) == 0 {
			// The server takes it, but the SDK's poll parser drops an
			// empty message at the end of a response.
			return nil, fmt.Errorf("%w: message %d has an empty payload", core.ErrInvalid, i)
		}
		if len(msgs[i].Payload) > iggcon.MaxPayloadSize {
			return nil, fmt.Errorf("%w: message %d payload is %d bytes, the SDK allows %d", core.ErrInvalid, i, len(msgs[i].Payload), iggcon.MaxPayloadSize)
		}
		total += len(msgs[i].Payload)
	}
	arena := make([]byte, 0, total)
	out := make([]iggcon.IggyMessage, len(msgs))
	nowMicro := uint64(now.UnixMicro())
	for i := range msgs {
		m := &msgs[i]
		var hdr []byte
		if len(m.Headers) > 0 {
			var err error
			if hdr, err = EncodeHeaders(nil, m.Headers); err != nil {
				return nil, fmt.Errorf("message %d: %w", i, err)
			}
			if len(hdr) > iggcon.MaxUserHeadersSize {
				return nil, fmt.Errorf("%w: message %d user headers are %d bytes, at most %d", core.ErrInvalid, i, len(hdr), iggcon.MaxUserHeadersSize)
			}
		}
		start := len(arena)
		arena = append(arena, m.Payload...)
		origin := nowMicro
		if !m.OriginTimestamp.IsZero() {
			origin = uint64(m.OriginTimestamp.UnixMicro())
		}
		out[i] = iggcon.IggyMessage{
			Header: iggcon.MessageHeader{
				Id:               iggcon.MessageID(m.ID),
				OriginTimestamp:  origin,
				UserHeaderLength: uint32(len(hdr)),
				PayloadLength:    uint32(len(m.Payload)),
			},
			Payload:     arena[start:len(arena):len(arena)],
			UserHeaders: hdr,
		}
	}
	return out, nil
}

// fromSDKMessage converts a polled message. The payload aliases the SDK's
// response buffer, which belongs to this response alone.
func fromSDKMessage(m *iggcon.IggyMessage) (core.Message, error) {
	hs, err := DecodeHeaders(m.UserHeaders)
	if err != nil {
		return core.Message{}, fmt.Errorf("message at offset %d: %w", m.Header.Offset, err)
	}
	return core.Message{
		ID:              [16]byte(m.Header.Id),
		Offset:          m.Header.Offset,
		Timestamp:       microTime(m.Header.Timestamp),
		OriginTimestamp: microTime(m.Header.OriginTimestamp),
		Checksum:        m.Header.Checksum,
		Headers:         hs,
		Payload:         m.Payload,
	}, nil
}

// microTime converts Unix microseconds; 0 is the zero time.
func microTime(us uint64) time.Time {
	if us == 0 || us > math.MaxInt64 {
		return time.Time{}
	}
	return time.UnixMicro(int64(us))
}

// expiryToSDK converts a message expiry: 0 asks for the server default
// (never, in the stock configuration).
func expiryToSDK(d time.Duration) (iggcon.Duration, error) {
	switch {
	case d < 0:
		return 0, fmt.Errorf("%w: negative message expiry %s", core.ErrInvalid, d)
	case d == 0:
		return iggcon.IggyExpiryServerDefault, nil
	}
	us := d / time.Microsecond
	if d%time.Microsecond != 0 {
		us++
	}
	return iggcon.Duration(us), nil
}

// expiryFromSDK converts a topic's message expiry; "never" (u64 max) and
// "server default" (0) are both 0.
func expiryFromSDK(v iggcon.Duration) time.Duration {
	if v == iggcon.IggyExpiryNeverExpire || v == 0 {
		return 0
	}
	if uint64(v) > uint64(math.MaxInt64/int64(time.Microsecond)) {
		return 0
	}
	return time.Duration(v) * time.Microsecond
}

// sizeFromSDK converts a topic's max size; "unlimited" (u64 max) is 0.
func sizeFromSDK(v uint64) uint64 {
	if v == math.MaxUint64 {
		return 0
	}
	return v
}

func streamInfo(s *iggcon.StreamDetails) core.StreamInfo {
	info := core.StreamInfo{
		ID:            s.Id,
		Name:          s.Name,
		CreatedAt:     microTime(s.CreatedAt),
		SizeBytes:     s.SizeBytes,
		MessagesCount: s.MessagesCount,
	}
	for i := range s.Topics {
		info.Topics = append(info.Topics, topicInfo(&s.Topics[i], nil))
	}
	return info
}

func topicInfo(t *iggcon.Topic, parts []iggcon.PartitionContract) core.TopicInfo {
	info := core.TopicInfo{
		ID:                t.Id,
		Name:              t.Name,
		CreatedAt:         microTime(t.CreatedAt),
		PartitionsCount:   t.PartitionsCount,
		MessageExpiry:     expiryFromSDK(t.MessageExpiry),
		MaxSize:           sizeFromSDK(t.MaxTopicSize),
		ReplicationFactor: t.ReplicationFactor,
		SizeBytes:         t.Size,
		MessagesCount:     t.MessagesCount,
	}
	if parts != nil {
		info.Partitions = make([]core.PartitionInfo, len(parts))
		for i, p := range parts {
			info.Partitions[i] = core.PartitionInfo{
				ID:            p.Id,
				CreatedAt:     microTime(p.CreatedAt),
				SegmentsCount: p.SegmentsCount,
				CurrentOffset: p.CurrentOffset,
				SizeBytes:     p.SizeBytes,
				MessagesCount: p.MessagesCount,
			}
		}
	}
	return info
}

func groupInfo(g *iggcon.ConsumerGroupDetails) core.GroupInfo {
	info := core.GroupInfo{ID: g.Id, Name: g.Name, PartitionsCount: g.PartitionsCount}
	for _, m := range g.Members {
		info.Members = append(info.Members, core.GroupMemberInfo{ID: m.ID, Partitions: append([]uint32(nil), m.Partitions...)})
	}
	return info
}

// partitioning converts a core.Partitioning.
func partitioning(p core.Partitioning) (iggcon.Partitioning, error) {
	switch p.Kind {
	case core.PartitionBalanced:
		return iggcon.None(), nil
	case core.PartitionByID:
		return iggcon.PartitionId(p.Partition), nil
	case core.PartitionByKey:
		if n := len(p.Key); n == 0 || n > 255 {
			return iggcon.Partitioning{}, fmt.Errorf("%w: partition key is %d bytes, want 1 to 255", core.ErrInvalid, n)
		}
		return iggcon.EntityIdBytes(append([]byte(nil), p.Key...))
	}
	return iggcon.Partitioning{}, fmt.Errorf("%w: unknown partitioning kind %d", core.ErrInvalid, p.Kind)
}

// pollingStrategy converts a core.PollStrategy.
func pollingStrategy(s core.PollStrategy) (iggcon.PollingStrategy, error) {
	if s.Kind < core.PollOffset || s.Kind > core.PollNext {
		return iggcon.PollingStrategy{}, fmt.Errorf("%w: unknown poll strategy %d", core.ErrInvalid, s.Kind)
	}
	return iggcon.NewPollingStrategy(iggcon.MessagePolling(s.Kind), s.Value), nil
}

// ident makes a string identifier for a stream, topic or group name.
func ident(what, name string) (iggcon.Identifier, error) {
	if n := len(name); n == 0 || n > 255 {
		return iggcon.Identifier{}, fmt.Errorf("%w: %s name is %d bytes, want 1 to 255", core.ErrInvalid, what, n)
	}
	return iggcon.NewIdentifier(name)
}

// consumer converts a single consumer; an empty name is consumer id 0.
func consumer(c core.Consumer) (iggcon.Consumer, error) {
	switch c.Kind {
	case core.SingleConsumer, 0:
		if c.Name == "" {
			return iggcon.DefaultConsumer(), nil
		}
		id, err := ident("consumer", c.Name)
		if err != nil {
			return iggcon.Consumer{}, err
		}
		return iggcon.NewSingleConsumer(id), nil
	case core.GroupConsumer:
		id, err := ident("consumer group", c.Name)
		if err != nil {
			return iggcon.Consumer{}, err
		}
		return iggcon.NewGroupConsumer(id), nil
	}
	return iggcon.Consumer{}, fmt.Errorf("%w: unknown consumer kind %d", core.ErrInvalid, c.Kind)
}

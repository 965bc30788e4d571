package iggyproto

import (
	"encoding/binary"
	"fmt"
)

// PollMessages (100): Consumer, Id stream, Id topic, OptPart, PollingStrategy,
// u32 count, u8 auto_commit (non-zero = true).
type PollMessages struct {
	Consumer      Consumer
	Stream, Topic Identifier
	Partition     OptPartition
	Strategy      PollingStrategy
	Count         uint32
	AutoCommit    bool
}

// Command implements Request.
func (PollMessages) Command() Command { return CmdPollMessages }

// DecodePollMessages decodes a PollMessages payload. Unknown consumer or
// strategy kinds and truncation give CodeInvalidCommand; identifier
// problems follow DecodeIdentifier.
func DecodePollMessages(p []byte) (PollMessages, error) {
	r := newRd("poll_messages", p)
	return done(PollMessages{
		Consumer:   r.consumer(),
		Stream:     r.ident("stream id"),
		Topic:      r.ident("topic id"),
		Partition:  r.optPartition(),
		Strategy:   r.pollingStrategy(),
		Count:      r.u32("count"),
		AutoCommit: r.flag("auto commit"),
	}, r)
}

// EncodePollMessages appends the payload of v to dst (the Go SDK's bytes).
func EncodePollMessages(dst []byte, v PollMessages) []byte {
	dst = AppendConsumer(dst, v.Consumer)
	dst = AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic)
	dst = appendOptPartition(dst, v.Partition)
	dst = appendPollingStrategy(dst, v.Strategy)
	dst = appendU32(dst, v.Count)
	return appendBool(dst, v.AutoCommit)
}

// PollHeadSize is the size of the head of every PollMessages response.
const PollHeadSize = 16

// PollHead opens every PollMessages response; Count messages follow it,
// byte for byte as stored.
type PollHead struct {
	PartitionID uint32
	// CurrentOffset is the partition's last offset (0 when empty).
	CurrentOffset uint64
	Count         uint32
}

// AppendPollHead appends the 16-byte head to dst. Append the messages
// after it (or use BeginResponse/FinishResponse around both).
func AppendPollHead(dst []byte, h PollHead) []byte {
	dst = appendU32(dst, h.PartitionID)
	dst = appendU64(dst, h.CurrentOffset)
	return appendU32(dst, h.Count)
}

// DecodePollResponse splits a PollMessages response payload into its head
// and message bytes (aliasing b; walk them with WalkMessages). An empty
// payload gives a zero head, as the Go SDK reads it; 1..15 bytes fail.
func DecodePollResponse(b []byte) (PollHead, []byte, error) {
	if len(b) == 0 {
		return PollHead{}, nil, nil
	}
	if len(b) < PollHeadSize {
		return PollHead{}, nil, &Error{Code: CodeInvalidCommand, Msg: fmt.Sprintf("poll response: %d bytes, need %d", len(b), PollHeadSize)}
	}
	h := PollHead{
		PartitionID:   binary.LittleEndian.Uint32(b[0:4]),
		CurrentOffset: binary.LittleEndian.Uint64(b[4:12]),
		Count:         binary.LittleEndian.Uint32(b[12:16]),
	}
	return h, b[PollHeadSize:], nil
}

package iggyproto

import (
	"encoding/binary"
	"testing"
)

// sendPayload builds a valid two-message SendMessages payload and returns
// it with the offsets of the index area and the message area.
func sendPayload(t testing.TB) (p []byte, idx, area int) {
	msgs := AppendMessage(AppendMessage(nil, [16]byte{1}, 10, []byte("first"), []byte("hdr")), [16]byte{}, 11, []byte("second"), nil)
	p = EncodeSendMessages(nil, SendMessages{Stream: NumericID(1), Topic: NumericID(2), Partitioning: BalancedPartitioning(), Count: 2, Messages: msgs})
	idx = 4 + 6 + 6 + 2 + 4
	return p, idx, idx + 32
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func TestDecodeSendMessagesValid(t *testing.T) {
	p, idx, area := sendPayload(t)
	s := must(DecodeSendMessages(p))(t)
	if s.Count != 2 || len(s.Indexes) != 32 || &s.Indexes[0] != &p[idx] || &s.Messages[0] != &p[area] {
		t.Fatalf("%+v", s)
	}
	// Positions are the cumulative ends, as the Go SDK writes them.
	if binary.LittleEndian.Uint32(p[idx+4:]) != 64+5+3 || binary.LittleEndian.Uint32(p[idx+20:]) != 64+5+3+64+6 {
		t.Fatalf("index %x", p[idx:area])
	}
	n := 0
	if err := s.Walk(func(MessageView) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("walk: %d, %v", n, err)
	}
	// The last index entry's position is not used: the last message runs to
	// the end of the area.
	q := clone(p)
	binary.LittleEndian.PutUint32(q[idx+20:], 0xFFFFFF)
	if _, err := DecodeSendMessages(q); err != nil {
		t.Fatal(err)
	}
	// Metadata bytes after the count are ignored.
	meta := binary.LittleEndian.Uint32(p)
	q = append(binary.LittleEndian.AppendUint32(nil, meta+2), p[4:4+meta]...)
	q = append(append(q, 0xaa, 0xbb), p[4+meta:]...)
	if _, err := DecodeSendMessages(q); err != nil {
		t.Fatal(err)
	}
}

func TestDecodeSendMessagesErrors(t *testing.T) {
	p, idx, area := sendPayload(t)
	m2 := area + 64 + 5 + 3 // start of message 2
	meta := func(m []byte) []byte {
		return append(binary.LittleEndian.AppendUint32(nil, uint32(len(m))), m...)
	}
	rest := p[idx:]
	for _, tc := range []struct {
		name string
		p    []byte
		code Code
	}{
		{"empty", nil, CodeInvalidCommand},
		{"3 bytes", []byte{1, 0, 0}, CodeInvalidCommand},
		{"metadata beyond payload", append(binary.LittleEndian.AppendUint32(nil, 100), 1, 4), CodeInvalidCommand},
		{"stream id kind 3", b(meta(b([]byte{3, 4, 0, 0, 0, 0}, id0, []byte{1, 0}, le32(2))), rest), CodeInvalidIdentifier},
		{"stream id length 3", b(meta(b([]byte{1, 3, 0, 0, 0}, id0, []byte{1, 0}, le32(2))), rest), CodeInvalidIdentifier},
		{"stream id empty name", b(meta(b([]byte{2, 0}, id0, []byte{1, 0}, le32(2))), rest), CodeInvalidIdentifier},
		{"metadata too short for the stream id", b(meta([]byte{1}), rest), CodeInvalidIdentifier},
		{"topic id truncated", b(meta(b(id0, []byte{1, 4, 0})), rest), CodeInvalidIdentifier},
		{"partitioning kind 4", b(meta(b(id0, id0, []byte{4, 0}, le32(2))), rest), CodeInvalidCommand},
		{"balanced with length", b(meta(b(id0, id0, []byte{1, 1, 0}, le32(2))), rest), CodeInvalidCommand},
		{"partition id length 3", b(meta(b(id0, id0, []byte{2, 3, 0, 0, 0}, le32(2))), rest), CodeInvalidCommand},
		{"key truncated", b(meta(b(id0, id0, []byte{3, 9, 'k'})), rest), CodeInvalidCommand},
		{"no count", b(meta(b(id0, id0, []byte{1, 0})), rest), CodeInvalidCommand},
		{"count 0", b(meta(b(id0, id0, []byte{1, 0}, le32(0))), rest), CodeInvalidMessagesCount},
		{"index beyond payload", b(meta(b(id0, id0, []byte{1, 0}, le32(0xFFFFFFFF))), rest), CodeInvalidCommand},
		{"index area fills the payload", b(meta(b(id0, id0, []byte{1, 0}, le32(10))), rest[:160]), CodeMissingIndex},
		{"index offset", set32(p, idx, 1), CodeNonZeroOffset},
		{"index timestamp", set64(p, idx+8, 1), CodeNonZeroTimestamp},
		{"second index timestamp", set64(p, idx+24, 1), CodeNonZeroTimestamp},
		{"last position below the previous", set32(p, idx+20, 50), CodeCannotReadIndexPosition},
		{"first position beyond the second slice", set32(p, idx+4, 100), CodeMissingIndex},
		{"position beyond area", set32(p, idx+4, 10000), CodeMissingIndex},
		{"slice shorter than a header", set32(p, idx+4, 63), CodeMissingIndex},
		{"header longer than slice", set32(p, area+52, 6), CodeMissingIndex},
		{"last header longer than area", set32(p, m2+52, 7), CodeMissingIndex},
		{"user headers too big", bigHeaders(t), CodeTooBigUserHeaders},
		{"offsets decreasing", set64(p, area+24, 5), CodeInvalidOffset},
		{"sizes do not add up", append(clone(p), 0), CodeInvalidMessagesSize},
		{"first message shorter than its slice", set32(p, area+52, 4), CodeInvalidMessagesSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeSendMessages(tc.p)
			wantCode(t, err, tc.code)
		})
	}
}

func TestDecodeSendMessagesTooBigPayload(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 64 MB")
	}
	msg := AppendMessage(nil, [16]byte{}, 0, make([]byte, MaxPayloadSize+1), nil)
	p := EncodeSendMessages(nil, SendMessages{Stream: NumericID(1), Topic: NumericID(2), Partitioning: BalancedPartitioning(), Count: 1, Messages: msg})
	_, err := DecodeSendMessages(p)
	wantCode(t, err, CodeTooBigMessagePayload)
}

func bigHeaders(t testing.TB) []byte {
	msg := AppendMessage(nil, [16]byte{}, 0, []byte("p"), make([]byte, MaxUserHeadersSize+1))
	return EncodeSendMessages(nil, SendMessages{Stream: NumericID(1), Topic: NumericID(2), Partitioning: BalancedPartitioning(), Count: 1, Messages: msg})
}

func set32(p []byte, at int, v uint32) []byte {
	q := clone(p)
	binary.LittleEndian.PutUint32(q[at:], v)
	return q
}

func set64(p []byte, at int, v uint64) []byte {
	q := clone(p)
	binary.LittleEndian.PutUint64(q[at:], v)
	return q
}

func TestAppendMessage(t *testing.T) {
	m := AppendMessage(nil, [16]byte{7}, 99, []byte("pay"), []byte("hh"))
	h := must(DecodeMessageHeader(m))(t)
	if h.ID != [16]byte{7} || h.OriginTimestamp != 99 || h.PayloadLength != 3 || h.UserHeadersLength != 2 || h.Checksum != 0 || len(m) != 69 {
		t.Fatalf("%+v", h)
	}
	if string(m[64:67]) != "pay" || string(m[67:]) != "hh" {
		t.Fatalf("body %q", m[64:])
	}
}

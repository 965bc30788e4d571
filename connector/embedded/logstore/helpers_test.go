package logstore

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// payloadFor derives a message payload deterministically from its offset, so
// tests can check stored bytes without remembering them.
func payloadFor(off uint64, size int) []byte {
	p := make([]byte, size)
	x := off*0x9E3779B97F4A7C15 + 1
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x)
	}
	return p
}

// appendMsg appends one unstamped message (zero id unless id is given) to dst.
func appendMsg(dst []byte, id [16]byte, payload, headers []byte) []byte {
	dst = iggyproto.AppendMessageHeader(dst, iggyproto.MessageHeader{
		ID:                id,
		OriginTimestamp:   7,
		UserHeadersLength: uint32(len(headers)),
		PayloadLength:     uint32(len(payload)),
	})
	dst = append(dst, payload...)
	return append(dst, headers...)
}

// batchFor builds n messages whose payloads derive from offsets first..first+n-1.
func batchFor(first uint64, n, size int) []byte {
	var b []byte
	for i := range n {
		b = appendMsg(b, [16]byte{}, payloadFor(first+uint64(i), size), nil)
	}
	return b
}

// idOf returns an id with v in its first 8 bytes.
func idOf(v uint64) [16]byte {
	var id [16]byte
	binary.LittleEndian.PutUint64(id[:], v)
	id[15] = 0xAA
	return id
}

// checkChunk verifies c holds messages first..first+n-1 with derived payloads of size.
func checkChunk(t testing.TB, c Chunk, first uint64, n, size int) {
	t.Helper()
	if err := chunkErr(c, first, n, size); err != nil {
		t.Fatal(err)
	}
}

// chunkErr is checkChunk for goroutines other than the test's.
func chunkErr(c Chunk, first uint64, n, size int) error {
	if c.Count != n || (n > 0 && c.FirstOffset != first) {
		return fmt.Errorf("chunk: count %d first %d, want %d at %d", c.Count, c.FirstOffset, n, first)
	}
	i := 0
	err := iggyproto.WalkMessages(c.Data, func(m iggyproto.MessageView) error {
		want := first + uint64(i)
		switch {
		case m.Header.Offset != want:
			return fmt.Errorf("message %d: offset %d, want %d", i, m.Header.Offset, want)
		case iggyproto.Checksum(m.Raw) != m.Header.Checksum:
			return fmt.Errorf("offset %d: checksum mismatch", want)
		case string(m.Payload()) != string(payloadFor(want, size)):
			return fmt.Errorf("offset %d: payload differs", want)
		}
		i++
		return nil
	})
	if err != nil {
		return err
	}
	if i != n {
		return fmt.Errorf("walked %d messages, want %d", i, n)
	}
	return nil
}

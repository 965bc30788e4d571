package server

import (
	"bytes"
	"fmt"
	"net"
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Tests of the pooled buffers of the send and poll paths: frames and
// answers that share memory between requests and connections must never
// show one request's bytes in another's answer.

// hotPayload is the payload stored at offset off of a test partition.
func hotPayload(off uint64, size int) []byte {
	p := bytes.Repeat([]byte{byte(off), byte(off >> 8), byte(off >> 16)}, size/3+1)
	return p[:size]
}

// hotSend sends n messages of size bytes (payloads from hotPayload, from
// offset first) to partition 0 of stream 0, topic 0.
func hotSend(t *testing.T, c net.Conn, first uint64, n, size int) {
	t.Helper()
	var batch []byte
	for i := range n {
		batch = iggyproto.AppendMessage(batch, [16]byte{}, 1, hotPayload(first+uint64(i), size), nil)
	}
	req, err := iggyproto.AppendRequest(nil, iggyproto.SendMessages{Stream: iggyproto.NumericID(0), Topic: iggyproto.NumericID(0),
		Partitioning: iggyproto.PartitionIDPartitioning(0), Count: uint32(n), Messages: batch})
	if err != nil {
		t.Fatal(err)
	}
	if st, p := roundTrip(t, c, req); st != 0 {
		t.Fatalf("send of %d x %d bytes at %d: status %d %x", n, size, first, st, p)
	}
}

// hotPoll polls count messages from offset and checks every one against
// sizeOf (the payload size stored at an offset).
func hotPoll(t *testing.T, c net.Conn, offset uint64, count uint32, want int, sizeOf func(uint64) int) {
	t.Helper()
	req, err := iggyproto.AppendRequest(nil, iggyproto.PollMessages{
		Consumer: iggyproto.Consumer{Kind: iggyproto.ConsumerSingle, ID: iggyproto.NumericID(1)},
		Stream:   iggyproto.NumericID(0), Topic: iggyproto.NumericID(0), Partition: iggyproto.SomePartition(0),
		Strategy: iggyproto.PollingStrategy{Kind: iggyproto.PollOffset, Value: offset}, Count: count,
	})
	if err != nil {
		t.Fatal(err)
	}
	st, p := roundTrip(t, c, req)
	if st != 0 {
		t.Fatalf("poll at %d: status %d", offset, st)
	}
	h, data, err := iggyproto.DecodePollResponse(p)
	if err != nil {
		t.Fatal(err)
	}
	if int(h.Count) != want {
		t.Fatalf("poll %d at %d: %d messages, want %d", count, offset, h.Count, want)
	}
	i := 0
	err = iggyproto.WalkMessages(data, func(m iggyproto.MessageView) error {
		off := offset + uint64(i)
		i++
		switch {
		case m.Header.Offset != off:
			return fmt.Errorf("message %d: offset %d", off, m.Header.Offset)
		case iggyproto.Checksum(m.Raw) != m.Header.Checksum:
			return fmt.Errorf("message %d: checksum", off)
		case !bytes.Equal(m.Payload(), hotPayload(off, sizeOf(off))):
			return fmt.Errorf("message %d: payload differs", off)
		}
		return nil
	})
	if err != nil || i != want {
		t.Fatalf("poll at %d: walked %d of %d: %v", offset, i, want, err)
	}
}

func TestPooledPollAndSendBuffersKeepRequestsApart(t *testing.T) {
	e := newEnv(t)
	mkTopic(t, e.root(t), "hot", "t", 1)
	a, b := dial(t, e.addr), dial(t, e.addr)
	rawLogin(t, a)
	rawLogin(t, b)
	// Batches of every frame path: small (connection buffer), one chunk,
	// several chunks; messages of two sizes.
	sizes := map[uint64]int{}
	var next uint64
	for _, s := range []struct{ n, size int }{{3, 100}, {900, 1000}, {2500, 1000}, {10, 5000}, {1200, 1000}} {
		hotSend(t, a, next, s.n, s.size)
		for i := range s.n {
			sizes[next+uint64(i)] = s.size
		}
		next += uint64(s.n)
	}
	sizeOf := func(off uint64) int { return sizes[off] }
	for range 3 {
		for _, p := range []struct {
			c      net.Conn
			offset uint64
			count  uint32
		}{
			{a, 0, 1000}, {b, 5, 2}, {a, 1000, 3000}, {b, 3390, 1000}, {a, next - 1, 10}, {b, 0, 4000}, {a, next, 10},
		} {
			want := int(min(uint64(p.count), next-min(p.offset, next)))
			hotPoll(t, p.c, p.offset, p.count, want, sizeOf)
		}
		// Interleave sends through the shared frame pool.
		hotSend(t, b, next, 1100, 1000)
		for i := range 1100 {
			sizes[next+uint64(i)] = 1000
		}
		next += 1100
	}
}

package httpserver

import (
	"testing"
)

func TestDeleteSegments(t *testing.T) {
	e := newEnvSeg(t, Config{}, 512) // ~5 messages of 80 bytes a segment
	tok := e.root()
	e.mkTopic(tok, "s", "t", 1)
	for range 6 {
		e.sendN(tok, "s", "t", 0, 5)
	}
	segs := func() uint32 {
		td := decode[TopicDetailsJSON](t, e.do("GET", "/streams/s/topics/t", tok, nil).expect(t, 200))
		return td.Partitions[0].SegmentsCount
	}
	before := segs()
	if before < 4 {
		t.Fatalf("only %d segments; the test needs several", before)
	}
	first := func() uint64 {
		p := decodePolled(t, e.do("GET", "/streams/s/topics/t/messages?kind=first&count=1", tok, nil).expect(t, 200))
		return p.Messages[0].Header.Offset
	}
	e.do("DELETE", "/streams/s/topics/t/partitions/0?segments_count=1", tok, nil).expect(t, 204)
	if got := segs(); got != before-1 {
		t.Fatalf("segments %d -> %d, want one fewer", before, got)
	}
	if first() == 0 {
		t.Fatal("offset 0 still readable after its segment was deleted")
	}
	// A consumer's stored offset is a barrier: segments it has not read stay.
	at := first()
	e.do("PUT", "/streams/s/topics/t/consumer-offsets", tok, `{"consumer_id":"1","partition_id":0,"offset":`+u64s(at)+`}`).expect(t, 204)
	n := segs()
	e.do("DELETE", "/streams/s/topics/t/partitions/0?segments_count=100", tok, nil).expect(t, 204)
	if segs() != n || first() != at {
		t.Fatal("a segment above the consumer's offset was deleted")
	}
	e.do("DELETE", "/streams/s/topics/t/consumer-offsets/1?partition_id=0", tok, nil).expect(t, 204)
	e.do("DELETE", "/streams/s/topics/t/partitions/0?segments_count=100", tok, nil).expect(t, 204)
	if got := segs(); got != 1 {
		t.Fatalf("%d segments left, want the active one", got)
	}
	p := decodePolled(t, e.do("GET", "/streams/s/topics/t/messages?kind=last&count=1", tok, nil))
	if p.Count != 1 || p.Messages[0].Header.Offset != 29 {
		t.Fatalf("last message after deletes: %+v", p)
	}
	e.do("DELETE", "/streams/s/topics/t/partitions/7?segments_count=1", tok, nil).iggyError(t, 404, 3007, "partition_not_found")
	e.do("DELETE", "/streams/s/topics/t/partitions/0", tok, nil).expect(t, 400)
	e.do("POST", "/users", tok, map[string]any{"username": "reader", "password": "secret", "status": "active",
		"permissions": map[string]any{"global": map[string]bool{"read_streams": true, "send_messages": true}}}).expect(t, 200)
	reader := e.login("reader", "secret")
	e.do("DELETE", "/streams/s/topics/t/partitions/0?segments_count=1", reader, nil).iggyError(t, 403, 41, "unauthorized")
	// Flush: send permission; fsync syncs; an unknown partition is
	// partition_not_found, as Iggy 0.8.0's data plane answers.
	e.do("GET", "/streams/s/topics/t/messages/flush/0/true", reader, nil).expect(t, 200)
	e.do("GET", "/streams/s/topics/t/messages/flush/9/false", reader, nil).iggyError(t, 404, 3007, "partition_not_found")
	e.do("GET", "/streams/s/topics/t/messages/flush/0/maybe", reader, nil).expect(t, 400)
	e.do("GET", "/streams/s/topics/nope/messages/flush/0/true", reader, nil).iggyError(t, 404, 2010, "topic_id_not_found")
	e.do("POST", "/users", tok, map[string]any{"username": "looker", "password": "secret", "status": "active",
		"permissions": map[string]any{"global": map[string]bool{"read_streams": true}}}).expect(t, 200)
	e.do("GET", "/streams/s/topics/t/messages/flush/0/true", e.login("looker", "secret"), nil).iggyError(t, 403, 41, "unauthorized")
}

func u64s(v uint64) string { return itoa(uint32(v)) }

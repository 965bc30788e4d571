package broker

import (
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func TestDeleteSegments(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SegmentSize = 4096 })
	e.stream("s")
	e.topic("s", "t", 2)
	for range 10 { // 10 x 5 x ~264 bytes: several 4 KiB segments on partition 0
		must[SendResult](t)(e.b.Send(e.root, name("s"), name("t"), Partitioning{Kind: PartitionByID, PartitionID: 0}, bigBatch(5, 200)))
	}
	stats := func() (first, count uint64) {
		r := must[PollResult](t)(e.b.Poll(e.root, PollRequest{Consumer: Consumer{Kind: SingleConsumer, ID: 9}, Stream: name("s"), Topic: name("t"),
			PartitionID: ptr(uint32(0)), Strategy: PollStrategy{Kind: PollFirst}, Count: 1000}))
		offs := offsetsOf(t, r)
		if len(offs) == 0 {
			t.Fatal("partition 0 empty")
		}
		return offs[0], uint64(len(offs))
	}

	// A consumer stored offset 3: the first segment ends above it, so
	// nothing goes.
	wantCode(t, e.b.StoreOffset(e.root, Consumer{Kind: SingleConsumer, ID: 1}, name("s"), name("t"), ptr(uint32(0)), 3), 0)
	segs, msgs, err := e.b.DeleteSegments(e.root, name("s"), name("t"), 0, 2)
	if err != nil || segs != 0 || msgs != 0 {
		t.Fatalf("delete under the offset barrier: %d %d %v", segs, msgs, err)
	}
	// Once it stored 49, two segments go.
	wantCode(t, e.b.StoreOffset(e.root, Consumer{Kind: SingleConsumer, ID: 1}, name("s"), name("t"), ptr(uint32(0)), 49), 0)
	segs, msgs, err = e.b.DeleteSegments(e.root, name("s"), name("t"), 0, 2)
	if err != nil || segs != 2 || msgs == 0 {
		t.Fatalf("delete 2: %d %d %v", segs, msgs, err)
	}
	if first, n := stats(); first != msgs || n != 50-msgs {
		t.Fatalf("after delete: first offset %d, %d messages; %d deleted", first, n, msgs)
	}
	// Never the active segment.
	segs, _, err = e.b.DeleteSegments(e.root, name("s"), name("t"), 0, 1000)
	if err != nil || segs == 0 {
		t.Fatalf("delete the rest: %d %v", segs, err)
	}
	if _, n := stats(); n == 0 {
		t.Fatal("active segment deleted")
	}

	_, _, err = e.b.DeleteSegments(e.root, name("s"), name("t"), 2, 1)
	wantCode(t, err, iggyproto.CodePartitionNotFound)
	_, _, err = e.b.DeleteSegments(e.root, name("s"), name("nope"), 0, 1)
	wantCode(t, err, iggyproto.CodeTopicIDNotFound)
	_, _, err = e.b.DeleteSegments(e.root, name("nope"), name("t"), 0, 1)
	wantCode(t, err, iggyproto.CodeStreamIDNotFound)
	anon := e.b.NewSession("10.1.1.1:1", TransportTCP)
	_, _, err = e.b.DeleteSegments(anon, name("s"), name("t"), 0, 1)
	wantCode(t, err, iggyproto.CodeUnauthenticated)

	// A user who may send but not manage the topic: 3007 comes before 41.
	must[UserDetails](t)(e.b.CreateUser(e.root, "sender", "password", UserActive,
		&Permissions{Streams: map[uint32]*StreamPermissions{0: {Topics: map[uint32]*TopicPermissions{0: {SendMessages: true}}}}}))
	sender := e.b.NewSession("10.1.1.2:2", TransportTCP)
	must[uint32](t)(e.b.Login(sender, "sender", "password"))
	_, _, err = e.b.DeleteSegments(sender, name("s"), name("t"), 5, 1)
	wantCode(t, err, iggyproto.CodePartitionNotFound)
	_, _, err = e.b.DeleteSegments(sender, name("s"), name("t"), 0, 1)
	wantCode(t, err, iggyproto.CodeUnauthorized)

	// FlushUnsavedBuffer: the sender may flush; 41 comes before 3007.
	wantCode(t, e.b.FlushUnsavedBuffer(sender, name("s"), name("t"), 0, true), 0)
	wantCode(t, e.b.FlushUnsavedBuffer(e.root, name("s"), name("t"), 1, false), 0)
	wantCode(t, e.b.FlushUnsavedBuffer(e.root, name("s"), name("t"), 2, true), iggyproto.CodePartitionNotFound)
	wantCode(t, e.b.FlushUnsavedBuffer(e.root, name("s"), name("x"), 0, true), iggyproto.CodeTopicIDNotFound)
	wantCode(t, e.b.FlushUnsavedBuffer(anon, name("s"), name("t"), 0, true), iggyproto.CodeUnauthenticated)
	none := e.b.NewSession("10.1.1.3:3", TransportTCP)
	must[UserDetails](t)(e.b.CreateUser(e.root, "nobody", "password", UserActive, nil))
	must[uint32](t)(e.b.Login(none, "nobody", "password"))
	wantCode(t, e.b.FlushUnsavedBuffer(none, name("s"), name("t"), 9, true), iggyproto.CodeUnauthorized)
}

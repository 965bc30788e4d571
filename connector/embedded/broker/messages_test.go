package broker

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func TestXXH32Vectors(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{{"", 0x02CC5D05}, {"abc", 0x32D153FF}} {
		if got := XXH32([]byte(c.in)); got != c.want {
			t.Fatalf("XXH32(%q) = %#08x, want %#08x", c.in, got, c.want)
		}
	}
	if ConsumerIDFromName("abc") != 0x32D153FF {
		t.Fatal("consumer id")
	}
}

func TestSendPartitioning(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 3)
	e.topic("s", "empty", 0)
	for i, want := range []uint32{0, 1, 2, 0, 1} {
		if r := e.send(e.root, "s", "t", Partitioning{Kind: PartitionBalanced}, 1); r.PartitionID != want {
			t.Fatalf("balanced send %d went to %d, want %d", i, r.PartitionID, want)
		}
	}
	for _, c := range []struct {
		key  string
		want uint32
	}{{"", 0x02CC5D05 % 3}, {"abc", 0x32D153FF % 3}, {"tenant-42", XXH32([]byte("tenant-42")) % 3}} {
		for range 2 { // stable
			if r := e.send(e.root, "s", "t", Partitioning{Kind: PartitionByKey, Key: []byte(c.key)}, 1); r.PartitionID != c.want {
				t.Fatalf("key %q went to %d, want %d", c.key, r.PartitionID, c.want)
			}
		}
	}
	r := e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: 2}, 3)
	if r.PartitionID != 2 || r.Count != 3 {
		t.Fatalf("by id: %+v", r)
	}
	cases := []struct {
		name  string
		topic string
		p     Partitioning
		msgs  []byte
		code  iggyproto.Code
	}{
		{"missing partition", "t", Partitioning{Kind: PartitionByID, PartitionID: 3}, batch("x", 1), iggyproto.CodePartitionNotFound},
		{"balanced on 0 partitions", "empty", Partitioning{Kind: PartitionBalanced}, batch("x", 1), iggyproto.CodeTopicIDNotFound},
		{"key on 0 partitions", "empty", Partitioning{Kind: PartitionByKey, Key: []byte("k")}, batch("x", 1), iggyproto.CodeTopicIDNotFound},
		{"id on 0 partitions", "empty", Partitioning{Kind: PartitionByID}, batch("x", 1), iggyproto.CodePartitionNotFound},
		{"bad kind", "t", Partitioning{Kind: 9}, batch("x", 1), iggyproto.CodeInvalidCommand},
		{"empty batch", "t", Partitioning{Kind: PartitionBalanced}, nil, iggyproto.CodeInvalidMessagesCount},
		{"truncated batch", "t", Partitioning{Kind: PartitionBalanced}, batch("x", 1)[:65], iggyproto.CodeInvalidMessagesSize},
		{"missing topic", "nope", Partitioning{Kind: PartitionBalanced}, batch("x", 1), iggyproto.CodeTopicIDNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.b.Send(e.root, name("s"), name(c.topic), c.p, c.msgs)
			wantCode(t, err, c.code)
		})
	}
	_, err := e.b.Send(e.root, name("nope"), name("t"), Partitioning{Kind: PartitionBalanced}, batch("x", 1))
	wantCode(t, err, iggyproto.CodeStreamIDNotFound)
}

func TestPollStrategies(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 2)
	c1 := Consumer{Kind: SingleConsumer, ID: 7}
	poll := func(kind PollKind, value uint64, count uint32, auto bool) PollResult {
		t.Helper()
		return must[PollResult](t)(e.b.Poll(e.root, PollRequest{Consumer: c1, Stream: name("s"), Topic: name("t"),
			PartitionID: ptr[uint32](0), Strategy: PollStrategy{Kind: kind, Value: value}, Count: count, AutoCommit: auto}))
	}
	// Empty partition: every strategy answers the head only.
	for _, k := range []PollKind{PollOffset, PollTimestamp, PollFirst, PollLast, PollNext} {
		if r := poll(k, 0, 10, true); r.Count != 0 || r.CurrentOffset != 0 || r.PartitionID != 0 || len(r.Messages) != 0 {
			t.Fatalf("empty partition, strategy %d: %+v", k, r)
		}
	}
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID}, 4) // offsets 0..3 at T0
	t1 := e.clk.Now().Add(time.Second)
	e.clk.Advance(time.Second)
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID}, 6) // offsets 4..9 at T1

	cases := []struct {
		name  string
		kind  PollKind
		value uint64
		count uint32
		want  []uint64
	}{
		{"offset", PollOffset, 3, 2, []uint64{3, 4}},
		{"offset at end", PollOffset, 9, 5, []uint64{9}},
		{"offset past end", PollOffset, 10, 5, nil},
		{"timestamp", PollTimestamp, uint64(t1.UnixMicro()), 3, []uint64{4, 5, 6}},
		{"timestamp before all", PollTimestamp, 0, 2, []uint64{0, 1}},
		{"timestamp after all", PollTimestamp, uint64(t1.Add(time.Hour).UnixMicro()), 2, nil},
		{"first", PollFirst, 0, 3, []uint64{0, 1, 2}},
		{"last 3", PollLast, 0, 3, []uint64{7, 8, 9}},
		{"last more than all", PollLast, 0, 50, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"count 0", PollFirst, 0, 0, nil},
		{"next without stored offset", PollNext, 0, 2, []uint64{0, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := poll(c.kind, c.value, c.count, false)
			if got := offsetsOf(t, r); !slices.Equal(got, c.want) {
				t.Fatalf("offsets %v, want %v", got, c.want)
			}
			if r.CurrentOffset != 9 || r.PartitionID != 0 {
				t.Fatalf("head %+v", r)
			}
		})
	}
	// Auto-commit stores the last returned offset; next continues after it.
	if got := offsetsOf(t, poll(PollNext, 0, 3, true)); !slices.Equal(got, []uint64{0, 1, 2}) {
		t.Fatalf("next: %v", got)
	}
	oi, ok, err := e.b.GetOffset(e.root, c1, name("s"), name("t"), ptr[uint32](0))
	if err != nil || !ok || oi.StoredOffset != 2 || oi.CurrentOffset != 9 {
		t.Fatalf("offset after auto-commit: %+v %v %v", oi, ok, err)
	}
	if got := offsetsOf(t, poll(PollNext, 0, 3, true)); !slices.Equal(got, []uint64{3, 4, 5}) {
		t.Fatalf("next: %v", got)
	}
	// Auto-commit on other strategies too.
	poll(PollLast, 0, 1, true)
	if r := poll(PollNext, 0, 3, false); r.Count != 0 {
		t.Fatalf("next after last+commit: %+v", r)
	}
	// Messages come back exactly as stored: checksums valid.
	r := poll(PollFirst, 0, 10, false)
	if err := iggyproto.WalkMessages(r.Messages, func(m iggyproto.MessageView) error {
		if iggyproto.Checksum(m.Raw) != m.Header.Checksum {
			t.Errorf("checksum mismatch at offset %d", m.Header.Offset)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A single consumer without partition reads partition 0; missing partition 3007.
	rp := must[PollResult](t)(e.b.Poll(e.root, PollRequest{Consumer: c1, Stream: name("s"), Topic: name("t"), Strategy: PollStrategy{Kind: PollFirst}, Count: 1}))
	if rp.PartitionID != 0 || rp.Count != 1 {
		t.Fatalf("default partition: %+v", rp)
	}
	_, err = e.b.Poll(e.root, PollRequest{Consumer: c1, Stream: name("s"), Topic: name("t"), PartitionID: ptr[uint32](2), Strategy: PollStrategy{Kind: PollFirst}, Count: 1})
	wantCode(t, err, iggyproto.CodePartitionNotFound)
	_, err = e.b.Poll(e.root, PollRequest{Consumer: c1, Stream: name("s"), Topic: name("t"), Strategy: PollStrategy{Kind: 9}, Count: 1})
	wantCode(t, err, iggyproto.CodeInvalidCommand)
	_, err = e.b.Poll(e.root, PollRequest{Consumer: c1, Stream: name("s"), Topic: name("x"), Strategy: PollStrategy{Kind: PollFirst}, Count: 1})
	wantCode(t, err, iggyproto.CodeTopicIDNotFound)
	_, err = e.b.Poll(e.root, PollRequest{Consumer: c1, Stream: name("x"), Topic: name("t"), Strategy: PollStrategy{Kind: PollFirst}, Count: 1})
	wantCode(t, err, iggyproto.CodeStreamIDNotFound)
}

func TestOffsets(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 2)
	c := Consumer{Kind: SingleConsumer, ID: ConsumerIDFromName("worker")}
	s, tp := name("s"), name("t")
	wantCode(t, e.b.StoreOffset(e.root, c, s, tp, ptr[uint32](0), 0), iggyproto.CodeInvalidOffset) // empty partition
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID}, 3)
	wantCode(t, e.b.StoreOffset(e.root, c, s, tp, ptr[uint32](0), 3), iggyproto.CodeInvalidOffset)
	wantCode(t, e.b.StoreOffset(e.root, c, s, tp, ptr[uint32](5), 0), iggyproto.CodePartitionNotFound)
	wantCode(t, e.b.StoreOffset(e.root, c, name("x"), tp, nil, 0), iggyproto.CodeStreamIDNotFound)
	wantCode(t, e.b.StoreOffset(e.root, c, s, name("x"), nil, 0), iggyproto.CodeTopicIDNotFound)
	if _, ok, err := e.b.GetOffset(e.root, c, s, tp, nil); ok || err != nil {
		t.Fatalf("nothing stored: %v %v", ok, err)
	}
	wantCode(t, e.b.StoreOffset(e.root, c, s, tp, nil, 2), 0) // no partition -> 0
	oi, ok, _ := e.b.GetOffset(e.root, c, s, tp, ptr[uint32](0))
	if !ok || oi.StoredOffset != 2 || oi.PartitionID != 0 || oi.CurrentOffset != 2 {
		t.Fatalf("get: %+v %v", oi, ok)
	}
	for _, missing := range []struct{ s, t iggyproto.Identifier }{{name("x"), tp}, {s, name("x")}} {
		if _, ok, err := e.b.GetOffset(e.root, c, missing.s, missing.t, nil); ok || err != nil {
			t.Fatalf("get on missing: %v %v", ok, err)
		}
	}
	if _, ok, err := e.b.GetOffset(e.root, c, s, tp, ptr[uint32](9)); ok || err != nil {
		t.Fatalf("get on missing partition: %v %v", ok, err)
	}
	wantCode(t, e.b.DeleteOffset(e.root, c, s, tp, ptr[uint32](9)), iggyproto.CodePartitionNotFound)
	wantCode(t, e.b.DeleteOffset(e.root, c, s, tp, nil), 0)
	wantCode(t, e.b.DeleteOffset(e.root, c, s, tp, nil), iggyproto.CodeConsumerOffsetNotFound)

	// Groups.
	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, s, tp, "g"))
	g := Consumer{Kind: GroupConsumer, Group: name("g")}
	wantCode(t, e.b.StoreOffset(e.root, Consumer{Kind: GroupConsumer, Group: name("zz")}, s, tp, nil, 0), iggyproto.CodeGroupIDNotFound)
	wantCode(t, e.b.StoreOffset(e.root, g, s, tp, ptr[uint32](0), 0), iggyproto.CodeGroupMemberNotFound)
	wantCode(t, e.b.DeleteOffset(e.root, g, s, tp, nil), iggyproto.CodeGroupMemberNotFound)
	m1 := e.b.NewSystemSession("m1")
	m2 := e.b.NewSystemSession("m2")
	wantCode(t, e.b.JoinConsumerGroup(m1, s, tp, name("g")), 0)
	wantCode(t, e.b.JoinConsumerGroup(m2, s, tp, name("g")), 0) // m1: [0], m2: [1]
	wantCode(t, e.b.StoreOffset(m2, g, s, tp, ptr[uint32](0), 1), iggyproto.CodeNotResolvedConsumer)
	wantCode(t, e.b.StoreOffset(m2, g, s, tp, ptr[uint32](9), 1), iggyproto.CodeNotResolvedConsumer)
	wantCode(t, e.b.DeleteOffset(m2, g, s, tp, ptr[uint32](9)), iggyproto.CodeNotResolvedConsumer)
	wantCode(t, e.b.StoreOffset(m1, g, s, tp, ptr[uint32](0), 1), 0)
	// Get needs no membership.
	oi, ok, _ = e.b.GetOffset(e.root, g, s, tp, ptr[uint32](0))
	if !ok || oi.StoredOffset != 1 {
		t.Fatalf("group offset %+v %v", oi, ok)
	}
	// Without partition: the member's current round-robin slot.
	wantCode(t, e.b.StoreOffset(m1, g, s, tp, nil, 2), 0)
	oi, _, _ = e.b.GetOffset(e.root, g, s, tp, ptr[uint32](0))
	if oi.StoredOffset != 2 {
		t.Fatalf("rr slot store: %+v", oi)
	}
	wantCode(t, e.b.StoreOffset(m2, g, s, tp, nil, 0), iggyproto.CodeInvalidOffset) // partition 1 is empty
	wantCode(t, e.b.DeleteOffset(m1, g, s, tp, ptr[uint32](0)), 0)
	wantCode(t, e.b.DeleteOffset(m1, g, s, tp, ptr[uint32](0)), iggyproto.CodeConsumerOffsetNotFound)
	// A deleted group's offsets do not leak into a new group with its id.
	wantCode(t, e.b.StoreOffset(m1, g, s, tp, ptr[uint32](0), 1), 0)
	wantCode(t, e.b.DeleteConsumerGroup(e.root, s, tp, name("g")), 0)
	if gi := must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, s, tp, "g2")); gi.ID != 0 {
		t.Fatalf("group id %d", gi.ID)
	}
	if _, ok, _ := e.b.GetOffset(e.root, Consumer{Kind: GroupConsumer, Group: num(0)}, s, tp, ptr[uint32](0)); ok {
		t.Fatal("offset of a deleted group survived")
	}
}

func TestOffsetLogRecovery(t *testing.T) {
	dir := t.TempDir() + "/o.log"
	l, err := openOffsetLog(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(3000) { // forces compactions
		if err := l.store(offKey{kind: 1, id: uint32(i % 3)}, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.remove(offKey{kind: 1, id: 2}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, l.close(), 0)
	// A torn record at the end is dropped.
	f, _ := openAppend(dir)
	f.Write([]byte{1, 1, 0, 0, 9})
	f.Close()
	l, err = openOffsetLog(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if v, ok := l.get(offKey{kind: 1, id: 0}); !ok || v != 2997 {
		t.Fatalf("id 0: %d %v", v, ok)
	}
	if v, ok := l.get(offKey{kind: 1, id: 1}); !ok || v != 2998 {
		t.Fatalf("id 1: %d %v", v, ok)
	}
	if _, ok := l.get(offKey{kind: 1, id: 2}); ok {
		t.Fatal("deleted offset came back")
	}
	if l.records != 2 {
		t.Fatalf("not compacted on open: %d records", l.records)
	}
}

func FuzzOffsetLog(f *testing.F) {
	f.Add([]byte{})
	f.Add(encodeOffRec(offOpStore, offKey{kind: 1, id: 5}, 42))
	f.Add(append(encodeOffRec(offOpStore, offKey{kind: 2, id: 1}, 7), encodeOffRec(offOpDelete, offKey{kind: 2, id: 1}, 0)...))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := t.TempDir() + "/o.log"
		if err := writeFileAtomic(path, data); err != nil {
			t.Skip(err)
		}
		l, err := openOffsetLog(path, false)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if err := l.close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConcurrentSendPoll(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 4)
	const writers, batches, per = 8, 20, 5
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			s := e.b.NewSystemSession("w")
			defer e.b.CloseSession(s)
			for range batches {
				if _, err := e.b.Send(s, name("s"), name("t"), Partitioning{Kind: PartitionByID, PartitionID: uint32(w % 4)}, batch("c", per)); err != nil {
					t.Error(err)
					return
				}
				if _, err := e.b.Poll(s, PollRequest{Consumer: Consumer{Kind: SingleConsumer, ID: uint32(w)}, Stream: name("s"), Topic: name("t"),
					PartitionID: ptr(uint32(w % 4)), Strategy: PollStrategy{Kind: PollNext}, Count: 3, AutoCommit: true}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	ti, _, _ := e.b.GetTopic(e.root, name("s"), name("t"))
	if ti.MessagesCount != writers*batches*per {
		t.Fatalf("messages %d", ti.MessagesCount)
	}
	for _, p := range ti.Partitions {
		r := must[PollResult](t)(e.b.Poll(e.root, PollRequest{Consumer: Consumer{Kind: SingleConsumer, ID: 99}, Stream: name("s"), Topic: name("t"),
			PartitionID: ptr(p.ID), Strategy: PollStrategy{Kind: PollFirst}, Count: 1000}))
		for i, off := range offsetsOf(t, r) {
			if off != uint64(i) {
				t.Fatalf("partition %d: offset %d at %d", p.ID, off, i)
			}
		}
	}
}

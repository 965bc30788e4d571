package broker

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func TestSlab(t *testing.T) {
	var s slab
	for want := range uint32(4) {
		if got := s.alloc(); got != want {
			t.Fatalf("alloc = %d, want %d", got, want)
		}
	}
	s.release(1)
	s.release(3)
	if got := s.alloc(); got != 3 {
		t.Fatalf("most recently freed first: got %d, want 3", got)
	}
	if got := s.alloc(); got != 1 {
		t.Fatalf("got %d, want 1", got)
	}
	if got := s.alloc(); got != 4 {
		t.Fatalf("got %d, want 4", got)
	}
	// fix: ids missing from both the used set and the free list come back,
	// lowest first, after the listed ones.
	f := slab{Next: 5, Free: []uint32{2}}
	f.fix(map[uint32]bool{1: true, 3: true, 4: true})
	got := []uint32{f.alloc(), f.alloc(), f.alloc()}
	if !slices.Equal(got, []uint32{2, 0, 5}) {
		t.Fatalf("after fix: %v", got)
	}
}

func TestStreamIDsReused(t *testing.T) {
	e := newEnv(t)
	for i, n := range []string{"a", "b", "c"} {
		if id := e.stream(n).ID; id != uint32(i) {
			t.Fatalf("stream %s id %d", n, id)
		}
	}
	wantCode(t, e.b.DeleteStream(e.root, num(1)), 0)
	wantCode(t, e.b.DeleteStream(e.root, name("a")), 0)
	for _, c := range []struct {
		name string
		id   uint32
	}{{"d", 0}, {"e", 1}, {"f", 3}} {
		if id := e.stream(c.name).ID; id != c.id {
			t.Fatalf("stream %s id %d, want %d", c.name, id, c.id)
		}
	}
	// Topic ids are per stream and reused the same way.
	e.topic("d", "t0", 1)
	e.topic("d", "t1", 1)
	e.topic("e", "x", 1)
	wantCode(t, e.b.DeleteTopic(e.root, name("d"), num(0)), 0)
	if id := e.topic("d", "t2", 1).ID; id != 0 {
		t.Fatalf("reused topic id %d", id)
	}
	if id := e.topic("d", "t3", 1).ID; id != 2 {
		t.Fatalf("topic id %d", id)
	}
}

func TestNameUniqueness(t *testing.T) {
	e := newEnv(t)
	e.stream("orders")
	_, err := e.b.CreateStream(e.root, "orders")
	wantCode(t, err, iggyproto.CodeStreamNameAlreadyExists)
	e.stream("Orders") // exact bytes, no case folding
	wantCode(t, e.b.UpdateStream(e.root, name("orders"), "orders"), 0)
	wantCode(t, e.b.UpdateStream(e.root, name("orders"), "Orders"), iggyproto.CodeStreamNameAlreadyExists)
	wantCode(t, e.b.UpdateStream(e.root, name("orders"), "renamed"), 0)
	if _, ok, _ := e.b.GetStream(e.root, name("renamed")); !ok {
		t.Fatal("renamed stream not found by its new name")
	}

	e.topic("renamed", "t", 1)
	_, err = e.b.CreateTopic(e.root, name("renamed"), TopicConfig{Name: "t", CompressionAlgorithm: 1})
	wantCode(t, err, iggyproto.CodeTopicNameAlreadyExists)
	e.topic("Orders", "t", 1) // same name, another stream
	e.topic("renamed", "u", 1)
	wantCode(t, e.b.UpdateTopic(e.root, name("renamed"), name("u"), TopicUpdate{Name: "t", CompressionAlgorithm: 1}), iggyproto.CodeTopicNameAlreadyExists)
	wantCode(t, e.b.UpdateTopic(e.root, name("renamed"), name("u"), TopicUpdate{Name: "u", CompressionAlgorithm: 2, MessageExpiry: 0}), 0)

	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, name("renamed"), name("t"), "g"))
	_, err = e.b.CreateConsumerGroup(e.root, name("renamed"), name("t"), "g")
	wantCode(t, err, iggyproto.CodeGroupNameAlreadyExists)
	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, name("renamed"), name("u"), "g"))

	_, err = e.b.CreateStream(e.root, "")
	wantCode(t, err, iggyproto.CodeInvalidFormat)
}

func TestNotFoundCodes(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 2)
	cases := []struct {
		name string
		err  error
		code iggyproto.Code
	}{
		{"delete stream by id", e.b.DeleteStream(e.root, num(9)), iggyproto.CodeStreamIDNotFound},
		{"delete stream by name", e.b.DeleteStream(e.root, name("x")), iggyproto.CodeStreamIDNotFound},
		{"update stream", e.b.UpdateStream(e.root, num(9), "y"), iggyproto.CodeStreamIDNotFound},
		{"purge stream", e.b.PurgeStream(e.root, num(9)), iggyproto.CodeStreamIDNotFound},
		{"delete topic", e.b.DeleteTopic(e.root, name("s"), num(5)), iggyproto.CodeTopicIDNotFound},
		{"delete topic no stream", e.b.DeleteTopic(e.root, name("x"), num(0)), iggyproto.CodeStreamIDNotFound},
		{"update topic", e.b.UpdateTopic(e.root, name("s"), name("x"), TopicUpdate{Name: "z", CompressionAlgorithm: 1}), iggyproto.CodeTopicIDNotFound},
		{"purge topic", e.b.PurgeTopic(e.root, name("s"), name("x")), iggyproto.CodeTopicIDNotFound},
		{"create partitions", e.b.CreatePartitions(e.root, name("s"), name("x"), 1), iggyproto.CodeTopicIDNotFound},
		{"delete group", e.b.DeleteConsumerGroup(e.root, name("s"), name("t"), num(0)), iggyproto.CodeGroupIDNotFound},
		{"join group", e.b.JoinConsumerGroup(e.root, name("s"), name("t"), name("g")), iggyproto.CodeGroupIDNotFound},
		{"leave group", e.b.LeaveConsumerGroup(e.root, name("s"), name("t"), name("g")), iggyproto.CodeGroupIDNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.err, c.code) })
	}
	_, err := e.b.CreateTopic(e.root, num(7), TopicConfig{Name: "t", CompressionAlgorithm: 1})
	wantCode(t, err, iggyproto.CodeStreamIDNotFound)

	// Empty-OK answers.
	if _, ok, err := e.b.GetStream(e.root, num(4)); ok || err != nil {
		t.Fatalf("GetStream missing: ok=%v err=%v", ok, err)
	}
	if _, ok, err := e.b.GetTopic(e.root, name("s"), num(4)); ok || err != nil {
		t.Fatalf("GetTopic missing: ok=%v err=%v", ok, err)
	}
	if _, ok, err := e.b.GetTopic(e.root, name("nope"), num(0)); ok || err != nil {
		t.Fatalf("GetTopic missing stream: ok=%v err=%v", ok, err)
	}
	if _, ok, err := e.b.GetTopics(e.root, name("nope")); ok || err != nil {
		t.Fatalf("GetTopics missing stream: ok=%v err=%v", ok, err)
	}
	if _, ok, err := e.b.GetConsumerGroup(e.root, name("s"), name("t"), num(0)); ok || err != nil {
		t.Fatalf("GetConsumerGroup missing: ok=%v err=%v", ok, err)
	}
	if _, ok, err := e.b.GetConsumerGroups(e.root, name("s"), num(3)); ok || err != nil {
		t.Fatalf("GetConsumerGroups missing topic: ok=%v err=%v", ok, err)
	}
}

func TestCreateTopicRules(t *testing.T) {
	cases := []struct {
		name string
		cfg  TopicConfig
		code iggyproto.Code
	}{
		{"ok", TopicConfig{Name: "a", PartitionsCount: 3, CompressionAlgorithm: 1}, 0},
		{"zero partitions", TopicConfig{Name: "b", CompressionAlgorithm: 1}, 0},
		{"1001 partitions", TopicConfig{Name: "c", PartitionsCount: 1001, CompressionAlgorithm: 1}, iggyproto.CodeTooManyPartitions},
		{"compression 0", TopicConfig{Name: "d", CompressionAlgorithm: 0}, iggyproto.CodeInvalidCommand},
		{"compression 3", TopicConfig{Name: "d", CompressionAlgorithm: 3}, iggyproto.CodeInvalidCommand},
		{"gzip", TopicConfig{Name: "e", CompressionAlgorithm: 2}, 0},
		{"size below segment", TopicConfig{Name: "f", CompressionAlgorithm: 1, MaxTopicSize: 1000}, iggyproto.CodeInvalidTopicSize},
		{"size at segment", TopicConfig{Name: "g", CompressionAlgorithm: 1, MaxTopicSize: 1 << 20}, 0},
		{"size unlimited", TopicConfig{Name: "h", CompressionAlgorithm: 1, MaxTopicSize: math.MaxUint64}, 0},
		{"empty name", TopicConfig{CompressionAlgorithm: 1}, iggyproto.CodeInvalidFormat},
	}
	e := newEnv(t)
	e.stream("s")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ti, err := e.b.CreateTopic(e.root, name("s"), c.cfg)
			wantCode(t, err, c.code)
			if err != nil {
				return
			}
			if ti.PartitionsCount != c.cfg.PartitionsCount || len(ti.Partitions) != int(c.cfg.PartitionsCount) {
				t.Fatalf("partitions %d / %d", ti.PartitionsCount, len(ti.Partitions))
			}
			for i, p := range ti.Partitions {
				if p.ID != uint32(i) {
					t.Fatalf("partition ids %v", ti.Partitions)
				}
			}
		})
	}
	ti, _, _ := e.b.GetTopic(e.root, name("s"), name("a"))
	if ti.MessageExpiry != math.MaxUint64 || ti.MaxTopicSize != math.MaxUint64 || ti.ReplicationFactor != 1 || ti.CompressionAlgorithm != 1 {
		t.Fatalf("defaults not applied: %+v", ti)
	}
	ti, _, _ = e.b.GetTopic(e.root, name("s"), name("g"))
	if ti.MaxTopicSize != 1<<20 {
		t.Fatalf("max size %d", ti.MaxTopicSize)
	}
	// UpdateTopic stores values as sent.
	wantCode(t, e.b.UpdateTopic(e.root, name("s"), name("a"), TopicUpdate{Name: "a", CompressionAlgorithm: 2, MessageExpiry: 0, MaxTopicSize: 0, ReplicationFactor: 0}), 0)
	ti, _, _ = e.b.GetTopic(e.root, name("s"), name("a"))
	if ti.MessageExpiry != 0 || ti.MaxTopicSize != 0 || ti.ReplicationFactor != 1 || ti.CompressionAlgorithm != 2 {
		t.Fatalf("update: %+v", ti)
	}
	wantCode(t, e.b.UpdateTopic(e.root, name("s"), name("a"), TopicUpdate{Name: "a", CompressionAlgorithm: 1, MaxTopicSize: 5, ReplicationFactor: 3}), 0)
	ti, _, _ = e.b.GetTopic(e.root, name("s"), name("a"))
	if ti.MaxTopicSize != 5 || ti.ReplicationFactor != 3 {
		t.Fatalf("update unchecked size: %+v", ti)
	}
	wantCode(t, e.b.UpdateTopic(e.root, name("s"), name("a"), TopicUpdate{Name: "a", CompressionAlgorithm: 9}), iggyproto.CodeInvalidCommand)
	si, _, _ := e.b.GetStream(e.root, name("s"))
	if si.TopicsCount != 5 || len(si.Topics) != 5 {
		t.Fatalf("stream topics %d/%d", si.TopicsCount, len(si.Topics))
	}
}

func TestPartitionsCreateDelete(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 2)
	wantCode(t, e.b.CreatePartitions(e.root, name("s"), name("t"), 0), iggyproto.CodeTooManyPartitions)
	wantCode(t, e.b.CreatePartitions(e.root, name("s"), name("t"), 1001), iggyproto.CodeTooManyPartitions)
	wantCode(t, e.b.CreatePartitions(e.root, name("s"), name("t"), 3), 0)
	ti, _, _ := e.b.GetTopic(e.root, name("s"), name("t"))
	if ti.PartitionsCount != 5 || ti.Partitions[4].ID != 4 {
		t.Fatalf("after create: %+v", ti)
	}
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: 4}, 2)
	wantCode(t, e.b.DeletePartitions(e.root, name("s"), name("t"), 0), iggyproto.CodeTooManyPartitions)
	wantCode(t, e.b.DeletePartitions(e.root, name("nope"), name("t"), 0), iggyproto.CodeTooManyPartitions) // checked first
	wantCode(t, e.b.CreatePartitions(e.root, name("nope"), name("t"), 0), iggyproto.CodeTooManyPartitions)
	wantCode(t, e.b.DeletePartitions(e.root, name("s"), name("t"), 6), iggyproto.CodeInvalidPartitionsCount)
	wantCode(t, e.b.DeletePartitions(e.root, name("s"), name("t"), 2), 0)
	ti, _, _ = e.b.GetTopic(e.root, name("s"), name("t"))
	if ti.PartitionsCount != 3 || len(ti.Partitions) != 3 || ti.Partitions[2].ID != 2 {
		t.Fatalf("after delete: %+v", ti)
	}
	dir := e.b.partitionDir(0, 0, 4)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("partition dir still there: %v", err)
	}
	// Re-created partition 4 starts empty.
	wantCode(t, e.b.CreatePartitions(e.root, name("s"), name("t"), 2), 0)
	ti, _, _ = e.b.GetTopic(e.root, name("s"), name("t"))
	if ti.Partitions[4].MessagesCount != 0 {
		t.Fatalf("re-created partition has %d messages", ti.Partitions[4].MessagesCount)
	}
}

func TestDeleteRemovesData(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 2)
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionBalanced}, 3)
	e.topic("s", "u", 1)
	wantCode(t, e.b.DeleteTopic(e.root, name("s"), name("t")), 0)
	if _, err := os.Stat(e.b.topicDir(0, 0)); !os.IsNotExist(err) {
		t.Fatalf("topic dir remains: %v", err)
	}
	// The reused topic id starts empty.
	ti := e.topic("s", "t2", 2)
	if ti.ID != 0 || ti.MessagesCount != 0 {
		t.Fatalf("reused topic: %+v", ti)
	}
	wantCode(t, e.b.DeleteStream(e.root, name("s")), 0)
	if _, err := os.Stat(filepath.Join(e.cfg.DataDir, "streams", "0")); !os.IsNotExist(err) {
		t.Fatalf("stream dir remains: %v", err)
	}
}

func TestCountsAndPurge(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 2)
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: 0}, 3)
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: 1}, 2)
	ti, _, _ := e.b.GetTopic(e.root, name("s"), name("t"))
	if ti.MessagesCount != 5 || ti.Partitions[0].MessagesCount != 3 || ti.Partitions[0].CurrentOffset != 2 {
		t.Fatalf("counts: %+v", ti)
	}
	wantSize := uint64(5 * (64 + 2))
	if ti.SizeBytes != wantSize {
		t.Fatalf("size %d, want %d", ti.SizeBytes, wantSize)
	}
	si, _, _ := e.b.GetStream(e.root, num(0))
	if si.MessagesCount != 5 || si.SizeBytes != wantSize || si.CreatedAt != uint64(e.clk.Now().UnixMicro()) {
		t.Fatalf("stream: %+v", si)
	}
	wantCode(t, e.b.StoreOffset(e.root, Consumer{Kind: SingleConsumer, ID: 1}, name("s"), name("t"), ptr[uint32](0), 1), 0)
	wantCode(t, e.b.PurgeTopic(e.root, name("s"), name("t")), 0)
	ti, _, _ = e.b.GetTopic(e.root, name("s"), name("t"))
	if ti.MessagesCount != 0 || ti.PartitionsCount != 2 {
		t.Fatalf("after purge: %+v", ti)
	}
	if _, ok, _ := e.b.GetOffset(e.root, Consumer{Kind: SingleConsumer, ID: 1}, name("s"), name("t"), ptr[uint32](0)); ok {
		t.Fatal("offset survived purge")
	}
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: 0}, 1)
	wantCode(t, e.b.PurgeStream(e.root, name("s")), 0)
	ti, _, _ = e.b.GetTopic(e.root, name("s"), name("t"))
	if ti.MessagesCount != 0 {
		t.Fatalf("after purge stream: %+v", ti)
	}
}

func TestRetentionMapping(t *testing.T) {
	tp := &topic{messageExpiry: 5_000_000, maxTopicSize: 4 << 30, partitions: make([]*partition, 4)}
	exp, size := tp.retention()
	if exp.Seconds() != 5 || size != 1<<30 {
		t.Fatalf("retention %v %d", exp, size)
	}
	for _, v := range []uint64{0, math.MaxUint64} {
		tp = &topic{messageExpiry: v, maxTopicSize: v}
		if exp, size := tp.retention(); exp != 0 || size != 0 {
			t.Fatalf("special %d: %v %d", v, exp, size)
		}
	}
	e := newEnv(t)
	e.stream("s")
	_, err := e.b.CreateTopic(e.root, name("s"), TopicConfig{Name: "t", PartitionsCount: 2, CompressionAlgorithm: 1, MessageExpiry: 1, MaxTopicSize: 1 << 21})
	wantCode(t, err, 0)
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionBalanced}, 4)
	if n := e.b.EnforceRetention(); n < 0 {
		t.Fatal("negative")
	}
}

func TestConfigLogValueRedacts(t *testing.T) {
	v := Config{DataDir: "/d", RootPassword: "hunter2"}.LogValue().String()
	if strings.Contains(v, "hunter2") || !strings.Contains(v, "/d") {
		t.Fatalf("log value %q", v)
	}
	err := Config{DataDir: "", SegmentSize: -1, RetentionInterval: -1, RootUsername: "ab", Fsync: "sometimes"}.Validate()
	for _, key := range []string{"data_dir", "segment_size", "retention_interval", "root_username", "fsync"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Fatalf("Validate missed %s: %v", key, err)
		}
	}
}

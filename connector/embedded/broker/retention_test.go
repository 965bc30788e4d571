package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/logstore"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func bigBatch(n, size int) []byte {
	var buf []byte
	p := []byte(strings.Repeat("r", size))
	for range n {
		buf = iggyproto.AppendMessageHeader(buf, iggyproto.MessageHeader{PayloadLength: uint32(len(p))})
		buf = append(buf, p...)
	}
	return buf
}

func TestRetentionEnforced(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SegmentSize = 4096 })
	e.stream("s")
	_, err := e.b.CreateTopic(e.root, name("s"), TopicConfig{Name: "capped", PartitionsCount: 1, CompressionAlgorithm: 1, MaxTopicSize: 8192})
	wantCode(t, err, 0)
	_, err = e.b.CreateTopic(e.root, name("s"), TopicConfig{Name: "aging", PartitionsCount: 1, CompressionAlgorithm: 1, MessageExpiry: uint64(time.Second / time.Microsecond)})
	wantCode(t, err, 0)
	for range 20 {
		for _, tp := range []string{"capped", "aging"} {
			must[SendResult](t)(e.b.Send(e.root, name("s"), name(tp), Partitioning{Kind: PartitionBalanced}, bigBatch(5, 200)))
		}
	}
	e.clk.Advance(5 * time.Second)
	must[SendResult](t)(e.b.Send(e.root, name("s"), name("aging"), Partitioning{Kind: PartitionBalanced}, bigBatch(1, 5000)))
	if n := e.b.EnforceRetention(); n == 0 {
		t.Fatal("no segment deleted")
	}
	capped, _, _ := e.b.GetTopic(e.root, name("s"), name("capped"))
	if capped.MessagesCount >= 100 || capped.SizeBytes > 8192+4096+264*5 {
		t.Fatalf("capped topic not trimmed: %d messages, %d bytes", capped.MessagesCount, capped.SizeBytes)
	}
	aging, _, _ := e.b.GetTopic(e.root, name("s"), name("aging"))
	if aging.MessagesCount >= 101 {
		t.Fatalf("aging topic not trimmed: %d messages", aging.MessagesCount)
	}
	// First and next polls start at the first retained offset.
	r := must[PollResult](t)(e.b.Poll(e.root, PollRequest{Consumer: Consumer{Kind: SingleConsumer, ID: 1}, Stream: name("s"), Topic: name("capped"),
		Strategy: PollStrategy{Kind: PollNext}, Count: 1}))
	if offs := offsetsOf(t, r); len(offs) != 1 || offs[0] == 0 || offs[0] != 100-capped.MessagesCount {
		t.Fatalf("first retained offset %v (count %d)", offs, capped.MessagesCount)
	}
}

func TestRetentionInBackground(t *testing.T) {
	passes := make(chan int, 100)
	testRetentionHook = func(n int) {
		select {
		case passes <- n:
		default:
		}
	}
	defer func() { testRetentionHook = nil }()
	clk := newClock()
	b, err := Open(Config{DataDir: t.TempDir(), SegmentSize: 4096, Fsync: logstore.FsyncInterval, RetentionInterval: time.Millisecond, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	root := b.NewSystemSession("bg")
	must[StreamInfo](t)(b.CreateStream(root, "s"))
	must[TopicInfo](t)(b.CreateTopic(root, name("s"), TopicConfig{Name: "aging", PartitionsCount: 1, CompressionAlgorithm: 1, MessageExpiry: uint64(30 * time.Second / time.Microsecond)}))
	for range 20 {
		must[SendResult](t)(b.Send(root, name("s"), name("aging"), Partitioning{Kind: PartitionBalanced}, bigBatch(5, 200)))
	}
	clk.Advance(time.Minute)
	// Wait for passes until one deleted something (each pass sees the
	// advanced clock; the first may have started before it moved).
	guard := time.After(20 * time.Second)
	for deleted := 0; deleted == 0; {
		select {
		case deleted = <-passes:
		case <-guard:
			t.Fatal("no background retention pass deleted a segment")
		}
	}
	ti, _, _ := b.GetTopic(root, name("s"), name("aging"))
	if ti.MessagesCount >= 100 {
		t.Fatalf("background retention did not trim: %d messages", ti.MessagesCount)
	}
}

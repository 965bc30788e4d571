// Package connectortest is the conformance suite of the stream port
// (core.Broker), in the manner of Watermill's universal Pub/Sub tests: every
// connector runs the same subtests, and a Features value states, with its
// reason, what a connector cannot do.
//
//	func TestConformance(t *testing.T) {
//		connectortest.Run(t, func(t *testing.T) core.Broker {
//			b := open(t) // a fresh connector on the broker under test
//			t.Cleanup(func() { b.Close() })
//			return b
//		}, connectortest.Features{})
//	}
//
// Every subtest creates streams with unique names, so subtests run in
// parallel and a broker may be shared or reused between runs. Only the
// standard library's testing package is used.
package connectortest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// Features states what the broker under test supports. The zero value is
// an Iggy 0.8.0 server's behaviour as the remote connector shows it.
type Features struct {
	// SmallMaxSize: the broker accepts a TopicConfig.MaxSize below 1 GiB
	// and reports it back. Iggy 0.8.0 refuses one (below its segment
	// size) with ErrInvalid, which the suite then checks instead.
	SmallMaxSize bool
	// NotMemberOnUnownedPartition: a group member storing an offset on a
	// partition it does not own gets ErrNotMember. Iggy sends code 3022,
	// which the Go SDK does not know (it becomes a generic error), so the
	// remote connector can only promise "an error".
	NotMemberOnUnownedPartition bool
	// SkipLargePayload skips the 1 MiB message, with this reason (for a
	// server configured with a smaller message limit).
	SkipLargePayload string
	// LargeBatch is the message count of the large-batch subtest; 0 means
	// 5000.
	LargeBatch int
	// Sequential runs the subtests one after another instead of in
	// parallel.
	Sequential bool
	// Timeout bounds each subtest; 0 means 60 s.
	Timeout time.Duration
	// SharedBroker: the connectors newBroker returns reach one broker, so
	// the close subtest can check from a second connector that closing
	// the first removed its group member.
	SharedBroker bool
	// LongPoll: the broker implements core.LongPoller, returning true,
	// and its polls wait up to MaxWait for messages (the embedded
	// connector). Without it the suite checks that MaxWait is ignored: a
	// poll returns at once and the broker does not claim core.LongPoller.
	LongPoll bool
}

// Run runs the conformance suite. newBroker returns a new connector for
// one subtest and registers its cleanup (Close); the connectors of
// different calls may reach the same broker or separate ones, since every
// subtest uses streams of its own.
func Run(t *testing.T, newBroker func(t *testing.T) core.Broker, features Features) {
	t.Helper()
	if iggyproto.KeyHash(nil) != 0x02CC5D05 || iggyproto.KeyHash([]byte("abc")) != 0x32D153FF {
		t.Fatal("connectortest: the suite's XXH32 fails its test vectors")
	}
	s := &suite{newBroker: newBroker, f: features}
	if s.f.LargeBatch == 0 {
		s.f.LargeBatch = 5000
	}
	if s.f.Timeout == 0 {
		s.f.Timeout = 60 * time.Second
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, b core.Broker)
	}{
		{"Ping", s.ping},
		{"Topology/Streams", s.streams},
		{"Topology/Topics", s.topics},
		{"Topology/TopicConfig", s.topicConfig},
		{"Topology/CreatePartitions", s.createPartitions},
		{"Send/ByPartition", s.sendByPartition},
		{"Send/ByKey", s.sendByKey},
		{"Send/Balanced", s.sendBalanced},
		{"Poll/Strategies", s.pollStrategies},
		{"Offsets/StoreAndGet", s.offsets},
		{"Offsets/AutoCommit", s.autoCommit},
		{"Groups/TwoMembers", s.groups},
		{"Groups/JoinTakesOne", s.joinTakesOne},
		{"Groups/Errors", s.groupErrors},
		{"Messages/LargeBatch", s.largeBatch},
		{"Messages/LargePayload", s.largePayload},
		{"Messages/Headers", s.headers},
		{"Messages/IDsAndTimes", s.messageIDs},
		{"Errors/Mapping", s.errorMapping},
		{"Concurrency/Senders", s.concurrentSenders},
		{"Poll/LongPoll", s.longPoll},
		{"Delete", s.deletes},
		{"Close", s.close},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !s.f.Sequential {
				t.Parallel()
			}
			tc.fn(t, s.newBroker(t))
		})
	}
}

type suite struct {
	newBroker func(t *testing.T) core.Broker
	f         Features
}

// ctx bounds one subtest.
func (s *suite) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), s.f.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// uniqueName returns a stream name no other run uses.
func uniqueName(t *testing.T) string {
	var r [6]byte
	_, _ = rand.Read(r[:])
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	if len(name) > 200 {
		name = name[len(name)-200:]
	}
	return "ct-" + name + "-" + hex.EncodeToString(r[:])
}

// stream creates a stream with a unique name.
func stream(t *testing.T, ctx context.Context, b core.Broker) string {
	t.Helper()
	name := uniqueName(t)
	if _, err := b.CreateStream(ctx, name); err != nil {
		t.Fatalf("CreateStream(%q): %v", name, err)
	}
	return name
}

// topic creates a stream and a topic with n partitions in it.
func topic(t *testing.T, ctx context.Context, b core.Broker, n uint32) (string, string) {
	t.Helper()
	s := stream(t, ctx, b)
	if _, err := b.CreateTopic(ctx, s, "events", core.TopicConfig{Partitions: n}); err != nil {
		t.Fatalf("CreateTopic(%q, events, %d partitions): %v", s, n, err)
	}
	return s, "events"
}

// msgs makes n messages whose payloads are prefix-0, prefix-1, ...
func msgs(prefix string, n int) []core.Message {
	out := make([]core.Message, n)
	for i := range out {
		out[i].Payload = fmt.Appendf(nil, "%s-%d", prefix, i)
	}
	return out
}

func send(t *testing.T, ctx context.Context, b core.Broker, s, tp string, p core.Partitioning, m []core.Message) {
	t.Helper()
	if err := b.Send(ctx, s, tp, p, m); err != nil {
		t.Fatalf("Send(%q/%q, %d messages): %v", s, tp, len(m), err)
	}
}

func poll(t *testing.T, ctx context.Context, b core.Broker, req core.PollRequest) core.Polled {
	t.Helper()
	p, err := b.Poll(ctx, req)
	if err != nil {
		t.Fatalf("Poll(%+v): %v", req, err)
	}
	return p
}

// pollAll reads a partition from offset 0 to its end.
func pollAll(t *testing.T, ctx context.Context, b core.Broker, s, tp string, partition uint32) []core.Message {
	t.Helper()
	var out []core.Message
	next := uint64(0)
	for {
		p := poll(t, ctx, b, core.PollRequest{Stream: s, Topic: tp, Partition: partition, Strategy: core.FromOffset(next), Count: 1000})
		if len(p.Messages) == 0 {
			return out
		}
		for _, m := range p.Messages {
			if m.Offset != next {
				t.Fatalf("partition %d: offset %d where %d was expected", partition, m.Offset, next)
			}
			next++
		}
		out = append(out, p.Messages...)
	}
}

func offsets(ms []core.Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Offset
	}
	return out
}

func seq(from, n uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = from + uint64(i)
	}
	return out
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func (s *suite) ping(t *testing.T, b core.Broker) {
	rtt, err := b.Ping(s.ctx(t))
	if err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if rtt < 0 {
		t.Errorf("Ping round trip %s < 0", rtt)
	}
}

func (s *suite) streams(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	name := uniqueName(t)
	created, err := b.CreateStream(ctx, name)
	if err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	if created.Name != name || len(created.Topics) != 0 {
		t.Errorf("CreateStream returned %+v", created)
	}
	_, err = b.CreateStream(ctx, name)
	wantErr(t, "CreateStream twice", err, core.ErrAlreadyExists)
	got, err := b.Stream(ctx, name)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if got.ID != created.ID || got.Name != name || got.MessagesCount != 0 {
		t.Errorf("Stream = %+v, created %+v", got, created)
	}
	if got.CreatedAt.IsZero() || got.CreatedAt.After(time.Now().Add(time.Hour)) {
		t.Errorf("Stream CreatedAt = %s", got.CreatedAt)
	}
	_, err = b.Stream(ctx, name+"-missing")
	wantErr(t, "Stream of a missing name", err, core.ErrNotFound)
	_, err = b.CreateStream(ctx, "")
	wantErr(t, "CreateStream with an empty name", err, core.ErrInvalid)
}

func (s *suite) topics(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st := stream(t, ctx, b)
	created, err := b.CreateTopic(ctx, st, "orders", core.TopicConfig{Partitions: 3})
	if err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	if created.Name != "orders" || created.PartitionsCount != 3 {
		t.Errorf("CreateTopic returned %+v", created)
	}
	_, err = b.CreateTopic(ctx, st, "orders", core.TopicConfig{Partitions: 1})
	wantErr(t, "CreateTopic twice", err, core.ErrAlreadyExists)
	if _, err := b.CreateTopic(ctx, st, "empty", core.TopicConfig{}); err != nil {
		t.Fatalf("CreateTopic with 0 partitions: %v", err)
	}
	got, err := b.Topic(ctx, st, "orders")
	if err != nil {
		t.Fatalf("Topic: %v", err)
	}
	if got.ID != created.ID || got.PartitionsCount != 3 || len(got.Partitions) != 3 {
		t.Fatalf("Topic = %+v", got)
	}
	for i, p := range got.Partitions {
		if p.ID != uint32(i) || p.MessagesCount != 0 || p.CurrentOffset != 0 {
			t.Errorf("partition %d = %+v", i, p)
		}
	}
	info, err := b.Stream(ctx, st)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	var names []string
	for _, tp := range info.Topics {
		names = append(names, tp.Name)
		if tp.Partitions != nil {
			t.Errorf("Stream's topic %q lists partitions", tp.Name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"empty", "orders"}) {
		t.Errorf("Stream topics = %v", names)
	}
	_, err = b.Topic(ctx, st, "missing")
	wantErr(t, "Topic missing", err, core.ErrNotFound)
	_, err = b.Topic(ctx, st+"-missing", "orders")
	wantErr(t, "Topic in a missing stream", err, core.ErrNotFound)
	_, err = b.CreateTopic(ctx, st+"-missing", "orders", core.TopicConfig{Partitions: 1})
	wantErr(t, "CreateTopic in a missing stream", err, core.ErrNotFound)
	_, err = b.CreateTopic(ctx, st, "too-many", core.TopicConfig{Partitions: 1001})
	wantErr(t, "CreateTopic with 1001 partitions", err, core.ErrInvalid)
}

func (s *suite) topicConfig(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st := stream(t, ctx, b)
	if _, err := b.CreateTopic(ctx, st, "defaults", core.TopicConfig{Partitions: 1}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	d, err := b.Topic(ctx, st, "defaults")
	if err != nil {
		t.Fatal(err)
	}
	if d.MessageExpiry != 0 || d.MaxSize != 0 || d.ReplicationFactor != 1 {
		t.Errorf("defaults: expiry %s, max size %d, replication %d; want 0, 0, 1", d.MessageExpiry, d.MaxSize, d.ReplicationFactor)
	}
	cfg := core.TopicConfig{Partitions: 2, MessageExpiry: 90 * time.Minute, MaxSize: 2 << 30, ReplicationFactor: 1}
	if _, err := b.CreateTopic(ctx, st, "custom", cfg); err != nil {
		t.Fatalf("CreateTopic(%+v): %v", cfg, err)
	}
	c, err := b.Topic(ctx, st, "custom")
	if err != nil {
		t.Fatal(err)
	}
	if c.MessageExpiry != cfg.MessageExpiry || c.MaxSize != cfg.MaxSize || c.PartitionsCount != 2 {
		t.Errorf("custom: %+v, want expiry %s and max size %d", c, cfg.MessageExpiry, cfg.MaxSize)
	}
	small := core.TopicConfig{Partitions: 1, MaxSize: 1 << 20}
	_, err = b.CreateTopic(ctx, st, "small", small)
	if s.f.SmallMaxSize {
		if err != nil {
			t.Fatalf("CreateTopic with a 1 MiB cap: %v", err)
		}
		if got, _ := b.Topic(ctx, st, "small"); got.MaxSize != small.MaxSize {
			t.Errorf("small max size = %d", got.MaxSize)
		}
	} else {
		wantErr(t, "CreateTopic with a 1 MiB cap (below the segment size)", err, core.ErrInvalid)
	}
}

func (s *suite) createPartitions(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 2)
	if err := b.CreatePartitions(ctx, st, tp, 3); err != nil {
		t.Fatalf("CreatePartitions: %v", err)
	}
	got, err := b.Topic(ctx, st, tp)
	if err != nil {
		t.Fatal(err)
	}
	if got.PartitionsCount != 5 || len(got.Partitions) != 5 || got.Partitions[4].ID != 4 {
		t.Fatalf("after adding 3 to 2 partitions: %+v", got)
	}
	send(t, ctx, b, st, tp, core.ToPartition(4), msgs("p4", 1))
	err = b.CreatePartitions(ctx, st, "missing", 1)
	wantErr(t, "CreatePartitions on a missing topic", err, core.ErrNotFound)
}

func (s *suite) sendByPartition(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 3)
	batch := msgs("m", 10)
	send(t, ctx, b, st, tp, core.ToPartition(1), batch[:4])
	send(t, ctx, b, st, tp, core.ToPartition(1), batch[4:])
	got := pollAll(t, ctx, b, st, tp, 1)
	if len(got) != 10 {
		t.Fatalf("partition 1 has %d messages, want 10", len(got))
	}
	for i, m := range got {
		if !bytes.Equal(m.Payload, batch[i].Payload) {
			t.Errorf("message %d payload %q, want %q", i, m.Payload, batch[i].Payload)
		}
	}
	for _, p := range []uint32{0, 2} {
		if n := len(pollAll(t, ctx, b, st, tp, p)); n != 0 {
			t.Errorf("partition %d has %d messages, want 0", p, n)
		}
	}
	info, err := b.Topic(ctx, st, tp)
	if err != nil {
		t.Fatal(err)
	}
	if p := info.Partitions[1]; p.MessagesCount != 10 || p.CurrentOffset != 9 {
		t.Errorf("partition 1 info %+v, want 10 messages, current offset 9", p)
	}
	if info.MessagesCount != 10 {
		t.Errorf("topic MessagesCount %d", info.MessagesCount)
	}
}

func (s *suite) sendByKey(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	const n = 5
	st, tp := topic(t, ctx, b, n)
	want := map[uint32][]string{}
	for i := range 20 {
		key := fmt.Sprintf("tenant-%d", i)
		p := iggyproto.KeyHash([]byte(key)) % n
		want[p] = append(want[p], key)
		send(t, ctx, b, st, tp, core.ByKey([]byte(key)), []core.Message{{Payload: []byte(key)}})
	}
	for p := range uint32(n) {
		var got []string
		for _, m := range pollAll(t, ctx, b, st, tp, p) {
			got = append(got, string(m.Payload))
		}
		if !slices.Equal(got, want[p]) {
			t.Errorf("partition %d holds %v, want %v (XXH32(key) mod %d)", p, got, want[p], n)
		}
	}
}

func (s *suite) sendBalanced(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	const n = 3
	st, tp := topic(t, ctx, b, n)
	for i := range 3 * n {
		send(t, ctx, b, st, tp, core.Balanced(), msgs(fmt.Sprint(i), 2))
	}
	for p := range uint32(n) {
		if got := len(pollAll(t, ctx, b, st, tp, p)); got != 6 {
			t.Errorf("partition %d has %d messages after %d balanced batches, want 6 (round robin)", p, got, 3*n)
		}
	}
}

func (s *suite) pollStrategies(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 1)
	send(t, ctx, b, st, tp, core.ToPartition(0), msgs("a", 5))
	first := poll(t, ctx, b, core.PollRequest{Stream: st, Topic: tp, Strategy: core.FromOffset(4), Count: 1})
	if len(first.Messages) != 1 {
		t.Fatalf("poll offset 4: %+v", first)
	}
	// Make the second batch's timestamp strictly later.
	for time.Now().UnixMicro() <= first.Messages[0].Timestamp.UnixMicro() {
		time.Sleep(time.Millisecond)
	}
	send(t, ctx, b, st, tp, core.ToPartition(0), msgs("b", 5))
	second := poll(t, ctx, b, core.PollRequest{Stream: st, Topic: tp, Strategy: core.FromOffset(5), Count: 1})
	if len(second.Messages) != 1 {
		t.Fatalf("poll offset 5: %+v", second)
	}
	tsB := second.Messages[0].Timestamp
	if !tsB.After(first.Messages[0].Timestamp) {
		t.Fatalf("second batch timestamp %s not after first %s", tsB, first.Messages[0].Timestamp)
	}
	cons := core.Consumer{Kind: core.SingleConsumer, Name: "strategies"}
	for _, tc := range []struct {
		name     string
		strategy core.PollStrategy
		count    uint32
		want     []uint64
	}{
		{"offset", core.FromOffset(4), 3, seq(4, 3)},
		{"offset at end", core.FromOffset(9), 5, seq(9, 1)},
		{"offset beyond end", core.FromOffset(10), 5, nil},
		{"timestamp", core.FromTime(tsB), 100, seq(5, 5)},
		{"timestamp count", core.FromTime(tsB), 2, seq(5, 2)},
		{"timestamp before all", core.FromTime(time.UnixMicro(1)), 3, seq(0, 3)},
		{"timestamp after all", core.FromTime(time.Now().Add(time.Hour)), 3, nil},
		{"first", core.First(), 3, seq(0, 3)},
		{"last", core.Last(), 3, seq(7, 3)},
		{"last more than all", core.Last(), 50, seq(0, 10)},
		{"next without stored offset", core.Next(), 4, seq(0, 4)},
	} {
		p := poll(t, ctx, b, core.PollRequest{Stream: st, Topic: tp, Consumer: cons, Strategy: tc.strategy, Count: tc.count})
		if got := offsets(p.Messages); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: offsets %v, want %v", tc.name, got, tc.want)
		}
		if p.Partition != 0 || p.CurrentOffset != 9 {
			t.Errorf("%s: partition %d current offset %d, want 0 and 9", tc.name, p.Partition, p.CurrentOffset)
		}
	}
	if err := b.StoreOffset(ctx, cons, st, tp, 0, 6); err != nil {
		t.Fatalf("StoreOffset: %v", err)
	}
	p := poll(t, ctx, b, core.PollRequest{Stream: st, Topic: tp, Consumer: cons, Strategy: core.Next(), Count: 2})
	if got := offsets(p.Messages); !slices.Equal(got, seq(7, 2)) {
		t.Errorf("next after stored offset 6: %v, want [7 8]", got)
	}
	// Polling without auto-commit does not move the stored offset.
	p = poll(t, ctx, b, core.PollRequest{Stream: st, Topic: tp, Consumer: cons, Strategy: core.Next(), Count: 2})
	if got := offsets(p.Messages); !slices.Equal(got, seq(7, 2)) {
		t.Errorf("next again without commit: %v, want [7 8]", got)
	}
}

func (s *suite) offsets(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 2)
	cons := core.Consumer{Kind: core.SingleConsumer, Name: "worker"}
	other := core.Consumer{Kind: core.SingleConsumer, Name: "other"}
	_, err := b.Offset(ctx, cons, st, tp, 0)
	wantErr(t, "Offset before any store", err, core.ErrNotFound)
	err = b.StoreOffset(ctx, cons, st, tp, 0, 0)
	wantErr(t, "StoreOffset on an empty partition", err, core.ErrInvalid)
	send(t, ctx, b, st, tp, core.ToPartition(0), msgs("m", 10))
	if err := b.StoreOffset(ctx, cons, st, tp, 0, 3); err != nil {
		t.Fatalf("StoreOffset: %v", err)
	}
	got, err := b.Offset(ctx, cons, st, tp, 0)
	if err != nil {
		t.Fatalf("Offset: %v", err)
	}
	if got.Partition != 0 || got.StoredOffset != 3 || got.CurrentOffset != 9 {
		t.Errorf("Offset = %+v, want partition 0, stored 3, current 9", got)
	}
	if err := b.StoreOffset(ctx, cons, st, tp, 0, 9); err != nil {
		t.Fatalf("StoreOffset at the last offset: %v", err)
	}
	err = b.StoreOffset(ctx, cons, st, tp, 0, 10)
	wantErr(t, "StoreOffset beyond the end", err, core.ErrInvalid)
	if got, err := b.Offset(ctx, cons, st, tp, 0); err != nil || got.StoredOffset != 9 {
		t.Errorf("Offset after a refused store = %+v, %v; want 9", got, err)
	}
	_, err = b.Offset(ctx, other, st, tp, 0)
	wantErr(t, "Offset of another consumer", err, core.ErrNotFound)
	_, err = b.Offset(ctx, cons, st, tp, 1)
	wantErr(t, "Offset on another partition", err, core.ErrNotFound)
	// Offsets are per consumer name.
	if err := b.StoreOffset(ctx, other, st, tp, 0, 1); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Offset(ctx, cons, st, tp, 0); got.StoredOffset != 9 {
		t.Errorf("another consumer's store moved this one to %d", got.StoredOffset)
	}
}

func (s *suite) autoCommit(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 1)
	send(t, ctx, b, st, tp, core.ToPartition(0), msgs("m", 8))
	cons := core.Consumer{Kind: core.SingleConsumer, Name: "auto"}
	req := core.PollRequest{Stream: st, Topic: tp, Consumer: cons, Strategy: core.Next(), Count: 3, AutoCommit: true}
	var all []uint64
	for range 4 {
		all = append(all, offsets(poll(t, ctx, b, req).Messages)...)
	}
	if !slices.Equal(all, seq(0, 8)) {
		t.Errorf("auto-committed next polls read %v, want 0..7 once each", all)
	}
	got, err := b.Offset(ctx, cons, st, tp, 0)
	if err != nil || got.StoredOffset != 7 {
		t.Errorf("stored offset after auto-commit = %+v, %v; want 7", got, err)
	}
	// Auto-commit applies to other strategies too.
	cons2 := core.Consumer{Kind: core.SingleConsumer, Name: "auto-offset"}
	poll(t, ctx, b, core.PollRequest{Stream: st, Topic: tp, Consumer: cons2, Strategy: core.FromOffset(2), Count: 2, AutoCommit: true})
	if got, err := b.Offset(ctx, cons2, st, tp, 0); err != nil || got.StoredOffset != 3 {
		t.Errorf("stored offset after an auto-committed offset poll = %+v, %v; want 3", got, err)
	}
}

// groupRead polls a member until it returns nothing for rounds polls in a
// row, storing each partition's offset after reading.
func groupRead(t *testing.T, ctx context.Context, m core.GroupMember, rounds int) []core.Message {
	t.Helper()
	var out []core.Message
	for empty := 0; empty < rounds; {
		p, err := m.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: 7})
		if err != nil {
			t.Fatalf("member Poll: %v", err)
		}
		if len(p.Messages) == 0 {
			empty++
			continue
		}
		empty = 0
		out = append(out, p.Messages...)
		last := p.Messages[len(p.Messages)-1].Offset
		if err := m.StoreOffset(ctx, p.Partition, last); err != nil {
			t.Fatalf("member StoreOffset(%d, %d): %v", p.Partition, last, err)
		}
	}
	return out
}

func (s *suite) groups(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	const parts = 4
	st, tp := topic(t, ctx, b, parts)
	g, err := b.CreateGroup(ctx, st, tp, "workers")
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if g.Name != "workers" || g.PartitionsCount != parts || len(g.Members) != 0 {
		t.Errorf("CreateGroup returned %+v", g)
	}
	_, err = b.CreateGroup(ctx, st, tp, "workers")
	wantErr(t, "CreateGroup twice", err, core.ErrAlreadyExists)

	// Iggy 0.8.0's cooperative hand-over, as its server shows it: the
	// first member gets every partition; a second one joining while the
	// first holds uncommitted polls gets nothing until the first commits
	// what it polled on the partition marked for it (the last one).
	for p := range uint32(parts) {
		send(t, ctx, b, st, tp, core.ToPartition(p), msgs(fmt.Sprintf("p%d", p), 10))
	}
	m1, err := b.JoinGroup(ctx, st, tp, "workers")
	if err != nil {
		t.Fatalf("JoinGroup 1: %v", err)
	}
	t.Cleanup(func() { _ = m1.Leave(context.Background()) })
	wantMembers(t, ctx, b, st, tp, "workers", "one member", []uint32{0, 1, 2, 3})
	seen := map[string]int{}
	count := func(who string, ms []core.Message) {
		for _, m := range ms {
			seen[string(m.Payload)]++
			if seen[string(m.Payload)] > 1 {
				t.Errorf("%s consumed %q again", who, m.Payload)
			}
		}
	}
	// m1 reads 2 messages of each partition (round robin), commits none.
	polled := rounds(t, ctx, m1, parts, 2)
	if want := []uint32{0, 1, 2, 3}; !slices.Equal(slices.Sorted(maps.Keys(polled)), want) {
		t.Fatalf("member 1's round robin read partitions %v, want %v", slices.Sorted(maps.Keys(polled)), want)
	}
	for p, ms := range polled {
		if len(ms) != 2 || ms[0].Offset != 0 || ms[1].Offset != 1 {
			t.Fatalf("member 1 read %d messages from partition %d, want offsets 0 and 1", len(ms), p)
		}
		count("member 1", ms)
	}
	m2, err := b.JoinGroup(ctx, st, tp, "workers")
	if err != nil {
		t.Fatalf("JoinGroup 2: %v", err)
	}
	t.Cleanup(func() { _ = m2.Leave(context.Background()) })
	wantMembers(t, ctx, b, st, tp, "workers", "after member 2 joined", []uint32{0, 1, 2, 3}, nil)
	for _, pid := range []*uint32{nil, ptr(uint32(3))} {
		got, err := m2.Poll(ctx, core.GroupPoll{Partition: pid, Strategy: core.Next(), Count: 10})
		if err != nil || len(got.Messages) != 0 {
			t.Fatalf("member 2 polled (partition %v) before the hand-over: %d messages, %v", pid, len(got.Messages), err)
		}
	}
	// m1's round robin skips the partition it is handing over.
	if again := rounds(t, ctx, m1, parts-1, 2); !slices.Equal(slices.Sorted(maps.Keys(again)), []uint32{0, 1, 2}) {
		t.Fatalf("member 1 read partitions %v while 3 is pending, want 0, 1, 2", slices.Sorted(maps.Keys(again)))
	}
	for p := range uint32(parts) {
		if err := m1.StoreOffset(ctx, p, 1); err != nil {
			t.Fatalf("member 1 StoreOffset(%d, 1): %v", p, err)
		}
	}
	wantMembers(t, ctx, b, st, tp, "workers", "after member 1 committed", []uint32{0, 1, 2}, []uint32{3})
	got, err := m2.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: 10})
	if err != nil || got.Partition != 3 || len(got.Messages) != 8 || got.Messages[0].Offset != 2 {
		t.Fatalf("member 2 after the hand-over read partition %d, %d messages, %v; want partition 3 from offset 2", got.Partition, len(got.Messages), err)
	}
	count("member 2", got.Messages)
	if err := m2.StoreOffset(ctx, 3, got.Messages[len(got.Messages)-1].Offset); err != nil {
		t.Fatalf("member 2 StoreOffset: %v", err)
	}
	r1 := groupRead(t, ctx, m1, 2*parts)
	count("member 1", r1)
	r2 := groupRead(t, ctx, m2, 2*parts)
	count("member 2", r2)
	if len(seen) != 4*10 || len(r1) != 3*8 || len(r2) != 0 {
		t.Errorf("members read %d and %d more messages (%d distinct), want 24 and 0 (40 in all)", len(r1), len(r2), len(seen))
	}

	if err := m2.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if err := m2.Leave(ctx); err != nil {
		t.Fatalf("Leave twice: %v", err)
	}
	_, err = m2.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: 1})
	wantErr(t, "Poll after Leave", err, core.ErrClosed)
	info, err := b.Group(ctx, st, tp, "workers")
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Members) != 1 || len(info.Members[0].Partitions) != parts {
		t.Fatalf("after one member left: %+v, want 1 member owning all %d partitions", info, parts)
	}
	for p := range uint32(parts) {
		send(t, ctx, b, st, tp, core.ToPartition(p), msgs(fmt.Sprintf("late-p%d", p), 2))
	}
	r3 := groupRead(t, ctx, m1, 2*parts)
	count("member 1 after the rebalance", r3)
	if len(r3) != 8 {
		t.Errorf("after the rebalance member 1 read %d messages, want the 8 new ones", len(r3))
	}
	for _, m := range r3 {
		if !strings.HasPrefix(string(m.Payload), "late-") {
			t.Errorf("after the rebalance member 1 re-read %q", m.Payload)
		}
	}
	// An explicit partition.
	send(t, ctx, b, st, tp, core.ToPartition(2), msgs("explicit", 1))
	p2 := uint32(2)
	got, err = m1.Poll(ctx, core.GroupPoll{Partition: &p2, Strategy: core.Next(), Count: 10, AutoCommit: true})
	if err != nil || got.Partition != 2 || len(got.Messages) != 1 || string(got.Messages[0].Payload) != "explicit-0" {
		t.Errorf("explicit partition poll = %+v, %v", got, err)
	}
	off, err := b.Offset(ctx, core.Consumer{Kind: core.GroupConsumer, Name: "workers"}, st, tp, 2)
	if err != nil || off.StoredOffset != got.Messages[len(got.Messages)-1].Offset {
		t.Errorf("group offset on partition 2 = %+v, %v", off, err)
	}
}

func (s *suite) groupErrors(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 2)
	_, err := b.JoinGroup(ctx, st, tp, "missing")
	wantErr(t, "JoinGroup of a missing group", err, core.ErrNotFound)
	_, err = b.Group(ctx, st, tp, "missing")
	wantErr(t, "Group missing", err, core.ErrNotFound)
	_, err = b.CreateGroup(ctx, st, "missing", "g")
	wantErr(t, "CreateGroup on a missing topic", err, core.ErrNotFound)
	_, err = b.CreateGroup(ctx, st+"-missing", tp, "g")
	wantErr(t, "CreateGroup in a missing stream", err, core.ErrNotFound)
	if _, err := b.CreateGroup(ctx, st, tp, "g"); err != nil {
		t.Fatal(err)
	}
	m1, err := b.JoinGroup(ctx, st, tp, "g")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m1.Leave(context.Background()) })
	m2, err := b.JoinGroup(ctx, st, tp, "g")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m2.Leave(context.Background()) })
	info, err := b.Group(ctx, st, tp, "g")
	if err != nil || len(info.Members) != 2 {
		t.Fatalf("Group = %+v, %v", info, err)
	}
	send(t, ctx, b, st, tp, core.ToPartition(0), msgs("m", 1))
	send(t, ctx, b, st, tp, core.ToPartition(1), msgs("m", 1))
	// Find a partition m1 does not own and store there.
	var owned []uint32
	for {
		p, err := m1.Poll(ctx, core.GroupPoll{Strategy: core.First(), Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Messages) == 0 || slices.Contains(owned, p.Partition) {
			break
		}
		owned = append(owned, p.Partition)
	}
	if len(owned) != 1 {
		t.Fatalf("member 1 of 2 on 2 partitions read partitions %v, want exactly one", owned)
	}
	foreign := 1 - owned[0]
	err = m1.StoreOffset(ctx, foreign, 0)
	if s.f.NotMemberOnUnownedPartition {
		wantErr(t, "StoreOffset on a partition the member does not own", err, core.ErrNotMember)
	} else if err == nil {
		t.Errorf("StoreOffset on a partition the member does not own succeeded")
	}
	fp := foreign
	p, err := m1.Poll(ctx, core.GroupPoll{Partition: &fp, Strategy: core.First(), Count: 1})
	if err == nil && len(p.Messages) != 0 {
		t.Errorf("member polled partition %d it does not own: %+v", foreign, p)
	}
}

func (s *suite) largeBatch(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 1)
	n := s.f.LargeBatch
	batch := make([]core.Message, n)
	for i := range batch {
		batch[i].Payload = binary.LittleEndian.AppendUint32(bytes.Repeat([]byte{byte(i)}, 96), uint32(i))
	}
	send(t, ctx, b, st, tp, core.ToPartition(0), batch)
	got := pollAll(t, ctx, b, st, tp, 0)
	if len(got) != n {
		t.Fatalf("read %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if !bytes.Equal(m.Payload, batch[i].Payload) {
			t.Fatalf("message %d payload differs", i)
		}
	}
}

func (s *suite) largePayload(t *testing.T, b core.Broker) {
	if s.f.SkipLargePayload != "" {
		t.Skip(s.f.SkipLargePayload)
	}
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 1)
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	send(t, ctx, b, st, tp, core.ToPartition(0), []core.Message{{Payload: big}, {Payload: []byte("after")}})
	got := pollAll(t, ctx, b, st, tp, 0)
	if len(got) != 2 || !bytes.Equal(got[0].Payload, big) || string(got[1].Payload) != "after" {
		t.Fatalf("1 MiB message did not round-trip (%d messages)", len(got))
	}
}

func (s *suite) headers(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 1)
	le := binary.LittleEndian
	hs := core.Headers{
		core.StringHeader("tenant_id", "tenant-42"),
		core.StringHeader("event_type", "order.created"),
		core.Uint64Header("schema_version", 3),
		{Key: "raw", Kind: core.HeaderRaw, Value: []byte{0, 0xff, 0x10}},
		{Key: "flag", Kind: core.HeaderBool, Value: []byte{1}},
		{Key: "i32", Kind: core.HeaderInt32, Value: le.AppendUint32(nil, uint32(0xfffffff6))},
		{Key: "f64", Kind: core.HeaderFloat64, Value: le.AppendUint64(nil, math.Float64bits(3.5))},
		{Key: "u128", Kind: core.HeaderUint128, Value: bytes.Repeat([]byte{0x5a}, 16)},
		{Key: "ключ", Kind: core.HeaderString, Value: []byte("значение")},
	}
	send(t, ctx, b, st, tp, core.ToPartition(0), []core.Message{
		{Payload: []byte("with"), Headers: hs},
		{Payload: []byte("without")},
	})
	got := pollAll(t, ctx, b, st, tp, 0)
	if len(got) != 2 {
		t.Fatalf("read %d messages", len(got))
	}
	if len(got[0].Headers) != len(hs) {
		t.Fatalf("headers: got %d, want %d: %+v", len(got[0].Headers), len(hs), got[0].Headers)
	}
	for i, h := range hs {
		g := got[0].Headers[i]
		if g.Key != h.Key || g.Kind != h.Kind || !bytes.Equal(g.Value, h.Value) {
			t.Errorf("header %d = %+v, want %+v", i, g, h)
		}
	}
	if got[0].Headers.Value("schema_version") != "3" || got[0].Headers.Value("i32") != "-10" {
		t.Errorf("header values read as %q, %q", got[0].Headers.Value("schema_version"), got[0].Headers.Value("i32"))
	}
	if len(got[1].Headers) != 0 {
		t.Errorf("message without headers came back with %+v", got[1].Headers)
	}
}

func (s *suite) messageIDs(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 1)
	id := core.MessageIDFromUUID([16]byte{0x01, 0x8f, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x09})
	origin := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	before := time.Now().Add(-time.Minute)
	send(t, ctx, b, st, tp, core.ToPartition(0), []core.Message{
		{ID: id, OriginTimestamp: origin, Payload: []byte("a")},
		{Payload: []byte("b")},
		{Payload: []byte("c")},
	})
	got := pollAll(t, ctx, b, st, tp, 0)
	if len(got) != 3 {
		t.Fatalf("read %d messages", len(got))
	}
	if got[0].ID != id {
		t.Errorf("id %x, want %x", got[0].ID, id)
	}
	if !got[0].OriginTimestamp.Equal(origin) {
		t.Errorf("origin timestamp %s, want %s", got[0].OriginTimestamp, origin)
	}
	if got[1].ID == ([16]byte{}) || got[2].ID == ([16]byte{}) || got[1].ID == got[2].ID {
		t.Errorf("zero ids were not replaced by distinct ids: %x %x", got[1].ID, got[2].ID)
	}
	for i, m := range got {
		if m.Timestamp.Before(before) || m.Timestamp.After(time.Now().Add(time.Minute)) {
			t.Errorf("message %d broker timestamp %s is not now", i, m.Timestamp)
		}
		if i > 0 && (m.OriginTimestamp.IsZero() || m.OriginTimestamp.Before(before)) {
			t.Errorf("message %d origin timestamp %s, want about now", i, m.OriginTimestamp)
		}
		if m.Checksum == 0 {
			t.Errorf("message %d has no checksum", i)
		}
	}
}

func (s *suite) errorMapping(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 2)
	one := msgs("m", 1)
	wantErr(t, "Send to a missing stream", b.Send(ctx, st+"-missing", tp, core.ToPartition(0), one), core.ErrNotFound)
	wantErr(t, "Send to a missing topic", b.Send(ctx, st, "missing", core.ToPartition(0), one), core.ErrNotFound)
	wantErr(t, "Send to a missing partition", b.Send(ctx, st, tp, core.ToPartition(7), one), core.ErrNotFound)
	wantErr(t, "Send an empty batch", b.Send(ctx, st, tp, core.ToPartition(0), nil), core.ErrInvalid)
	for _, tc := range []struct {
		name string
		req  core.PollRequest
	}{
		{"missing stream", core.PollRequest{Stream: st + "-missing", Topic: tp}},
		{"missing topic", core.PollRequest{Stream: st, Topic: "missing"}},
		{"missing partition", core.PollRequest{Stream: st, Topic: tp, Partition: 7}},
	} {
		tc.req.Strategy, tc.req.Count = core.First(), 1
		_, err := b.Poll(ctx, tc.req)
		wantErr(t, "Poll of a "+tc.name, err, core.ErrNotFound)
	}
	cons := core.Consumer{Kind: core.SingleConsumer, Name: "c"}
	wantErr(t, "StoreOffset on a missing topic", b.StoreOffset(ctx, cons, st, "missing", 0, 0), core.ErrNotFound)
	wantErr(t, "StoreOffset on a missing partition", b.StoreOffset(ctx, cons, st, tp, 7, 0), core.ErrNotFound)
	_, err := b.Offset(ctx, cons, st, "missing", 0)
	wantErr(t, "Offset on a missing topic", err, core.ErrNotFound)
	wantErr(t, "CreatePartitions in a missing stream", b.CreatePartitions(ctx, st+"-missing", tp, 1), core.ErrNotFound)
}

func (s *suite) concurrentSenders(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 1)
	const senders, batches, per = 8, 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for w := range senders {
		wg.Go(func() {
			for i := range batches {
				batch := make([]core.Message, per)
				for j := range batch {
					batch[j].Payload = fmt.Appendf(nil, "%d/%d", w, i*per+j)
				}
				if err := b.Send(ctx, st, tp, core.ToPartition(0), batch); err != nil {
					errs <- fmt.Errorf("sender %d batch %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := pollAll(t, ctx, b, st, tp, 0) // checks offsets are 0..n-1
	if len(got) != senders*batches*per {
		t.Fatalf("read %d messages, want %d", len(got), senders*batches*per)
	}
	last := map[int]int{}
	for w := range senders {
		last[w] = -1
	}
	for _, m := range got {
		var w, n int
		if _, err := fmt.Sscanf(string(m.Payload), "%d/%d", &w, &n); err != nil {
			t.Fatalf("payload %q: %v", m.Payload, err)
		}
		if n != last[w]+1 {
			t.Fatalf("sender %d: message %d follows %d (lost, duplicated or reordered)", w, n, last[w])
		}
		last[w] = n
	}
}

func (s *suite) close(t *testing.T, _ core.Broker) {
	ctx := s.ctx(t)
	b := s.newBroker(t)
	st, tp := topic(t, ctx, b, 2)
	if _, err := b.CreateGroup(ctx, st, tp, "g"); err != nil {
		t.Fatal(err)
	}
	m, err := b.JoinGroup(ctx, st, tp, "g")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close twice: %v", err)
	}
	_, err = b.Ping(ctx)
	wantErr(t, "Ping after Close", err, core.ErrClosed)
	_, err = b.Stream(ctx, st)
	wantErr(t, "Stream after Close", err, core.ErrClosed)
	wantErr(t, "Send after Close", b.Send(ctx, st, tp, core.ToPartition(0), msgs("m", 1)), core.ErrClosed)
	_, err = b.Poll(ctx, core.PollRequest{Stream: st, Topic: tp, Strategy: core.First(), Count: 1})
	wantErr(t, "Poll after Close", err, core.ErrClosed)
	_, err = b.JoinGroup(ctx, st, tp, "g")
	wantErr(t, "JoinGroup after Close", err, core.ErrClosed)
	_, err = m.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: 1})
	wantErr(t, "member Poll after Close", err, core.ErrClosed)
	if !s.f.SharedBroker {
		return
	}
	// The closed connector's member left the group.
	// A server notices the disconnect asynchronously: allow it a moment.
	other := s.newBroker(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := other.Group(ctx, st, tp, "g")
		if err != nil {
			t.Fatalf("Group from another connector: %v", err)
		}
		if len(info.Members) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group still has members 5s after Close: %+v", info.Members)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package connectortest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// longPoll checks PollRequest.MaxWait and GroupPoll.MaxWait. A broker
// without Features.LongPoll must not claim core.LongPoller and must return
// an empty poll at once despite a MaxWait far beyond the subtest's
// deadline. A long-polling broker must wait out MaxWait when nothing
// arrives, return a message that arrives while a poll waits (single
// consumer and group member without a partition id, the message going to
// the member's second partition), and end a wait when ctx ends.
func (s *suite) longPoll(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 2)
	lp, ok := b.(core.LongPoller)
	if !s.f.LongPoll {
		if ok && lp.LongPoll() {
			t.Fatal("the broker claims core.LongPoller but Features.LongPoll is not set")
		}
		// A waiting poll would outlast ctx and fail with its error.
		p := poll(t, ctx, b, core.PollRequest{Stream: st, Topic: tp, Strategy: core.First(), Count: 10, MaxWait: time.Hour})
		if len(p.Messages) != 0 {
			t.Fatalf("poll of an empty partition returned %d messages", len(p.Messages))
		}
		return
	}
	if !ok || !lp.LongPoll() {
		t.Fatal("Features.LongPoll is set but the broker does not implement core.LongPoller returning true")
	}

	// Nothing arrives: the poll waits out MaxWait, then returns empty.
	const short = 30 * time.Millisecond
	start := time.Now()
	p := poll(t, ctx, b, core.PollRequest{Stream: st, Topic: tp, Strategy: core.First(), Count: 10, MaxWait: short})
	if el := time.Since(start); len(p.Messages) != 0 || el < short {
		t.Fatalf("empty poll with MaxWait %v: %d messages after %v, want none after at least MaxWait", short, len(p.Messages), el)
	}

	// A message that arrives while a single consumer waits is returned.
	type result struct {
		p   core.Polled
		err error
	}
	res := make(chan result, 1)
	go func() {
		p, err := b.Poll(ctx, core.PollRequest{Stream: st, Topic: tp, Partition: 1, Strategy: core.FromOffset(0), Count: 10, MaxWait: time.Hour})
		res <- result{p, err}
	}()
	send(t, ctx, b, st, tp, core.ToPartition(1), msgs("single", 1))
	r := <-res
	if r.err != nil || len(r.p.Messages) != 1 || string(r.p.Messages[0].Payload) != "single-0" {
		t.Fatalf("waiting Poll = %d messages, %v; want single-0", len(r.p.Messages), r.err)
	}

	// A group member without a partition id reads whichever of its
	// partitions the message lands on.
	if _, err := b.CreateGroup(ctx, st, tp, "waiters"); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	m, err := b.JoinGroup(ctx, st, tp, "waiters")
	if err != nil {
		t.Fatalf("JoinGroup: %v", err)
	}
	t.Cleanup(func() { _ = m.Leave(context.Background()) })
	for p := range uint32(2) { // skip what is there, so the wait starts empty
		if got, err := m.Poll(ctx, core.GroupPoll{Partition: &p, Strategy: core.Next(), Count: 100, AutoCommit: true}); err != nil {
			t.Fatalf("member Poll(partition %d): %v", p, err)
		} else if len(got.Messages) > 0 && got.Partition != p {
			t.Fatalf("member Poll(partition %d) read partition %d", p, got.Partition)
		}
	}
	for _, target := range []uint32{1, 0} {
		go func() {
			p, err := m.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: 10, AutoCommit: true, MaxWait: time.Hour})
			res <- result{p, err}
		}()
		send(t, ctx, b, st, tp, core.ToPartition(target), msgs("group", 1))
		r := <-res
		if r.err != nil || len(r.p.Messages) != 1 || r.p.Partition != target || string(r.p.Messages[0].Payload) != "group-0" {
			t.Fatalf("waiting member Poll = partition %d, %d messages, %v; want group-0 from partition %d", r.p.Partition, len(r.p.Messages), r.err, target)
		}
	}

	// ctx ends a wait with its error.
	cctx, cancel := context.WithTimeout(ctx, short)
	defer cancel()
	_, err = m.Poll(cctx, core.GroupPoll{Strategy: core.Next(), Count: 10, MaxWait: time.Hour})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("member Poll whose ctx ends while it waits: %v, want context.DeadlineExceeded", err)
	}
	cctx2, cancel2 := context.WithTimeout(ctx, short)
	defer cancel2()
	_, err = b.Poll(cctx2, core.PollRequest{Stream: st, Topic: tp, Strategy: core.FromOffset(100), Count: 10, MaxWait: time.Hour})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Poll whose ctx ends while it waits: %v, want context.DeadlineExceeded", err)
	}
}

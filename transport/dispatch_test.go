package transport_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/core/coretest"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// TestPartitionNotPolledWhileBusy: while the handler of a partition's
// first event is held, with idle workers and more events waiting on that
// partition, the subscription keeps polling the other partition but never
// the held one; once released, the held partition's events follow in
// order and no two events of one partition ever ran at once.
func TestPartitionNotPolledWhileBusy(t *testing.T) {
	b := newFakeBroker()
	tr := newStarted(t, b, func(c *transport.Config) {
		c.Topology.DomainPartitions = 2
		c.Consumer.PollBatch = 10
		c.Consumer.PollIdleMax = 2 * time.Millisecond
	})
	defer tr.Shutdown(context.Background())
	ctx := context.Background()
	var tenants [2]uuid.UUID // tenants[p] lands on partition p
	for _, tn := range transporttest.Tenants(64) {
		tenants[transport.TenantPartition(tn, 2)] = tn
	}
	for p, n := range []int{30, 20} {
		for i := range n {
			if err := tr.Publish(ctx, transporttest.Event(tenants[p], "node.updated", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	held, release := make(chan struct{}), make(chan struct{})
	p1Done, allDone := make(chan struct{}), make(chan struct{})
	var running [2]atomic.Int32
	var overlaps, handled atomic.Int32
	var mu sync.Mutex
	var order0 []int
	var handled1 int
	sub, err := tr.Subscribe(ctx, "serial", func(_ context.Context, d transport.Delivery) error {
		p := d.Partition
		if running[p].Add(1) > 1 {
			overlaps.Add(1)
		}
		defer running[p].Add(-1)
		seq := transporttest.Seq(d.Envelope)
		if p == 0 && seq == 0 {
			close(held)
			<-release
		}
		mu.Lock()
		if p == 0 {
			order0 = append(order0, seq)
		} else if handled1++; handled1 == 20 {
			close(p1Done)
		}
		mu.Unlock()
		if handled.Add(1) == 50 {
			close(allDone)
		}
		return nil
	}, transport.SubscribeOptions{Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(context.Background())
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock() // before Stop, which waits for the held handler
	timeout := time.After(30 * time.Second)
	for _, ch := range []chan struct{}{held, p1Done} {
		select {
		case <-ch:
		case <-timeout:
			t.Fatal("timed out")
		}
	}
	// Count the polls from now on: several of partition 1 must come, none
	// of partition 0 while its batch is held.
	var polls [2]atomic.Int32
	enough := make(chan struct{})
	b.SetHooks(coretest.Hooks{Poll: func(_ context.Context, c coretest.PollCall) error {
		if c.Group == "" || c.Partition == nil {
			return nil
		}
		if p := *c.Partition; polls[p].Add(1) == 3 && p == 1 {
			close(enough)
		}
		return nil
	}})
	select {
	case <-enough:
	case <-timeout:
		t.Fatal("the subscription stopped polling partition 1")
	}
	if n := polls[0].Load(); n != 0 {
		t.Fatalf("partition 0 was polled %d times while its batch was held", n)
	}
	unblock()
	select {
	case <-allDone:
	case <-timeout:
		t.Fatal("timed out after the release")
	}
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d handler calls overlapped another of their partition", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, seq := range order0 {
		if seq != i {
			t.Fatalf("partition 0 handled out of order: %v", order0)
		}
	}
}

// TestPollAfterOffsetStored: every poll of a partition, whether the
// dispatcher's or the chained poll of the worker that just finished it,
// comes after the group's offset covers every event handled there, which
// is what a cooperative broker's hand-over relies on.
func TestPollAfterOffsetStored(t *testing.T) {
	b := newFakeBroker()
	tr := newStarted(t, b, func(c *transport.Config) {
		c.Topology.DomainPartitions = 4
		c.Consumer.PollBatch = 7
	})
	defer tr.Shutdown(context.Background())
	ctx := context.Background()
	tenants := transporttest.Tenants(16)
	const n = 2000
	events := make([]core.Envelope, 0, n)
	for i := range n {
		events = append(events, transporttest.Event(tenants[i%len(tenants)], "node.updated", i))
	}
	if err := tr.PublishBatch(ctx, events); err != nil {
		t.Fatal(err)
	}
	var handled [4]atomic.Int64 // last offset handled per partition, -1 none
	for i := range handled {
		handled[i].Store(-1)
	}
	var polls, early atomic.Int64
	var firstErr atomic.Pointer[string]
	hook := func(p uint32) {
		polls.Add(1)
		h := handled[p].Load()
		if h < 0 {
			return
		}
		off, err := b.Offset(context.Background(), core.Consumer{Kind: core.GroupConsumer, Name: "stored"}, "rustok", transport.TopicDomain, p)
		if err != nil || int64(off.StoredOffset) < h {
			early.Add(1)
			msg := fmt.Sprintf("partition %d polled with offset %d handled and %+v stored (%v)", p, h, off, err)
			firstErr.CompareAndSwap(nil, &msg)
		}
	}
	b.SetHooks(coretest.Hooks{Poll: func(_ context.Context, c coretest.PollCall) error {
		if c.Group == "stored" && c.Partition != nil {
			hook(*c.Partition)
		}
		return nil
	}})
	var count atomic.Int64
	done := make(chan struct{})
	sub, err := tr.Subscribe(ctx, "stored", func(_ context.Context, d transport.Delivery) error {
		handled[d.Partition].Store(int64(d.Message.Offset))
		if count.Add(1) == n {
			close(done)
		}
		return nil
	}, transport.SubscribeOptions{Concurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("handled %d of %d", count.Load(), n)
	}
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if e := early.Load(); e > 0 {
		t.Fatalf("%d of %d polls came before the offset was stored; first: %s", e, polls.Load(), *firstErr.Load())
	}
	if polls.Load() < n/7 {
		t.Fatalf("only %d polls by partition for %d events in batches of 7", polls.Load(), n)
	}
}

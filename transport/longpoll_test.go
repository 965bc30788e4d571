package transport_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// longPollBroker is the fake broker as a core.LongPoller: an empty member
// poll with MaxWait waits for the next Send (or MaxWait, or ctx), then
// polls again. It records the MaxWait values members asked for.
type longPollBroker struct {
	*fakeBroker
	mu       sync.Mutex
	appended chan struct{} // closed and replaced by each Send
	waits    map[time.Duration]int
	waiting  chan struct{} // signalled when a poll starts waiting
}

func newLongPollBroker() *longPollBroker {
	return &longPollBroker{fakeBroker: newFakeBroker(), appended: make(chan struct{}), waits: map[time.Duration]int{}, waiting: make(chan struct{}, 1)}
}

func (b *longPollBroker) LongPoll() bool { return true }

func (b *longPollBroker) Send(ctx context.Context, stream, topic string, p core.Partitioning, msgs []core.Message) error {
	err := b.fakeBroker.Send(ctx, stream, topic, p, msgs)
	b.mu.Lock()
	close(b.appended)
	b.appended = make(chan struct{})
	b.mu.Unlock()
	return err
}

func (b *longPollBroker) JoinGroup(ctx context.Context, stream, topic, group string) (core.GroupMember, error) {
	m, err := b.fakeBroker.JoinGroup(ctx, stream, topic, group)
	if err != nil {
		return nil, err
	}
	return &longPollMember{GroupMember: m, b: b}, nil
}

type longPollMember struct {
	core.GroupMember
	b *longPollBroker
}

func (m *longPollMember) Poll(ctx context.Context, req core.GroupPoll) (core.Polled, error) {
	var timer *time.Timer
	for {
		m.b.mu.Lock()
		m.b.waits[req.MaxWait]++
		appended := m.b.appended
		m.b.mu.Unlock()
		// Without a partition, each poll reads the member's next
		// partition: one per partition of the topic reads them all.
		var p core.Polled
		var err error
		for range transport.DefaultPartitions {
			if p, err = m.GroupMember.Poll(ctx, req); err != nil || len(p.Messages) > 0 || req.MaxWait <= 0 {
				return p, err
			}
		}
		if timer == nil {
			timer = time.NewTimer(req.MaxWait)
			defer timer.Stop()
		}
		select {
		case m.b.waiting <- struct{}{}:
		default:
		}
		select {
		case <-appended:
		case <-timer.C:
			return p, nil
		case <-ctx.Done():
			return core.Polled{}, ctx.Err()
		}
	}
}

// TestSubscribeLongPolls: over a core.LongPoller an idle subscription
// polls with MaxWait = consumer.poll_idle_max instead of pausing, so with an idle
// pause of an hour events published to an idle subscription still arrive
// at once, and Stop ends the waiting polls; a plain broker gets no MaxWait.
func TestSubscribeLongPolls(t *testing.T) {
	b := newLongPollBroker()
	var cfg transport.Config
	cfg.Consumer.PollIdleMin = time.Hour
	cfg.Consumer.PollIdleMax = time.Hour
	tr, err := transport.New(cfg, b, transporttest.JSONCodec{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	ctx := context.Background()
	got := make(chan struct{}, 10)
	sub, err := tr.Subscribe(ctx, "lp", func(context.Context, transport.Delivery) error {
		got <- struct{}{}
		return nil
	}, transport.SubscribeOptions{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	select { // the idle subscription waits in a poll, not in a pause
	case <-b.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle subscription never waited in a poll")
	}
	tenant := uuid.New()
	for i := range 10 {
		if err := tr.Publish(ctx, transporttest.Event(tenant, "a.b", i)); err != nil {
			t.Fatal(err)
		}
	}
	timeout := time.After(10 * time.Second)
	for range 10 {
		select {
		case <-got:
		case <-timeout:
			t.Fatal("events not delivered: the members paused instead of waiting in the poll")
		}
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sub.Stop(stopCtx); err != nil {
		t.Fatalf("Stop with polls waiting: %v", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Polls of one partition by id never wait (another partition may have
	// messages meanwhile); the poll of all the member's partitions waits
	// poll_idle_max.
	for w := range b.waits {
		if w != 0 && w != time.Hour {
			t.Errorf("a member poll asked for MaxWait %v, want 0 or poll_idle_max (1h)", w)
		}
	}
	if b.waits[time.Hour] == 0 {
		t.Fatalf("member polls asked for MaxWait %v, none for poll_idle_max (1h)", b.waits)
	}
}

package transport_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core/coretest"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// longPollBroker is the fake broker as a core.LongPoller (an empty member
// poll with MaxWait waits for the next Send, MaxWait or ctx), recording
// the MaxWait values member polls asked for and signalling waiting when
// one asks for a wait.
type longPollBroker struct {
	*fakeBroker
	mu      sync.Mutex
	waits   map[time.Duration]int
	waiting chan struct{}
}

func newLongPollBroker() *longPollBroker {
	b := &longPollBroker{fakeBroker: coretest.New(coretest.Options{LongPoll: true, FullRebalance: true}),
		waits: map[time.Duration]int{}, waiting: make(chan struct{}, 1)}
	b.SetHooks(coretest.Hooks{Poll: func(_ context.Context, c coretest.PollCall) error {
		if c.Group == "" {
			return nil
		}
		b.mu.Lock()
		b.waits[c.MaxWait]++
		b.mu.Unlock()
		if c.MaxWait > 0 {
			select {
			case b.waiting <- struct{}{}:
			default:
			}
		}
		return nil
	}})
	return b
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

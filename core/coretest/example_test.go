package coretest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/core/coretest"
)

// A test broker with a topic of two partitions: a send by key, a poll, and
// a Send hook that makes the broker refuse sends to partition 1.
func Example() {
	ctx := context.Background()
	b := coretest.New(coretest.Options{})
	defer b.Close()
	if _, err := b.CreateStream(ctx, "shop"); err != nil {
		panic(err)
	}
	if _, err := b.CreateTopic(ctx, "shop", "orders", core.TopicConfig{Partitions: 2}); err != nil {
		panic(err)
	}
	err := b.Send(ctx, "shop", "orders", core.ToPartition(0), []core.Message{
		{Payload: []byte("order 1"), Headers: core.Headers{core.StringHeader("tenant_id", "acme")}},
		{Payload: []byte("order 2")},
	})
	if err != nil {
		panic(err)
	}
	p, err := b.Poll(ctx, core.PollRequest{Stream: "shop", Topic: "orders", Partition: 0, Strategy: core.First(), Count: 10})
	if err != nil {
		panic(err)
	}
	for _, m := range p.Messages {
		fmt.Printf("offset %d: %s (tenant %q)\n", m.Offset, m.Payload, m.Headers.Value("tenant_id"))
	}

	b.SetHooks(coretest.Hooks{Send: func(_ context.Context, c coretest.SendCall) error {
		if c.Partition == 1 {
			return fmt.Errorf("partition 1 is failing: %w", core.ErrUnavailable)
		}
		return nil
	}})
	err = b.Send(ctx, "shop", "orders", core.ToPartition(1), []core.Message{{Payload: []byte("order 3")}})
	fmt.Println("send to partition 1:", err, errors.Is(err, core.ErrUnavailable))

	b.SetHooks(coretest.Hooks{})
	b.SetDown(true)
	_, err = b.Ping(ctx)
	fmt.Println("ping while down:", errors.Is(err, core.ErrUnavailable))
	// Output:
	// offset 0: order 1 (tenant "acme")
	// offset 1: order 2 (tenant "")
	// send to partition 1: partition 1 is failing: broker unavailable true
	// ping while down: true
}

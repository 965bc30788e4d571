package transport_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

var exampleTenant = uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f")

// exampleTransport starts a transport over the in-memory fake broker. In an
// application the broker is the embedded or remote connector and the codec
// comes from adapters.
func exampleTransport() *transport.Transport {
	tr, err := transport.New(transport.Config{}, newFakeBroker(), transporttest.JSONCodec{}, nil)
	if err != nil {
		panic(err)
	}
	if err := tr.Start(context.Background()); err != nil {
		panic(err)
	}
	return tr
}

func ExampleTransport_Publish() {
	tr := exampleTransport()
	ctx := context.Background()
	defer tr.Shutdown(ctx)

	ev := core.NewEnvelope(exampleTenant, "node.created", core.Event{Type: "NodeCreated", Data: []byte(`{"title":"hello"}`)})
	if err := tr.Publish(ctx, ev); err != nil {
		fmt.Println("publish:", err)
		return
	}
	fmt.Println("topic:", transport.TopicFor(ev.EventType))
	fmt.Println("partition:", transport.TenantPartition(ev.TenantID, 8))
	// Output:
	// topic: domain
	// partition: 6
}

func ExampleTransport_Subscribe() {
	tr := exampleTransport()
	ctx := context.Background()
	defer tr.Shutdown(ctx)

	for i := range 3 {
		ev := transporttest.Event(exampleTenant, "node.updated", i)
		if err := tr.Publish(ctx, ev); err != nil {
			panic(err)
		}
	}
	got := make(chan int)
	sub, err := tr.Subscribe(ctx, "indexer", func(ctx context.Context, d transport.Delivery) error {
		// Called serially per partition; return an error to retry, then DLQ.
		got <- transporttest.Seq(d.Envelope)
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		panic(err)
	}
	for range 3 {
		fmt.Println("handled seq", <-got)
	}
	if err := sub.Stop(ctx); err != nil {
		panic(err)
	}
	// Output:
	// handled seq 0
	// handled seq 1
	// handled seq 2
}

func ExampleTransport_Replay() {
	tr := exampleTransport()
	ctx := context.Background()
	defer tr.Shutdown(ctx)

	other := uuid.MustParse("00000000-0000-4000-8000-000000000001")
	for i := range 3 {
		_ = tr.Publish(ctx, transporttest.Event(exampleTenant, "node.updated", i))
		_ = tr.Publish(ctx, transporttest.Event(other, "node.deleted", i))
	}
	res, err := tr.Replay(ctx, transport.ReplayRequest{
		Tenants:    []uuid.UUID{exampleTenant},
		EventTypes: []string{"node.updated"},
		From:       transport.AtOffset(1),
	}, func(ctx context.Context, d transport.Delivery) error {
		fmt.Println("replayed", d.Envelope.EventType, transporttest.Seq(d.Envelope))
		return nil
	})
	fmt.Println(res.Delivered, err)
	// Output:
	// replayed node.updated 1
	// replayed node.updated 2
	// 2 <nil>
}

func ExampleDLQ_Redrive() {
	var cfg transport.Config
	cfg.Consumer.MaxAttempts = 2
	cfg.Consumer.InitialBackoff = time.Millisecond
	cfg.Consumer.MaxBackoff = time.Millisecond
	tr, _ := transport.New(cfg, newFakeBroker(), transporttest.JSONCodec{}, nil)
	ctx := context.Background()
	_ = tr.Start(ctx)
	defer tr.Shutdown(ctx)

	_ = tr.Publish(ctx, transporttest.Event(exampleTenant, "order.placed", 7))
	dead := make(chan struct{})
	redriven := make(chan uint32)
	handler := func(ctx context.Context, d transport.Delivery) error {
		if d.Envelope.RetryCount > 0 {
			redriven <- d.Envelope.RetryCount
			return nil
		}
		if d.Attempt == 2 {
			close(dead) // the last attempt: the event goes to the DLQ next
		}
		return errors.New("billing down")
	}
	sub, _ := tr.Subscribe(ctx, "billing", handler, transport.SubscribeOptions{})
	<-dead
	_ = sub.Stop(ctx) // lets the in-flight event reach the DLQ

	entries, _ := tr.DLQ().List(ctx, transport.DLQFilter{Groups: []string{"billing"}})
	fmt.Println(entries[0].EventType, entries[0].Attempts, entries[0].Error)
	res, _ := tr.DLQ().Redrive(ctx, transport.DLQFilter{Groups: []string{"billing"}})
	fmt.Println("redriven:", len(res.Redriven))
	res, _ = tr.DLQ().Redrive(ctx, transport.DLQFilter{})
	fmt.Println("again:", len(res.Redriven))

	sub, _ = tr.Subscribe(ctx, "billing", handler, transport.SubscribeOptions{})
	fmt.Println("retry_count:", <-redriven)
	_ = sub.Stop(ctx)
	// Output:
	// order.placed 2 billing down
	// redriven: 1
	// again: 0
	// retry_count: 1
}

func ExampleConfig_Validate() {
	var cfg transport.Config
	cfg.Publisher.Mode = "fire-and-forget"
	cfg.Consumer.MaxAttempts = -1
	fmt.Println(cfg.Validate())
	// Output:
	// invalid argument: config: transport config: publisher.mode: "fire-and-forget" is not "sync" or "async"
	// consumer.max_attempts: -1 is below 1
}

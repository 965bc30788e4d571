package iggywm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	iggywm "github.com/rustok/rustok-iggy/adapters/watermill"
	"github.com/rustok/rustok-iggy/connector/embedded"
)

// A Watermill router over rustok-iggy's embedded broker. The handler fails
// for one order; the Retry middleware tries it twice more, then the
// PoisonQueue middleware parks it on its own topic and the router moves on
// to the next order. The same code runs against an Iggy server with
// remote.New in place of embedded.Open.
func Example_router() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "iggywm-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	broker, err := embedded.Open(ctx, embedded.Config{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()

	pub, err := iggywm.NewPublisher(broker, iggywm.PublisherConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()
	sub, err := iggywm.NewSubscriber(broker, iggywm.SubscriberConfig{ConsumerGroup: "billing"})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()

	logger := watermill.NewSlogLogger(slog.New(slog.DiscardHandler))
	router, err := message.NewRouter(message.RouterConfig{}, logger)
	if err != nil {
		log.Fatal(err)
	}
	poison, err := middleware.PoisonQueue(pub, "orders.poison")
	if err != nil {
		log.Fatal(err)
	}
	// The first middleware added is the outermost: the poison queue sees
	// the error only after the retries are spent.
	router.AddMiddleware(poison, middleware.Retry{MaxRetries: 2, InitialInterval: time.Millisecond, Logger: logger}.Middleware)

	lastBilled := make(chan struct{})
	router.AddConsumerHandler("bill", "orders", sub, func(msg *message.Message) error {
		order := string(msg.Payload)
		if order == "order-2" {
			fmt.Println("billing", order, "failed")
			return errors.New("card declined")
		}
		fmt.Println("billed", order)
		if order == "order-3" {
			close(lastBilled)
		}
		return nil
	})
	routerDone := make(chan error, 1)
	go func() { routerDone <- router.Run(ctx) }()
	<-router.Running()

	for _, order := range []string{"order-1", "order-2", "order-3"} {
		if err := pub.Publish("orders", message.NewMessage(watermill.NewUUID(), []byte(order))); err != nil {
			log.Fatal(err)
		}
	}
	<-lastBilled
	if err := router.Close(); err != nil {
		log.Fatal(err)
	}
	if err := <-routerDone; err != nil {
		log.Fatal(err)
	}

	// Inspect the poison queue: a subscriber without a consumer group reads
	// a topic from its first message.
	inspect, err := iggywm.NewSubscriber(broker, iggywm.SubscriberConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer inspect.Close()
	poisoned, err := inspect.Subscribe(ctx, "orders.poison")
	if err != nil {
		log.Fatal(err)
	}
	msg := <-poisoned
	msg.Ack()
	fmt.Printf("poisoned %s from %s: %s\n", msg.Payload,
		msg.Metadata.Get(middleware.PoisonedTopicKey), msg.Metadata.Get(middleware.ReasonForPoisonedKey))

	// Output:
	// billed order-1
	// billing order-2 failed
	// billing order-2 failed
	// billing order-2 failed
	// billed order-3
	// poisoned order-2 from orders: card declined
}

// A Publisher and a Subscriber of one consumer group over the embedded
// broker. A message's UUID and metadata travel as Iggy user headers; with
// PartitionKey, the messages of one tenant keep their order.
func ExampleNewSubscriber() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "iggywm-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	broker, err := embedded.Open(ctx, embedded.Config{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()

	topics := iggywm.TopicConfig{Stream: "shop", Partitions: 4}
	pub, err := iggywm.NewPublisher(broker, iggywm.PublisherConfig{TopicConfig: topics, PartitionKey: "tenant"})
	if err != nil {
		log.Fatal(err)
	}
	defer pub.Close()
	msg := message.NewMessage("6ba7b810-9dad-11d1-80b4-00c04fd430c8", []byte(`{"total":42}`))
	msg.Metadata.Set("tenant", "acme")
	if err := pub.Publish("orders", msg); err != nil {
		log.Fatal(err)
	}

	sub, err := iggywm.NewSubscriber(broker, iggywm.SubscriberConfig{TopicConfig: topics, ConsumerGroup: "billing"})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, "orders")
	if err != nil {
		log.Fatal(err)
	}
	got := <-msgs
	d, _ := iggywm.DeliveryFromContext(got.Context())
	fmt.Println(got.UUID, got.Metadata.Get("tenant"), string(got.Payload), "offset", d.Offset)
	got.Ack() // stores the group's offset: the next subscriber of "billing" starts after it

	// Output:
	// 6ba7b810-9dad-11d1-80b4-00c04fd430c8 acme {"total":42} offset 0
}

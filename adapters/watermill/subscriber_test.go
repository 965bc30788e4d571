package iggywm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	iggywm "github.com/rustok/rustok-iggy/adapters/watermill"
	"github.com/rustok/rustok-iggy/core"
)

// waitTimeout bounds every wait for something that should happen at once;
// it only matters when a test fails.
const waitTimeout = 10 * time.Second

// forEachBroker runs body against the embedded connector and against the
// remote connector over loopback TCP.
func forEachBroker(t *testing.T, body func(t *testing.T, b core.Broker)) {
	t.Run("embedded", func(t *testing.T) { body(t, openEmbedded(t, "")) })
	t.Run("remote", func(t *testing.T) { body(t, openRemote(t)) })
}

func newPublisher(t *testing.T, b core.Broker, cfg iggywm.PublisherConfig) *iggywm.Publisher {
	t.Helper()
	cfg.Logger = testLogger(t)
	p, err := iggywm.NewPublisher(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func newSubscriber(t *testing.T, b core.Broker, cfg iggywm.SubscriberConfig) *iggywm.Subscriber {
	t.Helper()
	cfg.Logger = testLogger(t)
	cfg.PollInterval = 10 * time.Millisecond
	s, err := iggywm.NewSubscriber(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// receive returns the next message of ch, failing t if none comes or ch
// closes.
func receive(t *testing.T, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("channel closed, want a message")
		}
		return m
	case <-time.After(waitTimeout):
		t.Fatal("no message")
	}
	return nil
}

// closed fails t unless ch is closed (after draining nothing).
func requireClosed(t *testing.T, ch <-chan *message.Message) {
	t.Helper()
	select {
	case m, ok := <-ch:
		if ok {
			t.Fatalf("got message %q, want a closed channel", m.UUID)
		}
	case <-time.After(waitTimeout):
		t.Fatal("channel not closed")
	}
}

func publish(t *testing.T, p *iggywm.Publisher, topic string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := p.Publish(topic, message.NewMessage(id, []byte("payload of "+id))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMessagesCrossTheBrokerIntact: UUID, metadata and payload of every
// tricky message come back byte for byte, through the in-process path and
// through the Iggy TCP protocol (the Go SDK's header codec).
func TestMessagesCrossTheBrokerIntact(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b core.Broker) {
		p := newPublisher(t, b, iggywm.PublisherConfig{})
		s := newSubscriber(t, b, iggywm.SubscriberConfig{})
		msgs := trickyMessages()
		sent := map[string]*message.Message{} // by "n" metadata
		for name, m := range msgs {
			m.Metadata.Set("n", name)
			sent[name] = m
			if err := p.Publish("tricky", m); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		ch, err := s.Subscribe(t.Context(), "tricky")
		if err != nil {
			t.Fatal(err)
		}
		for range msgs {
			got := receive(t, ch)
			got.Ack()
			want, ok := sent[got.Metadata.Get("n")]
			if !ok {
				t.Fatalf("unexpected message %q %v", got.UUID, got.Metadata)
			}
			if d := equalMessage(want, got); d != "" {
				t.Errorf("%s: %s", got.Metadata.Get("n"), d)
			}
			delete(sent, got.Metadata.Get("n"))
		}
	})
}

// TestAckStoresOffsetForTheGroup: only acknowledged messages count; a new
// subscription of the group continues at the first un-acked message, and
// a nack delivers the same message again.
func TestAckStoresOffsetForTheGroup(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b core.Broker) {
		p := newPublisher(t, b, iggywm.PublisherConfig{})
		publish(t, p, "orders", "m1", "m2", "m3")
		cfg := iggywm.SubscriberConfig{ConsumerGroup: "billing"}

		s1 := newSubscriber(t, b, cfg)
		ch, err := s1.Subscribe(t.Context(), "orders")
		if err != nil {
			t.Fatal(err)
		}
		if m := receive(t, ch); m.UUID != "m1" {
			t.Fatalf("first message %q, want m1", m.UUID)
		} else {
			m.Ack()
		}
		m2 := receive(t, ch)
		if m2.UUID != "m2" {
			t.Fatalf("second message %q, want m2", m2.UUID)
		}
		m2.Nack()
		again := receive(t, ch)
		if again.UUID != "m2" || string(again.Payload) != "payload of m2" {
			t.Fatalf("after Nack got %q, want m2 again", again.UUID)
		}
		if m2.Context().Err() == nil {
			t.Error("nacked message's context not cancelled")
		}
		// again is left un-acked: Close must not wait for it.
		if err := s1.Close(); err != nil {
			t.Fatal(err)
		}
		requireClosed(t, ch)
		if again.Context().Err() == nil {
			t.Error("in-flight message's context not cancelled by Close")
		}

		s2 := newSubscriber(t, b, cfg)
		ch2, err := s2.Subscribe(t.Context(), "orders")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"m2", "m3"} {
			m := receive(t, ch2)
			if m.UUID != want {
				t.Fatalf("continued with %q, want %s", m.UUID, want)
			}
			m.Ack()
		}
		// Another group starts at the first message.
		s3 := newSubscriber(t, b, iggywm.SubscriberConfig{ConsumerGroup: "audit"})
		ch3, err := s3.Subscribe(t.Context(), "orders")
		if err != nil {
			t.Fatal(err)
		}
		if m := receive(t, ch3); m.UUID != "m1" {
			t.Fatalf("new group starts at %q, want m1", m.UUID)
		}
	})
}

// TestSubscriptionEnds: cancelling Subscribe's ctx closes the channel
// with a message in flight and leaves the group; Close is idempotent and
// later calls fail.
func TestSubscriptionEnds(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b core.Broker) {
		p := newPublisher(t, b, iggywm.PublisherConfig{})
		publish(t, p, "events", "e1", "e2")
		s := newSubscriber(t, b, iggywm.SubscriberConfig{ConsumerGroup: "g"})
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := s.Subscribe(ctx, "events")
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.Subscribe(t.Context(), "events")
		if err != nil {
			t.Fatal(err)
		}
		info, err := b.Group(t.Context(), iggywm.DefaultStream, "events", "g")
		if err != nil || len(info.Members) != 2 {
			t.Fatalf("group %+v, %v; want 2 members", info, err)
		}
		var inFlight *message.Message
		select { // one of the two members owns the single partition
		case inFlight = <-ch:
		case inFlight = <-other:
		case <-time.After(waitTimeout):
			t.Fatal("no message")
		}
		if d, ok := iggywm.DeliveryFromContext(inFlight.Context()); !ok || d.Topic != "events" || d.Offset != 0 || d.Partition != 0 {
			t.Errorf("delivery %+v, %v; want events/0 at offset 0", d, ok)
		}
		cancel()
		requireClosed(t, ch)
		// The cancelled subscription left the group before its channel
		// closed: one member remains.
		info, err = b.Group(t.Context(), iggywm.DefaultStream, "events", "g")
		if err != nil || len(info.Members) != 1 {
			t.Fatalf("group %+v, %v; want 1 member after cancel", info, err)
		}

		done := make(chan struct{})
		go func() {
			_ = s.Close()
			_ = s.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			t.Fatal("Close blocked")
		}
		requireClosed(t, other)
		if _, err := s.Subscribe(t.Context(), "events"); !errors.Is(err, iggywm.ErrSubscriberClosed) {
			t.Errorf("Subscribe after Close: %v, want ErrSubscriberClosed", err)
		}
		if err := s.SubscribeInitialize("events"); !errors.Is(err, iggywm.ErrSubscriberClosed) {
			t.Errorf("SubscribeInitialize after Close: %v, want ErrSubscriberClosed", err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.Publish("events", message.NewMessage("late", []byte("x"))); !errors.Is(err, iggywm.ErrPublisherClosed) {
			t.Errorf("Publish after Close: %v, want ErrPublisherClosed", err)
		}
	})
}

// TestPartitionKeyKeepsOrderPerKey: with PartitionKey, the messages of a
// key share one partition and arrive in publish order, across four
// partitions and two members.
func TestPartitionKeyKeepsOrderPerKey(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b core.Broker) {
		topo := iggywm.TopicConfig{Partitions: 4}
		p := newPublisher(t, b, iggywm.PublisherConfig{TopicConfig: topo, PartitionKey: "tenant"})
		const perTenant = 20
		tenants := []string{"acme", "globex", "initech", "umbrella", "hooli"}
		var batch []*message.Message
		for i := range perTenant {
			for _, tn := range tenants {
				m := message.NewMessage(fmt.Sprintf("%s-%02d", tn, i), []byte("x"))
				m.Metadata.Set("tenant", tn)
				batch = append(batch, m)
			}
		}
		// One Publish with interleaved keys: sent as runs, order kept per key.
		if err := p.Publish("by-tenant", batch...); err != nil {
			t.Fatal(err)
		}
		s := newSubscriber(t, b, iggywm.SubscriberConfig{TopicConfig: topo, ConsumerGroup: "g"})
		ch1, err := s.Subscribe(t.Context(), "by-tenant")
		if err != nil {
			t.Fatal(err)
		}
		ch2, err := s.Subscribe(t.Context(), "by-tenant")
		if err != nil {
			t.Fatal(err)
		}
		next := map[string]int{}
		partitionOf := map[string]uint32{}
		used := map[uint32]bool{}
		for range len(batch) {
			var m *message.Message
			select {
			case m = <-ch1:
			case m = <-ch2:
			case <-time.After(waitTimeout):
				t.Fatalf("received %v, want %d per tenant", next, perTenant)
			}
			tn := m.Metadata.Get("tenant")
			if want := fmt.Sprintf("%s-%02d", tn, next[tn]); m.UUID != want {
				t.Fatalf("got %s, want %s (order per key)", m.UUID, want)
			}
			next[tn]++
			d, _ := iggywm.DeliveryFromContext(m.Context())
			if p, seen := partitionOf[tn]; seen && p != d.Partition {
				t.Fatalf("tenant %s in partitions %d and %d", tn, p, d.Partition)
			}
			partitionOf[tn] = d.Partition
			used[d.Partition] = true
			m.Ack()
		}
		if len(used) < 2 {
			t.Errorf("all tenants in partitions %v; want them spread", used)
		}
	})
}

// TestUndecodableMessageIsSkipped: a message the marshaler cannot read is
// logged and skipped, and the group's offset moves past it.
func TestUndecodableMessageIsSkipped(t *testing.T) {
	b := openEmbedded(t, "")
	p := newPublisher(t, b, iggywm.PublisherConfig{})
	publish(t, p, "mixed", "good-1")
	bad := core.Message{Payload: []byte("x"), Headers: core.Headers{{Key: iggywm.HeaderExtPrefix + "0", Kind: core.HeaderRaw, Value: []byte{9}}}}
	if err := b.Send(t.Context(), iggywm.DefaultStream, "mixed", core.Balanced(), []core.Message{bad}); err != nil {
		t.Fatal(err)
	}
	publish(t, p, "mixed", "good-2")
	s := newSubscriber(t, b, iggywm.SubscriberConfig{ConsumerGroup: "g"})
	ch, err := s.Subscribe(t.Context(), "mixed")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"good-1", "good-2"} {
		m := receive(t, ch)
		if m.UUID != want {
			t.Fatalf("got %q, want %s", m.UUID, want)
		}
		m.Ack()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	off, err := b.Offset(t.Context(), core.Consumer{Kind: core.GroupConsumer, Name: "g"}, iggywm.DefaultStream, "mixed", 0)
	if err != nil || off.StoredOffset != 2 {
		t.Errorf("stored offset %+v, %v; want 2", off, err)
	}
}

// TestPublishHonoursMessageContext: a message whose context ended is not
// published.
func TestPublishHonoursMessageContext(t *testing.T) {
	b := openEmbedded(t, "")
	p := newPublisher(t, b, iggywm.PublisherConfig{})
	publish(t, p, "ctx", "first") // creates the topic
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m := message.NewMessage("late", []byte("x"))
	m.SetContext(ctx)
	if err := p.Publish("ctx", m); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled context: %v, want context.Canceled", err)
	}
	if err := p.Publish("ctx"); err != nil {
		t.Errorf("Publish of nothing: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (iggywm.SubscriberConfig{}).Validate(); err != nil {
		t.Errorf("zero SubscriberConfig: %v", err)
	}
	if err := (iggywm.PublisherConfig{}).Validate(); err != nil {
		t.Errorf("zero PublisherConfig: %v", err)
	}
	long := string(make([]byte, 256))
	err := iggywm.SubscriberConfig{
		TopicConfig:   iggywm.TopicConfig{Stream: long, Partitions: 1001},
		ConsumerGroup: long, BatchSize: 10_001,
		PollInterval: -1, NackDelay: -1, RetryDelay: -1,
	}.Validate()
	if !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, key := range []string{"subscriber.stream", "subscriber.partitions", "subscriber.consumer_group", "subscriber.batch_size",
		"subscriber.poll_interval", "subscriber.nack_delay", "subscriber.retry_delay"} {
		if !strings.Contains(err.Error(), key+":") {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
	if err := (iggywm.PublisherConfig{TopicConfig: iggywm.TopicConfig{Partitions: 1001}}).Validate(); err == nil || !strings.Contains(err.Error(), "publisher.partitions:") {
		t.Errorf("publisher: %v, want publisher.partitions", err)
	}
	if _, err := iggywm.NewSubscriber(nil, iggywm.SubscriberConfig{}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("nil broker: %v", err)
	}
	if _, err := iggywm.NewPublisher(nil, iggywm.PublisherConfig{}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("nil broker: %v", err)
	}
}

// TestOversizedMetadataRefused: metadata beyond Iggy's 100 000 bytes of
// user headers fails the Publish with core.ErrInvalid on both paths.
func TestOversizedMetadataRefused(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b core.Broker) {
		p := newPublisher(t, b, iggywm.PublisherConfig{})
		m := message.NewMessage("big", []byte("x"))
		m.Metadata.Set("huge", strings.Repeat("x", 100_001))
		if err := p.Publish("big", m); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Publish: %v, want core.ErrInvalid", err)
		}
	})
}

// TestDeleteGroupOnClose: with delete_group_on_close, Close deletes the
// group with its offsets (a new subscription of that group starts at the
// first message again); without it the group and its offsets stay.
func TestDeleteGroupOnClose(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b core.Broker) {
		p := newPublisher(t, b, iggywm.PublisherConfig{})
		publish(t, p, "orders", "m1", "m2")
		stream := iggywm.DefaultStream
		for _, del := range []bool{false, true} {
			cfg := iggywm.SubscriberConfig{ConsumerGroup: "once", DeleteGroupOnClose: del}
			s := newSubscriber(t, b, cfg)
			ch, err := s.Subscribe(t.Context(), "orders")
			if err != nil {
				t.Fatal(err)
			}
			first := receive(t, ch)
			first.Ack()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			_, err = b.Group(t.Context(), stream, "orders", "once")
			switch {
			case del && !errors.Is(err, core.ErrNotFound):
				t.Fatalf("delete_group_on_close: after Close the group lookup gave %v, want ErrNotFound", err)
			case !del && err != nil:
				t.Fatalf("without delete_group_on_close the group is gone: %v", err)
			}
			if !del && first.UUID != "m1" {
				t.Fatalf("first delivery %q, want m1", first.UUID)
			}
			if del && first.UUID != "m2" { // the first run acknowledged m1
				t.Fatalf("the group kept its offset: first delivery %q, want m2", first.UUID)
			}
		}
		// The deleted group's offsets went with it.
		s := newSubscriber(t, b, iggywm.SubscriberConfig{ConsumerGroup: "once"})
		ch, err := s.Subscribe(t.Context(), "orders")
		if err != nil {
			t.Fatal(err)
		}
		if m := receive(t, ch); m.UUID != "m1" {
			t.Fatalf("after the delete the group starts at %q, want m1", m.UUID)
		}
	})
}

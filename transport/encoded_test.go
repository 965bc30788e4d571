package transport_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// PublishEncoded stores exactly what PublishBatch stores for the envelopes
// the payloads encode: ids, headers, payloads, topics and partitions.
func TestPublishEncodedMatchesPublishBatch(t *testing.T) {
	ctx := context.Background()
	tenants := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	var events []core.Envelope
	for i := range 12 {
		e := transporttest.Event(tenants[i%3], "order.created", i)
		if i%4 == 0 {
			e.EventType = "system.tick"
		}
		if i%5 == 0 {
			e.CausationID, e.TraceID = uuid.New(), "trace-1"
		}
		events = append(events, e)
	}
	b1, b2 := newFakeBroker(), newFakeBroker()
	t1, t2 := newStarted(t, b1, nil), newStarted(t, b2, nil)
	if err := t1.PublishBatch(ctx, events); err != nil {
		t.Fatal(err)
	}
	c := transporttest.JSONCodec{}
	enc := make([]transport.EncodedEvent, len(events))
	for i, e := range events {
		p, err := c.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		enc[i] = transport.EncodedEvent{ID: e.ID, TenantID: e.TenantID, CorrelationID: e.CorrelationID, CausationID: e.CausationID,
			EventType: e.EventType, SchemaVersion: e.SchemaVersion, TraceID: e.TraceID, ContentType: c.ContentType(), Payload: p}
	}
	if err := t2.PublishEncoded(ctx, enc); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, topic := range []string{transport.TopicDomain, transport.TopicSystem} {
		info, err := b1.Topic(ctx, "rustok", topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range info.Partitions {
			req := core.PollRequest{Stream: "rustok", Topic: topic, Partition: p.ID, Consumer: core.Consumer{Kind: core.SingleConsumer, Name: "check"}, Strategy: core.First(), Count: 100}
			m1, err1 := b1.Poll(ctx, req)
			m2, err2 := b2.Poll(ctx, req)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if len(m1.Messages) != len(m2.Messages) {
				t.Fatalf("%s/%d: %d vs %d messages", topic, p.ID, len(m1.Messages), len(m2.Messages))
			}
			total += len(m1.Messages)
			for i := range m1.Messages {
				a, b := m1.Messages[i], m2.Messages[i]
				if a.ID != b.ID || string(a.Payload) != string(b.Payload) || !reflect.DeepEqual(a.Headers, b.Headers) {
					t.Errorf("%s/%d #%d differs:\n%+v\n%+v", topic, p.ID, i, a, b)
				}
			}
		}
	}
	if total != len(events) {
		t.Fatalf("%d messages compared, want %d", total, len(events))
	}
	bad := enc[0]
	bad.TenantID = uuid.Nil
	var be *transport.BatchError
	if err := t2.PublishEncoded(ctx, []transport.EncodedEvent{bad, enc[1]}); !errors.As(err, &be) || len(be.Failed) != 1 || !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("PublishEncoded with a bad event = %v", err)
	}
}

package outbox_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// poisonPub publishes through a real transport, except that the event
// poison fails with fail(call) (nil: it is published) on each call, and
// then so do its tenant's later events of the call (as the transport
// fails a tenant's partition send as a whole).
type poisonPub struct {
	core.EventTransport
	ep     outbox.EncodedPublisher
	poison uuid.UUID
	fail   func(call int) error
	mu     sync.Mutex
	calls  int           // publishes that carried the poison
	called chan struct{} // gets a value per such call, when not full
}

func (p *poisonPub) PublishEncoded(ctx context.Context, events []transport.EncodedEvent) error {
	keep := make([]transport.EncodedEvent, 0, len(events))
	idx := make([]int, 0, len(events))
	var berr transport.BatchError
	var blocked uuid.UUID
	var blockErr error
	for i, e := range events {
		if blockErr != nil && e.TenantID == blocked {
			berr.Failed = append(berr.Failed, transport.FailedEvent{Index: i, ID: e.ID, Err: blockErr})
			continue
		}
		if e.ID == p.poison {
			p.mu.Lock()
			p.calls++
			err := p.fail(p.calls)
			p.mu.Unlock()
			select {
			case p.called <- struct{}{}:
			default:
			}
			if err != nil {
				berr.Failed = append(berr.Failed, transport.FailedEvent{Index: i, ID: e.ID, Err: err})
				blocked, blockErr = e.TenantID, err
				continue
			}
		}
		keep = append(keep, e)
		idx = append(idx, i)
	}
	if err := p.ep.PublishEncoded(ctx, keep); err != nil {
		be, ok := errors.AsType[*transport.BatchError](err)
		if !ok {
			return err
		}
		for _, f := range be.Failed {
			berr.Failed = append(berr.Failed, transport.FailedEvent{Index: idx[f.Index], ID: f.ID, Err: f.Err})
		}
	}
	if len(berr.Failed) > 0 {
		return &berr
	}
	return nil
}

// flakyDLQ fails its first fails calls, then forwards; done is closed after
// the first call that stored rows.
type flakyDLQ struct {
	next  outbox.DeadLetterer
	mu    sync.Mutex
	fails int
	calls int
	done  chan struct{}
}

func (f *flakyDLQ) DeadLetter(ctx context.Context, rows []outbox.DeadRow) error {
	f.mu.Lock()
	f.calls++
	failing := f.calls <= f.fails
	f.mu.Unlock()
	if failing {
		return core.ErrUnavailable
	}
	if err := f.next.DeadLetter(ctx, rows); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.done:
	default:
		close(f.done)
	}
	return nil
}

// A row that keeps failing permanently goes to the transport's DLQ after
// MaxAttempts (a failing DLQ leaves it pending until it works), with the
// DLQ headers of the consuming side; its tenant's later events are
// delivered; a redrive publishes it to its topic.
func TestRelayDeadLetters(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		k := newBroker(t, time.Minute)
		a1, poison, a3 := event(tenantA, 1), event(tenantA, 2), event(tenantA, 3)
		b1 := event(tenantB, 1)
		h.write(t, a1, poison)
		h.write(t, b1, a3)
		others := map[uuid.UUID]bool{a1.ID: true, a3.ID: true, b1.ID: true}
		w := newWatch(k.tr, others)
		pp := &poisonPub{EventTransport: w, ep: w, poison: poison.ID, called: make(chan struct{}, 100),
			fail: func(int) error { return errors.New("rejected by the test") }}
		dlq := &flakyDLQ{next: outbox.NewBrokerDLQ(k.b, "rustok"), fails: 1, done: make(chan struct{})}
		r := h.relay(t, pp, outbox.RelayConfig{PollInterval: 10 * time.Millisecond, MaxAttempts: 3, DeadLetter: dlq})
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		w.wait(t)
		select {
		case <-dlq.done:
		case <-time.After(2 * time.Minute):
			t.Fatal("the poisoned row never reached the DLQ")
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		// 3 failed attempts, the DLQ failed; the 4th gave it up again.
		if pp.calls != 4 || dlq.calls != 2 {
			t.Errorf("%d publishes of the poisoned event, %d DLQ calls; want 4 and 2", pp.calls, dlq.calls)
		}
		checkExactlyOnceInOrder(t, k.all(t), others)

		entries, err := k.tr.DLQ().List(ctx, transport.DLQFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("%d DLQ entries, want 1", len(entries))
		}
		e := entries[0]
		if e.HeaderErr != nil {
			t.Errorf("DLQ entry headers: %v", e.HeaderErr)
		}
		wantPart := transport.TenantPartition(tenantA, partitions)
		if e.ID != poison.ID || e.TenantID != tenantA || e.EventType != poison.EventType || e.Reason != outbox.DLQReasonRelay ||
			e.Attempts != 4 || e.SourceTopic != transport.TopicDomain || e.SourcePartition != wantPart ||
			e.Group != outbox.RelayAppName || !strings.Contains(e.Error, "rejected by the test") || e.FirstFailure.After(e.LastFailure) {
			t.Errorf("DLQ entry %+v", e)
		}
		if e.Message.Headers.Value(outbox.HeaderOutboxTable) != h.o.Table() || e.Message.Headers.Value(outbox.HeaderOutboxSeq) == "" {
			t.Errorf("outbox headers: table %q seq %q", e.Message.Headers.Value(outbox.HeaderOutboxTable), e.Message.Headers.Value(outbox.HeaderOutboxSeq))
		}
		if env, err := (codec.JSON{}).Decode(e.Message.Payload); err != nil || env.ID != poison.ID {
			t.Errorf("DLQ payload: %v, id %s", err, env.ID)
		}
		if n := h.count(t, "dead_at IS NOT NULL AND delivered_at IS NOT NULL AND last_error IS NOT NULL"); n != 1 {
			t.Errorf("%d dead-lettered rows, want 1", n)
		}
		st, err := h.o.Stats(ctx, h.db)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != 0 || st.Dead != 0 || st.DeadLettered != 1 {
			t.Errorf("stats %+v, want 0 pending, 0 dead, 1 dead-lettered", st)
		}
		if s := r.Status(); s.Dead != 1 || s.DeadLettered != 1 {
			t.Errorf("status %+v", s)
		}
		res, err := k.tr.DLQ().Redrive(ctx, transport.DLQFilter{})
		if err != nil || len(res.Redriven) != 1 || len(res.Failed) != 0 {
			t.Fatalf("redrive: %+v, %v", res, err)
		}
		others[poison.ID] = true
		n := 0
		for _, s := range k.all(t) {
			if s.id == poison.ID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the redriven event is %d times in its topic, want 1", n)
		}
	})
}

// A broker that is unavailable is waited for: transient failures are never
// counted as attempts, whatever their number.
func TestRelayTransientNeverDeadLetters(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		k := newBroker(t, time.Minute)
		ids := writeMany(t, h, 0, 2, 3)
		var poison uuid.UUID
		for id := range ids {
			poison = id
			break
		}
		w := newWatch(k.tr, ids)
		pp := &poisonPub{EventTransport: w, ep: w, poison: poison, called: make(chan struct{}),
			fail: func(call int) error {
				if call <= 10 {
					return core.ErrUnavailable
				}
				return nil
			}}
		dlq := &flakyDLQ{next: outbox.NewBrokerDLQ(k.b, "rustok"), done: make(chan struct{})}
		r := h.relay(t, pp, outbox.RelayConfig{PollInterval: 10 * time.Millisecond, MaxAttempts: 2, DeadLetter: dlq})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.wait(t)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		checkExactlyOnceInOrder(t, k.all(t), ids)
		if dlq.calls != 0 || pp.calls != 11 {
			t.Errorf("%d DLQ calls, %d publishes of the event; want 0 and 11", dlq.calls, pp.calls)
		}
	})
}

// Without a DeadLetterer the row is only marked dead, and stays.
func TestRelayDeadMarkOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		k := newBroker(t, time.Minute)
		a1, poison := event(tenantA, 1), event(tenantA, 2)
		h.write(t, a1, poison)
		w := newWatch(k.tr, map[uuid.UUID]bool{a1.ID: true})
		pp := &poisonPub{EventTransport: w, ep: w, poison: poison.ID, called: make(chan struct{}, 10),
			fail: func(int) error { return errors.New("rejected") }}
		r := h.relay(t, pp, outbox.RelayConfig{PollInterval: 10 * time.Millisecond, MaxAttempts: 2})
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		w.wait(t)
		<-pp.called
		<-pp.called // the second attempt is in flight or done: Close lets it finish
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		st, err := h.o.Stats(ctx, h.db)
		if err != nil {
			t.Fatal(err)
		}
		if st.Dead != 1 || st.DeadLettered != 0 || st.Pending != 0 {
			t.Errorf("stats %+v, want 1 dead, 0 dead-lettered, 0 pending", st)
		}
		if n := h.count(t, "dead_at IS NOT NULL AND delivered_at IS NULL"); n != 1 {
			t.Errorf("%d rows dead and undelivered, want 1", n)
		}
		if es, err := k.tr.DLQ().List(ctx, transport.DLQFilter{}); err != nil || len(es) != 0 {
			t.Errorf("DLQ: %d entries, %v; want none", len(es), err)
		}
	})
}

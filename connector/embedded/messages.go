package embedded

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// maxPooledBatch is the largest batch buffer kept for reuse; bigger ones
// (a batch of large payloads) go to the garbage collector, so the pool's
// memory stays bounded.
const maxPooledBatch = 4 << 20

// batchPool holds batch buffers of Send: a batch is encoded into one, the
// broker stamps it in place and appends it, and it comes back here.
var batchPool = sync.Pool{New: func() any { return new([]byte) }}

// Send implements core.Broker. The messages are encoded once, in the Iggy
// message layout, into one pooled buffer that the broker appends without
// copying; msgs is not retained. When Send returns nil the batch is written
// to the partition's segment file (it survives a crash of the process; the
// fsync policy decides about a power loss). An empty batch, a payload over
// 64 MB, headers over 100 kB or a bad partition key give core.ErrInvalid;
// a missing stream, topic or partition core.ErrNotFound. Unlike Iggy's Go
// SDK, an empty payload is accepted.
func (b *Broker) Send(ctx context.Context, stream, topic string, p core.Partitioning, msgs []core.Message) error {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: send %d messages to %q/%q: %w", len(msgs), stream, topic, err)
	}
	if err := b.enter(ctx); err != nil {
		return wrap(err)
	}
	part, err := partitioning(p)
	if err != nil {
		return wrap(err)
	}
	bufp := batchPool.Get().(*[]byte)
	buf, err := encodeBatch((*bufp)[:0], msgs, time.Now())
	if err == nil {
		_, err = b.b.Send(b.sys, iggyproto.NamedID(stream), iggyproto.NamedID(topic), part, buf)
		err = b.fail(err)
	}
	if cap(buf) <= maxPooledBatch {
		*bufp = buf[:0]
		batchPool.Put(bufp)
	}
	if err != nil {
		return wrap(err)
	}
	return nil
}

// encodeBatch appends msgs in the Iggy layout to dst, growing it once to
// the batch's size. A zero origin timestamp becomes now.
func encodeBatch(dst []byte, msgs []core.Message, now time.Time) ([]byte, error) {
	dst = slices.Grow(dst, iggyproto.MessagesSize(msgs))
	var err error
	for i := range msgs {
		m := msgs[i]
		if m.OriginTimestamp.IsZero() {
			m.OriginTimestamp = now
		}
		if dst, err = iggyproto.AppendCoreMessage(dst, m); err != nil {
			return dst, fmt.Errorf("message %d: %w", i, err)
		}
	}
	return dst, nil
}

// Poll implements core.Broker for a single consumer (a zero Consumer.Kind
// is one; groups poll through JoinGroup's member, core.ErrInvalid here).
// Without req.MaxWait it never waits; with it, and nothing to read, it
// waits (holding no lock) for an append to the topic, for MaxWait to pass,
// for ctx to end or for Close (core.ErrClosed); see
// core.PollRequest.MaxWait. The messages' payloads share one buffer that
// the broker read for this call; they do not alias broker memory.
func (b *Broker) Poll(ctx context.Context, req core.PollRequest) (core.Polled, error) {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: poll %q/%q partition %d: %w", req.Stream, req.Topic, req.Partition, err)
	}
	if err := b.enter(ctx); err != nil {
		return core.Polled{}, wrap(err)
	}
	if req.Consumer.Kind == core.GroupConsumer {
		return core.Polled{}, wrap(fmt.Errorf("%w: groups poll through JoinGroup's member", core.ErrInvalid))
	}
	cons, err := consumer(req.Consumer)
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	st, err := strategy(req.Strategy)
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	partition := req.Partition
	sid, tid := iggyproto.NamedID(req.Stream), iggyproto.NamedID(req.Topic)
	br := broker.PollRequest{
		Consumer:    cons,
		Stream:      sid,
		Topic:       tid,
		PartitionID: &partition,
		Strategy:    st,
		Count:       req.Count,
		AutoCommit:  req.AutoCommit,
	}
	poll := func() (core.Polled, error) {
		res, err := b.b.Poll(b.sys, br)
		if err != nil {
			return core.Polled{}, b.fail(err)
		}
		return polled(res)
	}
	var out core.Polled
	if req.MaxWait > 0 {
		out, err = b.waitPoll(ctx, b.sys, &br, req.MaxWait, b.done, b.fail, poll)
	} else {
		out, err = poll()
	}
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	return out, nil
}

// LongPoll implements core.LongPoller: the embedded broker's polls, and
// its members' polls, honour MaxWait.
func (b *Broker) LongPoll() bool { return true }

// waitPoll is a long poll of req: it runs poll (once per partition of the
// member when req names no partition, so each is read) and, while that finds
// nothing, waits for an append to the topic and polls again, until maxWait
// has passed (then it returns the last empty result), ctx ends (ctx's
// error) or stop is closed (core.ErrClosed). The append channel is taken
// before polling, so an append between the poll and the wait is not
// missed. No lock is held while it waits.
func (b *Broker) waitPoll(ctx context.Context, s *broker.Session, req *broker.PollRequest, maxWait time.Duration, stop <-chan struct{}, fail func(error) error, poll func() (core.Polled, error)) (core.Polled, error) {
	start := time.Now()
	var timer *time.Timer
	for {
		appended, rounds, err := b.b.AppendSignal(s, req.Stream, req.Topic, req.Consumer)
		if err != nil {
			return core.Polled{}, fail(err)
		}
		if req.PartitionID != nil {
			rounds = 1
		}
		var out core.Polled
		for range rounds {
			if out, err = poll(); err != nil || len(out.Messages) > 0 {
				return out, err
			}
		}
		if timer == nil {
			left := maxWait - time.Since(start)
			if left <= 0 {
				return out, nil
			}
			timer = time.NewTimer(left)
			defer timer.Stop()
		}
		select {
		case <-appended:
		case <-timer.C:
			return out, nil
		case <-ctx.Done():
			return core.Polled{}, ctx.Err()
		case <-stop:
			return core.Polled{}, core.ErrClosed
		}
	}
}

// polled decodes a broker poll result; payloads alias res.Messages, which
// the broker allocated for this call.
func polled(res broker.PollResult) (core.Polled, error) {
	out := core.Polled{Partition: res.PartitionID, CurrentOffset: res.CurrentOffset}
	if res.Count == 0 {
		return out, nil
	}
	ms, err := iggyproto.DecodeCoreMessages(res.Messages, int(res.Count))
	if err != nil {
		return core.Polled{}, fmt.Errorf("decode polled messages: %w", err)
	}
	if len(ms) != int(res.Count) {
		return core.Polled{}, fmt.Errorf("decode polled messages: %d messages where the broker reported %d", len(ms), res.Count)
	}
	out.Messages = ms
	return out, nil
}

// StoreOffset implements core.Broker. A group's offset can only be stored
// by a member (core.ErrNotMember here; use the member's StoreOffset). An
// empty partition or an offset beyond its last message gives
// core.ErrInvalid.
func (b *Broker) StoreOffset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32, offset uint64) error {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: store offset %d of %q on %q/%q partition %d: %w", offset, c.Name, stream, topic, partition, err)
	}
	if err := b.enter(ctx); err != nil {
		return wrap(err)
	}
	cons, err := consumer(c)
	if err != nil {
		return wrap(err)
	}
	if err := b.b.StoreOffset(b.sys, cons, iggyproto.NamedID(stream), iggyproto.NamedID(topic), &partition, offset); err != nil {
		return wrap(b.fail(err))
	}
	return nil
}

// Offset implements core.Broker. "Nothing stored" and "no such stream,
// topic, partition or group" are both core.ErrNotFound, as Iggy answers
// them alike.
func (b *Broker) Offset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32) (core.OffsetInfo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: get offset of %q on %q/%q partition %d: %w", c.Name, stream, topic, partition, err)
	}
	if err := b.enter(ctx); err != nil {
		return core.OffsetInfo{}, wrap(err)
	}
	cons, err := consumer(c)
	if err != nil {
		return core.OffsetInfo{}, wrap(err)
	}
	info, ok, err := b.b.GetOffset(b.sys, cons, iggyproto.NamedID(stream), iggyproto.NamedID(topic), &partition)
	if err != nil {
		return core.OffsetInfo{}, wrap(b.fail(err))
	}
	if !ok {
		return core.OffsetInfo{}, wrap(fmt.Errorf("%w: no offset stored", core.ErrNotFound))
	}
	return core.OffsetInfo{Partition: info.PartitionID, CurrentOffset: info.CurrentOffset, StoredOffset: info.StoredOffset}, nil
}

package coretest

import (
	"context"
	"crypto/rand"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/OneOfOne/xxhash"
	"github.com/rustok/rustok-iggy/core"
)

// choose picks the partition of a send; st.mu is held.
func (t *topic) choose(p core.Partitioning) (uint32, error) {
	n := uint32(len(t.parts))
	if n == 0 {
		// Iggy 0.8.0 answers a send to a topic without partitions with
		// topic_id_not_found.
		return 0, fmt.Errorf("coretest: topic %q has no partitions: %w", t.info.Name, core.ErrNotFound)
	}
	switch p.Kind {
	case core.PartitionBalanced:
		id := t.rr % n
		t.rr++
		return id, nil
	case core.PartitionByID:
		if p.Partition >= n {
			return 0, fmt.Errorf("coretest: partition %d of %q: %w", p.Partition, t.info.Name, core.ErrNotFound)
		}
		return p.Partition, nil
	case core.PartitionByKey:
		if len(p.Key) == 0 || len(p.Key) > 255 {
			return 0, fmt.Errorf("coretest: messages key of %d bytes (1 to 255): %w", len(p.Key), core.ErrInvalid)
		}
		return xxhash.Checksum32(p.Key) % n, nil
	}
	return 0, fmt.Errorf("coretest: partitioning kind %d: %w", p.Kind, core.ErrInvalid)
}

// Send implements core.Broker. The Send hook runs between choosing the
// partition and storing.
func (b *Broker) Send(ctx context.Context, streamName, topicName string, p core.Partitioning, msgs []core.Message) error {
	if err := b.lock(ctx); err != nil {
		return err
	}
	t, err := b.st.topic(streamName, topicName)
	if err == nil && len(msgs) == 0 {
		err = fmt.Errorf("coretest: empty batch: %w", core.ErrInvalid)
	}
	var pid uint32
	if err == nil {
		pid, err = t.choose(p)
	}
	b.st.mu.Unlock()
	if err != nil {
		return err
	}
	if h := b.hooks().Send; h != nil {
		if err := h(ctx, SendCall{Stream: streamName, Topic: topicName, Partition: pid, Messages: msgs}); err != nil {
			return err
		}
	}
	cp := copyMessages(msgs)

	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.st.mu.Unlock()
	if t.deleted {
		return fmt.Errorf("coretest: topic %q/%q: %w", streamName, topicName, core.ErrNotFound)
	}
	part := t.parts[pid]
	now := time.Now().Truncate(time.Microsecond)
	if !now.After(part.lastTS) {
		now = part.lastTS.Add(time.Microsecond) // strictly later than the last batch
	}
	part.lastTS = now
	for i := range cp {
		m := &cp[i]
		m.Offset = uint64(len(part.msgs))
		m.Timestamp = now
		if m.OriginTimestamp.IsZero() {
			m.OriginTimestamp = now
		} else {
			m.OriginTimestamp = m.OriginTimestamp.Truncate(time.Microsecond)
		}
		if m.ID == ([16]byte{}) {
			_, _ = rand.Read(m.ID[:])
		}
		h := fnv.New64a()
		_, _ = h.Write(m.Payload)
		m.Checksum = h.Sum64() | 1
		part.size += uint64(64 + len(m.Payload))
		part.msgs = append(part.msgs, *m)
	}
	close(b.st.appended)
	b.st.appended = make(chan struct{})
	return nil
}

// copyMessages copies msgs, their payloads and header values into one
// arena: Send does not retain the caller's memory.
func copyMessages(msgs []core.Message) []core.Message {
	size, nh := 0, 0
	for i := range msgs {
		size += len(msgs[i].Payload)
		nh += len(msgs[i].Headers)
		for _, h := range msgs[i].Headers {
			size += len(h.Value)
		}
	}
	arena := make([]byte, 0, size)
	hs := make(core.Headers, 0, nh)
	cp := make([]core.Message, len(msgs))
	for i := range msgs {
		m := msgs[i]
		start := len(arena)
		arena = append(arena, m.Payload...)
		m.Payload = arena[start:len(arena):len(arena)]
		if len(m.Headers) == 0 {
			m.Headers = nil
		} else {
			hstart := len(hs)
			for _, h := range m.Headers {
				vs := len(arena)
				arena = append(arena, h.Value...)
				hs = append(hs, core.Header{Key: h.Key, Kind: h.Kind, Value: arena[vs:len(arena):len(arena)]})
			}
			m.Headers = hs[hstart:len(hs):len(hs)]
		}
		cp[i] = m
	}
	return cp
}

// read returns up to count messages of p from strategy s; stored is the
// consumer's stored offset, if any. st.mu is held.
func (p *partition) read(s core.PollStrategy, count uint32, stored *uint64) []core.Message {
	n := uint64(len(p.msgs))
	if n == 0 || count == 0 {
		return nil
	}
	var start uint64
	switch s.Kind {
	case core.PollOffset:
		start = s.Value
	case core.PollTimestamp:
		start = n
		for i, m := range p.msgs {
			if uint64(m.Timestamp.UnixMicro()) >= s.Value {
				start = uint64(i)
				break
			}
		}
	case core.PollFirst:
	case core.PollLast:
		start = n - min(uint64(count), n)
	case core.PollNext:
		if stored != nil {
			start = *stored + 1
		}
	default:
		return nil
	}
	if start >= n {
		return nil
	}
	end := min(n, start+uint64(count))
	out := make([]core.Message, end-start)
	copy(out, p.msgs[start:end])
	return out
}

// waitAppend waits, when the broker long-polls and maxWait is positive,
// for the next append (true), for the deadline (false) or for ctx (its
// error). wake was taken under st.mu by the poll that found nothing; the
// timer is made on the first wait and kept across the poll's later waits.
func (b *Broker) waitAppend(ctx context.Context, wake <-chan struct{}, maxWait time.Duration, timer **time.Timer) (bool, error) {
	if !b.st.opts.LongPoll || maxWait <= 0 {
		return false, nil
	}
	if *timer == nil {
		*timer = time.NewTimer(maxWait)
	}
	select {
	case <-wake:
		return true, nil
	case <-(*timer).C:
		return false, nil
	case <-ctx.Done():
		return false, fmt.Errorf("coretest: poll waiting for messages: %w", ctx.Err())
	}
}

// Poll implements core.Broker. With Options.LongPoll a positive MaxWait
// waits for an append to the partition's topic, then polls again.
func (b *Broker) Poll(ctx context.Context, req core.PollRequest) (core.Polled, error) {
	if h := b.hooks().Poll; h != nil {
		pid := req.Partition
		if err := h(ctx, PollCall{Stream: req.Stream, Topic: req.Topic, Partition: &pid, MaxWait: req.MaxWait}); err != nil {
			return core.Polled{}, err
		}
	}
	return b.pollLoop(ctx, req.MaxWait, func() (core.Polled, <-chan struct{}, error) { return b.pollOnce(ctx, req) })
}

// pollLoop runs once until it returns messages or an error. When it
// returns none and the broker long-polls with a positive maxWait, it waits
// for the next append (taken by once, under the lock, as wake) and runs
// once again, until maxWait has passed or ctx ends.
func (b *Broker) pollLoop(ctx context.Context, maxWait time.Duration, once func() (core.Polled, <-chan struct{}, error)) (core.Polled, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		out, wake, err := once()
		if err != nil || len(out.Messages) > 0 {
			return out, err
		}
		again, err := b.waitAppend(ctx, wake, maxWait, &timer)
		if err != nil {
			return core.Polled{}, err
		}
		if !again {
			return out, nil
		}
	}
}

func (b *Broker) pollOnce(ctx context.Context, req core.PollRequest) (core.Polled, <-chan struct{}, error) {
	if err := b.lock(ctx); err != nil {
		return core.Polled{}, nil, err
	}
	defer b.st.mu.Unlock()
	if req.Consumer.Kind == core.GroupConsumer {
		return core.Polled{}, nil, fmt.Errorf("coretest: a group polls through a member: %w", core.ErrInvalid)
	}
	_, p, err := b.st.partition(req.Stream, req.Topic, req.Partition)
	if err != nil {
		return core.Polled{}, nil, err
	}
	var stored *uint64
	if o, ok := p.offsets[req.Consumer.Name]; ok {
		stored = &o
	}
	msgs := p.read(req.Strategy, req.Count, stored)
	if req.AutoCommit && len(msgs) > 0 {
		p.offsets[req.Consumer.Name] = msgs[len(msgs)-1].Offset
	}
	return core.Polled{Partition: p.id, CurrentOffset: p.current(), Messages: msgs}, b.st.appended, nil
}

// StoreOffset implements core.Broker. A group's offset is stored through a
// member: Kind GroupConsumer gives core.ErrNotMember.
func (b *Broker) StoreOffset(ctx context.Context, c core.Consumer, streamName, topicName string, partitionID uint32, offset uint64) error {
	if err := b.lock(ctx); err != nil {
		return err
	}
	defer b.st.mu.Unlock()
	_, p, err := b.st.partition(streamName, topicName, partitionID)
	if err != nil {
		return err
	}
	if c.Kind == core.GroupConsumer {
		return fmt.Errorf("coretest: group offsets are stored through a member: %w", core.ErrNotMember)
	}
	if len(p.msgs) == 0 || offset > p.current() {
		return fmt.Errorf("coretest: offset %d beyond partition %d's end: %w", offset, partitionID, core.ErrInvalid)
	}
	p.offsets[c.Name] = offset
	return nil
}

// Offset implements core.Broker.
func (b *Broker) Offset(ctx context.Context, c core.Consumer, streamName, topicName string, partitionID uint32) (core.OffsetInfo, error) {
	if err := b.lock(ctx); err != nil {
		return core.OffsetInfo{}, err
	}
	defer b.st.mu.Unlock()
	t, p, err := b.st.partition(streamName, topicName, partitionID)
	if err != nil {
		return core.OffsetInfo{}, err
	}
	var o uint64
	var ok bool
	if c.Kind == core.GroupConsumer {
		g, found := t.groups[c.Name]
		if !found {
			return core.OffsetInfo{}, fmt.Errorf("coretest: group %q: %w", c.Name, core.ErrNotFound)
		}
		o, ok = g.offsets[partitionID]
	} else {
		o, ok = p.offsets[c.Name]
	}
	if !ok {
		return core.OffsetInfo{}, fmt.Errorf("coretest: no offset of %q on partition %d: %w", c.Name, partitionID, core.ErrNotFound)
	}
	return core.OffsetInfo{Partition: partitionID, CurrentOffset: p.current(), StoredOffset: o}, nil
}

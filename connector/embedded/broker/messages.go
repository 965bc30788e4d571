package broker

import (
	"errors"

	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// PartitioningKind says how Send picks a partition (wire values).
type PartitioningKind uint8

// Partitioning kinds.
const (
	PartitionBalanced PartitioningKind = 1
	PartitionByID     PartitioningKind = 2
	PartitionByKey    PartitioningKind = 3
)

// Partitioning chooses the partition of a Send.
type Partitioning struct {
	Kind PartitioningKind
	// PartitionID is the 0-based partition for PartitionByID.
	PartitionID uint32
	// Key is hashed (XXH32, seed 0) modulo the partition count for
	// PartitionByKey.
	Key []byte
}

// SendResult reports where a batch went.
type SendResult struct {
	PartitionID uint32
	FirstOffset uint64
	Count       int
	// Timestamp is the batch's server timestamp, µs.
	Timestamp uint64
}

// maxPollBytes bounds the bytes one poll reads (at least one message is
// always returned), so a huge count cannot exhaust memory. Iggy 0.8.0 has
// no such bound.
const maxPollBytes = 64 << 20

// Send appends messages (N >= 1 messages in the Iggy layout, back to
// back, already validated by the caller, e.g. the protocol decoder) to the
// partition chosen by p: balanced = per-topic round robin from 0, by id,
// or XXH32(key) mod partitions. The slice is handed to the log store
// without a copy; it is stamped in place and owned by Send until it
// returns. Codes: 40, 4009 empty, 1009, 2010, 41 without send permission,
// 2010 balanced or keyed send to a topic with no partitions, 3007 unknown
// partition id, 3 unknown partitioning kind, 4036 a malformed batch.
func (b *Broker) Send(s *Session, streamID, topicID iggyproto.Identifier, p Partitioning, messages []byte) (SendResult, error) {
	b.mu.RLock()
	a, err := b.authed(s)
	if err != nil {
		b.mu.RUnlock()
		return SendResult{}, err
	}
	if len(messages) == 0 {
		b.mu.RUnlock()
		return SendResult{}, errf(iggyproto.CodeInvalidMessagesCount, "no messages")
	}
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		b.mu.RUnlock()
		return SendResult{}, err
	}
	if !a.send(t.stream.id, t.id) {
		b.mu.RUnlock()
		return SendResult{}, errUnauthorized("send messages")
	}
	n := uint64(len(t.partitions))
	var pid uint64
	switch p.Kind {
	case PartitionBalanced:
		if n == 0 {
			b.mu.RUnlock()
			return SendResult{}, errf(iggyproto.CodeTopicIDNotFound, "topic %d has no partitions", t.id)
		}
		pid = (t.balanced.Add(1) - 1) % n
	case PartitionByID:
		pid = uint64(p.PartitionID)
		if pid >= n {
			b.mu.RUnlock()
			return SendResult{}, errf(iggyproto.CodePartitionNotFound, "partition %d not found in topic %d", pid, t.id)
		}
	case PartitionByKey:
		if n == 0 {
			b.mu.RUnlock()
			return SendResult{}, errf(iggyproto.CodeTopicIDNotFound, "topic %d has no partitions", t.id)
		}
		pid = uint64(XXH32(p.Key)) % n
	default:
		b.mu.RUnlock()
		return SendResult{}, errf(iggyproto.CodeInvalidCommand, "partitioning kind %d", p.Kind)
	}
	part := t.partitions[pid]
	part.io.RLock()
	b.mu.RUnlock()
	defer part.io.RUnlock()
	if part.closed {
		return SendResult{}, errf(iggyproto.CodePartitionNotFound, "partition %d is gone", pid)
	}
	res, err := part.log.Append(messages)
	if err != nil {
		switch {
		case errors.Is(err, core.ErrInvalid):
			return SendResult{}, errf(iggyproto.CodeInvalidMessagesSize, "append: %v", err)
		case errors.Is(err, core.ErrClosed):
			return SendResult{}, errf(iggyproto.CodePartitionNotFound, "partition %d is gone", pid)
		}
		b.storageFault.Store(&storageFault{err: err, at: b.cfg.Now()})
		b.log.Error("append failed", "stream", t.stream.id, "topic", t.id, "partition", pid, "err", err)
		return SendResult{}, errf(iggyproto.CodeError, "append: %v", err)
	}
	if b.storageFault.Load() != nil {
		b.storageFault.Store(nil)
	}
	b.writtenBytes.Add(uint64(len(messages)))
	t.appended.notify()
	return SendResult{PartitionID: uint32(pid), FirstOffset: res.FirstOffset, Count: res.Count, Timestamp: res.Timestamp}, nil
}

// ConsumerKind tells a single consumer from a consumer group (wire
// values).
type ConsumerKind uint8

// Consumer kinds.
const (
	SingleConsumer ConsumerKind = 1
	GroupConsumer  ConsumerKind = 2
)

// Consumer names whose offsets an operation uses.
type Consumer struct {
	Kind ConsumerKind
	// ID is a single consumer's id; a consumer named by a string on the
	// wire has ID ConsumerIDFromName(name).
	ID uint32
	// Group names the consumer group of the topic when Kind is
	// GroupConsumer.
	Group iggyproto.Identifier
}

// PollKind is a polling strategy (wire values).
type PollKind uint8

// Polling strategies.
const (
	PollOffset    PollKind = 1
	PollTimestamp PollKind = 2
	PollFirst     PollKind = 3
	PollLast      PollKind = 4
	PollNext      PollKind = 5
)

// PollStrategy says where a poll starts; Value is an offset (PollOffset)
// or a server timestamp in µs (PollTimestamp).
type PollStrategy struct {
	Kind  PollKind
	Value uint64
}

// PollRequest is a PollMessages request.
type PollRequest struct {
	Consumer      Consumer
	Stream, Topic iggyproto.Identifier
	// PartitionID nil: partition 0 for a single consumer, the member's
	// next partition (round robin) for a group.
	PartitionID *uint32
	Strategy    PollStrategy
	Count       uint32
	AutoCommit  bool
}

// PollResult is a PollMessages answer. The zero value is the "16 zero
// bytes" answer of a group member with nothing to read.
type PollResult struct {
	PartitionID uint32
	// CurrentOffset is the partition's last offset (0 when empty).
	CurrentOffset uint64
	Count         uint32
	// Messages holds Count messages exactly as stored, back to back; a
	// fresh buffer owned by the caller.
	Messages []byte
}

// Poll reads messages per the fact sheet (6.7-6.10). It never waits (see
// AppendSignal for waiting).
// Codes: 40, 1009, 2010, 41 without poll permission, 3 unknown strategy,
// 3007 unknown partition (single consumer), 5000 unknown group, 5006 not a
// member. A group member polling a partition it does not own (existing or
// not), or owning none, gets the zero PollResult and nil error. With AutoCommit the offset of the
// last returned message is stored before Poll returns.
func (b *Broker) Poll(s *Session, req PollRequest) (PollResult, error) {
	b.mu.RLock()
	a, err := b.authed(s)
	if err != nil {
		b.mu.RUnlock()
		return PollResult{}, err
	}
	t, err := b.topicOf(req.Stream, req.Topic)
	if err != nil {
		b.mu.RUnlock()
		return PollResult{}, err
	}
	if !a.poll(t.stream.id, t.id) {
		b.mu.RUnlock()
		return PollResult{}, errUnauthorized("poll messages")
	}
	switch req.Strategy.Kind {
	case PollOffset, PollTimestamp, PollFirst, PollLast, PollNext:
	default:
		b.mu.RUnlock()
		return PollResult{}, errf(iggyproto.CodeInvalidCommand, "polling strategy %d", req.Strategy.Kind)
	}
	part, key, empty, err := b.pollTarget(s, t, req.Consumer, req.PartitionID)
	if err != nil || empty {
		b.mu.RUnlock()
		return PollResult{}, err
	}
	part.io.RLock()
	b.mu.RUnlock()
	defer part.io.RUnlock()
	if part.closed {
		return PollResult{}, errf(iggyproto.CodePartitionNotFound, "partition %d is gone", part.id)
	}
	res, err := b.pollPartition(part, key, req)
	if err != nil {
		return PollResult{}, err
	}
	b.readBytes.Add(uint64(len(res.Messages)))
	return res, nil
}

// pollTarget resolves the partition and offset key of a poll (caller holds
// mu for reading). empty reports the "nothing to read" group answer.
func (b *Broker) pollTarget(s *Session, t *topic, c Consumer, pid *uint32) (*partition, offKey, bool, error) {
	switch c.Kind {
	case SingleConsumer:
		id := uint32(0)
		if pid != nil {
			id = *pid
		}
		if int64(id) >= int64(len(t.partitions)) {
			return nil, offKey{}, false, errf(iggyproto.CodePartitionNotFound, "partition %d not found in topic %d", id, t.id)
		}
		return t.partitions[id], offKey{kind: uint8(SingleConsumer), id: c.ID}, false, nil
	case GroupConsumer:
		g := findGroup(t, c.Group)
		if g == nil {
			return nil, offKey{}, false, errf(iggyproto.CodeGroupIDNotFound, "consumer group %s not found", c.Group)
		}
		m := g.memberOf(s)
		if m == nil {
			return nil, offKey{}, false, errf(iggyproto.CodeGroupMemberNotFound, "client %d is not a member of group %d", s.id, g.id)
		}
		key := offKey{kind: uint8(GroupConsumer), id: g.id}
		if pid != nil {
			// Owned partitions exist; anything else is the empty answer.
			if !m.owns(*pid) {
				return nil, offKey{}, true, nil
			}
			return t.partitions[*pid], key, false, nil
		}
		g.cursor.Lock()
		defer g.cursor.Unlock()
		if len(m.partitions) == 0 {
			return nil, offKey{}, true, nil
		}
		id := m.partitions[m.next%len(m.partitions)]
		m.next = (m.next + 1) % len(m.partitions)
		return t.partitions[id], key, false, nil
	}
	return nil, offKey{}, false, errf(iggyproto.CodeInvalidCommand, "consumer kind %d", c.Kind)
}

func (m *member) owns(pid uint32) bool {
	for _, p := range m.partitions {
		if p == pid {
			return true
		}
	}
	return false
}

// pollPartition reads per the strategy (caller holds part.io shared).
func (b *Broker) pollPartition(part *partition, key offKey, req PollRequest) (PollResult, error) {
	res := PollResult{PartitionID: part.id}
	st := part.log.Stats()
	if st.NextOffset == 0 || st.NextOffset <= st.FirstOffset {
		if st.NextOffset > 0 {
			res.CurrentOffset = st.NextOffset - 1
		}
		return res, nil
	}
	current := st.NextOffset - 1
	res.CurrentOffset = current
	if req.Count == 0 {
		return res, nil
	}
	count := int(req.Count)
	var start uint64
	switch req.Strategy.Kind {
	case PollOffset:
		start = req.Strategy.Value
	case PollFirst:
		start = st.FirstOffset
	case PollLast:
		n := min(uint64(req.Count), current+1)
		start = current + 1 - n
	case PollNext:
		start = st.FirstOffset
		if stored, ok := part.offsets.get(key); ok {
			start = stored + 1
		}
	}
	if req.Strategy.Kind != PollTimestamp && start > current {
		return res, nil
	}
	var chunk logstore.Chunk
	var err error
	if req.Strategy.Kind == PollTimestamp {
		chunk, err = part.log.ReadFromTimestamp(req.Strategy.Value, count, maxPollBytes)
	} else {
		chunk, err = part.log.Read(start, count, maxPollBytes)
	}
	if err != nil {
		if errors.Is(err, core.ErrClosed) {
			return PollResult{}, errf(iggyproto.CodePartitionNotFound, "partition %d is gone", part.id)
		}
		return PollResult{}, errf(iggyproto.CodeError, "read partition %d: %v", part.id, err)
	}
	if chunk.Count == 0 {
		return res, nil
	}
	if req.AutoCommit {
		if err := part.offsets.store(key, chunk.FirstOffset+uint64(chunk.Count)-1); err != nil {
			return PollResult{}, errf(iggyproto.CodeError, "auto-commit: %v", err)
		}
	}
	res.Count = uint32(chunk.Count)
	res.Messages = chunk.Data
	return res, nil
}

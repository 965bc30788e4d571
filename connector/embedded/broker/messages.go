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
	// Buf, when it has capacity, is the buffer the messages are read into
	// (from Buf[:0]): PollResult.Messages then aliases it, grown if it was
	// too small, and the caller may reuse it once done with the result.
	// nil: a fresh buffer.
	Buf []byte
}

// PollResult is a PollMessages answer. The zero value is the "16 zero
// bytes" answer of a group member with nothing to read.
type PollResult struct {
	PartitionID uint32
	// CurrentOffset is the partition's last offset (0 when empty).
	CurrentOffset uint64
	Count         uint32
	// Messages holds Count messages exactly as stored, back to back; owned
	// by the caller (PollRequest.Buf, or a fresh buffer).
	Messages []byte
}

// Poll reads messages per the fact sheet (6.7-6.10). It never waits (see
// AppendSignal for waiting).
// Codes: 40, 1009, 2010, 41 without poll permission, 3 unknown strategy,
// 3007 unknown partition (single consumer), 5000 unknown group, 5006 not a
// member. A group member polling a partition it does not own (existing or
// not), or with nothing to read round-robin (no partition, or only ones
// pending revocation to another member), gets the zero PollResult and nil
// error. With AutoCommit the offset of the last returned message is stored
// before Poll returns. A group poll that returns messages records the
// group's last polled offset on the partition, which a pending hand-over
// of the partition waits to see committed (groups.go).
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
	part, key, m, empty, err := b.pollTarget(s, t, req.Consumer, req.PartitionID)
	if err != nil || empty {
		b.mu.RUnlock()
		return PollResult{}, err
	}
	part.io.RLock()
	b.mu.RUnlock()
	res, last, err := b.readPolled(part, key, req)
	if err != nil {
		return PollResult{}, err
	}
	b.readBytes.Add(uint64(len(res.Messages)))
	if m != nil && res.Count > 0 {
		// As Iggy: the auto-commit may complete a pending revocation (judged
		// on the previous poll's marker), then the marker moves.
		if req.AutoCommit {
			b.afterGroupStore(m, part.id)
		}
		t.recordPolled(key.id, part.id, last)
	}
	return res, nil
}

// readPolled runs pollPartition under the partition's io lock, which the
// caller took shared; it releases it.
func (b *Broker) readPolled(part *partition, key offKey, req PollRequest) (PollResult, uint64, error) {
	defer part.io.RUnlock()
	if part.closed {
		return PollResult{}, 0, errf(iggyproto.CodePartitionNotFound, "partition %d is gone", part.id)
	}
	return b.pollPartition(part, key, req)
}

// afterGroupStore completes m's pending revocation of partition p if the
// group's offset now covers its last poll there (Iggy's check after an
// offset store or auto-commit). m may have left meanwhile.
func (b *Broker) afterGroupStore(m *member, p uint32) {
	b.mu.RLock()
	pending := m.revoking(p)
	b.mu.RUnlock()
	if !pending { // the common case takes no write lock
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	g := m.group
	if g == nil || !g.has(m) || findGroup(g.topic, iggyproto.NumericID(g.id)) != g {
		return
	}
	g.maybeComplete(m, p)
}

// pollTarget resolves the partition and offset key of a poll (caller holds
// mu for reading), and for a group the polling member. empty reports the
// "nothing to read" group answer: an explicit partition the member does
// not own, or no partition to read round-robin (those pending revocation
// are skipped, as Iggy skips them).
func (b *Broker) pollTarget(s *Session, t *topic, c Consumer, pid *uint32) (*partition, offKey, *member, bool, error) {
	switch c.Kind {
	case SingleConsumer:
		id := uint32(0)
		if pid != nil {
			id = *pid
		}
		if int64(id) >= int64(len(t.partitions)) {
			return nil, offKey{}, nil, false, errf(iggyproto.CodePartitionNotFound, "partition %d not found in topic %d", id, t.id)
		}
		return t.partitions[id], offKey{kind: uint8(SingleConsumer), id: c.ID}, nil, false, nil
	case GroupConsumer:
		g := findGroup(t, c.Group)
		if g == nil {
			return nil, offKey{}, nil, false, errf(iggyproto.CodeGroupIDNotFound, "consumer group %s not found", c.Group)
		}
		m := g.memberOf(s)
		if m == nil {
			return nil, offKey{}, nil, false, errf(iggyproto.CodeGroupMemberNotFound, "client %d is not a member of group %d", s.id, g.id)
		}
		key := offKey{kind: uint8(GroupConsumer), id: g.id}
		if pid != nil {
			// Owned partitions (pending ones included) exist; anything
			// else is the empty answer.
			if !m.owns(*pid) {
				return nil, offKey{}, nil, true, nil
			}
			return t.partitions[*pid], key, m, false, nil
		}
		g.cursor.Lock()
		defer g.cursor.Unlock()
		ps := m.effective()
		if len(ps) == 0 {
			return nil, offKey{}, nil, true, nil
		}
		id := ps[m.next%len(ps)]
		m.next = (m.next + 1) % len(ps)
		return t.partitions[id], key, m, false, nil
	}
	return nil, offKey{}, nil, false, errf(iggyproto.CodeInvalidCommand, "consumer kind %d", c.Kind)
}

func (m *member) owns(pid uint32) bool {
	for _, p := range m.partitions {
		if p == pid {
			return true
		}
	}
	return false
}

// pollPartition reads per the strategy (caller holds part.io shared); last
// is the offset of the last message returned.
func (b *Broker) pollPartition(part *partition, key offKey, req PollRequest) (PollResult, uint64, error) {
	res := PollResult{PartitionID: part.id}
	st := part.log.Stats()
	if st.NextOffset == 0 || st.NextOffset <= st.FirstOffset {
		if st.NextOffset > 0 {
			res.CurrentOffset = st.NextOffset - 1
		}
		return res, 0, nil
	}
	current := st.NextOffset - 1
	res.CurrentOffset = current
	if req.Count == 0 {
		return res, 0, nil
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
		return res, 0, nil
	}
	var chunk logstore.Chunk
	var err error
	if req.Strategy.Kind == PollTimestamp {
		chunk, err = part.log.AppendReadFromTimestamp(req.Buf[:0], req.Strategy.Value, count, maxPollBytes)
	} else {
		chunk, err = part.log.AppendRead(req.Buf[:0], start, count, maxPollBytes)
	}
	if err != nil {
		if errors.Is(err, core.ErrClosed) {
			return PollResult{}, 0, errf(iggyproto.CodePartitionNotFound, "partition %d is gone", part.id)
		}
		return PollResult{}, 0, errf(iggyproto.CodeError, "read partition %d: %v", part.id, err)
	}
	if chunk.Count == 0 {
		return res, 0, nil
	}
	if req.AutoCommit {
		if err := part.offsets.store(key, chunk.FirstOffset+uint64(chunk.Count)-1); err != nil {
			return PollResult{}, 0, errf(iggyproto.CodeError, "auto-commit: %v", err)
		}
	}
	res.Count = uint32(chunk.Count)
	res.Messages = chunk.Data
	return res, chunk.FirstOffset + uint64(chunk.Count) - 1, nil
}

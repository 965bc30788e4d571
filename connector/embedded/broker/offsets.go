package broker

import (
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// OffsetInfo is a GetConsumerOffset answer.
type OffsetInfo struct {
	PartitionID uint32
	// CurrentOffset is the partition's last offset (0 when empty).
	CurrentOffset uint64
	// StoredOffset is the consumer's stored offset.
	StoredOffset uint64
}

// offsetTarget resolves the partition and key of a store or delete
// (caller holds mu for reading), and for a group the member: single
// consumer without partition -> partition 0; group: membership required
// (5006), without partition the member's current round-robin slot (the
// partition its next poll reads, skipping those pending revocation, as
// Iggy 0.8.0), an explicit partition it does not own -> 3022 (one pending
// revocation from it is still its own).
func (b *Broker) offsetTarget(s *Session, t *topic, c Consumer, pid *uint32) (*partition, offKey, *member, error) {
	switch c.Kind {
	case SingleConsumer:
		id := uint32(0)
		if pid != nil {
			id = *pid
		}
		if int64(id) >= int64(len(t.partitions)) {
			return nil, offKey{}, nil, errf(iggyproto.CodePartitionNotFound, "partition %d not found in topic %d", id, t.id)
		}
		return t.partitions[id], offKey{kind: uint8(SingleConsumer), id: c.ID}, nil, nil
	case GroupConsumer:
		g := findGroup(t, c.Group)
		if g == nil {
			return nil, offKey{}, nil, errf(iggyproto.CodeGroupIDNotFound, "consumer group %s not found", c.Group)
		}
		m := g.memberOf(s)
		if m == nil {
			return nil, offKey{}, nil, errf(iggyproto.CodeGroupMemberNotFound, "client %d is not a member of group %d", s.id, g.id)
		}
		key := offKey{kind: uint8(GroupConsumer), id: g.id}
		if pid != nil {
			if !m.owns(*pid) { // owned partitions exist
				return nil, offKey{}, nil, errf(iggyproto.CodeNotResolvedConsumer, "partition %d is not assigned to this member", *pid)
			}
			return t.partitions[*pid], key, m, nil
		}
		g.cursor.Lock()
		defer g.cursor.Unlock()
		ps := m.effective()
		if len(ps) == 0 {
			return nil, offKey{}, nil, errf(iggyproto.CodeNotResolvedConsumer, "member has no partitions")
		}
		return t.partitions[ps[m.next%len(ps)]], key, m, nil
	}
	return nil, offKey{}, nil, errf(iggyproto.CodeInvalidCommand, "consumer kind %d", c.Kind)
}

// StoreOffset stores a consumer's (or group's) offset on a partition,
// durably (see docs/storage.md). Codes: 40, 1009, 2010, 41 without poll
// permission, 3007, 5000, 5006, 3022 (group partition not owned, or
// member without partitions), 4100 partition empty or offset beyond its
// last offset. A member's store on a partition it is handing over
// completes the hand-over once the offset covers the group's last poll
// there (see groups.go).
func (b *Broker) StoreOffset(s *Session, c Consumer, streamID, topicID iggyproto.Identifier, partitionID *uint32, offset uint64) error {
	part, key, m, err := b.resolveOffset(s, c, streamID, topicID, partitionID)
	if err != nil {
		return err
	}
	if err := storeOffset(part, key, offset); err != nil {
		return err
	}
	if m != nil {
		b.afterGroupStore(m, part.id)
	}
	return nil
}

// storeOffset stores under the partition's io lock, which the caller took
// shared; it releases it.
func storeOffset(part *partition, key offKey, offset uint64) error {
	defer part.io.RUnlock()
	if part.closed {
		return errf(iggyproto.CodePartitionNotFound, "partition %d is gone", part.id)
	}
	st := part.log.Stats()
	if st.NextOffset == 0 || offset > st.NextOffset-1 {
		return errf(iggyproto.CodeInvalidOffset, "offset %d beyond partition %d (next offset %d)", offset, part.id, st.NextOffset)
	}
	if err := part.offsets.store(key, offset); err != nil {
		return errf(iggyproto.CodeError, "store offset: %v", err)
	}
	return nil
}

// resolveOffset runs the common checks of store and delete and returns the
// partition with its io lock held shared.
func (b *Broker) resolveOffset(s *Session, c Consumer, streamID, topicID iggyproto.Identifier, partitionID *uint32) (*partition, offKey, *member, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return nil, offKey{}, nil, err
	}
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		return nil, offKey{}, nil, err
	}
	if !a.poll(t.stream.id, t.id) {
		return nil, offKey{}, nil, errUnauthorized("consumer offset")
	}
	part, key, m, err := b.offsetTarget(s, t, c, partitionID)
	if err != nil {
		return nil, offKey{}, nil, err
	}
	part.io.RLock()
	return part, key, m, nil
}

// DeleteOffset deletes a stored offset; resolution and codes as
// StoreOffset, plus 3021 when nothing is stored.
func (b *Broker) DeleteOffset(s *Session, c Consumer, streamID, topicID iggyproto.Identifier, partitionID *uint32) error {
	part, key, _, err := b.resolveOffset(s, c, streamID, topicID, partitionID)
	if err != nil {
		return err
	}
	defer part.io.RUnlock()
	if part.closed {
		return errf(iggyproto.CodePartitionNotFound, "partition %d is gone", part.id)
	}
	found, err := part.offsets.remove(key)
	if err != nil {
		return errf(iggyproto.CodeError, "delete offset: %v", err)
	}
	if !found {
		return errf(iggyproto.CodeConsumerOffsetNotFound, "no offset stored for consumer %d on partition %d", key.id, part.id)
	}
	return nil
}

// GetOffset returns a stored offset. Group lookups need no membership; a
// missing partition id means partition 0. A missing stream, topic,
// partition or group, or nothing stored, returns ok == false (empty OK).
// Errors: 40 before login; 41 without poll permission.
func (b *Broker) GetOffset(s *Session, c Consumer, streamID, topicID iggyproto.Identifier, partitionID *uint32) (OffsetInfo, bool, error) {
	b.mu.RLock()
	a, err := b.authed(s)
	if err != nil {
		b.mu.RUnlock()
		return OffsetInfo{}, false, err
	}
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		b.mu.RUnlock()
		return OffsetInfo{}, false, nil
	}
	if !a.poll(t.stream.id, t.id) {
		b.mu.RUnlock()
		return OffsetInfo{}, false, errUnauthorized("get consumer offset")
	}
	pid := uint32(0)
	if partitionID != nil {
		pid = *partitionID
	}
	if int64(pid) >= int64(len(t.partitions)) {
		b.mu.RUnlock()
		return OffsetInfo{}, false, nil
	}
	var key offKey
	switch c.Kind {
	case SingleConsumer:
		key = offKey{kind: uint8(SingleConsumer), id: c.ID}
	case GroupConsumer:
		g := findGroup(t, c.Group)
		if g == nil {
			b.mu.RUnlock()
			return OffsetInfo{}, false, nil
		}
		key = offKey{kind: uint8(GroupConsumer), id: g.id}
	default:
		b.mu.RUnlock()
		return OffsetInfo{}, false, nil
	}
	part := t.partitions[pid]
	part.io.RLock()
	b.mu.RUnlock()
	defer part.io.RUnlock()
	if part.closed {
		return OffsetInfo{}, false, nil
	}
	stored, ok := part.offsets.get(key)
	if !ok {
		return OffsetInfo{}, false, nil
	}
	info := OffsetInfo{PartitionID: pid, StoredOffset: stored}
	if st := part.log.Stats(); st.NextOffset > 0 {
		info.CurrentOffset = st.NextOffset - 1
	}
	return info, true, nil
}

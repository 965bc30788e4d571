package broker

import (
	"log/slog"
	"math"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// partitionOf returns partition pid (0-based) of t, or 3007; caller holds
// mu.
func partitionOf(t *topic, pid uint32) (*partition, error) {
	if int64(pid) >= int64(len(t.partitions)) {
		return nil, errf(iggyproto.CodePartitionNotFound, "partition %d not found in topic %d of stream %d", pid, t.id, t.stream.id)
	}
	return t.partitions[pid], nil
}

// FlushUnsavedBuffer serves Iggy's FlushUnsavedBuffer (102). The broker
// keeps no unsaved buffer (a send returns once its batch is written to the
// segment file), so there is nothing to write; with fsync the partition's
// files are synced to stable storage, whatever the fsync policy. Codes as
// Iggy 0.8.0, in its order: 40, 1009, 2010, 41 without send permission on
// the topic, 3007 partition not found.
func (b *Broker) FlushUnsavedBuffer(s *Session, streamID, topicID iggyproto.Identifier, partitionID uint32, fsync bool) error {
	b.mu.RLock()
	a, err := b.authed(s)
	if err != nil {
		b.mu.RUnlock()
		return err
	}
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		b.mu.RUnlock()
		return err
	}
	if !a.send(t.stream.id, t.id) {
		b.mu.RUnlock()
		return errUnauthorized("flush unsaved buffer")
	}
	p, err := partitionOf(t, partitionID)
	if err != nil {
		b.mu.RUnlock()
		return err
	}
	p.io.RLock()
	b.mu.RUnlock()
	defer p.io.RUnlock()
	if p.closed {
		return errf(iggyproto.CodePartitionNotFound, "partition %d is gone", partitionID)
	}
	if !fsync {
		return nil
	}
	if err := p.log.Sync(); err != nil {
		return errf(iggyproto.CodeError, "flush partition %d: %v", partitionID, err)
	}
	if err := p.offsets.sync(); err != nil {
		return errf(iggyproto.CodeError, "flush offsets of partition %d: %v", partitionID, err)
	}
	return nil
}

// DeleteSegments serves Iggy's DeleteSegments (503): it deletes up to
// count of the partition's oldest closed segments with their messages. As
// in Iggy 0.8.0 the active segment is never deleted, and a segment holding
// an offset above the lowest offset any consumer or group stored on the
// partition is kept (with everything after it); with no stored offset
// there is no such limit. Deleting fewer segments than asked (none
// included) is not an error. The partition's offsets are kept: a poll
// from an offset that went starts at the first one left. Codes as Iggy, in
// its order: 40, 1009, 2010, 3007 partition not found, 41 without
// manage-topic permission.
func (b *Broker) DeleteSegments(s *Session, streamID, topicID iggyproto.Identifier, partitionID, count uint32) (segments int, messages uint64, err error) {
	b.mu.RLock()
	a, err := b.authed(s)
	if err != nil {
		b.mu.RUnlock()
		return 0, 0, err
	}
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		b.mu.RUnlock()
		return 0, 0, err
	}
	p, err := partitionOf(t, partitionID)
	if err != nil {
		b.mu.RUnlock()
		return 0, 0, err
	}
	if !a.manageTopic(t.stream.id, t.id) {
		b.mu.RUnlock()
		return 0, 0, errUnauthorized("delete segments")
	}
	p.io.RLock()
	b.mu.RUnlock()
	defer p.io.RUnlock()
	if p.closed {
		return 0, 0, errf(iggyproto.CodePartitionNotFound, "partition %d is gone", partitionID)
	}
	limit, stored := p.offsets.min()
	if !stored {
		limit = math.MaxUint64
	}
	n := int(min(count, math.MaxInt32))
	segments, messages, err = p.log.DeleteOldestSegments(n, limit)
	if err != nil {
		return segments, messages, errf(iggyproto.CodeError, "delete segments of partition %d: %v", partitionID, err)
	}
	if segments > 0 {
		b.log.Info("segments deleted", slog.Uint64("stream", uint64(t.stream.id)), slog.Uint64("topic", uint64(t.id)),
			slog.Uint64("partition", uint64(partitionID)), slog.Int("segments", segments), slog.Uint64("messages", messages))
	}
	return segments, messages, nil
}

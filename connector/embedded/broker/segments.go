package broker

import (
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// DeleteSegments drops up to count of the oldest closed segments of a
// partition, as Iggy 0.8.0's DeleteSegments (served over HTTP only): the
// active segment stays, and so does any segment holding messages above the
// lowest offset stored by a consumer or group of the partition. Needs
// manage_topic. Codes: 40, 1009, 2010, 41, 3007. Returns the segments and
// messages dropped.
func (b *Broker) DeleteSegments(s *Session, streamID, topicID iggyproto.Identifier, partitionID, count uint32) (int, uint64, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return 0, 0, err
	}
	t, err := b.topicToManage(a, streamID, topicID, "delete segments")
	if err != nil {
		return 0, 0, err
	}
	if int(partitionID) >= len(t.partitions) {
		return 0, 0, errf(iggyproto.CodePartitionNotFound, "partition %d of topic %d", partitionID, t.id)
	}
	p := t.partitions[partitionID]
	barrier, has := p.offsets.min()
	p.io.RLock()
	defer p.io.RUnlock()
	if p.closed {
		return 0, 0, errf(iggyproto.CodePartitionNotFound, "partition %d of topic %d", partitionID, t.id)
	}
	segs, msgs, err := p.log.DeleteOldestSegments(int(count), barrier, has)
	if err != nil {
		b.logIOErr("delete segments", err)
		return segs, msgs, errf(iggyproto.CodeError, "delete segments: %v", err)
	}
	return segs, msgs, nil
}

// FlushPartition makes a partition's appended messages durable, as Iggy
// 0.8.0's FlushUnsavedBuffer (served over HTTP only): appends are written
// to the file before they are acknowledged, so only fsync has work to do
// (it syncs the partition's files). Needs send permission. Codes: 40,
// 1009, 2010, 41; an unknown partition is a no-op, as in Iggy.
func (b *Broker) FlushPartition(s *Session, streamID, topicID iggyproto.Identifier, partitionID uint32, fsync bool) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		return err
	}
	if !a.send(t.stream.id, t.id) {
		return errUnauthorized("flush")
	}
	if int(partitionID) >= len(t.partitions) || !fsync {
		return nil
	}
	p := t.partitions[partitionID]
	p.io.RLock()
	defer p.io.RUnlock()
	if p.closed {
		return nil
	}
	if err := p.log.Sync(); err != nil {
		b.logIOErr("flush", err)
		return errf(iggyproto.CodeError, "flush: %v", err)
	}
	return nil
}

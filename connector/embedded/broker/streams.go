package broker

import (
	"errors"
	"log/slog"
	"math"
	"os"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Limits on partition counts (fact sheet, section 3).
const (
	MaxPartitionsPerRequest = 1000
)

// Topic compression algorithms, numbered as on the wire (metadata only).
const (
	CompressionNone uint8 = 1
	CompressionGzip uint8 = 2
)

// StreamInfo describes a stream (StreamHeader record). CreatedAt is µs.
// Topics is filled by GetStream only (sorted by id, without partitions).
type StreamInfo struct {
	ID            uint32
	CreatedAt     uint64
	TopicsCount   uint32
	SizeBytes     uint64
	MessagesCount uint64
	Name          string
	Topics        []TopicInfo
}

// TopicInfo describes a topic (TopicHeader record). MessageExpiry (µs) and
// MaxTopicSize (bytes) hold the wire values: math.MaxUint64 means never /
// unlimited (what CreateTopic stores for 0); 0 can only come from
// UpdateTopic and also means the server default (never / unlimited).
// Partitions is filled by GetTopic and CreateTopic (sorted by id).
type TopicInfo struct {
	ID                   uint32
	CreatedAt            uint64
	PartitionsCount      uint32
	MessageExpiry        uint64
	CompressionAlgorithm uint8
	MaxTopicSize         uint64
	ReplicationFactor    uint8
	SizeBytes            uint64
	MessagesCount        uint64
	Name                 string
	Partitions           []PartitionInfo
}

// PartitionInfo describes a partition (PartitionInfo record).
// CurrentOffset is the last message's offset, 0 when empty.
type PartitionInfo struct {
	ID            uint32
	CreatedAt     uint64
	SegmentsCount uint32
	CurrentOffset uint64
	SizeBytes     uint64
	MessagesCount uint64
}

// TopicConfig is a CreateTopic request; the values follow the wire (see
// CreateTopic for the special values).
type TopicConfig struct {
	Name                 string
	PartitionsCount      uint32
	CompressionAlgorithm uint8
	MessageExpiry        uint64
	MaxTopicSize         uint64
	ReplicationFactor    uint8
}

// TopicUpdate is an UpdateTopic request; values are stored as given.
type TopicUpdate struct {
	Name                 string
	CompressionAlgorithm uint8
	MessageExpiry        uint64
	MaxTopicSize         uint64
	ReplicationFactor    uint8
}

func (p *partition) info() PartitionInfo {
	st := p.log.Stats()
	pi := PartitionInfo{ID: p.id, CreatedAt: p.createdAt, SegmentsCount: uint32(st.Segments), SizeBytes: st.SizeBytes}
	if st.NextOffset > 0 {
		pi.CurrentOffset = st.NextOffset - 1
	}
	if st.NextOffset > st.FirstOffset {
		pi.MessagesCount = st.NextOffset - st.FirstOffset
	}
	return pi
}

func (t *topic) info(withPartitions bool) TopicInfo {
	ti := TopicInfo{ID: t.id, CreatedAt: t.createdAt, PartitionsCount: uint32(len(t.partitions)),
		MessageExpiry: t.messageExpiry, CompressionAlgorithm: t.compression, MaxTopicSize: t.maxTopicSize,
		ReplicationFactor: t.replication, Name: t.name}
	for _, p := range t.partitions {
		pi := p.info()
		ti.SizeBytes += pi.SizeBytes
		ti.MessagesCount += pi.MessagesCount
		if withPartitions {
			ti.Partitions = append(ti.Partitions, pi)
		}
	}
	return ti
}

func (st *stream) info(withTopics bool) StreamInfo {
	si := StreamInfo{ID: st.id, CreatedAt: st.createdAt, TopicsCount: uint32(len(st.topics)), Name: st.name}
	for _, tid := range sortedKeys(st.topics) {
		ti := st.topics[tid].info(false)
		si.SizeBytes += ti.SizeBytes
		si.MessagesCount += ti.MessagesCount
		if withTopics {
			si.Topics = append(si.Topics, ti)
		}
	}
	return si
}

// CreateStream creates a stream with the lowest free id (freed ids reused
// first): 4 bad name, 41 without manage_streams, 1012 name taken.
func (b *Broker) CreateStream(s *Session, name string) (StreamInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return StreamInfo{}, err
	}
	if err := validName("stream", name); err != nil {
		return StreamInfo{}, err
	}
	if !a.createStream() {
		return StreamInfo{}, errUnauthorized("create stream")
	}
	if b.findStream(iggyproto.NamedID(name)) != nil {
		return StreamInfo{}, errf(iggyproto.CodeStreamNameAlreadyExists, "stream %q exists", name)
	}
	st := &stream{id: b.streamID.alloc(), name: name, createdAt: b.nowMicros(), topics: map[uint32]*topic{}}
	// A crash may have left a directory under this id.
	if err := os.RemoveAll(b.streamDir(st.id)); err != nil {
		b.streamID.release(st.id)
		return StreamInfo{}, errf(iggyproto.CodeError, "create stream: %v", err)
	}
	b.putStream(st)
	return st.info(true), b.persist("create stream")
}

// GetStream returns a stream with its topics; ok == false (empty OK) when
// it does not exist. Needs read on the stream (41).
func (b *Broker) GetStream(s *Session, id iggyproto.Identifier) (StreamInfo, bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return StreamInfo{}, false, err
	}
	st := b.findStream(id)
	if st == nil {
		return StreamInfo{}, false, nil
	}
	if !a.readStream(st.id) {
		return StreamInfo{}, false, errUnauthorized("get stream")
	}
	return st.info(true), true, nil
}

// GetStreams lists every stream by id (without topics); needs
// read_streams.
func (b *Broker) GetStreams(s *Session) ([]StreamInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return nil, err
	}
	if !a.readStreams() {
		return nil, errUnauthorized("get streams")
	}
	out := make([]StreamInfo, 0, len(b.streams))
	for _, id := range sortedKeys(b.streams) {
		out = append(out, b.streams[id].info(false))
	}
	return out, nil
}

// UpdateStream renames a stream: 4 bad name, 1009, 41, 1012 taken by
// another stream (renaming to the current name is fine).
func (b *Broker) UpdateStream(s *Session, id iggyproto.Identifier, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	if err := validName("stream", name); err != nil {
		return err
	}
	st, err := b.streamToManage(a, id, "update stream")
	if err != nil {
		return err
	}
	if o := b.findStream(iggyproto.NamedID(name)); o != nil && o != st {
		return errf(iggyproto.CodeStreamNameAlreadyExists, "stream %q exists", name)
	}
	b.renameStream(st, name)
	return b.persist("update stream")
}

// streamToManage resolves a stream (1009) and checks the caller may manage
// it (41, refusing op); caller holds mu.
func (b *Broker) streamToManage(a access, id iggyproto.Identifier, op string) (*stream, error) {
	st, err := b.streamOf(id)
	if err != nil {
		return nil, err
	}
	if !a.manageStream(st.id) {
		return nil, errUnauthorized(op)
	}
	return st, nil
}

// DeleteStream deletes a stream and everything under it (topics,
// partitions, messages, groups, offsets): 1009, 41. It waits for I/O in
// flight on its partitions.
func (b *Broker) DeleteStream(s *Session, id iggyproto.Identifier) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	st, err := b.streamToManage(a, id, "delete stream")
	if err != nil {
		return err
	}
	b.dropStream(st)
	b.streamID.release(st.id)
	perr := b.persist("delete stream")
	var errs []error
	for _, t := range st.topics {
		errs = append(errs, b.dropTopicData(t))
	}
	errs = append(errs, os.RemoveAll(b.streamDir(st.id)))
	b.logIOErr("delete stream", errors.Join(errs...))
	return perr
}

// dropTopicData closes a removed topic's partitions and drops its groups'
// members; the caller removes the directory.
func (b *Broker) dropTopicData(t *topic) error {
	defer t.appended.notify() // waiters poll again and find the topic gone
	var errs []error
	for _, g := range t.groups {
		g.clearMembers()
	}
	for _, p := range t.partitions {
		errs = append(errs, p.close())
	}
	return errors.Join(errs...)
}

func (b *Broker) logIOErr(op string, err error) {
	if err != nil {
		b.log.Warn("cleanup failed", slog.String("op", op), slog.Any("error", err))
	}
}

// PurgeStream deletes every message and consumer offset of a stream's
// topics, keeping the topics, partitions and groups: 1009, 41.
func (b *Broker) PurgeStream(s *Session, id iggyproto.Identifier) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	st, err := b.streamToManage(a, id, "purge stream")
	if err != nil {
		return err
	}
	for _, tid := range sortedKeys(st.topics) {
		if err := b.purgeTopicLocked(st.topics[tid]); err != nil {
			return err
		}
	}
	return nil
}

// purgeTopicLocked replaces every partition of t with a fresh, empty one.
func (b *Broker) purgeTopicLocked(t *topic) error {
	for i, p := range t.partitions {
		if err := p.close(); err != nil {
			b.logIOErr("purge", err)
		}
		np, err := b.openPartition(t, p.id, p.createdAt, true)
		if err != nil {
			// Keep a closed placeholder so ids stay contiguous; I/O on it
			// answers 3007 until the broker reopens.
			b.log.Error("purge: partition not reopened", slog.Any("error", err))
			return errf(iggyproto.CodeError, "purge topic %d: %v", t.id, err)
		}
		t.partitions[i] = np
	}
	// Assignments, cursors and the groups' last polled markers stay, as in
	// Iggy 0.8.0 (the stored offsets go with the partitions).
	return nil
}

func validTopicSize(v uint64, segment int64) error {
	if v != 0 && v != math.MaxUint64 && v < uint64(segment) {
		return errf(iggyproto.CodeInvalidTopicSize, "max topic size %d is below the segment size %d", v, segment)
	}
	return nil
}

func validCompression(c uint8) error {
	if c != CompressionNone && c != CompressionGzip {
		return errf(iggyproto.CodeInvalidCommand, "compression algorithm %d", c)
	}
	return nil
}

// CreateTopic creates a topic and its partitions. Codes, in check order:
// 4 bad name, 3 compression not 1/2, 2015 more than 1000 partitions, 1009,
// 41 without manage topics, 1019 custom max size below the segment size,
// 2013 name taken. Special values: MessageExpiry 0 -> never (stored as
// math.MaxUint64), MaxTopicSize 0 -> unlimited (math.MaxUint64),
// ReplicationFactor 0 -> 1. The result lists the new partitions.
func (b *Broker) CreateTopic(s *Session, streamID iggyproto.Identifier, cfg TopicConfig) (TopicInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return TopicInfo{}, err
	}
	if err := validName("topic", cfg.Name); err != nil {
		return TopicInfo{}, err
	}
	if err := validCompression(cfg.CompressionAlgorithm); err != nil {
		return TopicInfo{}, err
	}
	if cfg.PartitionsCount > MaxPartitionsPerRequest {
		return TopicInfo{}, errf(iggyproto.CodeTooManyPartitions, "%d partitions", cfg.PartitionsCount)
	}
	st, err := b.streamOf(streamID)
	if err != nil {
		return TopicInfo{}, err
	}
	if !a.createTopic(st.id) {
		return TopicInfo{}, errUnauthorized("create topic")
	}
	if err := validTopicSize(cfg.MaxTopicSize, b.cfg.SegmentSize); err != nil {
		return TopicInfo{}, err
	}
	if findTopic(st, iggyproto.NamedID(cfg.Name)) != nil {
		return TopicInfo{}, errf(iggyproto.CodeTopicNameAlreadyExists, "topic %q exists in stream %d", cfg.Name, st.id)
	}
	t := &topic{stream: st, id: st.topicIDs.alloc(), name: cfg.Name, createdAt: b.nowMicros(),
		compression: cfg.CompressionAlgorithm, messageExpiry: cfg.MessageExpiry, maxTopicSize: cfg.MaxTopicSize,
		replication: cfg.ReplicationFactor, groups: map[uint32]*group{}}
	if t.messageExpiry == 0 {
		t.messageExpiry = math.MaxUint64
	}
	if t.maxTopicSize == 0 {
		t.maxTopicSize = math.MaxUint64
	}
	if t.replication == 0 {
		t.replication = 1
	}
	if err := os.RemoveAll(b.topicDir(st.id, t.id)); err != nil {
		st.topicIDs.release(t.id)
		return TopicInfo{}, errf(iggyproto.CodeError, "create topic: %v", err)
	}
	// The topic's directory was just removed: nothing to clear per partition.
	if err := b.addPartitions(t, cfg.PartitionsCount, false); err != nil {
		b.logIOErr("create topic", b.dropTopicData(t))
		st.topicIDs.release(t.id)
		return TopicInfo{}, err
	}
	putTopic(st, t)
	return t.info(true), b.persist("create topic")
}

// addPartitions opens count new partitions after the existing ones; with
// wipe first removes whatever a crash may have left at their paths. On error the
// ones it opened are closed and removed again.
func (b *Broker) addPartitions(t *topic, count uint32, wipe bool) error {
	base := len(t.partitions)
	now := b.nowMicros()
	for i := range count {
		pid := uint32(base) + i
		// The size share is computed over the final count.
		t.partitions = append(t.partitions, &partition{id: pid, closed: true})
	}
	err := b.openPartitions(t, t.partitions[base:], func(*partition) uint64 { return now }, wipe, true)
	if err != nil {
		t.partitions = t.partitions[:base]
		return errf(iggyproto.CodeError, "create partitions: %v", err)
	}
	return nil
}

// GetTopic returns a topic with its partitions; ok == false (empty OK) if
// the stream or the topic does not exist. Needs read on the topic (41).
func (b *Broker) GetTopic(s *Session, streamID, topicID iggyproto.Identifier) (TopicInfo, bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return TopicInfo{}, false, err
	}
	st := b.findStream(streamID)
	if st == nil {
		return TopicInfo{}, false, nil
	}
	t := findTopic(st, topicID)
	if t == nil {
		return TopicInfo{}, false, nil
	}
	if !a.readTopic(st.id, t.id) {
		return TopicInfo{}, false, errUnauthorized("get topic")
	}
	return t.info(true), true, nil
}

// GetTopics lists a stream's topics by id (without partitions); ok ==
// false (empty OK) if the stream does not exist. Needs read topics (41).
func (b *Broker) GetTopics(s *Session, streamID iggyproto.Identifier) ([]TopicInfo, bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return nil, false, err
	}
	st := b.findStream(streamID)
	if st == nil {
		return nil, false, nil
	}
	if !a.readTopics(st.id) {
		return nil, false, errUnauthorized("get topics")
	}
	out := make([]TopicInfo, 0, len(st.topics))
	for _, tid := range sortedKeys(st.topics) {
		out = append(out, st.topics[tid].info(false))
	}
	return out, true, nil
}

// UpdateTopic changes a topic's settings, storing expiry and max size as
// given (0 is not replaced by defaults and the size is not checked against
// the segment size, as in Iggy 0.8.0); replication 0 becomes 1. Codes: 4,
// 3, 1009, 2010, 41, 2013 name taken by another topic. Retention follows
// at once.
func (b *Broker) UpdateTopic(s *Session, streamID, topicID iggyproto.Identifier, u TopicUpdate) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	if err := validName("topic", u.Name); err != nil {
		return err
	}
	if err := validCompression(u.CompressionAlgorithm); err != nil {
		return err
	}
	t, err := b.topicToManage(a, streamID, topicID, "update topic")
	if err != nil {
		return err
	}
	if o := findTopic(t.stream, iggyproto.NamedID(u.Name)); o != nil && o != t {
		return errf(iggyproto.CodeTopicNameAlreadyExists, "topic %q exists in stream %d", u.Name, t.stream.id)
	}
	renameTopic(t, u.Name)
	t.compression = u.CompressionAlgorithm
	t.messageExpiry = u.MessageExpiry
	t.maxTopicSize = u.MaxTopicSize
	t.replication = max(u.ReplicationFactor, 1)
	t.applyRetention()
	return b.persist("update topic")
}

// topicToManage resolves a topic (1009, 2010) and checks the caller may
// manage it (41, refusing op); caller holds mu.
func (b *Broker) topicToManage(a access, streamID, topicID iggyproto.Identifier, op string) (*topic, error) {
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		return nil, err
	}
	if !a.manageTopic(t.stream.id, t.id) {
		return nil, errUnauthorized(op)
	}
	return t, nil
}

// DeleteTopic deletes a topic and everything under it: 1009, 2010, 41.
func (b *Broker) DeleteTopic(s *Session, streamID, topicID iggyproto.Identifier) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	t, err := b.topicToManage(a, streamID, topicID, "delete topic")
	if err != nil {
		return err
	}
	dropTopic(t)
	t.stream.topicIDs.release(t.id)
	perr := b.persist("delete topic")
	err = b.dropTopicData(t)
	b.logIOErr("delete topic", errors.Join(err, os.RemoveAll(b.topicDir(t.stream.id, t.id))))
	return perr
}

// PurgeTopic deletes a topic's messages and consumer offsets, keeping its
// partitions and groups: 1009, 2010, 41.
func (b *Broker) PurgeTopic(s *Session, streamID, topicID iggyproto.Identifier) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	t, err := b.topicToManage(a, streamID, topicID, "purge topic")
	if err != nil {
		return err
	}
	return b.purgeTopicLocked(t)
}

// CreatePartitions appends count partitions (ids after the current ones)
// and rebalances every group of the topic: 2015 count not 1..1000, 1009,
// 2010, 41.
func (b *Broker) CreatePartitions(s *Session, streamID, topicID iggyproto.Identifier, count uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	if count == 0 || count > MaxPartitionsPerRequest {
		return errf(iggyproto.CodeTooManyPartitions, "%d partitions", count)
	}
	t, err := b.topicToManage(a, streamID, topicID, "create partitions")
	if err != nil {
		return err
	}
	if err := b.addPartitions(t, count, true); err != nil {
		return err
	}
	t.applyRetention()
	for _, g := range t.groups {
		g.partitionsChanged()
	}
	return b.persist("create partitions")
}

// DeletePartitions removes the count highest partitions with their
// messages and offsets, and rebalances every group of the topic: 2015
// count 0, 1009, 2010, 41, 2019 more than exist.
func (b *Broker) DeletePartitions(s *Session, streamID, topicID iggyproto.Identifier, count uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	if count == 0 {
		return errf(iggyproto.CodeTooManyPartitions, "delete 0 partitions")
	}
	t, err := b.topicToManage(a, streamID, topicID, "delete partitions")
	if err != nil {
		return err
	}
	if int(count) > len(t.partitions) {
		return errf(iggyproto.CodeInvalidPartitionsCount, "delete %d of %d partitions", count, len(t.partitions))
	}
	keep := len(t.partitions) - int(count)
	gone := t.partitions[keep:]
	t.partitions = t.partitions[:keep:keep]
	perr := b.persist("delete partitions")
	for _, p := range gone {
		b.logIOErr("delete partitions", errors.Join(p.close(),
			os.RemoveAll(b.partitionDir(t.stream.id, t.id, p.id)),
			removeIfExists(b.offsetsPath(t.stream.id, t.id, p.id))))
	}
	t.applyRetention()
	for _, g := range t.groups {
		g.partitionsChanged()
	}
	return perr
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

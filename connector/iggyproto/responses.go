package iggyproto

// Response records for streams, topics, partitions, consumer groups and
// offsets (fact sheet 5.1, 5.4-5.6). Each Append function appends one
// record to dst; a response payload is records back to back (no count
// prefix). Names longer than 255 bytes are cut at 255. Decoders are for
// tests and tools; they fail with CodeInvalidCommand on truncation.

// StreamHeader describes a stream (33 + len(Name) bytes). Times in µs.
type StreamHeader struct {
	ID            uint32
	CreatedAt     uint64
	TopicsCount   uint32
	SizeBytes     uint64
	MessagesCount uint64
	Name          string
}

// AppendStreamHeader appends s to dst. GetStreams answers StreamHeader*,
// CreateStream one StreamHeader, GetStream a StreamHeader followed by the
// stream's TopicHeaders sorted by id.
func AppendStreamHeader(dst []byte, s StreamHeader) []byte {
	dst = appendU32(dst, s.ID)
	dst = appendU64(dst, s.CreatedAt)
	dst = appendU32(dst, s.TopicsCount)
	dst = appendU64(dst, s.SizeBytes)
	dst = appendU64(dst, s.MessagesCount)
	return appendName8(dst, s.Name)
}

func (r *rd) streamHeader() StreamHeader {
	return StreamHeader{ID: r.u32("id"), CreatedAt: r.u64("created at"), TopicsCount: r.u32("topics count"),
		SizeBytes: r.u64("size bytes"), MessagesCount: r.u64("messages count"), Name: r.name8("name")}
}

// DecodeStreams decodes a GetStreams payload (StreamHeader*).
func DecodeStreams(b []byte) ([]StreamHeader, error) {
	return decodeAll(newRd("streams", b), (*rd).streamHeader)
}

// DecodeStreamDetails decodes a GetStream payload: a StreamHeader and the
// TopicHeaders that follow.
func DecodeStreamDetails(b []byte) (StreamHeader, []TopicHeader, error) {
	r := newRd("stream details", b)
	s := r.streamHeader()
	if r.err != nil {
		return StreamHeader{}, nil, r.err
	}
	topics, err := decodeAll(r, (*rd).topicHeader)
	return s, topics, err
}

// decodeAll reads records with f until r is exhausted.
func decodeAll[T any](r *rd, f func(*rd) T) ([]T, error) {
	var out []T
	for r.err == nil && r.remaining() > 0 {
		v := f(r)
		if r.err == nil {
			out = append(out, v)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

// TopicHeader describes a topic (51 + len(Name) bytes). MessageExpiry in
// µs and MaxTopicSize in bytes use math.MaxUint64 for never / unlimited.
type TopicHeader struct {
	ID                uint32
	CreatedAt         uint64
	PartitionsCount   uint32
	MessageExpiry     uint64
	Compression       CompressionAlgorithm
	MaxTopicSize      uint64
	ReplicationFactor uint8
	SizeBytes         uint64
	MessagesCount     uint64
	Name              string
}

// AppendTopicHeader appends t to dst. GetTopics answers TopicHeader*;
// GetTopic and CreateTopic a TopicHeader followed by PartitionInfo*.
func AppendTopicHeader(dst []byte, t TopicHeader) []byte {
	dst = appendU32(dst, t.ID)
	dst = appendU64(dst, t.CreatedAt)
	dst = appendU32(dst, t.PartitionsCount)
	dst = appendU64(dst, t.MessageExpiry)
	dst = append(dst, byte(t.Compression))
	dst = appendU64(dst, t.MaxTopicSize)
	dst = append(dst, t.ReplicationFactor)
	dst = appendU64(dst, t.SizeBytes)
	dst = appendU64(dst, t.MessagesCount)
	return appendName8(dst, t.Name)
}

func (r *rd) topicHeader() TopicHeader {
	return TopicHeader{ID: r.u32("id"), CreatedAt: r.u64("created at"), PartitionsCount: r.u32("partitions count"),
		MessageExpiry: r.u64("message expiry"), Compression: CompressionAlgorithm(r.u8("compression")),
		MaxTopicSize: r.u64("max topic size"), ReplicationFactor: r.u8("replication factor"),
		SizeBytes: r.u64("size bytes"), MessagesCount: r.u64("messages count"), Name: r.name8("name")}
}

// DecodeTopics decodes a GetTopics payload (TopicHeader*).
func DecodeTopics(b []byte) ([]TopicHeader, error) {
	return decodeAll(newRd("topics", b), (*rd).topicHeader)
}

// DecodeTopicDetails decodes a GetTopic/CreateTopic payload: a TopicHeader
// and the PartitionInfos that follow.
func DecodeTopicDetails(b []byte) (TopicHeader, []PartitionInfo, error) {
	r := newRd("topic details", b)
	t := r.topicHeader()
	if r.err != nil {
		return TopicHeader{}, nil, r.err
	}
	parts, err := decodeAll(r, (*rd).partitionInfo)
	return t, parts, err
}

// PartitionInfoSize is the encoded size of a PartitionInfo.
const PartitionInfoSize = 40

// PartitionInfo describes a partition (40 bytes). CurrentOffset is the
// last offset (0 when empty).
type PartitionInfo struct {
	ID            uint32
	CreatedAt     uint64
	SegmentsCount uint32
	CurrentOffset uint64
	SizeBytes     uint64
	MessagesCount uint64
}

// AppendPartitionInfo appends p to dst.
func AppendPartitionInfo(dst []byte, p PartitionInfo) []byte {
	dst = appendU32(dst, p.ID)
	dst = appendU64(dst, p.CreatedAt)
	dst = appendU32(dst, p.SegmentsCount)
	dst = appendU64(dst, p.CurrentOffset)
	dst = appendU64(dst, p.SizeBytes)
	return appendU64(dst, p.MessagesCount)
}

func (r *rd) partitionInfo() PartitionInfo {
	return PartitionInfo{ID: r.u32("id"), CreatedAt: r.u64("created at"), SegmentsCount: r.u32("segments count"),
		CurrentOffset: r.u64("current offset"), SizeBytes: r.u64("size bytes"), MessagesCount: r.u64("messages count")}
}

// GroupHeader describes a consumer group (13 + len(Name) bytes).
type GroupHeader struct {
	ID              uint32
	PartitionsCount uint32
	MembersCount    uint32
	Name            string
}

// AppendGroupHeader appends g to dst. GetConsumerGroups answers
// GroupHeader*, CreateConsumerGroup one GroupHeader, GetConsumerGroup a
// GroupHeader followed by GroupMember*.
func AppendGroupHeader(dst []byte, g GroupHeader) []byte {
	dst = appendU32(dst, g.ID)
	dst = appendU32(dst, g.PartitionsCount)
	dst = appendU32(dst, g.MembersCount)
	return appendName8(dst, g.Name)
}

func (r *rd) groupHeader() GroupHeader {
	return GroupHeader{ID: r.u32("id"), PartitionsCount: r.u32("partitions count"), MembersCount: r.u32("members count"), Name: r.name8("name")}
}

// DecodeGroups decodes a GetConsumerGroups payload (GroupHeader*).
func DecodeGroups(b []byte) ([]GroupHeader, error) {
	return decodeAll(newRd("consumer groups", b), (*rd).groupHeader)
}

// GroupMember is one member of a consumer group with its assigned
// partitions (8 + 4*len(Partitions) bytes). ID is the per-group member id,
// not a client id.
type GroupMember struct {
	ID         uint32
	Partitions []uint32
}

// AppendGroupMember appends m to dst; partitions_count is len(Partitions).
func AppendGroupMember(dst []byte, m GroupMember) []byte {
	dst = appendU32(dst, m.ID)
	dst = appendU32(dst, uint32(len(m.Partitions)))
	for _, p := range m.Partitions {
		dst = appendU32(dst, p)
	}
	return dst
}

func (r *rd) groupMember() GroupMember {
	m := GroupMember{ID: r.u32("member id")}
	n := r.u32("partitions count")
	if r.err == nil && uint64(n)*4 > uint64(r.remaining()) {
		r.fail(CodeInvalidCommand, "member with %d partitions, %d bytes left", n, r.remaining())
	}
	if r.err != nil {
		return m
	}
	m.Partitions = make([]uint32, n)
	for i := range m.Partitions {
		m.Partitions[i] = r.u32("partition id")
	}
	return m
}

// DecodeGroupDetails decodes a GetConsumerGroup payload: a GroupHeader and
// the GroupMembers that follow.
func DecodeGroupDetails(b []byte) (GroupHeader, []GroupMember, error) {
	r := newRd("consumer group details", b)
	g := r.groupHeader()
	if r.err != nil {
		return GroupHeader{}, nil, r.err
	}
	members, err := decodeAll(r, (*rd).groupMember)
	return g, members, err
}

// ConsumerOffsetSize is the encoded size of a ConsumerOffsetInfo.
const ConsumerOffsetSize = 20

// ConsumerOffsetInfo answers GetConsumerOffset (20 bytes); "nothing
// stored" is an empty OK payload instead.
type ConsumerOffsetInfo struct {
	PartitionID   uint32
	CurrentOffset uint64
	StoredOffset  uint64
}

// AppendConsumerOffset appends o to dst.
func AppendConsumerOffset(dst []byte, o ConsumerOffsetInfo) []byte {
	return appendU64(appendU64(appendU32(dst, o.PartitionID), o.CurrentOffset), o.StoredOffset)
}

// DecodeConsumerOffset decodes a GetConsumerOffset payload.
func DecodeConsumerOffset(b []byte) (ConsumerOffsetInfo, error) {
	r := newRd("consumer offset", b)
	return done(ConsumerOffsetInfo{PartitionID: r.u32("partition id"), CurrentOffset: r.u64("current offset"), StoredOffset: r.u64("stored offset")}, r)
}

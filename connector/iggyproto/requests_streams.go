package iggyproto

// CompressionAlgorithm is a topic's compression metadata byte.
type CompressionAlgorithm uint8

// Compression algorithms, as on the wire.
const (
	CompressionNone CompressionAlgorithm = 1
	CompressionGzip CompressionAlgorithm = 2
)

// Valid reports whether c is a known algorithm. Request decoders keep the
// raw byte: Iggy 0.8.0 answers CodeInvalidCommand for another value (0
// included, the Go SDK's zero value) when executing CreateTopic/UpdateTopic:
// after authentication and, for CreateTopic, the partitions-count check
// (2015), before the stream lookup.
func (c CompressionAlgorithm) Valid() bool { return c == CompressionNone || c == CompressionGzip }

// GetStream (200) asks for StreamHeader + TopicHeader*.
type GetStream struct{ Stream Identifier }

// Command implements Request.
func (GetStream) Command() Command { return CmdGetStream }

// DecodeGetStream decodes [Id stream].
func DecodeGetStream(p []byte) (GetStream, error) {
	r := newRd("get_stream", p)
	return done(GetStream{Stream: r.ident("stream id")}, r)
}

// EncodeGetStream appends the payload of v to dst.
func EncodeGetStream(dst []byte, v GetStream) []byte { return AppendIdentifier(dst, v.Stream) }

// CreateStream (202) creates a stream; the server picks the id.
type CreateStream struct{ Name string }

// Command implements Request.
func (CreateStream) Command() Command { return CmdCreateStream }

// DecodeCreateStream decodes [Name8 name].
func DecodeCreateStream(p []byte) (CreateStream, error) {
	r := newRd("create_stream", p)
	return done(CreateStream{Name: r.name8("name")}, r)
}

// EncodeCreateStream appends the payload of v to dst.
func EncodeCreateStream(dst []byte, v CreateStream) []byte { return appendName8(dst, v.Name) }

// DeleteStream (203) deletes a stream and everything below it.
type DeleteStream struct{ Stream Identifier }

// Command implements Request.
func (DeleteStream) Command() Command { return CmdDeleteStream }

// DecodeDeleteStream decodes [Id stream].
func DecodeDeleteStream(p []byte) (DeleteStream, error) {
	r := newRd("delete_stream", p)
	return done(DeleteStream{Stream: r.ident("stream id")}, r)
}

// EncodeDeleteStream appends the payload of v to dst.
func EncodeDeleteStream(dst []byte, v DeleteStream) []byte { return AppendIdentifier(dst, v.Stream) }

// UpdateStream (204) renames a stream: Id, Name8 new name.
type UpdateStream struct {
	Stream Identifier
	Name   string
}

// Command implements Request.
func (UpdateStream) Command() Command { return CmdUpdateStream }

// DecodeUpdateStream decodes an UpdateStream payload.
func DecodeUpdateStream(p []byte) (UpdateStream, error) {
	r := newRd("update_stream", p)
	return done(UpdateStream{Stream: r.ident("stream id"), Name: r.name8("name")}, r)
}

// EncodeUpdateStream appends the payload of v to dst.
func EncodeUpdateStream(dst []byte, v UpdateStream) []byte {
	return appendName8(AppendIdentifier(dst, v.Stream), v.Name)
}

// GetTopic (300) asks for TopicHeader + PartitionInfo*.
type GetTopic struct{ Stream, Topic Identifier }

// Command implements Request.
func (GetTopic) Command() Command { return CmdGetTopic }

// DecodeGetTopic decodes [Id stream][Id topic].
func DecodeGetTopic(p []byte) (GetTopic, error) {
	r := newRd("get_topic", p)
	return done(GetTopic{Stream: r.ident("stream id"), Topic: r.ident("topic id")}, r)
}

// EncodeGetTopic appends the payload of v to dst.
func EncodeGetTopic(dst []byte, v GetTopic) []byte {
	return AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic)
}

// GetTopics (301) asks for TopicHeader* of a stream.
type GetTopics struct{ Stream Identifier }

// Command implements Request.
func (GetTopics) Command() Command { return CmdGetTopics }

// DecodeGetTopics decodes [Id stream].
func DecodeGetTopics(p []byte) (GetTopics, error) {
	r := newRd("get_topics", p)
	return done(GetTopics{Stream: r.ident("stream id")}, r)
}

// EncodeGetTopics appends the payload of v to dst.
func EncodeGetTopics(dst []byte, v GetTopics) []byte { return AppendIdentifier(dst, v.Stream) }

// CreateTopic (302): Id stream, u32 partitions_count, u8 compression, u64
// message_expiry (µs), u64 max_topic_size (bytes), u8 replication_factor,
// Name8 name. Expiry and size: 0 = server default, math.MaxUint64 = never /
// unlimited. Compression is not checked here (see
// CompressionAlgorithm.Valid). The server picks the topic id.
type CreateTopic struct {
	Stream            Identifier
	PartitionsCount   uint32
	Compression       CompressionAlgorithm
	MessageExpiry     uint64
	MaxTopicSize      uint64
	ReplicationFactor uint8
	Name              string
}

// Command implements Request.
func (CreateTopic) Command() Command { return CmdCreateTopic }

// DecodeCreateTopic decodes a CreateTopic payload.
func DecodeCreateTopic(p []byte) (CreateTopic, error) {
	r := newRd("create_topic", p)
	return done(CreateTopic{
		Stream:            r.ident("stream id"),
		PartitionsCount:   r.u32("partitions count"),
		Compression:       CompressionAlgorithm(r.u8("compression")),
		MessageExpiry:     r.u64("message expiry"),
		MaxTopicSize:      r.u64("max topic size"),
		ReplicationFactor: r.u8("replication factor"),
		Name:              r.name8("name"),
	}, r)
}

// EncodeCreateTopic appends the payload of v to dst.
func EncodeCreateTopic(dst []byte, v CreateTopic) []byte {
	dst = AppendIdentifier(dst, v.Stream)
	dst = appendU32(dst, v.PartitionsCount)
	dst = append(dst, byte(v.Compression))
	dst = appendU64(dst, v.MessageExpiry)
	dst = appendU64(dst, v.MaxTopicSize)
	dst = append(dst, v.ReplicationFactor)
	return appendName8(dst, v.Name)
}

// DeleteTopic (303) deletes a topic and everything below it.
type DeleteTopic struct{ Stream, Topic Identifier }

// Command implements Request.
func (DeleteTopic) Command() Command { return CmdDeleteTopic }

// DecodeDeleteTopic decodes [Id stream][Id topic].
func DecodeDeleteTopic(p []byte) (DeleteTopic, error) {
	r := newRd("delete_topic", p)
	return done(DeleteTopic{Stream: r.ident("stream id"), Topic: r.ident("topic id")}, r)
}

// EncodeDeleteTopic appends the payload of v to dst.
func EncodeDeleteTopic(dst []byte, v DeleteTopic) []byte {
	return AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic)
}

// UpdateTopic (304): Id, Id, u8 compression, u64 message_expiry, u64
// max_topic_size, u8 replication_factor, Name8 name. The server stores 0
// values as sent (no default resolution). Compression is not checked here
// (see CompressionAlgorithm.Valid).
type UpdateTopic struct {
	Stream, Topic     Identifier
	Compression       CompressionAlgorithm
	MessageExpiry     uint64
	MaxTopicSize      uint64
	ReplicationFactor uint8
	Name              string
}

// Command implements Request.
func (UpdateTopic) Command() Command { return CmdUpdateTopic }

// DecodeUpdateTopic decodes an UpdateTopic payload.
func DecodeUpdateTopic(p []byte) (UpdateTopic, error) {
	r := newRd("update_topic", p)
	return done(UpdateTopic{
		Stream:            r.ident("stream id"),
		Topic:             r.ident("topic id"),
		Compression:       CompressionAlgorithm(r.u8("compression")),
		MessageExpiry:     r.u64("message expiry"),
		MaxTopicSize:      r.u64("max topic size"),
		ReplicationFactor: r.u8("replication factor"),
		Name:              r.name8("name"),
	}, r)
}

// EncodeUpdateTopic appends the payload of v to dst.
func EncodeUpdateTopic(dst []byte, v UpdateTopic) []byte {
	dst = AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic)
	dst = append(dst, byte(v.Compression))
	dst = appendU64(dst, v.MessageExpiry)
	dst = appendU64(dst, v.MaxTopicSize)
	dst = append(dst, v.ReplicationFactor)
	return appendName8(dst, v.Name)
}

// CreatePartitions (402) appends Count partitions to a topic.
type CreatePartitions struct {
	Stream, Topic Identifier
	Count         uint32
}

// Command implements Request.
func (CreatePartitions) Command() Command { return CmdCreatePartitions }

// DecodeCreatePartitions decodes [Id][Id][u32 count].
func DecodeCreatePartitions(p []byte) (CreatePartitions, error) {
	r := newRd("create_partitions", p)
	return done(CreatePartitions{Stream: r.ident("stream id"), Topic: r.ident("topic id"), Count: r.u32("partitions count")}, r)
}

// EncodeCreatePartitions appends the payload of v to dst.
func EncodeCreatePartitions(dst []byte, v CreatePartitions) []byte {
	return appendU32(AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic), v.Count)
}

// DeletePartitions (403) removes the Count highest partitions of a topic.
type DeletePartitions struct {
	Stream, Topic Identifier
	Count         uint32
}

// Command implements Request.
func (DeletePartitions) Command() Command { return CmdDeletePartitions }

// DecodeDeletePartitions decodes [Id][Id][u32 count].
func DecodeDeletePartitions(p []byte) (DeletePartitions, error) {
	r := newRd("delete_partitions", p)
	return done(DeletePartitions{Stream: r.ident("stream id"), Topic: r.ident("topic id"), Count: r.u32("partitions count")}, r)
}

// EncodeDeletePartitions appends the payload of v to dst.
func EncodeDeletePartitions(dst []byte, v DeletePartitions) []byte {
	return appendU32(AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic), v.Count)
}

package iggyproto

// Commands of Iggy 0.8.0 that the Go SDK v0.8.0 never sends, decoded so a
// server can answer other clients (the Rust SDK and CLI) as Iggy does.

// GetSnapshotFile (11): u8 compression, u8 types_count, types_count x u8
// snapshot type. The values are kept raw; Iggy validates them when it
// builds the snapshot.
type GetSnapshotFile struct {
	Compression uint8
	Types       []uint8
}

// Command implements Request.
func (GetSnapshotFile) Command() Command { return CmdGetSnapshotFile }

// DecodeGetSnapshotFile decodes a GetSnapshotFile payload. Types aliases p.
func DecodeGetSnapshotFile(p []byte) (GetSnapshotFile, error) {
	r := newRd("get_snapshot_file", p)
	v := GetSnapshotFile{Compression: r.u8("compression")}
	n := r.u8("types count")
	v.Types = r.take(int(n), "snapshot types")
	return done(v, r)
}

// EncodeGetSnapshotFile appends the payload of v to dst; at most 255 types
// are written.
func EncodeGetSnapshotFile(dst []byte, v GetSnapshotFile) []byte {
	t := v.Types
	if len(t) > 255 {
		t = t[:255]
	}
	return append(append(dst, v.Compression, byte(len(t))), t...)
}

// FlushUnsavedBuffer (102): Id stream, Id topic, u32 partition_id, u8 fsync
// (non-zero = true).
type FlushUnsavedBuffer struct {
	Stream, Topic Identifier
	PartitionID   uint32
	Fsync         bool
}

// Command implements Request.
func (FlushUnsavedBuffer) Command() Command { return CmdFlushUnsavedBuffer }

// DecodeFlushUnsavedBuffer decodes a FlushUnsavedBuffer payload.
func DecodeFlushUnsavedBuffer(p []byte) (FlushUnsavedBuffer, error) {
	r := newRd("flush_unsaved_buffer", p)
	return done(FlushUnsavedBuffer{Stream: r.ident("stream id"), Topic: r.ident("topic id"),
		PartitionID: r.u32("partition id"), Fsync: r.flag("fsync")}, r)
}

// EncodeFlushUnsavedBuffer appends the payload of v to dst.
func EncodeFlushUnsavedBuffer(dst []byte, v FlushUnsavedBuffer) []byte {
	dst = appendU32(AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic), v.PartitionID)
	return appendBool(dst, v.Fsync)
}

// PurgeStream (205) deletes every message of a stream, keeping its topics.
type PurgeStream struct{ Stream Identifier }

// Command implements Request.
func (PurgeStream) Command() Command { return CmdPurgeStream }

// DecodePurgeStream decodes [Id stream].
func DecodePurgeStream(p []byte) (PurgeStream, error) {
	r := newRd("purge_stream", p)
	return done(PurgeStream{Stream: r.ident("stream id")}, r)
}

// EncodePurgeStream appends the payload of v to dst.
func EncodePurgeStream(dst []byte, v PurgeStream) []byte { return AppendIdentifier(dst, v.Stream) }

// PurgeTopic (305) deletes every message of a topic.
type PurgeTopic struct{ Stream, Topic Identifier }

// Command implements Request.
func (PurgeTopic) Command() Command { return CmdPurgeTopic }

// DecodePurgeTopic decodes [Id stream][Id topic].
func DecodePurgeTopic(p []byte) (PurgeTopic, error) {
	r := newRd("purge_topic", p)
	return done(PurgeTopic{Stream: r.ident("stream id"), Topic: r.ident("topic id")}, r)
}

// EncodePurgeTopic appends the payload of v to dst.
func EncodePurgeTopic(dst []byte, v PurgeTopic) []byte {
	return AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic)
}

// DeleteSegments (503): Id stream, Id topic, u32 partition_id, u32
// segments_count (the oldest segments of that partition are deleted).
type DeleteSegments struct {
	Stream, Topic Identifier
	PartitionID   uint32
	SegmentsCount uint32
}

// Command implements Request.
func (DeleteSegments) Command() Command { return CmdDeleteSegments }

// DecodeDeleteSegments decodes a DeleteSegments payload.
func DecodeDeleteSegments(p []byte) (DeleteSegments, error) {
	r := newRd("delete_segments", p)
	return done(DeleteSegments{Stream: r.ident("stream id"), Topic: r.ident("topic id"),
		PartitionID: r.u32("partition id"), SegmentsCount: r.u32("segments count")}, r)
}

// EncodeDeleteSegments appends the payload of v to dst.
func EncodeDeleteSegments(dst []byte, v DeleteSegments) []byte {
	return appendU32(appendU32(AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic), v.PartitionID), v.SegmentsCount)
}

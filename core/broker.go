package core

import (
	"context"
	"time"
)

// Broker is the stream port: what the transport needs from an Iggy broker.
// The embedded connector implements it in-process; the remote connector
// implements it over the official Iggy Go SDK.
//
// Streams, topics and consumer groups are addressed by name. Partitions are
// numbered from 0, as in Iggy 0.8.0. Implementations are safe for concurrent
// use. Every method honours ctx: when ctx ends, the call returns ctx's error
// (wrapped), though the broker may still complete the request.
//
// Errors wrap the sentinels of this package: ErrNotFound for a missing
// stream, topic, partition or group; ErrAlreadyExists for a taken name;
// ErrInvalid for a request the broker refuses; ErrUnavailable while the
// broker cannot be reached; ErrClosed after Close.
type Broker interface {
	// Ping checks that the broker answers and returns the round trip.
	Ping(ctx context.Context) (time.Duration, error)

	// CreateStream creates a stream. A taken name gives ErrAlreadyExists.
	CreateStream(ctx context.Context, name string) (StreamInfo, error)
	// Stream describes a stream and its topics.
	Stream(ctx context.Context, name string) (StreamInfo, error)

	// CreateTopic creates a topic in a stream. A taken name gives
	// ErrAlreadyExists.
	CreateTopic(ctx context.Context, stream, name string, cfg TopicConfig) (TopicInfo, error)
	// Topic describes a topic and its partitions.
	Topic(ctx context.Context, stream, topic string) (TopicInfo, error)
	// CreatePartitions appends count partitions to a topic; their ids
	// follow the existing ones.
	CreatePartitions(ctx context.Context, stream, topic string, count uint32) error

	// Send appends msgs, in order, to one partition chosen by p. When it
	// returns nil every message is stored; on error, none or some may be.
	// A zero Message.ID makes the broker assign a random one. The broker
	// sets Offset, Timestamp and Checksum; the caller's values are ignored.
	// Send does not retain msgs or their payloads after it returns.
	Send(ctx context.Context, stream, topic string, p Partitioning, msgs []Message) error

	// Poll reads messages from one partition for a single (non-group)
	// consumer. Unless req.MaxWait asks for it (and the broker is a
	// LongPoller), it never waits for new messages: an empty result means
	// none are available now. The returned messages do not alias broker
	// memory and may be kept.
	Poll(ctx context.Context, req PollRequest) (Polled, error)

	// StoreOffset stores a consumer's offset on a partition: the offset
	// of the last message it processed. The offset must not be beyond the
	// partition's current offset (ErrInvalid).
	StoreOffset(ctx context.Context, c Consumer, stream, topic string, partition uint32, offset uint64) error
	// Offset returns a consumer's stored offset on a partition, or
	// ErrNotFound when none is stored.
	Offset(ctx context.Context, c Consumer, stream, topic string, partition uint32) (OffsetInfo, error)

	// CreateGroup creates a consumer group on a topic. A taken name gives
	// ErrAlreadyExists.
	CreateGroup(ctx context.Context, stream, topic, group string) (GroupInfo, error)
	// Group describes a consumer group and its members' partitions.
	Group(ctx context.Context, stream, topic, group string) (GroupInfo, error)
	// JoinGroup makes a new member of an existing group and returns it.
	// Each member is its own broker session: the broker assigns it a share
	// of the topic's partitions and rebalances when members join or leave.
	// On Iggy 0.8.0 (and the embedded broker) a join is cooperative: the
	// new member takes at most one partition from the others, and only once
	// its owner stored the offset of what it polled there (or after the
	// broker's rebalancing timeout); until then Group lists the partition
	// under its owner, whose polls without a partition skip it, and the new
	// member reads nothing from it. A leave rebalances fully.
	JoinGroup(ctx context.Context, stream, topic, group string) (GroupMember, error)

	// Close releases the connector's resources. Calls made after it return
	// ErrClosed. Members returned by JoinGroup leave their groups. It is
	// safe to call more than once.
	Close() error
}

// GroupMember is one member of a consumer group: a broker session that
// polls the partitions assigned to it. Offsets stored through a member are
// the group's offsets, shared by all members. A member is safe for
// concurrent use, but the broker serves it one request at a time.
type GroupMember interface {
	// Poll reads messages from a partition assigned to this member. With
	// Partition nil the broker picks the member's partitions in turn (one
	// partition per call); the result names the partition read. A partition
	// not assigned to this member yields an empty result. Poll does not
	// wait for new messages unless req.MaxWait asks for it and the broker
	// that made the member is a LongPoller.
	Poll(ctx context.Context, req GroupPoll) (Polled, error)
	// StoreOffset stores the group's offset on a partition owned by this
	// member: the offset of the last message processed.
	StoreOffset(ctx context.Context, partition uint32, offset uint64) error
	// Leave leaves the group and ends the session; the broker rebalances
	// the member's partitions to the remaining members. Calls after Leave
	// return ErrClosed. It is safe to call more than once.
	Leave(ctx context.Context) error
}

// TopicConfig configures a new topic.
type TopicConfig struct {
	// Partitions is the number of partitions, 0 to 1000.
	Partitions uint32
	// MessageExpiry is how long messages are kept; 0 keeps them forever.
	// Iggy counts it in microseconds.
	MessageExpiry time.Duration
	// MaxSize caps the topic's size in bytes, oldest segments dropped
	// first; 0 means unlimited.
	MaxSize uint64
	// ReplicationFactor is kept as metadata; 0 means 1.
	ReplicationFactor uint8
}

// StreamInfo describes a stream.
type StreamInfo struct {
	ID            uint32
	Name          string
	CreatedAt     time.Time
	SizeBytes     uint64
	MessagesCount uint64
	// Topics lists the stream's topics by id; their Partitions field is
	// nil.
	Topics []TopicInfo
}

// TopicInfo describes a topic.
type TopicInfo struct {
	ID                uint32
	Name              string
	CreatedAt         time.Time
	PartitionsCount   uint32
	MessageExpiry     time.Duration // 0 = never
	MaxSize           uint64        // 0 = unlimited
	ReplicationFactor uint8
	SizeBytes         uint64
	MessagesCount     uint64
	// Partitions lists the partitions by id (only filled by Broker.Topic
	// and Broker.CreateTopic).
	Partitions []PartitionInfo
}

// PartitionInfo describes a partition.
type PartitionInfo struct {
	ID            uint32
	CreatedAt     time.Time
	SegmentsCount uint32
	// CurrentOffset is the offset of the partition's last message; 0 when
	// it is empty (check MessagesCount).
	CurrentOffset uint64
	SizeBytes     uint64
	MessagesCount uint64
}

// GroupInfo describes a consumer group.
type GroupInfo struct {
	ID              uint32
	Name            string
	PartitionsCount uint32
	Members         []GroupMemberInfo
}

// GroupMemberInfo is one member of a group and the partitions assigned to
// it.
type GroupMemberInfo struct {
	ID         uint32
	Partitions []uint32
}

// OffsetInfo is a consumer's position on a partition.
type OffsetInfo struct {
	Partition uint32
	// CurrentOffset is the partition's last offset.
	CurrentOffset uint64
	// StoredOffset is the consumer's stored offset: the last message it
	// processed.
	StoredOffset uint64
}

// Message is one Iggy message.
type Message struct {
	// ID is the Iggy message id, a 128-bit number in little-endian byte
	// order as it sits on the wire. The transport stores an event's UUID
	// as the number Uuid::as_u128 gives in Rust, so see MessageIDFromUUID.
	// A zero ID on send makes the broker assign a random one.
	ID [16]byte
	// Offset is the message's position in its partition (set by the
	// broker).
	Offset uint64
	// Timestamp is when the broker stored the message (µs precision).
	Timestamp time.Time
	// OriginTimestamp is when the producer made the message (µs
	// precision); zero on send means now.
	OriginTimestamp time.Time
	// Checksum is the broker's XXH3-64 of the stored message.
	Checksum uint64
	// Headers are the Iggy user headers.
	Headers Headers
	// Payload is the message body.
	Payload []byte
}

// MessageIDFromUUID returns the Iggy message id for a UUID: the UUID read as
// a big-endian 128-bit number (as Rust's Uuid::as_u128), written
// little-endian as Iggy stores it.
func MessageIDFromUUID(u [16]byte) [16]byte {
	var id [16]byte
	for i := range 16 {
		id[i] = u[15-i]
	}
	return id
}

// UUIDFromMessageID is the inverse of MessageIDFromUUID.
func UUIDFromMessageID(id [16]byte) [16]byte { return MessageIDFromUUID(id) }

// PartitioningKind says how Send picks a partition.
type PartitioningKind uint8

// Partitioning kinds, numbered as on the Iggy wire.
const (
	// PartitionBalanced picks partitions round robin.
	PartitionBalanced PartitioningKind = 1
	// PartitionByID uses Partitioning.Partition.
	PartitionByID PartitioningKind = 2
	// PartitionByKey uses XXH32(Partitioning.Key) modulo the partition
	// count.
	PartitionByKey PartitioningKind = 3
)

// Partitioning chooses the partition of a Send.
type Partitioning struct {
	Kind      PartitioningKind
	Partition uint32 // for PartitionByID
	Key       []byte // for PartitionByKey, 1 to 255 bytes
}

// Balanced spreads sends over the partitions round robin.
func Balanced() Partitioning { return Partitioning{Kind: PartitionBalanced} }

// ToPartition sends to the partition with the given id.
func ToPartition(id uint32) Partitioning {
	return Partitioning{Kind: PartitionByID, Partition: id}
}

// ByKey sends to the partition XXH32(key) modulo the partition count, as
// Iggy's messages-key partitioning does; the same key always lands on the
// same partition while the partition count stays.
func ByKey(key []byte) Partitioning { return Partitioning{Kind: PartitionByKey, Key: key} }

// PollKind is a polling strategy, numbered as on the Iggy wire.
type PollKind uint8

// Polling strategies.
const (
	// PollOffset starts at PollStrategy.Value.
	PollOffset PollKind = 1
	// PollTimestamp starts at the first message stored at or after
	// PollStrategy.Value (Unix microseconds).
	PollTimestamp PollKind = 2
	// PollFirst starts at the first retained message.
	PollFirst PollKind = 3
	// PollLast returns the last Count messages.
	PollLast PollKind = 4
	// PollNext starts after the consumer's stored offset, or at the first
	// message when none is stored.
	PollNext PollKind = 5
)

// PollStrategy says where a poll starts.
type PollStrategy struct {
	Kind  PollKind
	Value uint64
}

// FromOffset polls from an offset.
func FromOffset(offset uint64) PollStrategy { return PollStrategy{Kind: PollOffset, Value: offset} }

// FromTime polls from the first message stored at or after t.
func FromTime(t time.Time) PollStrategy {
	return PollStrategy{Kind: PollTimestamp, Value: uint64(t.UnixMicro())}
}

// First polls from the first retained message.
func First() PollStrategy { return PollStrategy{Kind: PollFirst} }

// Last polls the last messages.
func Last() PollStrategy { return PollStrategy{Kind: PollLast} }

// Next polls after the consumer's stored offset.
func Next() PollStrategy { return PollStrategy{Kind: PollNext} }

// ConsumerKind distinguishes a single consumer from a consumer group.
type ConsumerKind uint8

// Consumer kinds, numbered as on the Iggy wire.
const (
	SingleConsumer ConsumerKind = 1
	GroupConsumer  ConsumerKind = 2
)

// Consumer names whose offsets a poll or offset call uses.
type Consumer struct {
	Kind ConsumerKind
	// Name is the consumer's or group's name. Iggy maps a single
	// consumer's name to a numeric id with XXH32.
	Name string
}

// PollRequest is a single consumer's poll of one partition.
type PollRequest struct {
	Stream, Topic string
	Partition     uint32
	// Consumer is used by PollNext and AutoCommit; its Kind must be
	// SingleConsumer (groups poll through GroupMember).
	Consumer Consumer
	Strategy PollStrategy
	// Count is the most messages to return.
	Count uint32
	// AutoCommit stores the offset of the last returned message as the
	// consumer's offset before the call returns (at most once).
	AutoCommit bool
	// MaxWait, when positive, is the longest the poll waits for messages
	// when none is available: if the poll would return no messages, the
	// call waits until a message is appended to the partition, until
	// MaxWait has passed, or until ctx ends, and then polls again (perhaps
	// more than once within MaxWait). It returns as soon as it has messages, an empty
	// result once MaxWait has passed without any, and ctx's error (wrapped)
	// if ctx ends first. No lock is held while it waits, so other calls
	// proceed. Zero or negative means do not wait. Only a broker that
	// implements LongPoller with LongPoll() == true waits; any other
	// ignores MaxWait and returns at once (the remote connector: Iggy 0.8.0
	// has no long poll), so a caller must be ready for an early empty
	// result either way.
	MaxWait time.Duration
}

// GroupPoll is a group member's poll.
type GroupPoll struct {
	// Partition, when not nil, names the partition to read; it must be
	// assigned to the member.
	Partition  *uint32
	Strategy   PollStrategy
	Count      uint32
	AutoCommit bool
	// MaxWait, when positive, is the longest the poll waits for messages
	// when none is available: if the poll would return no messages, the
	// call waits until a message is appended to the named partition (with
	// Partition nil: to any of the member's partitions, all of which are
	// polled before it waits), until MaxWait has passed, or until ctx ends,
	// and then polls again (perhaps more than once within MaxWait). It returns as soon as it has messages, an empty
	// result once MaxWait has passed without any, and ctx's error (wrapped)
	// if ctx ends first. No lock is held while it waits, so other calls
	// proceed. Zero or negative means do not wait. Only a broker that
	// implements LongPoller with LongPoll() == true waits; any other
	// ignores MaxWait and returns at once (the remote connector: Iggy 0.8.0
	// has no long poll), so a caller must be ready for an early empty
	// result either way.
	MaxWait time.Duration
}

// LongPoller is an optional capability of a Broker, found by type
// assertion. A Broker that implements it and returns true from LongPoll
// honours PollRequest.MaxWait and GroupPoll.MaxWait, for its own polls and
// for those of the members its JoinGroup returns; a caller can then wait in
// the poll instead of sleeping between empty polls.
type LongPoller interface {
	// LongPoll reports whether polls honour MaxWait. It is constant for
	// the broker's life and safe for concurrent use.
	LongPoll() bool
}

// Deleter is an optional capability of a Broker, found by type assertion:
// deleting what Broker creates. Deletes are permanent: a deleted stream or
// topic loses its messages, a deleted group its stored offsets. Each call
// is safe for concurrent use and honours ctx as Broker's methods do.
// Deleting something missing gives ErrNotFound, so a caller cleaning up
// can ignore that error with errors.Is.
type Deleter interface {
	// DeleteStream deletes a stream with its topics, messages, consumer
	// groups and offsets.
	DeleteStream(ctx context.Context, stream string) error
	// DeleteTopic deletes a topic with its partitions, messages, consumer
	// groups and offsets.
	DeleteTopic(ctx context.Context, stream, topic string) error
	// DeleteGroup deletes a consumer group and its stored offsets; its
	// members' next calls fail with ErrNotMember or ErrNotFound.
	DeleteGroup(ctx context.Context, stream, topic, group string) error
	// DeleteOffset deletes a single consumer's stored offset on a
	// partition; ErrNotFound when none is stored. A group's offsets go
	// with DeleteGroup: Iggy 0.8.0 deletes a group's offset only for a
	// member of the group, so Kind GroupConsumer gives ErrInvalid.
	DeleteOffset(ctx context.Context, c Consumer, stream, topic string, partition uint32) error
}

// Polled is the result of a poll.
type Polled struct {
	// Partition is the partition read.
	Partition uint32
	// CurrentOffset is the partition's last offset (0 when empty).
	CurrentOffset uint64
	// Messages are in offset order.
	Messages []Message
}

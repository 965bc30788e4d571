package embedded

import (
	"fmt"
	"math"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// microTime converts Unix microseconds; 0 is the zero time.
func microTime(us uint64) time.Time {
	if us == 0 || us > math.MaxInt64 {
		return time.Time{}
	}
	return time.UnixMicro(int64(us))
}

// expiryToWire converts a message expiry to Iggy's microseconds, rounding
// up; 0 asks for "never".
func expiryToWire(d time.Duration) (uint64, error) {
	if d < 0 {
		return 0, fmt.Errorf("%w: negative message expiry %s", core.ErrInvalid, d)
	}
	us := d / time.Microsecond
	if d%time.Microsecond != 0 {
		us++
	}
	return uint64(us), nil
}

// expiryFromWire converts a stored expiry: "never" (u64 max) and "server
// default" (0) are both 0.
func expiryFromWire(v uint64) time.Duration {
	if v == 0 || v == math.MaxUint64 || v > uint64(math.MaxInt64/int64(time.Microsecond)) {
		return 0
	}
	return time.Duration(v) * time.Microsecond
}

// sizeFromWire converts a stored max topic size: "unlimited" (u64 max) and
// "server default" (0) are both 0.
func sizeFromWire(v uint64) uint64 {
	if v == math.MaxUint64 {
		return 0
	}
	return v
}

func streamInfo(s broker.StreamInfo) core.StreamInfo {
	out := core.StreamInfo{
		ID:            s.ID,
		Name:          s.Name,
		CreatedAt:     microTime(s.CreatedAt),
		SizeBytes:     s.SizeBytes,
		MessagesCount: s.MessagesCount,
	}
	if len(s.Topics) > 0 {
		out.Topics = make([]core.TopicInfo, len(s.Topics))
		for i := range s.Topics {
			out.Topics[i] = topicInfo(s.Topics[i])
			out.Topics[i].Partitions = nil
		}
	}
	return out
}

func topicInfo(t broker.TopicInfo) core.TopicInfo {
	out := core.TopicInfo{
		ID:                t.ID,
		Name:              t.Name,
		CreatedAt:         microTime(t.CreatedAt),
		PartitionsCount:   t.PartitionsCount,
		MessageExpiry:     expiryFromWire(t.MessageExpiry),
		MaxSize:           sizeFromWire(t.MaxTopicSize),
		ReplicationFactor: t.ReplicationFactor,
		SizeBytes:         t.SizeBytes,
		MessagesCount:     t.MessagesCount,
	}
	if t.Partitions != nil {
		out.Partitions = make([]core.PartitionInfo, len(t.Partitions))
		for i, p := range t.Partitions {
			out.Partitions[i] = core.PartitionInfo{
				ID:            p.ID,
				CreatedAt:     microTime(p.CreatedAt),
				SegmentsCount: p.SegmentsCount,
				CurrentOffset: p.CurrentOffset,
				SizeBytes:     p.SizeBytes,
				MessagesCount: p.MessagesCount,
			}
		}
	}
	return out
}

func groupInfo(g broker.GroupInfo) core.GroupInfo {
	out := core.GroupInfo{ID: g.ID, Name: g.Name, PartitionsCount: g.PartitionsCount}
	for _, m := range g.Members {
		out.Members = append(out.Members, core.GroupMemberInfo{ID: m.ID, Partitions: append([]uint32(nil), m.Partitions...)})
	}
	return out
}

// partitioning converts a core.Partitioning; a key must be 1 to 255 bytes,
// as on the Iggy wire.
func partitioning(p core.Partitioning) (broker.Partitioning, error) {
	switch p.Kind {
	case core.PartitionBalanced:
		return broker.Partitioning{Kind: broker.PartitionBalanced}, nil
	case core.PartitionByID:
		return broker.Partitioning{Kind: broker.PartitionByID, PartitionID: p.Partition}, nil
	case core.PartitionByKey:
		if n := len(p.Key); n == 0 || n > 255 {
			return broker.Partitioning{}, fmt.Errorf("%w: partition key is %d bytes, want 1 to 255", core.ErrInvalid, n)
		}
		return broker.Partitioning{Kind: broker.PartitionByKey, Key: p.Key}, nil
	}
	return broker.Partitioning{}, fmt.Errorf("%w: unknown partitioning kind %d", core.ErrInvalid, p.Kind)
}

// strategy converts a core.PollStrategy.
func strategy(s core.PollStrategy) (broker.PollStrategy, error) {
	if s.Kind < core.PollOffset || s.Kind > core.PollNext {
		return broker.PollStrategy{}, fmt.Errorf("%w: unknown poll strategy %d", core.ErrInvalid, s.Kind)
	}
	return broker.PollStrategy{Kind: broker.PollKind(s.Kind), Value: s.Value}, nil
}

// consumer converts a core.Consumer. A single consumer's name is hashed
// with XXH32 as Iggy does for a consumer named by a string; an empty name
// is consumer id 0 (what the remote connector sends). A zero Kind is a
// single consumer.
func consumer(c core.Consumer) (broker.Consumer, error) {
	switch c.Kind {
	case core.SingleConsumer, 0:
		if c.Name == "" {
			return broker.Consumer{Kind: broker.SingleConsumer}, nil
		}
		if len(c.Name) > 255 {
			return broker.Consumer{}, fmt.Errorf("%w: consumer name is %d bytes, want 1 to 255", core.ErrInvalid, len(c.Name))
		}
		return broker.Consumer{Kind: broker.SingleConsumer, ID: broker.ConsumerIDFromName(c.Name)}, nil
	case core.GroupConsumer:
		if n := len(c.Name); n == 0 || n > 255 {
			return broker.Consumer{}, fmt.Errorf("%w: group name is %d bytes, want 1 to 255", core.ErrInvalid, n)
		}
		return broker.Consumer{Kind: broker.GroupConsumer, Group: iggyproto.NamedID(c.Name)}, nil
	}
	return broker.Consumer{}, fmt.Errorf("%w: unknown consumer kind %d", core.ErrInvalid, c.Kind)
}

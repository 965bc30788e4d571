package iggywm

import (
	"crypto/sha256"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/rustok/rustok-iggy/core"
)

// Partitioner picks the Iggy partition of each published message. A
// Publisher calls it once per message, concurrently from concurrent
// Publish calls; it must not block. An error fails the Publish before
// anything of it is sent.
//
// Consecutive messages of one Publish call that get equal partitionings
// are sent as one batch, in order; so are the messages of a key.
type Partitioner func(topic string, msg *message.Message) (core.Partitioning, error)

// Balanced is the default Partitioner: Iggy's balanced partitioning, which
// spreads the batches of Publish calls over the topic's partitions round
// robin. Order holds only within one partition, so with more than one
// partition subscribers see messages out of publish order.
func Balanced() Partitioner {
	return func(string, *message.Message) (core.Partitioning, error) { return core.Balanced(), nil }
}

// ByMetadata partitions by the value of a metadata key with Iggy's
// messages-key partitioning (XXH32 of the key modulo the partition count),
// so the messages of one value stay in one partition, in publish order,
// and a Go or Rust producer using the same key reaches the same partition.
// A value longer than 255 bytes (Iggy's limit for a key) is replaced by
// its SHA-256 digest. A message without the key, or with an empty value,
// is partitioned Balanced.
func ByMetadata(key string) Partitioner {
	return func(_ string, msg *message.Message) (core.Partitioning, error) {
		return byKey(msg.Metadata.Get(key)), nil
	}
}

// byKey is the messages-key partitioning for v (see ByMetadata).
func byKey(v string) core.Partitioning {
	switch {
	case v == "":
		return core.Balanced()
	case len(v) > MaxHeaderField:
		sum := sha256.Sum256([]byte(v))
		return core.ByKey(sum[:])
	default:
		return core.ByKey([]byte(v))
	}
}

// samePartitioning reports whether two partitionings choose the same
// partition.
func samePartitioning(a, b core.Partitioning) bool {
	return a.Kind == b.Kind && a.Partition == b.Partition && string(a.Key) == string(b.Key)
}

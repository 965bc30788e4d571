package iggyproto

import "github.com/OneOfOne/xxhash"

// KeyHash is XXH32 (seed 0) of key, the hash Iggy uses for messages-key
// partitioning and for string consumer ids.
func KeyHash(key []byte) uint32 { return xxhash.Checksum32(key) }

// PartitionForKey returns the 0-based partition a messages key lands on:
// XXH32(key, seed 0) mod partitions, as Iggy 0.8.0 computes it, so Go and
// Rust producers agree. partitions == 0 gives CodeTopicIDNotFound (the
// real server divides by zero there; balanced sends to such a topic give
// 2010).
func PartitionForKey(key []byte, partitions uint32) (uint32, error) {
	if partitions == 0 {
		return 0, &Error{Code: CodeTopicIDNotFound, Msg: "messages key partitioning on a topic without partitions"}
	}
	return KeyHash(key) % partitions, nil
}

// ConsumerIDForName is the numeric consumer id a single consumer with a
// string identifier stands for: XXH32 of the name (fact sheet 7.1).
func ConsumerIDForName(name string) uint32 { return xxhash.ChecksumString32(name) }

// SelectPartition resolves p against a topic with the given partition
// count (fact sheet 6.4). For balanced partitioning it calls next, the
// topic's round-robin counter (it must return 0, 1, 2, ... and is taken
// modulo partitions here). Errors: no partitions -> CodeTopicIDNotFound;
// a partition id >= partitions -> CodePartitionNotFound; unknown kind ->
// CodeInvalidCommand.
func SelectPartition(p Partitioning, partitions uint32, next func() uint32) (uint32, error) {
	switch p.Kind {
	case PartitionBalanced:
		if partitions == 0 {
			return 0, &Error{Code: CodeTopicIDNotFound, Msg: "balanced partitioning on a topic without partitions"}
		}
		return next() % partitions, nil
	case PartitionByID:
		if p.PartitionID >= partitions {
			return 0, Errorf(CodePartitionNotFound, "partition %d of %d", p.PartitionID, partitions)
		}
		return p.PartitionID, nil
	case PartitionByMessageKey:
		return PartitionForKey(p.Key, partitions)
	}
	return 0, Errorf(CodeInvalidCommand, "partitioning kind %d", p.Kind)
}

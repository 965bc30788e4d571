package transport

import "github.com/OneOfOne/xxhash"

// XXH32 returns the 32-bit xxHash of b with seed 0, the hash Iggy uses for
// messages-key partitioning and for single-consumer names. It is the same
// function the embedded broker partitions with (github.com/OneOfOne/xxhash).
func XXH32(b []byte) uint32 { return xxhash.Checksum32S(b, 0) }

// PartitionFor returns the partition Iggy's messages-key partitioning picks
// for key among count partitions: XXH32(key) mod count. It returns 0 when
// count is 0.
func PartitionFor(key []byte, count uint32) uint32 {
	if count == 0 {
		return 0
	}
	return XXH32(key) % count
}

// TenantPartition returns the partition of a tenant's events among count
// partitions: the messages-key partition of the tenant id's lower-case
// hyphenated string, as the transport and the Rust service send it.
func TenantPartition(tenant [16]byte, count uint32) uint32 {
	var buf [36]byte
	return PartitionFor(appendUUID(buf[:0], tenant), count)
}

// appendUUID appends u in its canonical lower-case hyphenated form, without
// allocating when dst has room.
func appendUUID(dst []byte, u [16]byte) []byte {
	const hexdig = "0123456789abcdef"
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexdig[c>>4], hexdig[c&0xf])
	}
	return dst
}

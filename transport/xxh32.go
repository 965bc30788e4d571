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
	formatUUID(&buf, &tenant)
	return PartitionFor(buf[:], count)
}

// appendUUID appends u in its canonical lower-case hyphenated form, without
// allocating when dst has room.
func appendUUID(dst []byte, u [16]byte) []byte {
	var b [36]byte
	formatUUID(&b, &u)
	return append(dst, b[:]...)
}

// formatUUID writes u's canonical form into b (fixed offsets, no bounds
// checks in the loop).
func formatUUID(b *[36]byte, u *[16]byte) {
	const hexdig = "0123456789abcdef"
	hex := func(at int, c byte) {
		b[at] = hexdig[c>>4]
		b[at+1] = hexdig[c&0xf]
	}
	hex(0, u[0])
	hex(2, u[1])
	hex(4, u[2])
	hex(6, u[3])
	b[8] = '-'
	hex(9, u[4])
	hex(11, u[5])
	b[13] = '-'
	hex(14, u[6])
	hex(16, u[7])
	b[18] = '-'
	hex(19, u[8])
	hex(21, u[9])
	b[23] = '-'
	hex(24, u[10])
	hex(26, u[11])
	hex(28, u[12])
	hex(30, u[13])
	hex(32, u[14])
	hex(34, u[15])
}

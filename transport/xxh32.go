package transport

import (
	"encoding/binary"
	"math/bits"
)

// XXH32 primes, from the xxHash specification.
const (
	xxPrime1 uint32 = 2654435761
	xxPrime2 uint32 = 2246822519
	xxPrime3 uint32 = 3266489917
	xxPrime4 uint32 = 668265263
	xxPrime5 uint32 = 374761393
)

// XXH32 returns the 32-bit xxHash of b with seed 0, the hash Iggy uses for
// messages-key partitioning and for single-consumer names.
func XXH32(b []byte) uint32 {
	n := len(b)
	var h uint32
	if n >= 16 {
		p1, p2 := xxPrime1, xxPrime2 // variables: the sums wrap around
		v1 := p1 + p2
		v2 := p2
		v3 := uint32(0)
		v4 := v3 - p1
		for len(b) >= 16 {
			v1 = xxRound(v1, binary.LittleEndian.Uint32(b[0:]))
			v2 = xxRound(v2, binary.LittleEndian.Uint32(b[4:]))
			v3 = xxRound(v3, binary.LittleEndian.Uint32(b[8:]))
			v4 = xxRound(v4, binary.LittleEndian.Uint32(b[12:]))
			b = b[16:]
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = xxPrime5
	}
	h += uint32(n)
	for len(b) >= 4 {
		h += binary.LittleEndian.Uint32(b) * xxPrime3
		h = bits.RotateLeft32(h, 17) * xxPrime4
		b = b[4:]
	}
	for _, c := range b {
		h += uint32(c) * xxPrime5
		h = bits.RotateLeft32(h, 11) * xxPrime1
	}
	h ^= h >> 15
	h *= xxPrime2
	h ^= h >> 13
	h *= xxPrime3
	h ^= h >> 16
	return h
}

func xxRound(acc, in uint32) uint32 {
	acc += in * xxPrime2
	acc = bits.RotateLeft32(acc, 13)
	return acc * xxPrime1
}

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

package broker

import "github.com/OneOfOne/xxhash"

// XXH32 returns the 32-bit xxHash of b with seed 0, the hash Iggy uses for
// messages-key partitioning and for single consumers named by a string.
// XXH32("") = 0x02CC5D05, XXH32("abc") = 0x32D153FF.
func XXH32(b []byte) uint32 { return xxhash.Checksum32S(b, 0) }

// ConsumerIDFromName is the numeric id of a single consumer identified by a
// name on the wire: XXH32 of the name's bytes.
func ConsumerIDFromName(name string) uint32 { return XXH32([]byte(name)) }

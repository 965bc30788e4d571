package connectortest

import "testing"

func TestXXH32Vectors(t *testing.T) {
	for in, want := range map[string]uint32{
		"":    0x02CC5D05,
		"abc": 0x32D153FF,
		// Longer than one 16-byte stripe (published reference value).
		"Nobody inspects the spammish repetition": 0xE2293B2F,
	} {
		if got := xxh32([]byte(in)); got != want {
			t.Errorf("XXH32(%q) = %#08x, want %#08x", in, got, want)
		}
	}
}

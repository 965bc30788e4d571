package codec

import (
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

// The benchmarks use typicalEnvelope: every field set and 256 bytes of
// event data. "bytes/envelope" is the encoded size.

func BenchmarkEncode(b *testing.B) {
	for _, c := range codecs {
		b.Run(name(c), func(b *testing.B) {
			e := typicalEnvelope()
			out, err := c.Encode(e)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				if _, err := c.Encode(e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(out)), "bytes/envelope")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range codecs {
		b.Run(name(c), func(b *testing.B) {
			in, err := c.Encode(typicalEnvelope())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := c.Decode(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(in)), "bytes/envelope")
		})
	}
}

func name(c core.Codec) string {
	if c.ContentType() == ContentTypeCBOR {
		return "cbor"
	}
	return "json"
}

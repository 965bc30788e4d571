package codec

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

func addGoldenSeeds(f *testing.F, cbor bool) {
	for name := range goldenCases {
		if cbor {
			b, err := os.ReadFile(filepath.Join("testdata", name+".cbor.hex"))
			if err != nil {
				f.Fatal(err)
			}
			raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// fuzzRoundTrip checks that Decode never panics and that a decoded
// envelope re-encodes to bytes that decode to the same envelope and encode
// to the same bytes again; it also decodes a copy of the input that is then
// overwritten, to catch aliasing.
func fuzzRoundTrip(t *testing.T, c core.Codec, b []byte) {
	in := bytes.Clone(b)
	e1, err := c.Decode(in)
	if err != nil {
		return
	}
	for i := range in {
		in[i] ^= 0xff
	}
	e1b, err := c.Decode(b)
	if err != nil || !envelopesEqual(e1, e1b) {
		t.Fatalf("decoded envelope aliases its input (or decoding is not repeatable: %v)", err)
	}
	enc1, err := c.Encode(e1)
	if err != nil {
		if c.ContentType() == ContentTypeJSON {
			t.Fatalf("decoded envelope does not encode: %v", err)
		}
		return
	}
	e2, err := c.Decode(enc1)
	if err != nil {
		t.Fatalf("encoded envelope does not decode: %v\n%x", err, enc1)
	}
	enc2, err := c.Encode(e2)
	if err != nil || !bytes.Equal(enc1, enc2) {
		t.Fatalf("encoding is not stable (%v)\n%x\n%x", err, enc1, enc2)
	}
	if c.ContentType() == ContentTypeCBOR && !envelopesEqual(e1, e2) {
		t.Fatalf("round trip changed the envelope\n%+v\n%+v", e1, e2)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	addGoldenSeeds(f, false)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":null}`))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRoundTrip(t, JSON{}, b) })
}

func FuzzDecodeCBOR(f *testing.F) {
	addGoldenSeeds(f, true)
	f.Add([]byte{0xa0})
	f.Add([]byte{0xbf, 0xff})
	f.Add([]byte{0xa1, 0x07, 0xd9, 0x03, 0xe9, 0xa2, 0x01, 0x00, 0x28, 0x01})
	f.Add([]byte{0x9f, 0x9f, 0x9f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzRoundTrip(t, CBOR{}, b)
		// A CBOR-decoded envelope must also be writable as JSON unless
		// its event.data is not JSON.
		if e, err := (CBOR{}).Decode(b); err == nil {
			if _, err := (JSON{}).Encode(e); err != nil && !strings.Contains(err.Error(), "event.data") {
				t.Fatalf("CBOR-decoded envelope does not encode as JSON: %v", err)
			}
		}
	})
}

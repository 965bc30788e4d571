package codec

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCases are the envelopes whose encodings are pinned in testdata/:
// <name>.json holds the JSON codec's bytes, <name>.cbor.hex the CBOR
// codec's bytes in hex (one line).
var goldenCases = map[string]func() core.Envelope{
	"typical": typicalEnvelope,
	"minimal": minimalEnvelope,
}

func TestGolden(t *testing.T) {
	for name, mk := range goldenCases {
		e := mk()
		for _, c := range codecs {
			t.Run(name+"/"+c.ContentType(), func(t *testing.T) {
				got, err := c.Encode(e)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", name+".json")
				want := got
				if c.ContentType() == ContentTypeCBOR {
					path = filepath.Join("testdata", name+".cbor.hex")
					want = []byte(hex.EncodeToString(got) + "\n")
				}
				if *update {
					if err := os.WriteFile(path, want, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				file, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if !bytes.Equal(file, want) {
					t.Fatalf("encoding differs from %s\n got: %s\nwant: %s", path, want, file)
				}
				// The committed vector decodes to the envelope.
				raw := file
				if c.ContentType() == ContentTypeCBOR {
					if raw, err = hex.DecodeString(strings.TrimSpace(string(file))); err != nil {
						t.Fatal(err)
					}
				}
				back, err := c.Decode(raw)
				if err != nil {
					t.Fatal(err)
				}
				if !envelopesEqual(back, e) {
					t.Fatalf("golden vector decodes to %+v", back)
				}
			})
		}
	}
}

// TestRustGoldenThroughJSONCodec feeds the hand-written serde-shaped
// documents of core/testdata through the JSON codec, and converts each to
// CBOR and back, checking every field survives.
func TestRustGoldenThroughJSONCodec(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "core", "testdata", "envelope_*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no core golden documents found (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e, err := JSON{}.Decode(doc)
			if err != nil {
				t.Fatal(err)
			}
			again, err := JSON{}.Encode(e)
			if err != nil || !bytes.Equal(again, doc) {
				t.Fatalf("JSON re-encoding differs (%v)\n got: %s\nwant: %s", err, again, doc)
			}
			cb, err := CBOR{}.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			fromCBOR, err := CBOR{}.Decode(cb)
			if err != nil {
				t.Fatal(err)
			}
			if !envelopesEqual(fromCBOR, e) {
				t.Fatalf("CBOR round trip changed the envelope\n got %+v\nwant %+v", fromCBOR, e)
			}
			viaCBOR, err := JSON{}.Encode(fromCBOR)
			if err != nil || !bytes.Equal(viaCBOR, doc) {
				t.Fatalf("JSON -> CBOR -> JSON differs (%v)\n got: %s\nwant: %s", err, viaCBOR, doc)
			}
		})
	}
}

package core

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzEnvelopeJSON checks that decoding arbitrary bytes never panics and
// that whatever decodes is a fixed point after one encode: decode, encode,
// decode and encode again gives the same bytes and the same envelope.
func FuzzEnvelopeJSON(f *testing.F) {
	for _, name := range goldenEnvelopes {
		f.Add(readGolden(f, name))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f","event_type":"a","schema_version":1,"correlation_id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f","tenant_id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f","timestamp":"0000-01-01T00:00:00+01:00","event":{"type":"X"}}`))
	f.Add([]byte(`{"id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f","event_type":"a","schema_version":1,"correlation_id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f","tenant_id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f","timestamp":"9999-12-31T23:59:59-01:00","event":{"type":"X","data":[1, 2,{"<&>":"\u2028"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e1 Envelope
		if err := json.Unmarshal(b, &e1); err != nil {
			return
		}
		enc1, err := e1.MarshalJSON()
		if err != nil {
			t.Fatalf("decoded envelope does not encode: %v\ninput: %q", err, b)
		}
		var e2 Envelope
		if err := json.Unmarshal(enc1, &e2); err != nil {
			t.Fatalf("encoded envelope does not decode: %v\nencoded: %s", err, enc1)
		}
		enc2, err := e2.MarshalJSON()
		if err != nil {
			t.Fatalf("second encode: %v", err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("encoding is not stable\n1: %s\n2: %s", enc1, enc2)
		}
		if !envelopeFieldsEqual(e1, e2) || e1.Event.Type != e2.Event.Type {
			t.Fatalf("envelope changed across a round trip\n1: %+v\n2: %+v", e1, e2)
		}
		var c1, c2 bytes.Buffer
		if len(e1.Event.Data) > 0 {
			if err := json.Compact(&c1, e1.Event.Data); err != nil {
				t.Fatalf("decoded data is not JSON: %v", err)
			}
		}
		if len(e2.Event.Data) > 0 {
			_ = json.Compact(&c2, e2.Event.Data)
		}
		if !bytes.Equal(c1.Bytes(), c2.Bytes()) {
			t.Fatalf("event.data changed: %s vs %s", c1.Bytes(), c2.Bytes())
		}
	})
}

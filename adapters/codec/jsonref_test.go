package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// refDecodeJSON is the JSON codec's Decode before the fast path: the
// reference the fast decoder must agree with.
func refDecodeJSON(b []byte) (core.Envelope, error) {
	if err := checkSize("json", b); err != nil {
		return core.Envelope{}, err
	}
	var e core.Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return core.Envelope{}, fmt.Errorf("%w: json: %w", ErrDecode, err)
	}
	return e, nil
}

// refEncodeJSON is the JSON codec's Encode before the fast path.
func refEncodeJSON(e core.Envelope) ([]byte, error) {
	b, err := e.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("codec: encode json: %w", err)
	}
	return b, nil
}

// checkJSONAgainstRef decodes b with the codec and the reference and fails
// unless both accept with deeply equal envelopes or both reject with the
// same error; for an accepted input it also compares both encoders.
func checkJSONAgainstRef(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := JSON{}.Decode(b)
	want, wantErr := refDecodeJSON(b)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("decode %q: got error %v, reference %v", b, gotErr, wantErr)
	}
	if gotErr != nil {
		if !errors.Is(gotErr, ErrDecode) || gotErr.Error() != wantErr.Error() {
			t.Fatalf("decode %q: error %q, reference %q", b, gotErr, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode %q:\n got %#v\nwant %#v", b, got, want)
	}
	checkEncodeAgainstRef(t, got)
}

func checkEncodeAgainstRef(t *testing.T, e core.Envelope) {
	t.Helper()
	got, gotErr := JSON{}.Encode(e)
	want, wantErr := refEncodeJSON(e)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("encode %#v: error %v, reference %v", e, gotErr, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encode %#v:\n got %s\nwant %s", e, got, want)
	}
}

// jsonTrickySeeds are inputs at the edges of what the fast decoder takes:
// each must go the same way as through the reference.
var jsonTrickySeeds = []string{
	`{}`, `[]`, `null`, ``, ` `, `{"id":null}`,
	// Escapes, case folding, duplicates, unknown fields.
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"a\u0062","schema_version":1,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"2024-01-02T03:04:05Z","event":{"type":"X"}}`,
	`{"ID":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":1,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"2024-01-02T03:04:05Z","event":{"Type":"X"}}`,
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","id":"{0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f7}","event_type":"ab","schema_version":1,"correlation_id":"urn:uuid:0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190F2C45A6B7C8D9E0FA1B2C3D4E5F6","timestamp":"2024-01-02T03:04:05Z","event":{"type":"X","data":1,"data":null},"x":[{"y":-0.5e+3}]}`,
	// Numbers, nulls, whitespace, event data forms.
	"\t{ \"id\" : \"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6\" ,\n\"event_type\":\"\xe2\x80\xa8\xff\",\"schema_version\":65535,\"correlation_id\":\"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6\",\"causation_id\":null,\"tenant_id\":\"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6\",\"trace_id\":null,\"timestamp\":\"2024-01-02T03:04:05.123456789+05:30\",\"actor_id\":null,\"event\":{\"type\":null,\"data\": [ 1 , {\"a\" : \"\\ud800\"} ] },\"retry_count\":null}\r\n",
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":65536,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"2024-01-02T03:04:05Z","event":{"type":"X","data":null},"retry_count":4294967296}`,
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":1.0,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"2024-01-02T03:04:05Z","event":{"type":"X","data":"<&>"},"retry_count":1e2}`,
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":-0,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"10000-01-02T03:04:05Z","event":{"type":"X","data":{}}} x`,
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":01,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"0000-01-01T00:30:00+01:00","event":{}}`,
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":1,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"2024-01-02T03:04:05Z","event":null}`,
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":1,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"2024-01-02T03:04:05Z","event":{"type":"X","data":[[[[[[[[[[[]]]]]]]]]]]}}`,
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":1,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"2024-01-02T03:04:05Z","event":{"type":"X","data":tru}}`,
	`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":1,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","timestamp":"2024-01-02T03:04:05Z","event":{"type":"X","data":"\x01"}}`,
}

func addJSONDifferentialSeeds(f *testing.F) {
	addGoldenSeeds(f, false)
	files, err := filepath.Glob(filepath.Join("..", "..", "core", "testdata", "envelope_*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no core golden documents found (%v)", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range jsonTrickySeeds {
		f.Add([]byte(s))
	}
}

// FuzzJSONDifferential checks that the JSON codec's Decode and Encode agree
// with the reference path (encoding/json into core.Envelope and
// core.Envelope.MarshalJSON) on every input: accept or reject, the error,
// the decoded envelope and the encoded bytes.
func FuzzJSONDifferential(f *testing.F) {
	addJSONDifferentialSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) { checkJSONAgainstRef(t, b) })
}

// FuzzJSONEncodeDifferential checks Encode against MarshalJSON for
// envelopes whose strings, data and timestamp come from the fuzzer.
func FuzzJSONEncodeDifferential(f *testing.F) {
	f.Add("node.created", "trace-1", "NodeCreated", []byte(`{"a":[1,2.5e3,"x\n"]}`), int64(1_700_000_000), int64(123_000_000), uint32(3))
	f.Add("a\"b", "", "<&>", []byte(" { } "), int64(-62_135_596_800), int64(1), uint32(0))
	f.Add("\u2028", "\xff", "\x7f", []byte("null"), int64(253_402_300_800), int64(0), uint32(1))
	f.Add("t", "x", "T", []byte(`{"a":tru}`), int64(0), int64(999_999_999), uint32(1))
	f.Fuzz(func(t *testing.T, eventType, traceID, evType string, data []byte, sec, nsec int64, retries uint32) {
		e := typicalEnvelope()
		e.EventType, e.TraceID, e.Event.Type, e.Event.Data = eventType, traceID, evType, data
		e.Timestamp = time.Unix(sec, nsec)
		e.RetryCount = retries
		checkEncodeAgainstRef(t, e)
		e.CausationID, e.ActorID = [16]byte{}, [16]byte{}
		checkEncodeAgainstRef(t, e)
	})
}

func TestJSONMatchesReference(t *testing.T) {
	for _, s := range jsonTrickySeeds {
		checkJSONAgainstRef(t, []byte(s))
	}
	for name, mk := range goldenCases {
		b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		checkJSONAgainstRef(t, b)
		if _, ok := decodeJSONFast(b); !ok {
			t.Errorf("%s: golden document does not take the fast decoding path", name)
		}
		e := mk()
		if _, ok := appendJSONFast(nil, &e); !ok {
			t.Errorf("%s: envelope does not take the fast encoding path", name)
		}
	}
}

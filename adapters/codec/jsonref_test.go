package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// jsonBaseDoc is a valid envelope in the fast decoder's shape; the tricky
// seeds below change one thing in it each.
const jsonBaseDoc = `{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","event_type":"ab","schema_version":1,"correlation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","causation_id":null,"tenant_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","trace_id":null,"timestamp":"2024-01-02T03:04:05Z","actor_id":null,"event":{"type":"X","data":{"k":[1,"v"]}},"retry_count":0}`

// jsonTrickySeeds are inputs at the edges of what the fast decoder takes:
// each must go the same way as through the reference.
var jsonTrickySeeds = func() []string {
	seeds := []string{`{}`, `[]`, `null`, ``, ` `, `{"id":null}`, jsonBaseDoc, jsonBaseDoc + " x", jsonBaseDoc + "\r\n\t ", jsonBaseDoc[:len(jsonBaseDoc)-1]}
	edits := [][2]string{
		// Escapes, case folding, duplicates, unknown fields.
		{`"event_type":"ab"`, `"event_type":"a\u0062"`},
		{`"event_type":"ab"`, `"event_type":"a\/"`},
		{`"event_type":"ab"`, "\"event_type\":\"\xe2\x80\xa8\xff\""},
		{`"event_type":"ab"`, "\"event_type\":\"\xed\xa0\x80\""},
		{`"event_type":"ab"`, "\"event_type\":\"\x01\""},
		{`"event_type":"ab"`, `"event_type":null`},
		{`"event_type":"ab"`, `"Event_Type":"ab"`},
		{`{"id"`, `{"ID"`},
		{`{"id"`, `{"\u0069d"`},
		{`"type":"X"`, `"Type":"X"`},
		{`"type":"X"`, `"type":null`},
		{`"type":"X"`, `"type":"X","type":"Y"`},
		{`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6"`, `{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6","id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f7"`},
		{`"retry_count":0`, `"retry_count":0,"x":[{"y":-0.5e+3}]`},
		{`"retry_count":0`, `"retry_count":0,"retry_count":1`},
		// UUID forms uuid.Parse takes.
		{`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6"`, `{"id":"{0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6}"`},
		{`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6"`, `{"id":"urn:uuid:0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6"`},
		{`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6"`, `{"id":"0190F2C45A6B7C8D9E0FA1B2C3D4E5F6"`},
		{`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6"`, `{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5fg"`},
		{`{"id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6"`, `{"id":"00000000-0000-0000-0000-000000000000"`},
		{`"causation_id":null`, `"causation_id":"0190f2c4-5a6b-7c8d-9e0f-a1b2c3d4e5f6"`},
		{`"causation_id":null`, `"causation_id":"00000000-0000-0000-0000-000000000000"`},
		{`"causation_id":null`, `"causation_id":1`},
		{`"actor_id":null`, `"actor_id":""`},
		{`"trace_id":null`, `"trace_id":""`},
		{`"trace_id":null`, `"trace_id":"t-1"`},
		// Numbers.
		{`"schema_version":1`, `"schema_version":65535`},
		{`"schema_version":1`, `"schema_version":65536`},
		{`"schema_version":1`, `"schema_version":1.0`},
		{`"schema_version":1`, `"schema_version":1e2`},
		{`"schema_version":1`, `"schema_version":-0`},
		{`"schema_version":1`, `"schema_version":01`},
		{`"schema_version":1`, `"schema_version":null`},
		{`"schema_version":1`, `"schema_version":"1"`},
		{`"schema_version":1`, `"schema_version":99999999999999999999`},
		{`"retry_count":0`, `"retry_count":4294967295`},
		{`"retry_count":0`, `"retry_count":4294967296`},
		{`"retry_count":0`, `"retry_count":null`},
		// Timestamps.
		{`2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.123456789+05:30`},
		{`2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.1Z`},
		{`2024-01-02T03:04:05Z`, `2024-01-02t03:04:05z`},
		{`2024-01-02T03:04:05Z`, `10000-01-02T03:04:05Z`},
		{`2024-01-02T03:04:05Z`, `0000-01-01T00:30:00+01:00`},
		{`2024-01-02T03:04:05Z`, `9999-12-31T23:30:00-01:00`},
		{`"timestamp":"2024-01-02T03:04:05Z"`, `"timestamp":null`},
		// Event and its data.
		{`"event":{"type":"X","data":{"k":[1,"v"]}}`, `"event":null`},
		{`"event":{"type":"X","data":{"k":[1,"v"]}}`, `"event":{}`},
		{`"event":{"type":"X","data":{"k":[1,"v"]}}`, `"event":[]`},
		{`"event":{"type":"X","data":{"k":[1,"v"]}}`, `"event":{"type":"X"}`},
		{`{"k":[1,"v"]}`, `null`},
		{`{"k":[1,"v"]}`, ` null `},
		{`{"k":[1,"v"]}`, ` [ 1 , {"a" : "\ud800"} ] `},
		{`{"k":[1,"v"]}`, `"<&>\u2028"`},
		{`{"k":[1,"v"]}`, "\"\xff\""},
		{`{"k":[1,"v"]}`, "\"\x01\""},
		{`{"k":[1,"v"]}`, `"\x"`},
		{`{"k":[1,"v"]}`, `tru`},
		{`{"k":[1,"v"]}`, `-`},
		{`{"k":[1,"v"]}`, `-0.0e-0`},
		{`{"k":[1,"v"]}`, `1.`},
		{`{"k":[1,"v"]}`, `{"a":1,}`},
		{`{"k":[1,"v"]}`, `[1,]`},
		{`{"k":[1,"v"]}`, strings.Repeat("[", 600) + strings.Repeat("]", 600)},
		{`{"k":[1,"v"]}`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001)},
		{`"type":"X","data"`, `"data"`},
	}
	for _, ed := range edits {
		if !strings.Contains(jsonBaseDoc, ed[0]) {
			panic("tricky seed edit does not apply: " + ed[0])
		}
		seeds = append(seeds, strings.Replace(jsonBaseDoc, ed[0], ed[1], 1))
	}
	return seeds
}()

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
	// The Rust samples are in the fast decoder's shape.
	files, err := filepath.Glob(filepath.Join("..", "..", "core", "testdata", "envelope_*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no core golden documents found (%v)", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checkJSONAgainstRef(t, b)
		if _, ok := decodeJSONFast(b); !ok {
			t.Errorf("%s does not take the fast decoding path", p)
		}
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

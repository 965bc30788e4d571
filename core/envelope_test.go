package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The golden documents under testdata/ are written by hand the way serde_json
// (to_vec) writes RusToK's EventEnvelope: compact, fields in declaration
// order, null for absent optionals, chrono's AutoSi timestamp with "Z", and
// the adjacently tagged event {"type","data"} ("data" absent for a unit
// variant). Decoding and re-encoding each one must give the same bytes.
var goldenEnvelopes = []string{
	"envelope_full.json",
	"envelope_nulls.json",
	"envelope_unit_millis.json",
	"envelope_micros.json",
}

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEnvelopeJSONGoldenRoundTrip(t *testing.T) {
	for _, name := range goldenEnvelopes {
		t.Run(name, func(t *testing.T) {
			want := readGolden(t, name)
			var e Envelope
			if err := json.Unmarshal(want, &e); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("golden envelope is not valid: %v", err)
			}
			got, err := e.MarshalJSON()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("re-encoded JSON differs from the Rust form\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func mustUUID(s string) uuid.UUID { return uuid.MustParse(s) }

func TestEnvelopeJSONGoldenFields(t *testing.T) {
	var full Envelope
	if err := json.Unmarshal(readGolden(t, "envelope_full.json"), &full); err != nil {
		t.Fatal(err)
	}
	want := Envelope{
		ID:            mustUUID("0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f"),
		EventType:     "node.created",
		SchemaVersion: 2,
		CorrelationID: mustUUID("0190f1a2-7b3c-7d4e-8f50-000000000001"),
		CausationID:   mustUUID("0190f1a2-7b3c-7d4e-8f50-000000000002"),
		TenantID:      mustUUID("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f"),
		TraceID:       "4bf92f3577b34da6a3ce929d0e0e4736",
		Timestamp:     time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC),
		ActorID:       mustUUID("7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e5f"),
		RetryCount:    3,
	}
	data := full.Event.Data
	full.Event.Data = nil
	if full.Event.Type != "NodeCreated" {
		t.Errorf("event.type = %q", full.Event.Type)
	}
	full.Event.Type = ""
	if !envelopeFieldsEqual(full, want) {
		t.Errorf("decoded\n %+v\nwant\n %+v", full, want)
	}
	if full.Timestamp.Location() != time.UTC {
		t.Errorf("timestamp location = %v, want UTC", full.Timestamp.Location())
	}
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("event.data: %v", err)
	}
	if d["title"] != "Tom & Jerry <draft> ünïcødé ✓" {
		t.Errorf("event.data.title = %q", d["title"])
	}

	var nulls Envelope
	if err := json.Unmarshal(readGolden(t, "envelope_nulls.json"), &nulls); err != nil {
		t.Fatal(err)
	}
	if nulls.CausationID != uuid.Nil || nulls.ActorID != uuid.Nil || nulls.TraceID != "" {
		t.Errorf("null optionals decoded as %v %v %q", nulls.CausationID, nulls.ActorID, nulls.TraceID)
	}
	if !nulls.Timestamp.Equal(time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)) {
		t.Errorf("timestamp = %v", nulls.Timestamp)
	}

	var unit Envelope
	if err := json.Unmarshal(readGolden(t, "envelope_unit_millis.json"), &unit); err != nil {
		t.Fatal(err)
	}
	if unit.Event.Data != nil || unit.Event.Type != "CacheCleared" || !unit.IsSystem() {
		t.Errorf("unit variant decoded as %+v (system %v)", unit.Event, unit.IsSystem())
	}
}

// envelopeFieldsEqual compares everything but Event.
func envelopeFieldsEqual(a, b Envelope) bool {
	return a.ID == b.ID && a.EventType == b.EventType && a.SchemaVersion == b.SchemaVersion &&
		a.CorrelationID == b.CorrelationID && a.CausationID == b.CausationID &&
		a.TenantID == b.TenantID && a.TraceID == b.TraceID && a.Timestamp.Equal(b.Timestamp) &&
		a.ActorID == b.ActorID && a.RetryCount == b.RetryCount
}

func TestEnvelopeJSONEncodeNullOptionals(t *testing.T) {
	e := Envelope{
		ID:            mustUUID("0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f"),
		EventType:     "tenant.created",
		SchemaVersion: 1,
		CorrelationID: mustUUID("0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f"),
		TenantID:      mustUUID("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f"),
		// A non-UTC zone is written as UTC.
		Timestamp: time.Date(2025, 3, 14, 10, 26, 53, 0, time.FixedZone("CET", 3600)),
		Event:     Event{Type: "TenantCreated", Data: json.RawMessage(`{ "tenant_id" : "5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f" }`)},
	}
	got, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := readGolden(t, "envelope_nulls.json"); !bytes.Equal(got, want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestEnvelopeJSONDecodeErrors(t *testing.T) {
	full := string(readGolden(t, "envelope_full.json"))
	tests := []struct {
		name, doc, want string
	}{
		{"not json", `{`, "unexpected end"},
		{"not an object", `[]`, "decode envelope"},
		{"missing everything", `{}`, "missing field(s) id, event_type, schema_version, correlation_id, tenant_id, timestamp, event"},
		{"bad uuid", strings.Replace(full, `"id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f"`, `"id":"nope"`, 1), "decode envelope"},
		{"bad timestamp", strings.Replace(full, `2025-03-14T09:26:53.589793238Z`, `yesterday`, 1), "timestamp"},
		{"timestamp number", strings.Replace(full, `"2025-03-14T09:26:53.589793238Z"`, `1700000000`, 1), "timestamp"},
		{"schema version overflow", strings.Replace(full, `"schema_version":2`, `"schema_version":70000`, 1), "decode envelope"},
		{"negative retry", strings.Replace(full, `"retry_count":3`, `"retry_count":-1`, 1), "decode envelope"},
		{"trailing data", full + `{}`, "after top-level value"},
		{"year before 0 in UTC", strings.Replace(full, `2025-03-14T09:26:53.589793238Z`, `0000-01-01T00:00:00+01:00`, 1), "outside RFC 3339's range"},
		{"year after 9999 in UTC", strings.Replace(full, `2025-03-14T09:26:53.589793238Z`, `9999-12-31T23:59:59-01:00`, 1), "outside RFC 3339's range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Envelope
			err := json.Unmarshal([]byte(tt.doc), &e)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", e)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestEnvelopeJSONDecodeOffsetTimestampIsUTC(t *testing.T) {
	doc := strings.Replace(string(readGolden(t, "envelope_nulls.json")),
		`"2025-03-14T09:26:53Z"`, `"2025-03-14T11:26:53+02:00"`, 1)
	var e Envelope
	if err := json.Unmarshal([]byte(doc), &e); err != nil {
		t.Fatal(err)
	}
	if e.Timestamp.Location() != time.UTC || !e.Timestamp.Equal(time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)) {
		t.Fatalf("timestamp = %v", e.Timestamp)
	}
}

func TestEnvelopeJSONDecodeDoesNotAlias(t *testing.T) {
	b := readGolden(t, "envelope_full.json")
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	before := string(e.Event.Data)
	for i := range b {
		b[i] = 'x'
	}
	if string(e.Event.Data) != before {
		t.Fatal("event.data aliases the input")
	}
}

func TestEnvelopeJSONDataNullIsAbsent(t *testing.T) {
	doc := strings.Replace(string(readGolden(t, "envelope_unit_millis.json")),
		`{"type":"CacheCleared"}`, `{"type":"CacheCleared","data":null}`, 1)
	var e Envelope
	if err := json.Unmarshal([]byte(doc), &e); err != nil {
		t.Fatal(err)
	}
	if e.Event.Data != nil {
		t.Fatalf("data = %q, want nil", e.Event.Data)
	}
}

func TestEnvelopeJSONEncodeInvalidData(t *testing.T) {
	e := NewEnvelope(uuid.New(), "node.created", Event{Type: "NodeCreated", Data: json.RawMessage(`{"a":`)})
	if _, err := e.MarshalJSON(); err == nil {
		t.Fatal("encoding invalid event.data succeeded")
	}
}

func TestEnvelopeJSONEncodeYearOutOfRange(t *testing.T) {
	for _, ts := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		e := validEnvelope()
		e.Timestamp = ts
		if b, err := e.MarshalJSON(); err == nil {
			t.Errorf("timestamp %v encoded as %s; want an error (not RFC 3339)", ts, b)
		}
	}
}

func TestEnvelopeJSONNoHTMLEscaping(t *testing.T) {
	e := validEnvelope()
	e.EventType = "a<b>&c"
	e.TraceID = "<&>"
	e.Event.Data = json.RawMessage(`{"s":"<&>"}`)
	b, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"event_type":"a<b>&c"`, `"trace_id":"<&>"`, `"data":{"s":"<&>"}`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s does not contain %s (serde_json does not escape HTML)", b, want)
		}
	}
	if bytes.HasSuffix(b, []byte("\n")) {
		t.Error("encoding ends in a newline")
	}
}

func TestFormatTimestamp(t *testing.T) {
	base := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	tests := []struct {
		ns   int
		want string
	}{
		{0, "2025-03-14T09:26:53Z"},
		{500_000_000, "2025-03-14T09:26:53.500Z"},
		{1_000_000, "2025-03-14T09:26:53.001Z"},
		{589_793_000, "2025-03-14T09:26:53.589793Z"},
		{1_000, "2025-03-14T09:26:53.000001Z"},
		{589_793_238, "2025-03-14T09:26:53.589793238Z"},
		{1, "2025-03-14T09:26:53.000000001Z"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			ts := base.Add(time.Duration(tt.ns))
			if got := FormatTimestamp(ts); got != tt.want {
				t.Fatalf("FormatTimestamp = %q, want %q", got, tt.want)
			}
			if got := FormatTimestamp(ts.In(time.FixedZone("X", -5*3600))); got != tt.want {
				t.Fatalf("in another zone: %q, want %q", got, tt.want)
			}
			parsed, err := time.Parse(time.RFC3339Nano, tt.want)
			if err != nil || !parsed.Equal(ts) {
				t.Fatalf("does not parse back: %v %v", parsed, err)
			}
		})
	}
}

func validEnvelope() Envelope {
	return Envelope{
		ID:            mustUUID("0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f"),
		EventType:     "node.created",
		SchemaVersion: 1,
		CorrelationID: mustUUID("0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f"),
		TenantID:      mustUUID("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f"),
		Timestamp:     time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
		Event:         Event{Type: "NodeCreated", Data: json.RawMessage(`{"a":1}`)},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Envelope)
		want   []string // substrings, one per expected problem; nil = valid
	}{
		{"valid", func(*Envelope) {}, nil},
		{"valid without data", func(e *Envelope) { e.Event.Data = nil }, nil},
		{"valid max event type", func(e *Envelope) { e.EventType = strings.Repeat("a", MaxEventTypeLen) }, nil},
		{"valid max trace id", func(e *Envelope) { e.TraceID = strings.Repeat("t", 255) }, nil},
		{"nil id", func(e *Envelope) { e.ID = uuid.Nil }, []string{"id is nil"}},
		{"nil tenant", func(e *Envelope) { e.TenantID = uuid.Nil }, []string{"tenant_id is nil"}},
		{"nil correlation", func(e *Envelope) { e.CorrelationID = uuid.Nil }, []string{"correlation_id is nil"}},
		{"empty event type", func(e *Envelope) { e.EventType = "" }, []string{"event_type is empty"}},
		{"blank event type", func(e *Envelope) { e.EventType = " \t" }, []string{"event_type is empty"}},
		{"long event type", func(e *Envelope) { e.EventType = strings.Repeat("a", MaxEventTypeLen+1) }, []string{"event_type is 256 bytes, the limit is 255"}},
		{"empty event.type", func(e *Envelope) { e.Event.Type = "" }, []string{"event.type is empty"}},
		{"bad data", func(e *Envelope) { e.Event.Data = json.RawMessage(`{"a":`) }, []string{"event.data is not valid JSON"}},
		{"zero timestamp", func(e *Envelope) { e.Timestamp = time.Time{} }, []string{"timestamp is zero"}},
		{"long trace id", func(e *Envelope) { e.TraceID = strings.Repeat("t", 256) }, []string{"trace_id is 256 bytes"}},
		{"everything", func(e *Envelope) { *e = Envelope{} }, []string{
			"id is nil", "tenant_id is nil", "correlation_id is nil", "event_type is empty",
			"event.type is empty", "timestamp is zero",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEnvelope()
			tt.mutate(&e)
			err := e.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			if !errors.Is(err, ErrInvalidEnvelope) || !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalidEnvelope and ErrInvalid", err)
			}
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("error %T is not a joined error", err)
			}
			if n := len(joined.Unwrap()); n != len(tt.want) {
				t.Errorf("got %d problems, want %d: %v", n, len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewEnvelope(t *testing.T) {
	tenant := uuid.New()
	ev := Event{Type: "NodeCreated", Data: json.RawMessage(`{"x":1}`)}
	before := time.Now()
	e := NewEnvelope(tenant, "node.created", ev)
	after := time.Now()

	if e.ID.Version() != 7 || e.ID.Variant() != uuid.RFC4122 {
		t.Errorf("id %s is version %d variant %v, want a v7 RFC 4122 UUID", e.ID, e.ID.Version(), e.ID.Variant())
	}
	if e.CorrelationID != e.ID {
		t.Errorf("correlation id %s != id %s", e.CorrelationID, e.ID)
	}
	if e.TenantID != tenant || e.EventType != "node.created" || e.SchemaVersion != 1 {
		t.Errorf("got %+v", e)
	}
	if e.Event.Type != ev.Type || !bytes.Equal(e.Event.Data, ev.Data) {
		t.Errorf("event = %+v", e.Event)
	}
	if e.CausationID != uuid.Nil || e.ActorID != uuid.Nil || e.TraceID != "" || e.RetryCount != 0 {
		t.Errorf("optionals set: %+v", e)
	}
	if e.Timestamp.Location() != time.UTC {
		t.Errorf("timestamp location %v, want UTC", e.Timestamp.Location())
	}
	if e.Timestamp.Before(before.Add(-time.Millisecond)) || e.Timestamp.After(after.Add(time.Millisecond)) {
		t.Errorf("timestamp %v not between %v and %v", e.Timestamp, before, after)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("new envelope is invalid: %v", err)
	}
	// v7 ids are time ordered: the embedded millisecond timestamp matches.
	sec, nsec := e.ID.Time().UnixTime()
	if ms := time.Unix(sec, nsec).UnixMilli(); ms < before.UnixMilli() || ms > after.UnixMilli() {
		t.Errorf("v7 id time %d ms not in [%d, %d]", ms, before.UnixMilli(), after.UnixMilli())
	}
	e2 := NewEnvelope(tenant, "node.created", ev)
	if e2.ID == e.ID {
		t.Error("two envelopes share an id")
	}
}

func TestIsSystem(t *testing.T) {
	for typ, want := range map[string]bool{
		"system.tick": true, "system.": true, "node.created": false, "systemx.y": false, "System.tick": false, "": false,
	} {
		if got := (Envelope{EventType: typ}).IsSystem(); got != want {
			t.Errorf("IsSystem(%q) = %v, want %v", typ, got, want)
		}
	}
}

func TestMessageIDFromUUID(t *testing.T) {
	u := mustUUID("00112233-4455-6677-8899-aabbccddeeff")
	id := MessageIDFromUUID(u)
	// Rust: Uuid::as_u128 = 0x00112233_44556677_8899aabb_ccddeeff, and Iggy
	// writes the u128 little-endian.
	want := [16]byte{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00}
	if id != want {
		t.Fatalf("MessageIDFromUUID = %x, want %x", id, want)
	}
	if back := UUIDFromMessageID(id); back != u {
		t.Fatalf("UUIDFromMessageID = %x, want %x", back, u)
	}
	if MessageIDFromUUID(uuid.Nil) != [16]byte{} {
		t.Fatal("nil UUID must map to the zero id (broker assigns one)")
	}
	for range 100 {
		u := uuid.New()
		if UUIDFromMessageID(MessageIDFromUUID(u)) != u {
			t.Fatalf("round trip of %s failed", u)
		}
	}
}

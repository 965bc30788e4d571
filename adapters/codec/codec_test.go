package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/core"
)

var codecs = []core.Codec{JSON{}, CBOR{}}

// typicalEnvelope is an envelope with every field set and 256 bytes of
// event data, the size the benchmarks use.
func typicalEnvelope() core.Envelope {
	prefix := `{"node_id":"0190f1a2-7b3c-7d4e-8f50-0000000000aa","kind":"page","title":"Release notes","body":"`
	suffix := `"}`
	body := strings.Repeat("x", 256-len(prefix)-len(suffix))
	return core.Envelope{
		ID:            uuid.MustParse("0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f"),
		EventType:     "node.created",
		SchemaVersion: 2,
		CorrelationID: uuid.MustParse("0190f1a2-7b3c-7d4e-8f50-000000000001"),
		CausationID:   uuid.MustParse("0190f1a2-7b3c-7d4e-8f50-000000000002"),
		TenantID:      uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f"),
		TraceID:       "4bf92f3577b34da6a3ce929d0e0e4736",
		Timestamp:     time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC),
		ActorID:       uuid.MustParse("7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e5f"),
		Event:         core.Event{Type: "NodeCreated", Data: json.RawMessage(prefix + body + suffix)},
		RetryCount:    3,
	}
}

// minimalEnvelope has every optional absent and a unit event.
func minimalEnvelope() core.Envelope {
	id := uuid.MustParse("0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f")
	return core.Envelope{
		ID:            id,
		EventType:     "system.cache_cleared",
		SchemaVersion: 1,
		CorrelationID: id,
		TenantID:      uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f"),
		Timestamp:     time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
		Event:         core.Event{Type: "CacheCleared"},
	}
}

func envelopesEqual(a, b core.Envelope) bool {
	return a.ID == b.ID && a.EventType == b.EventType && a.SchemaVersion == b.SchemaVersion &&
		a.CorrelationID == b.CorrelationID && a.CausationID == b.CausationID &&
		a.TenantID == b.TenantID && a.TraceID == b.TraceID && a.Timestamp.Equal(b.Timestamp) &&
		a.ActorID == b.ActorID && a.RetryCount == b.RetryCount &&
		a.Event.Type == b.Event.Type && bytes.Equal(a.Event.Data, b.Event.Data)
}

func TestRoundTrip(t *testing.T) {
	cases := map[string]core.Envelope{
		"typical": typicalEnvelope(),
		"minimal": minimalEnvelope(),
		"nanos": func() core.Envelope {
			e := minimalEnvelope()
			e.Timestamp = time.Date(1969, 7, 20, 20, 17, 40, 1, time.UTC) // before the epoch
			return e
		}(),
		"max values": func() core.Envelope {
			e := typicalEnvelope()
			e.SchemaVersion, e.RetryCount = 65535, 4294967295
			e.Timestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
			e.EventType = strings.Repeat("é", 127)
			return e
		}(),
		"year zero": func() core.Envelope {
			e := minimalEnvelope()
			e.Timestamp = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
			return e
		}(),
	}
	for _, c := range codecs {
		for name, e := range cases {
			t.Run(c.ContentType()+"/"+name, func(t *testing.T) {
				b, err := c.Encode(e)
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.Decode(b)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if !envelopesEqual(got, e) {
					t.Fatalf("round trip changed the envelope\n got %+v\nwant %+v", got, e)
				}
				if got.Timestamp.Location() != time.UTC {
					t.Errorf("timestamp location %v, want UTC", got.Timestamp.Location())
				}
				again, err := c.Encode(got)
				if err != nil || !bytes.Equal(again, b) {
					t.Fatalf("re-encoding differs (%v)\n%x\n%x", err, again, b)
				}
			})
		}
	}
}

func TestCBORZeroTimestampRoundTrip(t *testing.T) {
	e := minimalEnvelope()
	e.Timestamp = time.Time{}
	b, err := CBOR{}.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := CBOR{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Timestamp.IsZero() {
		t.Fatalf("zero timestamp decoded as %v", got.Timestamp)
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.ContentType(), func(t *testing.T) {
			b, err := c.Encode(typicalEnvelope())
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range b {
				b[i] = 0
			}
			if !envelopesEqual(got, typicalEnvelope()) {
				t.Fatal("decoded envelope changed when the input was overwritten")
			}
		})
	}
}

func TestCBORIsCompactAndDeterministic(t *testing.T) {
	e := typicalEnvelope()
	j, _ := JSON{}.Encode(e)
	c, err := CBOR{}.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) >= len(j)*3/4 {
		t.Errorf("CBOR is %d bytes, JSON %d: expected CBOR well under 3/4 of JSON", len(c), len(j))
	}
	// Map header: 12 pairs; first key 0, then a 16-byte byte string.
	if c[0] != 0xac || c[1] != 0x00 || c[2] != 0x50 {
		t.Errorf("unexpected CBOR start % x", c[:3])
	}
	if !cbor1001(c) {
		t.Error("timestamp is not tagged 1001")
	}
	for range 10 {
		again, _ := CBOR{}.Encode(e)
		if !bytes.Equal(again, c) {
			t.Fatal("encoding is not deterministic")
		}
	}
}

// cbor1001 reports whether b contains the head of tag 1001 (0xd9 0x03 0xe9).
func cbor1001(b []byte) bool { return bytes.Contains(b, []byte{0xd9, 0x03, 0xe9}) }

func TestDecodeErrors(t *testing.T) {
	good, err := CBOR{}.Encode(minimalEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	hx := func(s string) []byte {
		var out []byte
		for i := 0; i+1 < len(s); i += 2 {
			var v byte
			for _, ch := range s[i : i+2] {
				v <<= 4
				switch {
				case ch >= '0' && ch <= '9':
					v |= byte(ch - '0')
				default:
					v |= byte(ch-'a') + 10
				}
			}
			out = append(out, v)
		}
		return out
	}
	tests := []struct {
		name  string
		codec core.Codec
		in    []byte
		want  string
	}{
		{"json empty", JSON{}, nil, "empty input"},
		{"json too large", JSON{}, make([]byte, MaxEncodedSize+1), "exceeds the limit"},
		{"json garbage", JSON{}, []byte("{"), "unexpected end"},
		{"json missing fields", JSON{}, []byte("{}"), "missing field(s)"},
		{"json deep nesting", JSON{}, []byte(strings.Repeat("[", 20000)), "exceeded max depth"},
		{"cbor empty", CBOR{}, nil, "empty input"},
		{"cbor too large", CBOR{}, make([]byte, MaxEncodedSize+1), "exceeds the limit"},
		{"cbor truncated", CBOR{}, good[:len(good)-1], "unexpected EOF"},
		{"cbor trailing", CBOR{}, append(bytes.Clone(good), 0x00), "extraneous data"},
		{"cbor not a map", CBOR{}, []byte{0x01}, "cannot unmarshal"},
		{"cbor empty map", CBOR{}, []byte{0xa0}, "missing key(s) [0 (id) 1 (event_type) 2 (schema_version) 3 (correlation_id) 5 (tenant_id) 7 (timestamp) 9 (event.type)]"},
		{"cbor short uuid", CBOR{}, hx("a1004f000102030405060708090a0b0c0d0e"), "16-byte byte string"},
		{"cbor uuid as text", CBOR{}, hx("a10070000102030405060708090a0b0c0d0e0f"), "16-byte byte string"},
		{"cbor duplicate key", CBOR{}, hx("a2016161016162"), "duplicate map key"},
		{"cbor indefinite map", CBOR{}, hx("bf016161ff"), "indefinite-length"},
		{"cbor deep nesting", CBOR{}, hx("a10c818181818181818100"), "exceeded max nested level"},
		{"cbor too many pairs", CBOR{}, append([]byte{0xb8, 33}, bytes.Repeat([]byte{0x20, 0x00}, 33)...), "exceeded max number of key-value pairs"},
		{"cbor invalid utf8", CBOR{}, hx("a10162ffff"), "invalid UTF-8"},
		{"cbor untagged time", CBOR{}, hx("a107a1011a5f5e1000"), "tag"},
		{"cbor nanos out of range", CBOR{}, hx("a707d903e9a2011a5f5e1000281a3b9aca00005000000000000000000000000000000001016161020103500000000000000000000000000000000105500000000000000000000000000000000109616b"), "nanoseconds"},
		{"cbor year 10000", CBOR{}, hx("a707d903e9a1011b0000003afff44180005000000000000000000000000000000001016161020103500000000000000000000000000000000105500000000000000000000000000000000109616b"), "outside years"},
		{"cbor schema version overflow", CBOR{}, hx("a1021a00010000"), "cannot unmarshal"},
		{"cbor negative retry", CBOR{}, hx("a10b20"), "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := tt.codec.Decode(tt.in)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", e)
			}
			if !errors.Is(err, ErrDecode) {
				t.Errorf("error %v does not wrap ErrDecode", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	e := typicalEnvelope()
	e.Event.Data = json.RawMessage(`{"a":`)
	if _, err := (JSON{}).Encode(e); err == nil {
		t.Error("JSON encoded invalid event.data")
	}
	e = typicalEnvelope()
	e.Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := (JSON{}).Encode(e); err == nil {
		t.Error("JSON encoded a year outside RFC 3339")
	}
}

func TestForContentType(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"application/json", ContentTypeJSON, false},
		{"Application/JSON; charset=utf-8", ContentTypeJSON, false},
		{"", ContentTypeJSON, false},
		{"application/cbor", ContentTypeCBOR, false},
		{"application/bincode", "", true},
		{"text/plain", "", true},
		{";;", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ForContentType(tt.in)
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrUnknownCodec) || !errors.Is(err, core.ErrInvalid) {
					t.Fatalf("ForContentType(%q) = %v, %v; want ErrUnknownCodec", tt.in, c, err)
				}
				return
			}
			if err != nil || c.ContentType() != tt.want {
				t.Fatalf("ForContentType(%q) = %v, %v; want %s", tt.in, c, err, tt.want)
			}
		})
	}
}

func TestByName(t *testing.T) {
	for name, want := range map[string]string{"json": ContentTypeJSON, "JSON": ContentTypeJSON, "cbor": ContentTypeCBOR, " cbor ": ContentTypeCBOR} {
		c, err := ByName(name)
		if err != nil || c.ContentType() != want {
			t.Errorf("ByName(%q) = %v, %v; want %s", name, c, err, want)
		}
	}
	_, err := ByName("bincode")
	if err == nil || !errors.Is(err, ErrUnknownCodec) || !strings.Contains(err.Error(), `use "cbor"`) {
		t.Errorf("ByName(bincode) = %v; want an error pointing to cbor", err)
	}
	if _, err := ByName("yaml"); err == nil || !errors.Is(err, ErrUnknownCodec) {
		t.Errorf("ByName(yaml) = %v; want ErrUnknownCodec", err)
	}
}

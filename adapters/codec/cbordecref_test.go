package codec

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/core"
)

// extTime is the content of tag 1001.
type extTime struct {
	Seconds int64  `cbor:"1,keyasint"`
	Nanos   uint32 `cbor:"-9,keyasint,omitempty"`
}

// cborDecoded is the wire map for decoding; pointers and wireUUID record
// which keys were present.
type cborDecoded struct {
	ID            wireUUID `cbor:"0,keyasint"`
	EventType     *string  `cbor:"1,keyasint"`
	SchemaVersion *uint16  `cbor:"2,keyasint"`
	CorrelationID wireUUID `cbor:"3,keyasint"`
	CausationID   wireUUID `cbor:"4,keyasint"`
	TenantID      wireUUID `cbor:"5,keyasint"`
	TraceID       string   `cbor:"6,keyasint"`
	Timestamp     *extTime `cbor:"7,keyasint"`
	ActorID       wireUUID `cbor:"8,keyasint"`
	EventName     *string  `cbor:"9,keyasint"`
	EventData     []byte   `cbor:"10,keyasint"`
	RetryCount    uint32   `cbor:"11,keyasint"`
}

// wireUUID decodes a 16-byte CBOR byte string without allocating. null
// counts as absent.
type wireUUID struct {
	id  uuid.UUID
	set bool
}

// UnmarshalCBOR implements cbor.Unmarshaler. The decoder has checked that
// b is one well-formed data item.
func (w *wireUUID) UnmarshalCBOR(b []byte) error {
	if len(b) == 1 && b[0] == 0xf6 { // null
		*w = wireUUID{}
		return nil
	}
	// 0x50: major type 2 (byte string), length 16.
	if len(b) != 17 || b[0] != 0x50 {
		return fmt.Errorf("want a 16-byte byte string (UUID), got %d bytes starting 0x%02x", len(b), b[0])
	}
	copy(w.id[:], b[1:])
	w.set = true
	return nil
}

var referenceDec cbor.DecMode

// cborTags registers tag 1001 for extTime.
func cborTags() cbor.TagSet {
	tags := cbor.NewTagSet()
	if err := tags.Add(cbor.TagOptions{EncTag: cbor.EncTagRequired, DecTag: cbor.DecTagRequired},
		reflect.TypeFor[extTime](), TagExtendedTime); err != nil {
		panic(err) // programming error, caught by every test
	}
	return tags
}

func init() {
	tags := cborTags()
	var err error
	if referenceDec, err = (cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		MaxNestedLevels:   4,
		MaxArrayElements:  16,
		MaxMapPairs:       32,
		UTF8:              cbor.UTF8RejectInvalid,
		ExtraReturnErrors: cbor.ExtraDecErrorNone,
	}).DecModeWithTags(tags); err != nil {
		panic(err)
	}
}

// referenceDecode is the reflective decoder the hand-written CBOR.Decode
// replaced, kept as the reference FuzzCBORDecode compares it with.
func referenceDecode(b []byte) (core.Envelope, error) {
	if err := checkSize("cbor", b); err != nil {
		return core.Envelope{}, err
	}
	var w cborDecoded
	if err := referenceDec.Unmarshal(b, &w); err != nil {
		return core.Envelope{}, fmt.Errorf("%w: cbor: %w", ErrDecode, err)
	}
	var missing []string
	if !w.ID.set {
		missing = append(missing, "0 (id)")
	}
	if w.EventType == nil {
		missing = append(missing, "1 (event_type)")
	}
	if w.SchemaVersion == nil {
		missing = append(missing, "2 (schema_version)")
	}
	if !w.CorrelationID.set {
		missing = append(missing, "3 (correlation_id)")
	}
	if !w.TenantID.set {
		missing = append(missing, "5 (tenant_id)")
	}
	if w.Timestamp == nil {
		missing = append(missing, "7 (timestamp)")
	}
	if w.EventName == nil {
		missing = append(missing, "9 (event.type)")
	}
	if len(missing) > 0 {
		return core.Envelope{}, fmt.Errorf("%w: cbor: missing key(s) %v", ErrDecode, missing)
	}
	if w.Timestamp.Nanos >= 1e9 {
		return core.Envelope{}, fmt.Errorf("%w: cbor: timestamp nanoseconds %d out of range", ErrDecode, w.Timestamp.Nanos)
	}
	if w.Timestamp.Seconds < minUnixSeconds || w.Timestamp.Seconds > maxUnixSeconds {
		return core.Envelope{}, fmt.Errorf("%w: cbor: timestamp %d s is outside years 0 to 9999", ErrDecode, w.Timestamp.Seconds)
	}
	e := core.Envelope{
		ID:            w.ID.id,
		EventType:     *w.EventType,
		SchemaVersion: *w.SchemaVersion,
		CorrelationID: w.CorrelationID.id,
		CausationID:   w.CausationID.id,
		TenantID:      w.TenantID.id,
		TraceID:       w.TraceID,
		ActorID:       w.ActorID.id,
		Event:         core.Event{Type: *w.EventName},
		RetryCount:    w.RetryCount,
	}
	if w.Timestamp.Seconds != zeroTimeUnix || w.Timestamp.Nanos != 0 {
		e.Timestamp = time.Unix(w.Timestamp.Seconds, int64(w.Timestamp.Nanos)).UTC()
	}
	if len(w.EventData) > 0 {
		// The decoder copies byte strings, so this does not alias b.
		e.Event.Data = w.EventData
	}
	return e, nil
}

// checkDecodeMatchesReference decodes b with CBOR.Decode and with the
// reference: both fail, or both give the same envelope.
func checkDecodeMatchesReference(t testing.TB, b []byte) {
	t.Helper()
	want, werr := referenceDecode(b)
	got, gerr := CBOR{}.Decode(b)
	switch {
	case gerr != nil && !errors.Is(gerr, ErrDecode):
		t.Fatalf("error %v does not wrap ErrDecode", gerr)
	case werr != nil && gerr != nil:
	case werr == nil && gerr != nil:
		t.Fatalf("Decode fails where the reference succeeds: %v\ninput %x\nreference %+v", gerr, b, want)
	case werr != nil && gerr == nil:
		t.Fatalf("Decode succeeds where the reference fails (%v)\ninput %x\nDecode %+v", werr, b, got)
	case !reflect.DeepEqual(got, want):
		t.Fatalf("Decode differs from the reference\ninput %x\n got %+v\nwant %+v", b, got, want)
	}
}

// hxs decodes hex with spaces, panicking on bad test data.
func hxs(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// cborDecodeCorners are inputs at the edges of the layout: minimal is the
// minimal envelope's fields without the map head (7 pairs), so a case can
// add pairs to it.
func cborDecodeCorners() map[string][]byte {
	const (
		id     = "00 50 00000000000000000000000000000001"
		typ    = "01 61 61"
		schema = "02 01"
		corr   = "03 50 00000000000000000000000000000002"
		tenant = "05 50 00000000000000000000000000000003"
		ts     = "07 d903e9 a1 01 1a5f5e1000"
		name   = "09 61 6b"
	)
	env := func(pairs int, fields ...string) []byte {
		head := fmt.Sprintf("%02x", 0xa0+pairs)
		if pairs >= 24 {
			head = fmt.Sprintf("b8%02x", pairs)
		}
		return hxs(head + strings.Join(fields, ""))
	}
	all := func(extra ...string) []byte {
		fields := []string{id, typ, schema, corr, tenant, ts, name}
		return env(7+len(extra), append(fields, extra...)...)
	}
	with := func(key, value string) []byte {
		fields := []string{id, typ, schema, corr, tenant, ts, name}
		for i, f := range fields {
			if strings.HasPrefix(f, key+" ") {
				fields[i] = key + " " + value
				return env(7, fields...)
			}
		}
		panic(key)
	}
	return map[string][]byte{
		"minimal":               all(),
		"self-described":        append(hxs("d9d9f7 d9d9f7"), all()...),
		"self-described-field":  with("01", "d9d9f7 61 61"),
		"self-described-uuid":   with("00", "d9d9f7 50 00000000000000000000000000000001"),
		"self-described-null":   with("01", "d9d9f7 f6"),
		"self-described-long":   with("02", "da0000d9f7 05"),
		"self-described-time":   with("07", "d9d9f7 d903e9 a1 01 00"),
		"time-self-described":   with("07", "d903e9 d9d9f7 a1 01 00"),
		"null-type":             with("01", "f6"),
		"undefined-type":        with("01", "f7"),
		"null-uuid":             with("00", "f6"),
		"undefined-uuid":        with("00", "f7"),
		"uuid-long-head":        with("00", "58 10 00000000000000000000000000000001"),
		"null-schema":           with("02", "f6"),
		"simple-schema":         with("02", "e5"),
		"simple-schema-255":     with("02", "f8ff"),
		"simple-schema-31":      with("02", "f81f"),
		"false-schema":          with("02", "f4"),
		"float-schema":          with("02", "f93c00"),
		"schema-max":            with("02", "19ffff"),
		"schema-over":           with("02", "1a00010000"),
		"schema-long-head":      with("02", "1b0000000000000001"),
		"null-time":             with("07", "f6"),
		"time-null-content":     with("07", "d903e9 f6"),
		"time-undef-content":    with("07", "d903e9 f7"),
		"time-int-content":      with("07", "d903e9 00"),
		"time-array":            with("07", "d903e9 80"),
		"time-empty":            with("07", "d903e9 a0"),
		"time-double-tag":       with("07", "d903e9 d903e9 a0"),
		"time-tag-1":            with("07", "c1 00"),
		"time-null-seconds":     with("07", "d903e9 a1 01 f6"),
		"time-simple-seconds":   with("07", "d903e9 a1 01 f0"),
		"time-negative":         with("07", "d903e9 a1 01 3a7fffffff"),
		"time-min-int64":        with("07", "d903e9 a1 01 3b7fffffffffffffff"),
		"time-neg-overflow":     with("07", "d903e9 a1 01 3b8000000000000000"),
		"time-pos-overflow":     with("07", "d903e9 a1 01 1b8000000000000000"),
		"time-year-0":           with("07", "d903e9 a1 01 3b0000000e79747bff"),
		"time-before-year-0":    with("07", "d903e9 a1 01 3b0000000e79747c00"),
		"time-year-9999":        with("07", "d903e9 a2 01 1b0000003afff4417f 28 1a3b9ac9ff"),
		"time-year-10000":       with("07", "d903e9 a1 01 1b0000003afff44180"),
		"time-nanos":            with("07", "d903e9 a2 01 00 28 1a3b9ac9ff"),
		"time-nanos-neg":        with("07", "d903e9 a2 01 00 28 20"),
		"time-nanos-null":       with("07", "d903e9 a2 01 00 28 f6"),
		"time-nanos-big":        with("07", "d903e9 a2 01 00 28 1b0000000100000000"),
		"time-unknown-keys":     with("07", "d903e9 a4 01 00 02 80 61 78 a0 3b7fffffffffffffff 00"),
		"time-text-key-dup":     with("07", "d903e9 a3 01 00 61 78 00 61 78 00"),
		"time-dup-seconds":      with("07", "d903e9 a2 01 00 01 00"),
		"time-float-key":        with("07", "d903e9 a1 f93c00 00"),
		"time-tagged-seconds":   with("07", "d903e9 a1 01 c1 00"),
		"zero-time":             with("07", "d903e9 a1 01 3b0000000e7791f6ff"),
		"zero-time-nanos":       with("07", "d903e9 a2 01 3b0000000e7791f6ff 28 01"),
		"tagged-type":           with("01", "c0 61 61"),
		"tagged-schema":         with("02", "c1 01"),
		"bignum-schema":         with("02", "c2 41 01"),
		"bignum-data":           all("0a c2 41 01"),
		"array-data":            all("0a 83 01 02 03"),
		"tag0-type":             with("01", "c0 d9d9f7 61 61"),
		"tag0-int-type":         with("01", "c0 00"),
		"tag1-schema":           with("02", "c1 05"),
		"tag1-float-schema":     with("02", "c1 f93c00"),
		"tag1-text":             with("01", "c1 61 61"),
		"tag-null-type":         with("01", "c6 f6"),
		"tag-null-schema":       with("02", "c6 f6"),
		"tag-chain-schema":      with("02", "c6 d9d9f7 c7 05"),
		"tag1-tag-schema":       with("02", "c1 c6 05"),
		"bignum-big-schema":     with("02", "c2 43 010000"),
		"bignum-zeros-schema":   with("02", "c2 4a 00000000000000000001"),
		"bignum-type":           with("01", "c2 41 01"),
		"negbignum-schema":      with("02", "c3 41 01"),
		"negbignum-seconds":     with("07", "d903e9 a1 01 c3 41 01"),
		"negbignum-min":         with("07", "d903e9 a1 01 c3 48 7fffffffffffffff"),
		"negbignum-over":        with("07", "d903e9 a1 01 c3 48 8000000000000000"),
		"bignum-seconds-over":   with("07", "d903e9 a1 01 c2 48 8000000000000000"),
		"bignum-nanos":          with("07", "d903e9 a2 01 00 28 c2 44 3b9ac9ff"),
		"negbignum-data":        all("0a c3 42 7b7d"),
		"bignum-empty-data":     all("0a c2 40"),
		"tag21-data":            all("0a d5 42 7b7d"),
		"tagged-data-null":      all("0a c6 f6"),
		"array-data-mixed":      all("0a 86 00 f6 d9d9f7 01 e3 c2 41 ff f820"),
		"array-data-empty":      all("0a 80"),
		"array-data-256":        all("0a 81 190100"),
		"array-data-text":       all("0a 81 61 61"),
		"array-data-neg":        all("0a 81 20"),
		"array-type":            with("01", "81 61 61"),
		"map-data":              all("0a a0"),
		"tagged-envelope-null":  hxs("c6 f6"),
		"tag1-envelope":         append(hxs("c1"), all()...),
		"tag2-envelope":         hxs("c2 41 01"),
		"tagged-uuid":           with("00", "c6 50 00000000000000000000000000000001"),
		"tagged-envelope":       append(hxs("c6"), all()...),
		"text-as-data":          all("0a 61 61"),
		"bytes-as-type":         with("01", "41 61"),
		"int-as-type":           with("01", "01"),
		"empty-data":            all("0a 40"),
		"null-data":             all("0a f6"),
		"null-trace":            all("06 f6"),
		"null-retry":            all("0b f6"),
		"simple-retry":          all("0b f3"),
		"retry-max":             all("0b 1affffffff"),
		"retry-over":            all("0b 1b0000000100000000"),
		"bad-utf8-trace":        all("06 62 c328"),
		"bad-utf8-unknown":      all("0c 62 c328"),
		"bad-utf8-key":          all("62 c328 00"),
		"text-keys":             all(`61 30 00`, `62 6964 f6`),
		"text-key-dup":          all(`61 30 00`, `61 30 01`),
		"unknown-int-dup":       all("0c 00", "0c 01"),
		"unknown-neg-key":       all("20 00"),
		"key-overflow":          all("1b8000000000000000 00"),
		"neg-key-overflow":      all("3b8000000000000000 00"),
		"key-max-int64":         all("1b7fffffffffffffff 00"),
		"bytes-key":             all("41 00 00"),
		"float-key":             all("f93c00 00"),
		"array-key":             all("80 00"),
		"null-key":              all("f6 00"),
		"unknown-nested":        all("0c 81 81 a1 00 00"),
		"unknown-deepest":       all("0c 81 81 81 00"),
		"unknown-too-deep":      all("0c 81 81 81 81 00"),
		"time-unknown-too-deep": with("07", "d903e9 a2 01 00 02 81 81 81 00"),
		"time-unknown-deepest":  with("07", "d903e9 a2 01 00 02 81 81 00"),
		"unknown-tag-chain":     all("0c c6 c6 c6 00"),
		"unknown-tag-deep":      all("0c c6 c6 c6 c6 00"),
		"unknown-tag-too-deep":  all("0c c6 c6 c6 c6 c6 00"),
		"unknown-tags-too-deep": all("0c c6 c6 81 81 81 00"),
		"unknown-tags-array":    all("0c c6 c6 81 81 00"),
		"unknown-17-items":      all("0c 91 " + strings.Repeat("00", 17)),
		"unknown-16-items":      all("0c 90 " + strings.Repeat("00", 16)),
		"unknown-nested-dups":   all("0c a2 00 00 00 00"),
		"unknown-bignum-text":   all("0c c2 61 61"),
		"unknown-tag0-int":      all("0c c0 00"),
		"unknown-simple-break":  all("0c ff"),
		"unknown-simple-small":  all("0c f810"),
		"unknown-simple-32":     all("0c f820"),
		"unknown-reserved-ai":   all("0c 1c"),
		"unknown-indef-bytes":   all("0c 5f ff"),
		"unknown-float-nan":     all("0c f97e00"),
		"unknown-key-uuid-like": all("0d 50 00000000000000000000000000000001"),
		"null-envelope":         hxs("f6"),
		"undefined-envelope":    hxs("f7"),
		"array-envelope":        hxs("80"),
		"huge-length":           hxs("a1 0c 5b ffffffffffffffff"),
		"huge-length-int":       hxs("a1 0c 5b 7fffffffffffffff"),
		"huge-map":              hxs("bb ffffffffffffffff"),
		"tag-no-content":        hxs("c6"),
		"trailing":              append(all(), 0x00),
		"32-pairs":              all(unknownPairs(25)...),
		"33-pairs":              all(unknownPairs(26)...),
	}
}

// unknownPairs is n pairs with unknown integer keys 20, 21, ...
func unknownPairs(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("18%02x 00", 20+i)
	}
	return s
}

// TestCBORDecodeMatchesReference runs the corner cases through both
// decoders.
func TestCBORDecodeMatchesReference(t *testing.T) {
	for name, b := range cborDecodeCorners() {
		t.Run(name, func(t *testing.T) { checkDecodeMatchesReference(t, b) })
	}
}

// TestCBORDecodeKeepsQuirks pins that inputs outside the layout which the
// reference accepted are still accepted, with the same meaning (see the
// rules in cbordec.go), so that the corner list really covers them.
func TestCBORDecodeKeepsQuirks(t *testing.T) {
	corners := cborDecodeCorners()
	for _, name := range []string{"tagged-type", "tagged-schema", "bignum-schema", "bignum-data", "array-data",
		"tagged-envelope", "time-tagged-seconds", "simple-schema", "time-null-content", "self-described-field"} {
		b := corners[name]
		if _, err := referenceDecode(b); err != nil {
			t.Errorf("%s: the reference refuses it: %v", name, err)
		}
		checkDecodeMatchesReference(t, b)
	}
}

// FuzzCBORDecode is the differential test of the decoder: for any input,
// CBOR.Decode and the reflective reference decoder both fail or both give
// the same envelope (apart from the errCBORStrict inputs).
func FuzzCBORDecode(f *testing.F) {
	addGoldenSeeds(f, true)
	for _, b := range cborDecodeCorners() {
		f.Add(b)
	}
	f.Add([]byte{0xa0})
	f.Add([]byte{0xbf, 0xff})
	f.Add([]byte{0xa1, 0x07, 0xd9, 0x03, 0xe9, 0xa2, 0x01, 0x00, 0x28, 0x01})
	f.Add([]byte{0x9f, 0x9f, 0x9f, 0xff, 0xff, 0xff})
	// The seed corpora of the other CBOR fuzz targets.
	for _, dir := range []string{"FuzzDecodeCBOR", "FuzzCBORDecode"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", dir, "*"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			if raw, ok := parseCorpusBytes(b); ok {
				f.Add(raw)
			}
		}
	}
	for _, e := range []core.Envelope{typicalEnvelope(), minimalEnvelope(), {}} {
		b, err := CBOR{}.Encode(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDecodeMatchesReference(t, b) })
}

// parseCorpusBytes reads a "go test fuzz v1" file holding one []byte.
func parseCorpusBytes(file []byte) ([]byte, bool) {
	lines := strings.Split(strings.TrimSpace(string(file)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
		return nil, false
	}
	var s string
	if _, err := fmt.Sscanf(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"), "%q", &s); err != nil {
		return nil, false
	}
	return []byte(s), true
}

// BenchmarkDecodeCBORReference measures the reflective reference decoder,
// for comparison with BenchmarkDecode/cbor.
func BenchmarkDecodeCBORReference(b *testing.B) {
	in, err := CBOR{}.Encode(typicalEnvelope())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := referenceDecode(in); err != nil {
			b.Fatal(err)
		}
	}
}

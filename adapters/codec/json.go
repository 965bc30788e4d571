package codec

import (
	"encoding/json"
	"fmt"

	"github.com/rustok/rustok-iggy/core"
)

// JSON is the JSON codec (application/json): the Rust EventEnvelope as
// serde_json writes it, produced by core.Envelope's MarshalJSON. The zero
// value is ready to use and safe for concurrent use.
//
// Decoding accepts what serde accepts from that struct (unknown fields are
// ignored, absent optionals and nulls mean "none") and rejects input larger
// than MaxEncodedSize, trailing data and missing required fields.
//
// The envelope's usual shape is decoded and encoded by hand, without
// reflection; anything else (escapes, unknown or repeated keys, errors)
// goes through encoding/json and core.Envelope's methods, so both paths
// accept, reject and produce the same.
type JSON struct{}

var _ core.Codec = JSON{}

// ContentType returns "application/json".
func (JSON) ContentType() string { return ContentTypeJSON }

// Encode returns e in the Rust serde form, compact, without a trailing
// newline. It fails only when e.Event.Data is not valid JSON or the
// timestamp's year is outside 0..9999.
func (JSON) Encode(e core.Envelope) ([]byte, error) {
	if b, ok := appendJSONFast(make([]byte, 0, 448+len(e.EventType)+len(e.TraceID)+len(e.Event.Type)+len(e.Event.Data)), &e); ok {
		return b, nil
	}
	b, err := e.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("codec: encode json: %w", err)
	}
	return b, nil
}

// Decode parses a JSON envelope. Errors wrap ErrDecode; the result does not
// alias b.
func (JSON) Decode(b []byte) (core.Envelope, error) {
	if err := checkSize("json", b); err != nil {
		return core.Envelope{}, err
	}
	if e, ok := decodeJSONFast(b); ok {
		return e, nil
	}
	var e core.Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return core.Envelope{}, fmt.Errorf("%w: json: %w", ErrDecode, err)
	}
	return e, nil
}

// Package codec turns core.Envelope values into message payloads and back.
//
// Two codecs are provided, both safe for concurrent use:
//
//   - [JSON] (application/json, the default) writes exactly the document the
//     Rust RusToK EventEnvelope gets from serde_json, so Go and Rust services
//     can share a stream.
//   - [CBOR] (application/cbor) is the compact, fast binary form for Go-only
//     deployments; it replaces the Rust side's "bincode", which has no Go
//     equivalent. Its layout is described on [CBOR].
//
// The codec a payload was written with travels in the content_type message
// header; [ForContentType] finds the codec for it, [ByName] the codec named in
// the configuration ("json" or "cbor").
//
// Decoders treat their input as hostile: inputs larger than [MaxEncodedSize]
// are refused before parsing, nesting and collection sizes are bounded, bad
// input yields an error wrapping [ErrDecode] (never a panic), and a decoded
// envelope never aliases the input slice. Encoders do not validate; call
// core.Envelope.Validate first.
package codec

import (
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/rustok/rustok-iggy/core"
)

// MaxEncodedSize is the largest payload a decoder accepts, in bytes: the
// 10 MB cap Iggy places on one message payload.
const MaxEncodedSize = 10_000_000

// Content types of the codecs.
const (
	ContentTypeJSON = "application/json"
	ContentTypeCBOR = "application/cbor"
)

// ErrDecode is wrapped by every decoding error of this package.
var ErrDecode = errors.New("codec: decode")

// ErrUnknownCodec is wrapped by ForContentType and ByName when no codec
// matches.
var ErrUnknownCodec = fmt.Errorf("%w: unknown codec", core.ErrInvalid)

// ForContentType returns the codec for a MIME type as carried in the
// content_type header. Parameters (";charset=utf-8") and case are ignored;
// an empty content type means JSON, the default. Anything else wraps
// ErrUnknownCodec.
func ForContentType(contentType string) (core.Codec, error) {
	if strings.TrimSpace(contentType) == "" {
		return JSON{}, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("%w: content type %q: %v", ErrUnknownCodec, contentType, err)
	}
	switch mt {
	case ContentTypeJSON:
		return JSON{}, nil
	case ContentTypeCBOR:
		return CBOR{}, nil
	}
	return nil, fmt.Errorf("%w: content type %q (want %s or %s)", ErrUnknownCodec, contentType, ContentTypeJSON, ContentTypeCBOR)
}

// ByName returns the codec named by the configuration's serialization
// setting: "json" or "cbor" (case-insensitive). "bincode", the Rust side's
// binary format, is refused with an error that points to "cbor".
func ByName(name string) (core.Codec, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "json":
		return JSON{}, nil
	case "cbor":
		return CBOR{}, nil
	case "bincode":
		return nil, fmt.Errorf("%w: %q has no Go implementation; use \"cbor\" for a compact binary encoding", ErrUnknownCodec, name)
	}
	return nil, fmt.Errorf("%w: %q (want \"json\" or \"cbor\")", ErrUnknownCodec, name)
}

func checkSize(format string, b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: %s: empty input", ErrDecode, format)
	}
	if len(b) > MaxEncodedSize {
		return fmt.Errorf("%w: %s: %d bytes exceeds the limit of %d", ErrDecode, format, len(b), MaxEncodedSize)
	}
	return nil
}

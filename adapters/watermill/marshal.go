package iggywm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
)

// Header keys the default marshaler reserves. Metadata keys starting with
// ReservedPrefix never travel as headers of their own (they go in the
// extension block), so they cannot be mistaken for these.
const (
	// ReservedPrefix starts every header key the marshaler reserves.
	ReservedPrefix = "_watermill_"
	// HeaderUUID carries message.UUID when it is 1 to 255 bytes.
	HeaderUUID = "_watermill_message_uuid"
	// HeaderExtPrefix followed by a decimal index (0, 1, ...) names the
	// chunks of the extension block, each at most 255 bytes.
	HeaderExtPrefix = "_watermill_ext_"
)

// MaxHeaderField is the largest Iggy user-header key or value, in bytes;
// the smallest is 1.
const MaxHeaderField = 255

// extVersion is the first byte of an extension block.
const extVersion = 1

// Extension block flags.
const (
	extEmptyPayload byte = 1 << 0 // the message's payload is empty; a one-byte placeholder was sent
	extHasUUID      byte = 1 << 1 // the block carries message.UUID
	extKnownFlags        = extEmptyPayload | extHasUUID
)

// ErrMalformed is wrapped by every error of DefaultMarshaler.Unmarshal: the
// Iggy message's reserved headers do not decode.
var ErrMalformed = errors.New("iggywm: malformed message")

// Marshaler converts Watermill messages to Iggy messages and back. A
// Publisher calls Marshal, a Subscriber calls Unmarshal; both may be called
// concurrently from many goroutines and must not block. An error from
// Marshal fails the Publish; an error from Unmarshal makes the Subscriber
// log the message and skip it (its offset is stored, so the group moves
// on).
type Marshaler interface {
	// Marshal returns the Iggy message for msg, published to topic. The
	// broker sets Offset, Timestamp and Checksum.
	Marshal(topic string, msg *message.Message) (core.Message, error)
	// Unmarshal returns the Watermill message for m. The result must not
	// alias memory that m's owner reuses (polled messages are the caller's
	// to keep).
	Unmarshal(m core.Message) (*message.Message, error)
}

// DefaultMarshaler is the Marshaler used when none is configured. Its Iggy
// message has:
//
//   - the payload as the Iggy payload, byte for byte. Iggy SDKs refuse an
//     empty payload, so an empty one is sent as the single byte 0 with the
//     empty-payload flag in the extension block.
//   - message.UUID in the string header HeaderUUID, and, when it parses as a
//     UUID, also as the Iggy message id (core.MessageIDFromUUID), so tools
//     that show ids show the same UUID.
//   - every metadata entry as a user header of its own, key = metadata key,
//     value = metadata value byte for byte (kind string when the value is
//     valid UTF-8, raw otherwise), when the entry fits one: key 1 to 255
//     bytes of valid UTF-8 not starting with ReservedPrefix, value 1 to 255
//     bytes. Headers follow the order of sorted keys.
//   - everything that does not fit a header (an empty or too long value,
//     an empty, long, non-UTF-8 or reserved key, an empty or longer than
//     255 bytes UUID, the empty-payload flag) in the extension block: the
//     bytes version 1, flags (bit 0 empty payload, bit 1 UUID present),
//     [u32 length, UUID] when present, u32 entry count, then per entry
//     u32 key length, key, u32 value length, value (lengths little-endian),
//     cut into chunks of 255 bytes carried by the raw headers
//     HeaderExtPrefix+"0", HeaderExtPrefix+"1", ...
//
// Iggy caps a message's user headers at 100 000 bytes; Publish of a
// message whose metadata needs more fails with core.ErrInvalid.
//
// Unmarshal inverts this exactly. It also reads messages written by other
// producers: headers of other kinds become metadata in their text form
// (core.Header.String), the first of duplicate keys wins, and without a
// UUID header the UUID is the Iggy message id in UUID form (empty for a
// zero id). Unknown reserved headers are ignored. The zero value is ready
// to use and safe for concurrent use.
type DefaultMarshaler struct{}

var _ Marshaler = DefaultMarshaler{}

// Marshal implements Marshaler. It fails only when the headers would
// exceed what Iggy accepts; Send reports that (core.ErrInvalid).
func (DefaultMarshaler) Marshal(_ string, msg *message.Message) (core.Message, error) {
	var m core.Message
	if u, err := uuid.Parse(msg.UUID); err == nil {
		m.ID = core.MessageIDFromUUID(u)
	}
	keys := make([]string, 0, len(msg.Metadata))
	for k := range msg.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m.Headers = make(core.Headers, 0, len(keys)+1)
	var ext extBlock
	if n := len(msg.UUID); n >= 1 && n <= MaxHeaderField {
		m.Headers = append(m.Headers, valueHeader(HeaderUUID, msg.UUID))
	} else {
		ext.hasUUID, ext.uuid = true, msg.UUID
	}
	for _, k := range keys {
		v := msg.Metadata[k]
		if fitsHeader(k, v) {
			m.Headers = append(m.Headers, valueHeader(k, v))
		} else {
			ext.entries = append(ext.entries, [2]string{k, v})
		}
	}
	m.Payload = msg.Payload
	if len(m.Payload) == 0 {
		ext.emptyPayload = true
		m.Payload = []byte{0}
	}
	if ext.needed() {
		block := ext.encode()
		for i := 0; len(block) > 0; i++ {
			n := min(len(block), MaxHeaderField)
			m.Headers = append(m.Headers, core.Header{Key: HeaderExtPrefix + strconv.Itoa(i), Kind: core.HeaderRaw, Value: block[:n:n]})
			block = block[n:]
		}
	}
	return m, nil
}

// fitsHeader reports whether a metadata entry travels as a header of its
// own.
func fitsHeader(k, v string) bool {
	return len(k) >= 1 && len(k) <= MaxHeaderField && utf8.ValidString(k) &&
		!strings.HasPrefix(k, ReservedPrefix) && len(v) >= 1 && len(v) <= MaxHeaderField
}

// valueHeader is a string header when v is valid UTF-8 (what Iggy's other
// SDKs expect of kind string), a raw header otherwise.
func valueHeader(k, v string) core.Header {
	kind := core.HeaderString
	if !utf8.ValidString(v) {
		kind = core.HeaderRaw
	}
	return core.Header{Key: k, Kind: kind, Value: []byte(v)}
}

// Unmarshal implements Marshaler. Malformed reserved headers (a bad
// extension block, a missing chunk) give an error wrapping ErrMalformed;
// it never panics.
func (DefaultMarshaler) Unmarshal(m core.Message) (*message.Message, error) {
	md := make(message.Metadata, len(m.Headers))
	var (
		id     string
		haveID bool
		chunks [][]byte
	)
	for _, h := range m.Headers {
		switch {
		case h.Key == HeaderUUID:
			if !haveID {
				id, haveID = headerText(h), true
			}
		case strings.HasPrefix(h.Key, HeaderExtPrefix):
			i, err := chunkIndex(h.Key[len(HeaderExtPrefix):])
			if err != nil || i >= len(m.Headers) {
				return nil, fmt.Errorf("%w: header %q: not an extension chunk index", ErrMalformed, h.Key)
			}
			if i >= len(chunks) {
				chunks = append(chunks, make([][]byte, i+1-len(chunks))...)
			}
			if chunks[i] != nil {
				return nil, fmt.Errorf("%w: extension chunk %d appears twice", ErrMalformed, i)
			}
			chunks[i] = h.Value
		case strings.HasPrefix(h.Key, ReservedPrefix):
			// Reserved for later versions: ignored.
		default:
			if _, dup := md[h.Key]; !dup {
				md[h.Key] = headerText(h)
			}
		}
	}
	payload := m.Payload
	if chunks != nil {
		var block []byte
		for i, c := range chunks {
			if c == nil {
				return nil, fmt.Errorf("%w: extension chunk %d of %d is missing", ErrMalformed, i, len(chunks))
			}
			block = append(block, c...)
		}
		ext, err := decodeExt(block)
		if err != nil {
			return nil, err
		}
		if ext.hasUUID {
			id, haveID = ext.uuid, true
		}
		for _, e := range ext.entries {
			md[e[0]] = e[1]
		}
		if ext.emptyPayload {
			payload = nil
		}
	}
	if !haveID && m.ID != ([16]byte{}) {
		id = uuid.UUID(core.UUIDFromMessageID(m.ID)).String()
	}
	msg := message.NewMessage(id, payload)
	msg.Metadata = md
	return msg, nil
}

// headerText is a header's value as metadata: the bytes of a string or raw
// header, the text form of any other kind.
func headerText(h core.Header) string {
	if h.Kind == core.HeaderString || h.Kind == core.HeaderRaw {
		return string(h.Value)
	}
	return h.String()
}

// chunkIndex parses a canonical decimal index ("0", "17"; no sign, no
// leading zeros).
func chunkIndex(s string) (int, error) {
	if s == "" || len(s) > 6 || (len(s) > 1 && s[0] == '0') {
		return 0, strconv.ErrSyntax
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.Atoi(s)
}

// extBlock is the content of the extension block.
type extBlock struct {
	emptyPayload bool
	hasUUID      bool
	uuid         string
	entries      [][2]string // key, value
}

func (e *extBlock) needed() bool { return e.emptyPayload || e.hasUUID || len(e.entries) > 0 }

func (e *extBlock) encode() []byte {
	var flags byte
	if e.emptyPayload {
		flags |= extEmptyPayload
	}
	if e.hasUUID {
		flags |= extHasUUID
	}
	b := []byte{extVersion, flags}
	if e.hasUUID {
		b = appendString(b, e.uuid)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.entries)))
	for _, kv := range e.entries {
		b = appendString(b, kv[0])
		b = appendString(b, kv[1])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// decodeExt parses an extension block. Every length is checked against
// the bytes left before anything is allocated.
func decodeExt(b []byte) (extBlock, error) {
	var e extBlock
	bad := func(at int, format string, args ...any) (extBlock, error) {
		return extBlock{}, fmt.Errorf("%w: extension block at byte %d: %s", ErrMalformed, at, fmt.Sprintf(format, args...))
	}
	if len(b) < 2 {
		return bad(0, "%d bytes, want at least 2", len(b))
	}
	if b[0] != extVersion {
		return bad(0, "version %d, want %d", b[0], extVersion)
	}
	flags := b[1]
	if flags&^extKnownFlags != 0 {
		return bad(1, "unknown flags %#02x", flags)
	}
	e.emptyPayload = flags&extEmptyPayload != 0
	pos := 2
	str := func() (string, bool) {
		if len(b)-pos < 4 {
			return "", false
		}
		n := binary.LittleEndian.Uint32(b[pos:])
		if uint64(n) > uint64(len(b)-pos-4) {
			return "", false
		}
		s := string(b[pos+4 : pos+4+int(n)])
		pos += 4 + int(n)
		return s, true
	}
	if flags&extHasUUID != 0 {
		s, ok := str()
		if !ok {
			return bad(pos, "truncated UUID")
		}
		e.hasUUID, e.uuid = true, s
	}
	if len(b)-pos < 4 {
		return bad(pos, "truncated entry count")
	}
	count := binary.LittleEndian.Uint32(b[pos:])
	pos += 4
	if uint64(count) > uint64(len(b)-pos)/8 { // each entry takes at least 8 bytes
		return bad(pos-4, "%d entries cannot fit in %d bytes", count, len(b)-pos)
	}
	e.entries = make([][2]string, 0, count)
	for i := range count {
		at := pos
		k, ok := str()
		if !ok {
			return bad(at, "entry %d: truncated key", i)
		}
		at = pos
		v, ok := str()
		if !ok {
			return bad(at, "entry %d: truncated value", i)
		}
		e.entries = append(e.entries, [2]string{k, v})
	}
	if pos != len(b) {
		return bad(pos, "%d bytes left over", len(b)-pos)
	}
	return e, nil
}

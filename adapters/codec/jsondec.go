package codec

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
)

// The JSON codec's fast decoder. It handles the envelope's known shape as
// serde_json and core.Envelope.MarshalJSON write it: each of the eleven
// keys spelled exactly and at most once, strings without escapes, numbers
// as plain integers, JSON whitespace anywhere between tokens. Anything else
// (unknown or differently cased keys, duplicates, escapes, invalid UTF-8,
// nulls in required fields, type mismatches, any syntax error) makes it
// give up, and Decode falls back to encoding/json and core.Envelope's
// UnmarshalJSON, the reference. The fast path therefore never accepts what
// the reference rejects and never decodes anything differently; it only
// skips reflection for the common case. FuzzJSONDifferential checks this.

// Bits of the keys seen, to detect duplicates and missing required fields.
const (
	seenID = 1 << iota
	seenEventType
	seenSchemaVersion
	seenCorrelationID
	seenCausationID
	seenTenantID
	seenTraceID
	seenTimestamp
	seenActorID
	seenEvent
	seenRetryCount

	seenRequired = seenID | seenEventType | seenSchemaVersion | seenCorrelationID |
		seenTenantID | seenTimestamp | seenEvent
)

// maxFastDataDepth bounds the nesting the fast path scans in event.data;
// deeper data goes to the reference, which has its own (larger) limit.
const maxFastDataDepth = 512

type jsonFast struct {
	b []byte
	i int
	// spaced records that whitespace was skipped (the encoder copies
	// event.data verbatim only when it is already compact).
	spaced bool
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (d *jsonFast) skipSpace() {
	if d.i < len(d.b) && isJSONSpace(d.b[d.i]) {
		d.spaced = true
		for d.i < len(d.b) && isJSONSpace(d.b[d.i]) {
			d.i++
		}
	}
}

// next skips whitespace and reports whether the next byte is c, consuming
// it if so.
func (d *jsonFast) next(c byte) bool {
	d.skipSpace()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// null consumes a null literal if one is next (after whitespace).
func (d *jsonFast) null() bool {
	d.skipSpace()
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

// plainString reads a string without escapes or control characters and
// returns its contents (aliasing the input). ok is false for anything
// else, including a string that is not valid UTF-8 (encoding/json would
// replace its bad bytes).
func (d *jsonFast) plainString() (s []byte, ok bool) {
	if !d.next('"') {
		return nil, false
	}
	start := d.i
	ascii := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s = d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.i++
	}
	return nil, false
}

// uuid reads a UUID string as uuid.UUID's UnmarshalText parses it.
func (d *jsonFast) uuid() (uuid.UUID, bool) {
	s, ok := d.plainString()
	if !ok {
		return uuid.Nil, false
	}
	u, err := uuid.ParseBytes(s)
	return u, err == nil
}

// uint reads a non-negative integer without fraction or exponent that
// fits in bits.
func (d *jsonFast) uint(bits int) (uint64, bool) {
	d.skipSpace()
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - start
	if n == 0 || n > 10 || (n > 1 && d.b[start] == '0') {
		return 0, false
	}
	if d.i < len(d.b) {
		if c := d.b[d.i]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(string(d.b[start:d.i]), 10, bits)
	return v, err == nil
}

// timestamp reads the RFC 3339 string as core's rfc3339 does.
func (d *jsonFast) timestamp() (time.Time, bool) {
	s, ok := d.plainString()
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}, false
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// skipValue scans one JSON value of any kind, validating it as the
// encoding/json scanner does.
func (d *jsonFast) skipValue(depth int) bool {
	d.skipSpace()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		if depth >= maxFastDataDepth {
			return false
		}
		d.i++
		if d.next('}') {
			return true
		}
		for {
			if !d.skipString() || !d.next(':') || !d.skipValue(depth+1) {
				return false
			}
			if d.next('}') {
				return true
			}
			if !d.next(',') {
				return false
			}
		}
	case c == '[':
		if depth >= maxFastDataDepth {
			return false
		}
		d.i++
		if d.next(']') {
			return true
		}
		for {
			if !d.skipValue(depth + 1) {
				return false
			}
			if d.next(']') {
				return true
			}
			if !d.next(',') {
				return false
			}
		}
	case c == '"':
		return d.skipString()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.skipNumber()
	}
	return false
}

func (d *jsonFast) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// skipString scans a JSON string (after whitespace), escapes included.
// Like encoding/json's scanner it does not check UTF-8.
func (d *jsonFast) skipString() bool {
	if !d.next('"') {
		return false
	}
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			d.i++
			if d.i >= len(d.b) {
				return false
			}
			switch d.b[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(d.b)-d.i < 5 {
					return false
				}
				for _, h := range d.b[d.i+1 : d.i+5] {
					if !isHex(h) {
						return false
					}
				}
				d.i += 4
			default:
				return false
			}
		}
		d.i++
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (d *jsonFast) digits() int {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}

// skipNumber scans a number per the JSON grammar.
func (d *jsonFast) skipNumber() bool {
	if d.b[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if d.digits() == 0 {
		return false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return false
		}
	}
	return true
}

// event reads the {"type": ..., "data": ...} object.
func (d *jsonFast) event(e *core.Event) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	var seenType, seenData bool
	for {
		key, ok := d.plainString()
		if !ok || !d.next(':') {
			return false
		}
		switch string(key) {
		case "type":
			if seenType {
				return false
			}
			seenType = true
			if !d.null() {
				s, ok := d.plainString()
				if !ok {
					return false
				}
				e.Type = string(s)
			}
		case "data":
			if seenData {
				return false
			}
			seenData = true
			d.skipSpace()
			start := d.i
			if !d.skipValue(0) {
				return false
			}
			if raw := d.b[start:d.i]; string(raw) != "null" {
				e.Data = append([]byte(nil), raw...)
			}
		default:
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// decodeJSONFast decodes b if it has the envelope's known shape; ok is
// false when the reference decoder must decide instead.
func decodeJSONFast(b []byte) (e core.Envelope, ok bool) {
	d := jsonFast{b: b}
	if !d.next('{') || d.next('}') {
		return core.Envelope{}, false
	}
	var seen uint
	for {
		key, ok := d.plainString()
		if !ok || !d.next(':') {
			return core.Envelope{}, false
		}
		var bit uint
		switch string(key) {
		case "id":
			bit = seenID
			e.ID, ok = d.uuid()
		case "event_type":
			bit = seenEventType
			var s []byte
			if s, ok = d.plainString(); ok {
				e.EventType = string(s)
			}
		case "schema_version":
			bit = seenSchemaVersion
			var v uint64
			v, ok = d.uint(16)
			e.SchemaVersion = uint16(v)
		case "correlation_id":
			bit = seenCorrelationID
			e.CorrelationID, ok = d.uuid()
		case "causation_id":
			bit = seenCausationID
			if !d.null() {
				e.CausationID, ok = d.uuid()
			}
		case "tenant_id":
			bit = seenTenantID
			e.TenantID, ok = d.uuid()
		case "trace_id":
			bit = seenTraceID
			if !d.null() {
				var s []byte
				if s, ok = d.plainString(); ok {
					e.TraceID = string(s)
				}
			}
		case "timestamp":
			bit = seenTimestamp
			e.Timestamp, ok = d.timestamp()
		case "actor_id":
			bit = seenActorID
			if !d.null() {
				e.ActorID, ok = d.uuid()
			}
		case "event":
			bit = seenEvent
			ok = d.event(&e.Event)
		case "retry_count":
			bit = seenRetryCount
			var v uint64
			v, ok = d.uint(32)
			e.RetryCount = uint32(v)
		default:
			return core.Envelope{}, false
		}
		if !ok || seen&bit != 0 {
			return core.Envelope{}, false
		}
		seen |= bit
		if d.next('}') {
			break
		}
		if !d.next(',') {
			return core.Envelope{}, false
		}
	}
	d.skipSpace()
	if d.i != len(d.b) || seen&seenRequired != seenRequired {
		return core.Envelope{}, false
	}
	return e, true
}

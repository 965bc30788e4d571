package codec

import (
	"encoding/hex"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
)

// appendJSONFast appends e's JSON form to dst as core.Envelope.MarshalJSON
// writes it, without reflection. ok is false, and the caller must use
// MarshalJSON (the reference, which also produces its errors), when a
// string needs escaping, event.data is not compact valid JSON as this
// scanner sees it, or the timestamp's year is outside 0..9999.
func appendJSONFast(dst []byte, e *core.Envelope) (out []byte, ok bool) {
	if !plainASCII(e.EventType) || !plainASCII(e.TraceID) || !plainASCII(e.Event.Type) {
		return dst, false
	}
	ts := e.Timestamp.UTC()
	if y := ts.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	if len(e.Event.Data) > 0 {
		d := jsonFast{b: e.Event.Data}
		if !d.skipValue(0) || d.i != len(d.b) || d.spaced {
			return dst, false
		}
	}
	dst = append(dst, `{"id":`...)
	dst = appendUUID(dst, e.ID)
	dst = append(dst, `,"event_type":"`...)
	dst = append(dst, e.EventType...)
	dst = append(dst, `","schema_version":`...)
	dst = strconv.AppendUint(dst, uint64(e.SchemaVersion), 10)
	dst = append(dst, `,"correlation_id":`...)
	dst = appendUUID(dst, e.CorrelationID)
	dst = append(dst, `,"causation_id":`...)
	dst = appendOptUUID(dst, e.CausationID)
	dst = append(dst, `,"tenant_id":`...)
	dst = appendUUID(dst, e.TenantID)
	dst = append(dst, `,"trace_id":`...)
	if e.TraceID == "" {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '"')
		dst = append(dst, e.TraceID...)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"timestamp":"`...)
	dst = appendTimestamp(dst, ts)
	dst = append(dst, `","actor_id":`...)
	dst = appendOptUUID(dst, e.ActorID)
	dst = append(dst, `,"event":{"type":"`...)
	dst = append(dst, e.Event.Type...)
	dst = append(dst, '"')
	if len(e.Event.Data) > 0 {
		dst = append(dst, `,"data":`...)
		dst = append(dst, e.Event.Data...)
	}
	dst = append(dst, `},"retry_count":`...)
	dst = strconv.AppendUint(dst, uint64(e.RetryCount), 10)
	return append(dst, '}'), true
}

// plainASCII reports whether encoding/json writes s verbatim between
// quotes: printable ASCII other than '"' and '\\'.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendUUID appends u quoted, as its MarshalText writes it.
func appendUUID(dst []byte, u uuid.UUID) []byte {
	var buf [38]byte
	buf[0] = '"'
	hex.Encode(buf[1:9], u[:4])
	buf[9] = '-'
	hex.Encode(buf[10:14], u[4:6])
	buf[14] = '-'
	hex.Encode(buf[15:19], u[6:8])
	buf[19] = '-'
	hex.Encode(buf[20:24], u[8:10])
	buf[24] = '-'
	hex.Encode(buf[25:37], u[10:])
	buf[37] = '"'
	return append(dst, buf[:]...)
}

func appendOptUUID(dst []byte, u uuid.UUID) []byte {
	if u == uuid.Nil {
		return append(dst, "null"...)
	}
	return appendUUID(dst, u)
}

// appendTimestamp appends t (in UTC) as core.FormatTimestamp formats it.
func appendTimestamp(dst []byte, t time.Time) []byte {
	ns := t.Nanosecond()
	var layout string
	switch {
	case ns == 0:
		layout = "2006-01-02T15:04:05Z"
	case ns%1_000_000 == 0:
		layout = "2006-01-02T15:04:05.000Z"
	case ns%1_000 == 0:
		layout = "2006-01-02T15:04:05.000000Z"
	default:
		layout = "2006-01-02T15:04:05.000000000Z"
	}
	return t.AppendFormat(dst, layout)
}

package transport

import (
	"strconv"

	"github.com/rustok/rustok-iggy/core"
)

// Topic names inside the stream.
const (
	// TopicDomain receives every event whose type does not start with
	// "system.".
	TopicDomain = "domain"
	// TopicSystem receives events whose type starts with "system.".
	TopicSystem = "system"
	// TopicDLQ receives events whose handling kept failing, and undecodable
	// messages.
	TopicDLQ = "dlq"
)

// User header keys of every published event. Values are Iggy string
// headers. Empty optional fields (causation_id, trace_id) are omitted.
const (
	HeaderTenantID      = "tenant_id"
	HeaderEventType     = "event_type"
	HeaderSchemaVersion = "schema_version"
	HeaderContentType   = "content_type"
	HeaderCorrelationID = "correlation_id"
	HeaderCausationID   = "causation_id"
	HeaderTraceID       = "trace_id"
)

// User header keys added to a DLQ entry, after a copy of the original
// message's headers. All are string headers; times are RFC 3339 with
// nanoseconds in UTC, numbers are decimal.
const (
	// HeaderDLQError is the last error, cut to 255 bytes.
	HeaderDLQError = "dlq_error"
	// HeaderDLQReason is DLQReasonHandler or DLQReasonDecode.
	HeaderDLQReason = "dlq_reason"
	// HeaderDLQAttempts is how often the handler was called.
	HeaderDLQAttempts = "dlq_attempts"
	// HeaderDLQSourceTopic is the topic the event was read from.
	HeaderDLQSourceTopic = "dlq_source_topic"
	// HeaderDLQSourcePartition is the partition it was read from.
	HeaderDLQSourcePartition = "dlq_source_partition"
	// HeaderDLQSourceOffset is its offset there.
	HeaderDLQSourceOffset = "dlq_source_offset"
	// HeaderDLQGroup is the consumer group that failed to handle it.
	HeaderDLQGroup = "dlq_group"
	// HeaderDLQFirstFailure is when the first attempt failed.
	HeaderDLQFirstFailure = "dlq_first_failure_at"
	// HeaderDLQLastFailure is when the last attempt failed.
	HeaderDLQLastFailure = "dlq_last_failure_at"

	// HeaderDLQRedriveOf marks a redrive marker: a message in the dlq topic
	// recording that the entry at this offset of the same partition was
	// redriven. Markers are not entries; List, Counts and Replay skip them.
	HeaderDLQRedriveOf = "dlq_redrive_of"
	// HeaderDLQRedrivenAt is when a marker's entry was redriven.
	HeaderDLQRedrivenAt = "dlq_redriven_at"
	// HeaderRedrivenFrom is set on an event redriven to its source topic:
	// "<dlq partition>/<dlq offset>".
	HeaderRedrivenFrom = "dlq_redriven_from"
)

// DLQ reasons (values of HeaderDLQReason).
const (
	DLQReasonHandler = "handler"
	DLQReasonDecode  = "decode"
)

// maxHeaderValue is the longest header value written (Iggy's limit).
const maxHeaderValue = 255

// TopicFor returns the topic an event type is published to: TopicSystem for
// "system.*", TopicDomain otherwise.
func TopicFor(eventType string) string {
	if len(eventType) >= 7 && eventType[:7] == "system." {
		return TopicSystem
	}
	return TopicDomain
}

// eventHeaders appends e's headers to hs, with their values appended to
// buf, and returns both. Values alias buf, so the caller keeps buf alive
// (and unchanged) as long as hs is used. tenantKey is the tenant id's text
// (buf's first 36 appended bytes) for the partition key.
func eventHeaders(hs core.Headers, buf []byte, e *core.Envelope, contentType string) (core.Headers, []byte, []byte) {
	start := len(buf)
	buf = appendUUID(buf, e.TenantID)
	tenant := buf[start:len(buf):len(buf)]
	hs = append(hs, core.Header{Key: HeaderTenantID, Kind: core.HeaderString, Value: tenant})
	hs, buf = strHeader(hs, buf, HeaderEventType, e.EventType)
	start = len(buf)
	buf = strconv.AppendUint(buf, uint64(e.SchemaVersion), 10)
	hs = append(hs, core.Header{Key: HeaderSchemaVersion, Kind: core.HeaderString, Value: buf[start:len(buf):len(buf)]})
	hs, buf = strHeader(hs, buf, HeaderContentType, contentType)
	start = len(buf)
	buf = appendUUID(buf, e.CorrelationID)
	hs = append(hs, core.Header{Key: HeaderCorrelationID, Kind: core.HeaderString, Value: buf[start:len(buf):len(buf)]})
	if e.CausationID != [16]byte{} {
		start = len(buf)
		buf = appendUUID(buf, e.CausationID)
		hs = append(hs, core.Header{Key: HeaderCausationID, Kind: core.HeaderString, Value: buf[start:len(buf):len(buf)]})
	}
	if e.TraceID != "" {
		hs, buf = strHeader(hs, buf, HeaderTraceID, e.TraceID)
	}
	return hs, buf, tenant
}

// eventValues appends to buf the values of e's headers, in eventHeaders'
// order, without the headers themselves (addValues makes them): the
// tenant id's text first.
func eventValues(buf []byte, e *core.Envelope, contentType string) []byte {
	buf = appendUUID(buf, e.TenantID)
	buf = append(buf, e.EventType...)
	buf = strconv.AppendUint(buf, uint64(e.SchemaVersion), 10)
	buf = append(buf, contentType...)
	buf = appendUUID(buf, e.CorrelationID)
	if e.CausationID != [16]byte{} {
		buf = appendUUID(buf, e.CausationID)
	}
	if e.TraceID != "" {
		buf = append(buf, e.TraceID...)
	}
	return buf
}

// optionalLen is the length of e's optional header values (causation and
// trace ids).
func optionalLen(e *core.Envelope) int {
	n := len(e.TraceID)
	if e.CausationID != [16]byte{} {
		n += 36
	}
	return n
}

func strHeader(hs core.Headers, buf []byte, key, v string) (core.Headers, []byte) {
	start := len(buf)
	buf = append(buf, v...)
	return append(hs, core.Header{Key: key, Kind: core.HeaderString, Value: buf[start:len(buf):len(buf)]}), buf
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}

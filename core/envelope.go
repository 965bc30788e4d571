package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Envelope is one domain event and its metadata.
//
// Its JSON form is the Rust RusToK EventEnvelope as serde writes it: the
// fields in declaration order with snake_case names, UUIDs as lower-case
// hyphenated strings, null for an absent optional, the timestamp in RFC 3339
// UTC with 0, 3, 6 or 9 fractional digits, and the event as
// {"type": ..., "data": ...}.
type Envelope struct {
	// ID identifies the event. It also becomes the Iggy message id.
	ID uuid.UUID
	// EventType is the dotted type, for example "node.created". Types
	// starting with "system." go to the system topic.
	EventType string
	// SchemaVersion is the version of the event's data schema.
	SchemaVersion uint16
	// CorrelationID ties together the events of one business operation.
	CorrelationID uuid.UUID
	// CausationID is the id of the event that caused this one; uuid.Nil
	// means none (JSON null).
	CausationID uuid.UUID
	// TenantID owns the event. Events of one tenant keep their order.
	TenantID uuid.UUID
	// TraceID is a distributed-tracing id; "" means none (JSON null).
	TraceID string
	// Timestamp is when the event happened, in UTC.
	Timestamp time.Time
	// ActorID is the user or service that caused the event; uuid.Nil
	// means none (JSON null).
	ActorID uuid.UUID
	// Event is the event itself.
	Event Event
	// RetryCount counts how often the event was redriven from the dead
	// letter queue.
	RetryCount uint32
}

// Event is the tagged domain event inside an envelope: the variant name and
// its data as raw JSON.
type Event struct {
	// Type is the variant name, for example "NodeCreated".
	Type string `json:"type"`
	// Data is the variant's content as JSON; empty for a variant without
	// data.
	Data json.RawMessage `json:"data,omitempty"`
}

// NewEnvelope returns an envelope for a tenant's event with a fresh
// time-ordered id (UUID v7), the correlation id set to that id, schema
// version 1 and the timestamp set to now, in UTC.
func NewEnvelope(tenant uuid.UUID, eventType string, ev Event) Envelope {
	id, err := uuid.NewV7()
	if err != nil { // only when the random source fails
		id = uuid.New()
	}
	return Envelope{
		ID:            id,
		EventType:     eventType,
		SchemaVersion: 1,
		CorrelationID: id,
		TenantID:      tenant,
		Timestamp:     time.Now().UTC(),
		Event:         ev,
	}
}

// ErrInvalidEnvelope is wrapped by every error Envelope.Validate returns.
var ErrInvalidEnvelope = fmt.Errorf("%w: envelope", ErrInvalid)

// MaxEventTypeLen is the longest event type accepted, in bytes. It matches
// the largest Iggy user header value.
const MaxEventTypeLen = 255

// Validate reports every problem with e at once, joined; each wraps
// ErrInvalidEnvelope (and so ErrInvalid).
func (e Envelope) Validate() error {
	if e.valid() {
		return nil
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidEnvelope}, args...)...))
	}
	if e.ID == uuid.Nil {
		bad("id is nil")
	}
	if e.TenantID == uuid.Nil {
		bad("tenant_id is nil")
	}
	if e.CorrelationID == uuid.Nil {
		bad("correlation_id is nil")
	}
	if strings.TrimSpace(e.EventType) == "" {
		bad("event_type is empty")
	} else if len(e.EventType) > MaxEventTypeLen {
		bad("event_type is %d bytes, the limit is %d", len(e.EventType), MaxEventTypeLen)
	}
	if strings.TrimSpace(e.Event.Type) == "" {
		bad("event.type is empty")
	}
	if len(e.Event.Data) > 0 && !ValidJSON(e.Event.Data) {
		bad("event.data is not valid JSON")
	}
	if e.Timestamp.IsZero() {
		bad("timestamp is zero")
	}
	if len(e.TraceID) > 255 {
		bad("trace_id is %d bytes, the limit is 255", len(e.TraceID))
	}
	return errors.Join(errs...)
}

// valid is Validate's allocation-free fast path: it reports whether e
// passes every check Validate makes.
func (e *Envelope) valid() bool {
	return e.ID != uuid.Nil && e.TenantID != uuid.Nil && e.CorrelationID != uuid.Nil &&
		strings.TrimSpace(e.EventType) != "" && len(e.EventType) <= MaxEventTypeLen &&
		strings.TrimSpace(e.Event.Type) != "" &&
		(len(e.Event.Data) == 0 || ValidJSON(e.Event.Data)) &&
		!e.Timestamp.IsZero() && len(e.TraceID) <= 255
}

// IsSystem reports whether the event type is a system event ("system."
// prefix), which the transport routes to the system topic.
func (e Envelope) IsSystem() bool { return strings.HasPrefix(e.EventType, "system.") }

// envelopeJSON is the wire shape, in serde's field order.
type envelopeJSON struct {
	ID            uuid.UUID  `json:"id"`
	EventType     string     `json:"event_type"`
	SchemaVersion uint16     `json:"schema_version"`
	CorrelationID uuid.UUID  `json:"correlation_id"`
	CausationID   *uuid.UUID `json:"causation_id"`
	TenantID      uuid.UUID  `json:"tenant_id"`
	TraceID       *string    `json:"trace_id"`
	Timestamp     rfc3339    `json:"timestamp"`
	ActorID       *uuid.UUID `json:"actor_id"`
	Event         Event      `json:"event"`
	RetryCount    uint32     `json:"retry_count"`
}

// MarshalJSON encodes e as the Rust EventEnvelope does.
func (e Envelope) MarshalJSON() ([]byte, error) {
	w := envelopeJSON{
		ID:            e.ID,
		EventType:     e.EventType,
		SchemaVersion: e.SchemaVersion,
		CorrelationID: e.CorrelationID,
		TenantID:      e.TenantID,
		Timestamp:     rfc3339(e.Timestamp),
		Event:         e.Event,
		RetryCount:    e.RetryCount,
	}
	if e.CausationID != uuid.Nil {
		w.CausationID = &e.CausationID
	}
	if e.ActorID != uuid.Nil {
		w.ActorID = &e.ActorID
	}
	if e.TraceID != "" {
		w.TraceID = &e.TraceID
	}
	if len(w.Event.Data) > 0 {
		// Compact so that re-encoding a decoded document is stable.
		var buf bytes.Buffer
		if err := json.Compact(&buf, w.Event.Data); err != nil {
			return nil, fmt.Errorf("envelope %s: event.data: %w", e.ID, err)
		}
		w.Event.Data = buf.Bytes()
	}
	// serde_json does not escape <, > and &; json.Marshal would.
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte{'\n'}), nil
}

// UnmarshalJSON decodes the Rust EventEnvelope form. Required fields that
// are missing are an error; unknown fields are ignored, as serde does.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var w struct {
		ID            *uuid.UUID `json:"id"`
		EventType     *string    `json:"event_type"`
		SchemaVersion *uint16    `json:"schema_version"`
		CorrelationID *uuid.UUID `json:"correlation_id"`
		CausationID   *uuid.UUID `json:"causation_id"`
		TenantID      *uuid.UUID `json:"tenant_id"`
		TraceID       *string    `json:"trace_id"`
		Timestamp     *rfc3339   `json:"timestamp"`
		ActorID       *uuid.UUID `json:"actor_id"`
		Event         *Event     `json:"event"`
		RetryCount    *uint32    `json:"retry_count"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decode envelope: %w", err)
	}
	var missing []string
	if w.ID == nil {
		missing = append(missing, "id")
	}
	if w.EventType == nil {
		missing = append(missing, "event_type")
	}
	if w.SchemaVersion == nil {
		missing = append(missing, "schema_version")
	}
	if w.CorrelationID == nil {
		missing = append(missing, "correlation_id")
	}
	if w.TenantID == nil {
		missing = append(missing, "tenant_id")
	}
	if w.Timestamp == nil {
		missing = append(missing, "timestamp")
	}
	if w.Event == nil {
		missing = append(missing, "event")
	}
	if len(missing) > 0 {
		return fmt.Errorf("decode envelope: missing field(s) %s", strings.Join(missing, ", "))
	}
	*e = Envelope{
		ID:            *w.ID,
		EventType:     *w.EventType,
		SchemaVersion: *w.SchemaVersion,
		CorrelationID: *w.CorrelationID,
		TenantID:      *w.TenantID,
		Timestamp:     time.Time(*w.Timestamp),
		Event:         *w.Event,
	}
	if w.CausationID != nil {
		e.CausationID = *w.CausationID
	}
	if w.ActorID != nil {
		e.ActorID = *w.ActorID
	}
	if w.TraceID != nil {
		e.TraceID = *w.TraceID
	}
	if w.RetryCount != nil {
		e.RetryCount = *w.RetryCount
	}
	if len(e.Event.Data) > 0 {
		e.Event.Data = bytes.Clone(e.Event.Data)
		if bytes.Equal(e.Event.Data, []byte("null")) {
			e.Event.Data = nil
		}
	}
	return nil
}

// rfc3339 is a time in chrono's serde form: RFC 3339, UTC as "Z", with no
// fraction, or 3, 6 or 9 fractional digits, whichever is shortest exactly.
type rfc3339 time.Time

// FormatTimestamp formats t as the Rust side's chrono serde does: UTC, "Z",
// and 0, 3, 6 or 9 fractional digits.
func FormatTimestamp(t time.Time) string {
	t = t.UTC()
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
	return t.Format(layout)
}

func (r rfc3339) MarshalJSON() ([]byte, error) {
	if y := time.Time(r).UTC().Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("timestamp: year %d is outside RFC 3339's range [0,9999]", y)
	}
	return strconv.AppendQuote(nil, FormatTimestamp(time.Time(r))), nil
}

func (r *rfc3339) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return fmt.Errorf("timestamp: %q is outside RFC 3339's range in UTC", s)
	}
	*r = rfc3339(t)
	return nil
}

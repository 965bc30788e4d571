package transport

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
)

// EncodedEvent is an event its producer already validated and encoded with
// one of the transport's codecs (a transactional outbox row, for example),
// with the envelope fields its headers and routing need beside the payload.
type EncodedEvent struct {
	ID, TenantID, CorrelationID uuid.UUID
	// CausationID is uuid.Nil when there is none.
	CausationID   uuid.UUID
	EventType     string
	SchemaVersion uint16
	// TraceID is "" when there is none.
	TraceID string
	// ContentType names the codec of Payload ("" = the transport's own).
	ContentType string
	Payload     []byte
}

// ErrInvalidEncoded is wrapped by PublishEncoded's per-event errors for an
// event whose metadata is unusable; it wraps core.ErrInvalid.
var ErrInvalidEncoded = fmt.Errorf("%w: encoded event", core.ErrInvalid)

func (e *EncodedEvent) check(t *Transport) error {
	var errs []error
	if e.ID == uuid.Nil || e.TenantID == uuid.Nil || e.CorrelationID == uuid.Nil {
		errs = append(errs, fmt.Errorf("%w: id, tenant_id and correlation_id must be set", ErrInvalidEncoded))
	}
	if e.EventType == "" || len(e.EventType) > core.MaxEventTypeLen || len(e.TraceID) > maxHeaderValue {
		errs = append(errs, fmt.Errorf("%w: event_type is empty or too long, or trace_id too long", ErrInvalidEncoded))
	}
	if len(e.Payload) == 0 {
		errs = append(errs, fmt.Errorf("%w: empty payload", ErrInvalidEncoded))
	}
	if _, err := t.codecFor(e.ContentType); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidEncoded, err))
	}
	return errors.Join(errs...)
}

// PublishEncoded is PublishBatch for events encoded already: the payloads
// are sent as they are (not decoded, validated or re-encoded), with the
// same message ids, headers, topics and tenant partitions as PublishBatch
// gives the envelopes they encode, one broker send per topic and
// partition, keeping the order of a tenant's events. Only the metadata is
// checked (ErrInvalidEncoded); a payload that does not decode reaches the
// consumers, which send it to the DLQ. The batch is not atomic: failures are
// listed by a *BatchError. In async mode the events buffered by Publish are
// flushed first.
func (t *Transport) PublishEncoded(ctx context.Context, events []EncodedEvent) error {
	if err := t.ready(); err != nil {
		return fmt.Errorf("publish encoded: %w", err)
	}
	if len(events) == 0 {
		return nil
	}
	if t.async != nil {
		if err := t.async.flush(ctx); err != nil {
			return fmt.Errorf("publish encoded: flush pending: %w", err)
		}
	}
	var berr BatchError
	s := t.scratch.Get().(*sendScratch)
	defer t.scratch.Put(s)
	s.reset(len(events))
	idx := make([]int, 0, len(events))
	var meta core.Envelope // only the fields eventHeaders reads
	for i := range events {
		e := &events[i]
		if err := e.check(t); err != nil {
			berr.Failed = append(berr.Failed, FailedEvent{i, e.ID, err})
			continue
		}
		meta.ID, meta.TenantID, meta.CorrelationID, meta.CausationID = e.ID, e.TenantID, e.CorrelationID, e.CausationID
		meta.EventType, meta.SchemaVersion, meta.TraceID = e.EventType, e.SchemaVersion, e.TraceID
		ct := e.ContentType
		if ct == "" {
			ct = t.codec.ContentType()
		}
		s.add(&meta, e.Payload, ct)
		topic := TopicFor(e.EventType)
		s.topic = append(s.topic, topicIndex(topic))
		s.part = append(s.part, TenantPartition(e.TenantID, t.partitions(topic)))
		idx = append(idx, i)
	}
	t.sendGrouped(ctx, s, func(i int, err error) {
		berr.Failed = append(berr.Failed, FailedEvent{idx[i], events[idx[i]].ID, err})
	})
	s.reset(0)
	if len(berr.Failed) > 0 {
		sortFailed(berr.Failed)
		return &berr
	}
	return nil
}

package transport

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"go.opentelemetry.io/otel/trace"
)

// Headers per event: tenant, type, schema, content type, correlation,
// causation, trace id, traceparent, tracestate.
const headersPerEvent = 9

// sendScratch holds reusable buffers for building and sending messages, so
// the publish path does not allocate per event beyond what the codec does.
type sendScratch struct {
	msgs   []core.Message
	hdrs   core.Headers
	buf    []byte
	topic  []uint8  // per message: 0 domain, 1 system
	part   []uint32 // per message: partition
	order  []core.Message
	index  []int // per sorted position: original index
	counts []int
	writer scratchWriter // trace context carrier (no allocation per event)
}

func (s *sendScratch) reset(n int) {
	clear(s.msgs) // drop payload references
	s.msgs = s.msgs[:0]
	if cap(s.hdrs) < n*headersPerEvent {
		s.hdrs = make(core.Headers, 0, n*headersPerEvent)
	}
	s.hdrs = s.hdrs[:0]
	if cap(s.buf) < n*200 {
		s.buf = make([]byte, 0, n*200)
	}
	s.buf = s.buf[:0]
	s.topic = s.topic[:0]
	s.part = s.part[:0]
}

// add appends e as a message with payload and returns the tenant key.
func (s *sendScratch) add(e *core.Envelope, payload []byte, contentType string) []byte {
	start := len(s.hdrs)
	var tenant []byte
	s.hdrs, s.buf, tenant = eventHeaders(s.hdrs, s.buf, e, contentType)
	s.msgs = append(s.msgs, core.Message{
		ID:      core.MessageIDFromUUID(e.ID),
		Headers: s.hdrs[start:len(s.hdrs):len(s.hdrs)],
		Payload: payload,
	})
	return tenant
}

// addValues appends e as a message with payload and the headers whose
// values eventValues(_, e, contentType) wrote to vals (elsewhere, without
// s); it copies the values into s.
func (s *sendScratch) addValues(e *core.Envelope, payload []byte, contentType string, vals []byte) {
	start := len(s.buf)
	s.buf = append(s.buf, vals...)
	vs := s.buf[start:len(s.buf):len(s.buf)]
	first := len(s.hdrs)
	next := func(key string, n int) {
		s.hdrs = append(s.hdrs, core.Header{Key: key, Kind: core.HeaderString, Value: vs[:n:n]})
		vs = vs[n:]
	}
	next(HeaderTenantID, 36)
	next(HeaderEventType, len(e.EventType))
	next(HeaderSchemaVersion, len(vs)-len(contentType)-36-optionalLen(e))
	next(HeaderContentType, len(contentType))
	next(HeaderCorrelationID, 36)
	if e.CausationID != [16]byte{} {
		next(HeaderCausationID, 36)
	}
	if e.TraceID != "" {
		next(HeaderTraceID, len(e.TraceID))
	}
	s.msgs = append(s.msgs, core.Message{
		ID:      core.MessageIDFromUUID(e.ID),
		Headers: s.hdrs[first:len(s.hdrs):len(s.hdrs)],
		Payload: payload,
	})
}

func topicIndex(topic string) uint8 {
	if topic == TopicSystem {
		return 1
	}
	return 0
}

// BatchError reports the events of a PublishBatch (or of an async flush)
// that were not stored. Match it with errors.As; errors.Is sees each
// event's cause.
type BatchError struct {
	// Failed lists the failed events in batch order.
	Failed []FailedEvent
}

// FailedEvent is one event that was not stored and why.
type FailedEvent struct {
	// Index is the event's position in the batch.
	Index int
	// ID is the event's id.
	ID uuid.UUID
	// Err is the cause.
	Err error
}

// Error lists the failed ids and the first cause.
func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "publish batch: %d event(s) not stored", len(e.Failed))
	for i, f := range e.Failed {
		if i == 5 {
			fmt.Fprintf(&b, ", ... (%d more)", len(e.Failed)-5)
			break
		}
		fmt.Fprintf(&b, "; %s: %v", f.ID, f.Err)
	}
	return b.String()
}

// Unwrap returns each failed event's cause.
func (e *BatchError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f.Err
	}
	return out
}

// IDs returns the ids of the failed events.
func (e *BatchError) IDs() []uuid.UUID {
	out := make([]uuid.UUID, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f.ID
	}
	return out
}

func (t *Transport) ready() error {
	if t.pubClosed.Load() {
		return core.ErrClosed
	}
	if !t.started.Load() {
		return ErrNotStarted
	}
	return nil
}

// Publish validates e, encodes it and sends it to its topic (TopicFor) on
// its tenant's partition (Iggy messages-key partitioning with the tenant id
// string as key), with the message id MessageIDFromUUID(e.ID) and the
// event headers (HeaderTenantID, ...).
//
// In sync mode it returns once the broker stored the event. In async mode
// it returns once the event is buffered; Acknowledge, Flush or Shutdown
// tell when it is stored. When the async buffer is full, Publish blocks
// until there is room or ctx ends (then it returns ctx's error and the
// event was not accepted). Events published one after the other by one
// goroutine are stored in that order.
func (t *Transport) Publish(ctx context.Context, e core.Envelope) error {
	if err := t.ready(); err != nil {
		return fmt.Errorf("publish %s: %w", e.ID, err)
	}
	if err := t.validate(&e); err != nil {
		return fmt.Errorf("publish %s: %w", e.ID, err)
	}
	topic := TopicFor(e.EventType)
	var span trace.Span
	if tr := t.tel.tracer(); tr != nil {
		ctx, span = tr.Start(ctx, spanName(operationTypeSend, topic), trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(envelopeAttrs(baseAttrs(topic, operationTypeSend, operationNamePublish), &e)...))
	}
	err := t.publishOne(ctx, &e, topic)
	endSpan(span, err)
	return err
}

// publishOne is Publish after validation, inside its span (if any).
func (t *Transport) publishOne(ctx context.Context, e *core.Envelope, topic string) error {
	traced := trace.SpanContextFromContext(ctx).IsValid()
	if traced {
		fillTraceID(ctx, e)
	}
	payload, err := t.codec.Encode(*e)
	if err != nil {
		return fmt.Errorf("publish %s: encode: %w", e.ID, err)
	}
	if t.async != nil {
		return t.async.publish(ctx, e, payload, traced)
	}
	s := t.scratch.Get().(*sendScratch)
	s.reset(1)
	key := s.add(e, payload, t.codec.ContentType())
	if traced {
		t.tel.injectLast(ctx, s)
	}
	start := time.Now()
	err = t.broker.Send(ctx, t.cfg.Topology.StreamName, topic, core.ByKey(key), s.msgs)
	t.hooks.Published(topic, 1, time.Since(start), err)
	s.reset(0)
	t.scratch.Put(s)
	if err != nil {
		return fmt.Errorf("publish %s to %s: %w", e.ID, topic, err)
	}
	return nil
}

// PublishBatch publishes events, in both modes synchronously: it returns
// once every event is stored or has failed. Events are grouped by topic and
// tenant partition, one broker send per group, in batch order within a
// group, so a tenant's events keep their order. The batch is not atomic:
// invalid or unencodable events are skipped and the rest sent; if any event
// failed the error is a *BatchError listing them. In async mode the events
// buffered earlier by Publish are flushed first, so order is kept across
// both calls.
func (t *Transport) PublishBatch(ctx context.Context, events []core.Envelope) error {
	if err := t.ready(); err != nil {
		return fmt.Errorf("publish batch: %w", err)
	}
	if len(events) == 0 {
		return nil
	}
	if t.async != nil {
		if err := t.async.flush(ctx); err != nil {
			return fmt.Errorf("publish batch: flush pending: %w", err)
		}
	}
	tr := t.tel.tracer()
	var span trace.Span
	var created []trace.Span // per message: its create span (traced only)
	if tr != nil {
		ctx, span = tr.Start(ctx, operationNameSendBatch, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
			AttrMessagingSystem.String(MessagingSystemIggy),
			AttrOperationType.String(operationTypeSend), AttrOperationName.String(operationNameSendBatch),
			AttrBatchMessageCount.Int(len(events))))
		created = make([]trace.Span, 0, len(events))
	}
	// traced: events get a trace context (their create span's, or the
	// caller's); when false the loop below does no trace work at all.
	traced := tr != nil || trace.SpanContextFromContext(ctx).IsValid()
	var berr BatchError
	s := t.scratch.Get().(*sendScratch)
	defer t.scratch.Put(s)
	s.reset(len(events))
	idx := make([]int, 0, len(events)) // batch index of each message
	ct := t.codec.ContentType()
	for i := range events {
		e := &events[i]
		if err := t.validate(e); err != nil {
			berr.Failed = append(berr.Failed, FailedEvent{i, e.ID, err})
			continue
		}
		topic := TopicFor(e.EventType)
		mctx := ctx
		var cspan trace.Span
		ev := e
		if traced {
			if tr != nil {
				mctx, cspan = tr.Start(ctx, spanName(operationTypeCreate, topic), trace.WithSpanKind(trace.SpanKindProducer),
					trace.WithAttributes(envelopeAttrs(baseAttrs(topic, operationTypeCreate, operationTypeCreate), e)...))
			}
			if e.TraceID == "" {
				c := *e // the caller's slice is not modified
				fillTraceID(mctx, &c)
				ev = &c
			}
		}
		payload, err := t.codec.Encode(*ev)
		if err != nil {
			err = fmt.Errorf("encode: %w", err)
			berr.Failed = append(berr.Failed, FailedEvent{i, e.ID, err})
			endSpan(cspan, err)
			continue
		}
		tenant := s.add(ev, payload, ct)
		if traced {
			t.tel.injectLast(mctx, s)
		}
		s.topic = append(s.topic, topicIndex(topic))
		s.part = append(s.part, PartitionFor(tenant, t.partitions(topic)))
		idx = append(idx, i)
		if cspan != nil {
			created = append(created, cspan)
		}
	}
	t.sendGrouped(ctx, s, func(i int, err error) {
		berr.Failed = append(berr.Failed, FailedEvent{idx[i], events[idx[i]].ID, err})
		if created != nil {
			endSpan(created[i], err)
			created[i] = nil
		}
	})
	s.reset(0)
	for _, c := range created {
		endSpan(c, nil)
	}
	if len(berr.Failed) > 0 {
		sortFailed(berr.Failed)
		endSpan(span, &berr)
		return &berr
	}
	endSpan(span, nil)
	return nil
}

func sortFailed(f []FailedEvent) {
	// insertion sort: failures are few and mostly sorted already
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j].Index < f[j-1].Index; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

// sendGrouped sends s.msgs grouped by (s.topic, s.part), one Send per
// group, keeping the order of messages within a group. fail is called for
// each message of a failed group with the message's index in s.msgs.
func (t *Transport) sendGrouped(ctx context.Context, s *sendScratch, fail func(i int, err error)) {
	n := len(s.msgs)
	if n == 0 {
		return
	}
	dp := max(t.partitions(TopicDomain), 1)
	sp := max(t.partitions(TopicSystem), 1)
	nk := int(dp + sp)
	key := func(i int) int {
		if s.topic[i] == 1 {
			return int(dp + s.part[i]%sp)
		}
		return int(s.part[i] % dp)
	}
	if cap(s.counts) < nk+1 {
		s.counts = make([]int, nk+1)
	}
	counts := s.counts[:nk+1]
	clear(counts)
	for i := range n {
		counts[key(i)+1]++
	}
	for k := 1; k <= nk; k++ {
		counts[k] += counts[k-1]
	}
	if cap(s.order) < n {
		s.order = make([]core.Message, n)
		s.index = make([]int, n)
	}
	order, index := s.order[:n], s.index[:n]
	pos := counts[:nk] // pos[k] = next slot of key k (counts shifted by one)
	for i := range n {
		k := key(i)
		order[pos[k]] = s.msgs[i]
		index[pos[k]] = i
		pos[k]++
	}
	// After the loop pos[k] is the end of group k; its start is pos[k-1].
	stream := t.cfg.Topology.StreamName
	begin := 0
	for k := range nk {
		end := pos[k]
		if end == begin {
			continue
		}
		topic, part := TopicDomain, uint32(k)
		if k >= int(dp) {
			topic, part = TopicSystem, uint32(k)-dp
		}
		start := time.Now()
		err := t.broker.Send(ctx, stream, topic, core.ToPartition(part), order[begin:end])
		t.hooks.Published(topic, end-begin, time.Since(start), err)
		if err != nil {
			err = fmt.Errorf("send to %s partition %d: %w", topic, part, err)
			for j := begin; j < end; j++ {
				fail(index[j], err)
			}
		}
		begin = end
	}
	clear(order)
}

// Acknowledge waits until the event with id, published earlier through
// this transport, is stored, and returns nil, or returns the error that
// prevented storing it (until the failure is forgotten: the most recent
// publisher.buffer_size failures are kept). In sync mode, and for an id
// the transport has no pending or failed record of (including ids never
// published here), it returns nil at once: a sync Publish that returned nil
// already stored the event.
func (t *Transport) Acknowledge(ctx context.Context, id uuid.UUID) error {
	if t.async == nil {
		return nil
	}
	return t.async.acknowledge(ctx, id)
}

// Flush waits until every event accepted by Publish before the call is
// stored or has failed (Acknowledge tells which), and returns nil, or
// ctx's error if ctx ends first. In sync mode it returns nil at once.
func (t *Transport) Flush(ctx context.Context) error {
	if t.async == nil {
		return nil
	}
	return t.async.flush(ctx)
}

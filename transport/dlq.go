package transport

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"go.opentelemetry.io/otel/trace"
)

// RedriveConsumer is the single consumer whose offset on each dlq
// partition records how far Redrive has settled that partition: every
// entry up to it is redriven (or is a marker). Redrive never stores a
// consumer group's offset.
const RedriveConsumer = "rustok-dlq-redrive"

// dlqTime is the layout of DLQ time headers.
const dlqTime = time.RFC3339Nano

// markerPayload is the body of a redrive marker.
var markerPayload = []byte("redriven")

// dlqMessage builds the DLQ entry of msg: the same id and payload, the
// original headers, then the DLQ headers.
func (t *Transport) dlqMessage(msg *core.Message, reason string, cause error, attempts int, topic string, p uint32, group string, first, last time.Time) core.Message {
	hs := make(core.Headers, 0, len(msg.Headers)+9)
	for _, h := range msg.Headers {
		if !isDLQHeader(h.Key) {
			hs = append(hs, h)
		}
	}
	errText := "<nil>"
	if cause != nil {
		errText = cause.Error()
	}
	hs = append(hs,
		core.StringHeader(HeaderDLQError, truncate(errText, maxHeaderValue)),
		core.StringHeader(HeaderDLQReason, reason),
		core.StringHeader(HeaderDLQAttempts, strconv.Itoa(attempts)),
		core.StringHeader(HeaderDLQSourceTopic, topic),
		core.StringHeader(HeaderDLQSourcePartition, strconv.FormatUint(uint64(p), 10)),
		core.StringHeader(HeaderDLQSourceOffset, strconv.FormatUint(msg.Offset, 10)),
		core.StringHeader(HeaderDLQGroup, group),
		core.StringHeader(HeaderDLQFirstFailure, first.UTC().Format(dlqTime)),
		core.StringHeader(HeaderDLQLastFailure, last.UTC().Format(dlqTime)),
	)
	return core.Message{ID: msg.ID, Headers: hs, Payload: msg.Payload}
}

func isDLQHeader(k string) bool {
	switch k {
	case HeaderDLQError, HeaderDLQReason, HeaderDLQAttempts, HeaderDLQSourceTopic, HeaderDLQSourcePartition,
		HeaderDLQSourceOffset, HeaderDLQGroup, HeaderDLQFirstFailure, HeaderDLQLastFailure,
		HeaderDLQRedriveOf, HeaderDLQRedrivenAt:
		return true
	}
	return false
}

// dlqPartitioning puts a DLQ entry on its tenant's partition (messages-key
// with the tenant_id header), or, for a message without one, on the source
// partition modulo the dlq partition count.
func (t *Transport) dlqPartitioning(msg *core.Message, sourcePartition uint32) core.Partitioning {
	if h, ok := msg.Headers.Get(HeaderTenantID); ok && len(h.Value) > 0 && len(h.Value) <= 255 {
		return core.ByKey(h.Value)
	}
	return core.ToPartition(sourcePartition % max(t.partitions(TopicDLQ), 1))
}

// DLQEntry is one dead-lettered event as stored in the dlq topic.
type DLQEntry struct {
	// Partition and Offset locate the entry in the dlq topic; StoredAt is
	// when the broker stored it.
	Partition uint32
	Offset    uint64
	StoredAt  time.Time
	// ID is the event id (from the message id); TenantID and EventType
	// come from the headers (zero when absent).
	ID        uuid.UUID
	TenantID  uuid.UUID
	EventType string
	// Reason is DLQReasonHandler or DLQReasonDecode; Error the last error.
	Reason   string
	Error    string
	Attempts int
	// SourceTopic, SourcePartition and SourceOffset say where the event was
	// read; Group which consumer group failed it.
	SourceTopic     string
	SourcePartition uint32
	SourceOffset    uint64
	Group           string
	FirstFailure    time.Time
	LastFailure     time.Time
	// Redriven is set when a redrive marker for the entry exists;
	// RedrivenAt says when.
	Redriven   bool
	RedrivenAt time.Time
	// Message is the stored message: original payload, original headers
	// and DLQ headers.
	Message core.Message
	// HeaderErr is set when a DLQ header could not be parsed; the other
	// fields are then best effort.
	HeaderErr error
}

// ParseDLQEntry reads the DLQ headers of a message of the dlq topic. It
// never panics; malformed headers give an error naming them, with every
// field that could be read filled in. A redrive marker is an error.
func ParseDLQEntry(partition uint32, m core.Message) (DLQEntry, error) {
	e := DLQEntry{
		Partition: partition,
		Offset:    m.Offset,
		StoredAt:  m.Timestamp,
		ID:        uuid.UUID(core.UUIDFromMessageID(m.ID)),
		EventType: m.Headers.Value(HeaderEventType),
		Reason:    m.Headers.Value(HeaderDLQReason),
		Error:     m.Headers.Value(HeaderDLQError),
		Group:     m.Headers.Value(HeaderDLQGroup),
		Message:   m,
	}
	e.SourceTopic = m.Headers.Value(HeaderDLQSourceTopic)
	var errs []error
	if _, ok := m.Headers.Get(HeaderDLQRedriveOf); ok {
		return e, fmt.Errorf("%w: dlq message %d/%d is a redrive marker", core.ErrInvalid, partition, m.Offset)
	}
	if v := m.Headers.Value(HeaderTenantID); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("header %s: %w", HeaderTenantID, err))
		}
		e.TenantID = id
	}
	num := func(key string, bits int) uint64 {
		h, ok := m.Headers.Get(key)
		if !ok {
			errs = append(errs, fmt.Errorf("header %s: missing", key))
			return 0
		}
		n, err := strconv.ParseUint(h.String(), 10, bits)
		if err != nil {
			errs = append(errs, fmt.Errorf("header %s: %w", key, err))
		}
		return n
	}
	e.Attempts = int(num(HeaderDLQAttempts, 31))
	e.SourcePartition = uint32(num(HeaderDLQSourcePartition, 32))
	e.SourceOffset = num(HeaderDLQSourceOffset, 64)
	tm := func(key string) time.Time {
		v := m.Headers.Value(key)
		if v == "" {
			errs = append(errs, fmt.Errorf("header %s: missing", key))
			return time.Time{}
		}
		t, err := time.Parse(dlqTime, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("header %s: %w", key, err))
		}
		return t
	}
	e.FirstFailure = tm(HeaderDLQFirstFailure)
	e.LastFailure = tm(HeaderDLQLastFailure)
	if e.SourceTopic == "" {
		errs = append(errs, fmt.Errorf("header %s: missing", HeaderDLQSourceTopic))
	}
	if len(errs) > 0 {
		return e, fmt.Errorf("%w: dlq entry %d/%d: %w", core.ErrInvalid, partition, m.Offset, errors.Join(errs...))
	}
	return e, nil
}

// markerOf returns the offset a redrive marker marks, if m is one.
func markerOf(m *core.Message) (uint64, time.Time, bool) {
	h, ok := m.Headers.Get(HeaderDLQRedriveOf)
	if !ok {
		return 0, time.Time{}, false
	}
	off, err := strconv.ParseUint(h.String(), 10, 64)
	if err != nil {
		return 0, time.Time{}, false
	}
	at, _ := time.Parse(dlqTime, m.Headers.Value(HeaderDLQRedrivenAt))
	return off, at, true
}

// DLQFilter selects DLQ entries. Zero fields match everything.
type DLQFilter struct {
	// Tenants keeps entries of these tenants; only their partitions are
	// read.
	Tenants []uuid.UUID
	// EventTypes keeps entries of these event types (exact match).
	EventTypes []string
	// Groups keeps entries dead-lettered by these consumer groups.
	Groups []string
	// Since and Until keep entries stored in [Since, Until).
	Since, Until time.Time
	// Partition and Offset, when Offset is set, select one entry.
	Partition uint32
	Offset    *uint64
	// IncludeRedriven makes List return entries already redriven too.
	IncludeRedriven bool
	// Limit caps the entries List returns (0 = no limit).
	Limit int
}

func (f *DLQFilter) match(e *DLQEntry) bool {
	if f.Offset != nil && (e.Partition != f.Partition || e.Offset != *f.Offset) {
		return false
	}
	if len(f.Tenants) > 0 && !slices.Contains(f.Tenants, e.TenantID) {
		return false
	}
	if len(f.EventTypes) > 0 && !slices.Contains(f.EventTypes, e.EventType) {
		return false
	}
	if len(f.Groups) > 0 && !slices.Contains(f.Groups, e.Group) {
		return false
	}
	if !f.Since.IsZero() && e.StoredAt.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !e.StoredAt.Before(f.Until) {
		return false
	}
	return true
}

// DLQ manages the dead letter queue: it lists, counts and redrives
// entries. Get it with Transport.DLQ. Safe for concurrent use, but two
// Redrive calls for the same entries must not run at the same time (in
// this process or another): both could publish an entry before either
// marks it.
type DLQ struct{ t *Transport }

// DLQ returns the dead letter queue manager.
func (t *Transport) DLQ() *DLQ { return &DLQ{t} }

// partitionsFor returns the dlq partitions that can hold entries of f.
func (d *DLQ) partitionsFor(ctx context.Context, f *DLQFilter) ([]core.PartitionInfo, error) {
	info, err := d.t.broker.Topic(ctx, d.t.cfg.Topology.StreamName, TopicDLQ)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	if f.Offset == nil && len(f.Tenants) == 0 {
		return info.Partitions, nil
	}
	var out []core.PartitionInfo
	for _, p := range info.Partitions {
		keep := false
		if f.Offset != nil {
			keep = p.ID == f.Partition
		} else {
			for _, tn := range f.Tenants {
				if TenantPartition(tn, info.PartitionsCount) == p.ID {
					keep = true
				}
			}
		}
		if keep {
			out = append(out, p)
		}
	}
	return out, nil
}

// scanDLQ reads a dlq partition from start up to its offset at the time of
// the call and returns its entries (markers applied) and markers.
func (d *DLQ) scanDLQ(ctx context.Context, p core.PartitionInfo, start core.PollStrategy) ([]DLQEntry, map[uint64]time.Time, error) {
	marks := map[uint64]time.Time{}
	var entries []DLQEntry
	err := d.t.scan(ctx, TopicDLQ, p, start, p.CurrentOffset, func(m *core.Message) error {
		if off, at, ok := markerOf(m); ok {
			marks[off] = at
			return nil
		}
		e, err := ParseDLQEntry(p.ID, *m)
		e.HeaderErr = err
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for i := range entries {
		if at, ok := marks[entries[i].Offset]; ok {
			entries[i].Redriven, entries[i].RedrivenAt = true, at
		}
	}
	return entries, marks, nil
}

// scan polls a partition with a single consumer that never stores offsets,
// from start to the offset last (inclusive), calling fn for each message.
func (t *Transport) scan(ctx context.Context, topic string, p core.PartitionInfo, start core.PollStrategy, last uint64, fn func(*core.Message) error) error {
	if p.MessagesCount == 0 {
		return nil
	}
	req := core.PollRequest{
		Stream: t.cfg.Topology.StreamName, Topic: topic, Partition: p.ID,
		Consumer: core.Consumer{Kind: core.SingleConsumer, Name: RedriveConsumer},
		Strategy: start, Count: t.cfg.Consumer.PollBatch,
	}
	for {
		polled, err := t.broker.Poll(ctx, req)
		if err != nil {
			return fmt.Errorf("poll %s/%d: %w", topic, p.ID, err)
		}
		if len(polled.Messages) == 0 {
			return nil
		}
		for i := range polled.Messages {
			m := &polled.Messages[i]
			if m.Offset > last {
				return nil
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		next := polled.Messages[len(polled.Messages)-1].Offset + 1
		if next > last {
			return nil
		}
		req.Strategy = core.FromOffset(next)
	}
}

func (f *DLQFilter) startStrategy() core.PollStrategy {
	if f.Offset != nil {
		return core.FromOffset(*f.Offset)
	}
	if !f.Since.IsZero() {
		return core.FromTime(f.Since)
	}
	return core.First()
}

// List returns the DLQ entries matching f, by partition then offset.
// Already redriven entries are left out unless f.IncludeRedriven.
func (d *DLQ) List(ctx context.Context, f DLQFilter) ([]DLQEntry, error) {
	parts, err := d.partitionsFor(ctx, &f)
	if err != nil {
		return nil, err
	}
	var out []DLQEntry
	for _, p := range parts {
		// Markers come after their entries, so scan from the window's start.
		entries, _, err := d.scanDLQ(ctx, p, f.startStrategy())
		if err != nil {
			return nil, fmt.Errorf("dlq list: %w", err)
		}
		for i := range entries {
			e := &entries[i]
			if !f.match(e) || (e.Redriven && !f.IncludeRedriven) {
				continue
			}
			out = append(out, *e)
			if f.Limit > 0 && len(out) >= f.Limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// Get returns the entry at a dlq partition and offset, or an error
// wrapping core.ErrNotFound.
func (d *DLQ) Get(ctx context.Context, partition uint32, offset uint64) (DLQEntry, error) {
	es, err := d.List(ctx, DLQFilter{Partition: partition, Offset: &offset, IncludeRedriven: true, Limit: 1})
	if err != nil {
		return DLQEntry{}, err
	}
	if len(es) == 0 {
		return DLQEntry{}, fmt.Errorf("dlq entry %d/%d: %w", partition, offset, core.ErrNotFound)
	}
	return es[0], nil
}

// DLQCounts summarises the dead letter queue.
type DLQCounts struct {
	// Entries counts every entry; Redriven those redriven, Pending the rest.
	Entries, Redriven, Pending uint64
	// Pending entries by consumer group, by event type and by reason.
	ByGroup, ByEventType, ByReason map[string]uint64
}

// Counts reads the whole dlq topic and counts its entries.
func (d *DLQ) Counts(ctx context.Context) (DLQCounts, error) {
	c := DLQCounts{ByGroup: map[string]uint64{}, ByEventType: map[string]uint64{}, ByReason: map[string]uint64{}}
	es, err := d.List(ctx, DLQFilter{IncludeRedriven: true})
	if err != nil {
		return c, err
	}
	for _, e := range es {
		c.Entries++
		if e.Redriven {
			c.Redriven++
			continue
		}
		c.Pending++
		c.ByGroup[e.Group]++
		c.ByEventType[e.EventType]++
		c.ByReason[e.Reason]++
	}
	return c, nil
}

// RedriveResult says what Redrive did.
type RedriveResult struct {
	// Redriven lists the entries published again to their source topic.
	Redriven []DLQEntry
	// AlreadyRedriven counts matching entries skipped because a marker
	// shows they were redriven before.
	AlreadyRedriven int
	// Failed lists the entries that could not be redriven and why.
	Failed []RedriveFailure
}

// RedriveFailure is one entry Redrive could not republish.
type RedriveFailure struct {
	Entry DLQEntry
	Err   error
}

// Redrive publishes the entries matching f that were not redriven before
// back to their source topic, on their tenant's partition, with
// retry_count + 1 and the header HeaderRedrivenFrom, in dlq offset order.
// After each publish it appends a redrive marker (HeaderDLQRedriveOf) to
// the entry's dlq partition, so redriving the same entry again publishes
// nothing; it also advances RedriveConsumer's offset over the settled
// prefix of each partition so later calls skip it. Entries whose payload
// cannot be decoded (reason "decode") are reported in Failed and left in
// place. If the process dies between the publish and the marker, the next
// Redrive publishes that entry once more (at least once).
func (d *DLQ) Redrive(ctx context.Context, f DLQFilter) (RedriveResult, error) {
	var res RedriveResult
	parts, err := d.partitionsFor(ctx, &f)
	if err != nil {
		return res, err
	}
	t := d.t
	stream := t.cfg.Topology.StreamName
	rc := core.Consumer{Kind: core.SingleConsumer, Name: RedriveConsumer}
	for _, p := range parts {
		if p.MessagesCount == 0 {
			continue
		}
		settled := int64(-1)
		off, err := t.broker.Offset(ctx, rc, stream, TopicDLQ, p.ID)
		switch {
		case err == nil:
			settled = int64(off.StoredOffset)
		case !errors.Is(err, core.ErrNotFound):
			return res, fmt.Errorf("dlq redrive: watermark of partition %d: %w", p.ID, err)
		}
		if settled >= int64(p.CurrentOffset) {
			continue
		}
		entries, marks, err := d.scanDLQ(ctx, p, core.FromOffset(uint64(settled+1)))
		if err != nil {
			return res, fmt.Errorf("dlq redrive: %w", err)
		}
		for i := range entries {
			e := &entries[i]
			if !f.match(e) {
				continue
			}
			if e.Redriven {
				res.AlreadyRedriven++
				continue
			}
			if err := d.redriveOne(ctx, e); err != nil {
				res.Failed = append(res.Failed, RedriveFailure{*e, err})
				if ctx.Err() != nil {
					return res, fmt.Errorf("dlq redrive: %w", err)
				}
				continue
			}
			e.Redriven, e.RedrivenAt = true, time.Now()
			marks[e.Offset] = e.RedrivenAt
			res.Redriven = append(res.Redriven, *e)
		}
		// Advance the watermark over the prefix of settled messages: every
		// entry redriven; markers are settled by nature.
		w := settled
		next := 0
		for o := uint64(settled + 1); o <= p.CurrentOffset; o++ {
			if next < len(entries) && entries[next].Offset == o {
				if !entries[next].Redriven {
					break
				}
				next++
			}
			w = int64(o)
		}
		if w > settled {
			if err := t.broker.StoreOffset(ctx, rc, stream, TopicDLQ, p.ID, uint64(w)); err != nil {
				return res, fmt.Errorf("dlq redrive: store watermark %d of partition %d: %w", w, p.ID, err)
			}
		}
	}
	return res, nil
}

// redriveOne publishes one entry back to its source topic. When tracing is
// on, that is a PRODUCER span "redrive <topic>" whose parent is the trace
// context stored in the entry (the DLQ send's) and which links to the
// caller's span; the redriven event carries the redrive span's context.
func (d *DLQ) redriveOne(ctx context.Context, e *DLQEntry) (err error) {
	t := d.t
	m := &e.Message
	sendCtx := ctx
	if tr := t.tel.tracer(); tr != nil {
		caller := trace.SpanContextFromContext(ctx)
		parent := t.tel.extract(trace.ContextWithSpanContext(ctx, trace.SpanContext{}), m.Headers)
		topic := e.SourceTopic
		attrs := messageAttrs(baseAttrs(topic, operationTypeSend, operationNameRedrive), m, e.Partition)
		opts := append(linkTo(caller), trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
		var span trace.Span
		sendCtx, span = tr.Start(parent, operationNameRedrive+" "+topic, opts...)
		defer func() { endSpan(span, err) }()
	}
	codec, err := t.codecFor(m.Headers.Value(HeaderContentType))
	if err != nil {
		return err
	}
	env, err := codec.Decode(m.Payload)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	env.RetryCount++
	payload, err := codec.Encode(env)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	topic := e.SourceTopic
	if topic != TopicDomain && topic != TopicSystem {
		topic = TopicFor(env.EventType)
	}
	hs := make(core.Headers, 0, headersPerEvent+1)
	hs, _, key := eventHeaders(hs, make([]byte, 0, 256), &env, codec.ContentType())
	hs = append(hs, core.StringHeader(HeaderRedrivenFrom, strconv.FormatUint(uint64(e.Partition), 10)+"/"+strconv.FormatUint(e.Offset, 10)))
	stream := t.cfg.Topology.StreamName
	msg := core.Message{ID: core.MessageIDFromUUID(env.ID), Headers: hs, Payload: payload}
	t.tel.inject(sendCtx, &msg.Headers)
	if err := t.broker.Send(sendCtx, stream, topic, core.ByKey(key), []core.Message{msg}); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	now := time.Now().UTC()
	marker := core.Message{
		Headers: core.Headers{
			core.StringHeader(HeaderDLQRedriveOf, strconv.FormatUint(e.Offset, 10)),
			core.StringHeader(HeaderDLQRedrivenAt, now.Format(dlqTime)),
			core.StringHeader(HeaderEventType, env.EventType),
			core.StringHeader(HeaderTenantID, uuidString(env.TenantID)),
		},
		Payload: markerPayload,
	}
	if err := t.broker.Send(ctx, stream, TopicDLQ, core.ToPartition(e.Partition), []core.Message{marker}); err != nil {
		return fmt.Errorf("redriven to %s, but the marker was not written (a later redrive repeats it): %w", topic, err)
	}
	return nil
}

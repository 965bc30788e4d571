package transport

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"go.opentelemetry.io/otel/trace"
)

type posKind uint8

const (
	posDefault posKind = iota
	posBeginning
	posEnd
	posOffset
	posTime
)

// Position is where a replay starts or ends: the beginning, the end, an
// offset (the same offset in every partition) or a time (the broker's
// store time). The zero Position is Beginning as a start and End as an end.
type Position struct {
	kind   posKind
	offset uint64
	time   time.Time
}

// Beginning is the first retained message.
func Beginning() Position { return Position{kind: posBeginning} }

// End is the last message at the time the replay starts.
func End() Position { return Position{kind: posEnd} }

// AtOffset is an offset, inclusive both as a start and as an end.
func AtOffset(o uint64) Position { return Position{kind: posOffset, offset: o} }

// AtTime is a store time: as a start, the first message stored at or after
// it; as an end, the last message stored at or before it.
func AtTime(t time.Time) Position { return Position{kind: posTime, time: t} }

// ReplayRequest says what Replay reads.
type ReplayRequest struct {
	// Topic is TopicDomain (default), TopicSystem or TopicDLQ.
	Topic string
	// From and To bound the replay (default: Beginning to End).
	From, To Position
	// Tenants keeps only these tenants' events; only their partitions are
	// read. Filtering uses the tenant_id header, without decoding.
	Tenants []uuid.UUID
	// EventTypes keeps only these event types (event_type header, exact).
	EventTypes []string
	// Partitions, if set, restricts the partitions read.
	Partitions []uint32
	// RateLimit caps delivered events per second (0 = unlimited).
	RateLimit float64
	// BatchSize is the poll size (default consumer.poll_batch).
	BatchSize uint32
	// Progress, if set, is called after each polled batch, serially from
	// the Replay goroutine; it must not block for long.
	Progress func(ReplayProgress)
}

// ReplayProgress reports how far a replay got.
type ReplayProgress struct {
	Partition uint32
	// Offset is the last offset read in Partition.
	Offset uint64
	// Scanned and Delivered are totals so far.
	Scanned, Delivered uint64
}

// ReplayResult sums up a replay.
type ReplayResult struct {
	// Scanned counts messages read, Delivered those handed to the handler.
	Scanned, Delivered uint64
}

// Replay reads a topic's partitions one after the other, each in offset
// order, from req.From to req.To, and calls h serially for each event that
// passes the filters. It uses a single consumer that never stores an
// offset, so no consumer group moves. Events that cannot be decoded are
// delivered with Delivery.DecodeErr set. Redrive markers in the dlq topic
// are skipped. A handler error ends the replay and is returned (wrapped),
// with the counts so far; nothing is retried.
func (t *Transport) Replay(ctx context.Context, req ReplayRequest, h Handler) (ReplayResult, error) {
	var res ReplayResult
	if h == nil {
		return res, fmt.Errorf("%w: replay: nil handler", core.ErrInvalid)
	}
	topic := req.Topic
	if topic == "" {
		topic = TopicDomain
	}
	if topic != TopicDomain && topic != TopicSystem && topic != TopicDLQ {
		return res, fmt.Errorf("%w: replay: unknown topic %q", core.ErrInvalid, topic)
	}
	info, err := t.broker.Topic(ctx, t.cfg.Topology.StreamName, topic)
	if err != nil {
		return res, fmt.Errorf("replay %s: %w", topic, err)
	}
	var want []uint32
	for _, tn := range req.Tenants {
		want = append(want, TenantPartition(tn, info.PartitionsCount))
	}
	var tenants [][]byte
	for _, tn := range req.Tenants {
		tenants = append(tenants, appendUUID(nil, tn))
	}
	batch := req.BatchSize
	if batch == 0 {
		batch = t.cfg.Consumer.PollBatch
	}
	began := time.Now()
	for _, p := range info.Partitions {
		if len(want) > 0 && !slices.Contains(want, p.ID) {
			continue
		}
		if len(req.Partitions) > 0 && !slices.Contains(req.Partitions, p.ID) {
			continue
		}
		if p.MessagesCount == 0 {
			continue
		}
		last := p.CurrentOffset
		if req.To.kind == posOffset {
			last = min(last, req.To.offset)
		}
		var start core.PollStrategy
		switch req.From.kind {
		case posOffset:
			start = core.FromOffset(req.From.offset)
		case posTime:
			start = core.FromTime(req.From.time)
		case posEnd:
			start = core.FromOffset(p.CurrentOffset + 1)
		default:
			start = core.First()
		}
		preq := core.PollRequest{
			Stream: t.cfg.Topology.StreamName, Topic: topic, Partition: p.ID,
			Consumer: core.Consumer{Kind: core.SingleConsumer, Name: "rustok-replay"},
			Strategy: start, Count: batch,
		}
		for done := false; !done; {
			polled, err := t.broker.Poll(ctx, preq)
			if err != nil {
				return res, fmt.Errorf("replay %s/%d: %w", topic, p.ID, err)
			}
			if len(polled.Messages) == 0 {
				break
			}
			delivered := 0
			var lastRead uint64
			for i := range polled.Messages {
				m := &polled.Messages[i]
				if m.Offset > last || (req.To.kind == posTime && m.Timestamp.After(req.To.time)) {
					done = true
					break
				}
				lastRead = m.Offset
				res.Scanned++
				if !replayMatch(m, tenants, req.EventTypes) {
					continue
				}
				if req.RateLimit > 0 {
					due := began.Add(time.Duration(float64(res.Delivered) / req.RateLimit * float64(time.Second)))
					if !sleepCtx(ctx, time.Until(due)) {
						return res, fmt.Errorf("replay %s: %w", topic, context.Cause(ctx))
					}
				}
				d := Delivery{Message: *m, Topic: topic, Partition: p.ID}
				d.Envelope, d.DecodeErr = t.decode(m)
				if err := t.replayOne(ctx, h, d); err != nil {
					t.hooks.Replayed(topic, delivered)
					return res, fmt.Errorf("replay %s/%d@%d: handler: %w", topic, p.ID, m.Offset, err)
				}
				res.Delivered++
				delivered++
			}
			t.hooks.Replayed(topic, delivered)
			if req.Progress != nil && (delivered > 0 || !done) {
				req.Progress(ReplayProgress{Partition: p.ID, Offset: lastRead, Scanned: res.Scanned, Delivered: res.Delivered})
			}
			if lastRead >= last {
				done = true
			}
			preq.Strategy = core.FromOffset(lastRead + 1)
		}
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("replay %s: %w", topic, err)
		}
	}
	return res, nil
}

// replayMatch filters by headers only.
func replayMatch(m *core.Message, tenants [][]byte, types []string) bool {
	if _, ok := m.Headers.Get(HeaderDLQRedriveOf); ok {
		return false
	}
	if len(tenants) > 0 {
		h, ok := m.Headers.Get(HeaderTenantID)
		if !ok {
			return false
		}
		found := false
		for _, tn := range tenants {
			if string(h.Value) == string(tn) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if len(types) > 0 {
		h, ok := m.Headers.Get(HeaderEventType)
		if !ok || !slices.Contains(types, string(h.Value)) {
			return false
		}
	}
	return true
}

// replayOne calls h for one replayed event. When tracing is on, the call
// is a CONSUMER span "replay <topic>", child of the caller's context and
// linked to the trace context the message carries (its producer's).
func (t *Transport) replayOne(ctx context.Context, h Handler, d Delivery) error {
	tr := t.tel.tracer()
	if tr == nil {
		return h(ctx, d)
	}
	m := &d.Message
	origin := trace.SpanContextFromContext(t.tel.extract(trace.ContextWithSpanContext(ctx, trace.SpanContext{}), m.Headers))
	attrs := messageAttrs(baseAttrs(d.Topic, operationTypeProcess, operationNameReplay), m, d.Partition)
	opts := append(linkTo(origin), trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	sctx, span := tr.Start(ctx, operationNameReplay+" "+d.Topic, opts...)
	err := h(sctx, d)
	endSpan(span, err)
	return err
}

package transport

import (
	"context"
	"strconv"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// InstrumentationName is the name of the tracer and meter the transport
// takes from its providers.
const InstrumentationName = "github.com/rustok/rustok-iggy/transport"

// W3C trace-context header names, as written by the propagator
// (propagation.TraceContext) into the Iggy user headers. They are the
// names the Rust opentelemetry crate's TraceContextPropagator writes, so a
// Rust producer's trace continues in a Go consumer and back.
const (
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"
)

// Attribute keys of the transport's spans and metrics: the OpenTelemetry
// semantic conventions for messaging, plus the event's tenant, type and
// handling attempt.
const (
	AttrMessagingSystem    = attribute.Key("messaging.system")
	AttrDestinationName    = attribute.Key("messaging.destination.name")
	AttrPartitionID        = attribute.Key("messaging.destination.partition.id")
	AttrMessageID          = attribute.Key("messaging.message.id")
	AttrOperationType      = attribute.Key("messaging.operation.type")
	AttrOperationName      = attribute.Key("messaging.operation.name")
	AttrConsumerGroup      = attribute.Key("messaging.consumer.group.name")
	AttrBatchMessageCount  = attribute.Key("messaging.batch.message_count")
	AttrMessageOffset      = attribute.Key("messaging.iggy.message.offset")
	AttrTenantID           = attribute.Key("rustok.tenant_id")
	AttrEventType          = attribute.Key("rustok.event_type")
	AttrAttempt            = attribute.Key("rustok.attempt")
	AttrDLQReason          = attribute.Key("rustok.dlq.reason")
	AttrErrorType          = attribute.Key("error.type")
	MessagingSystemIggy    = "iggy"
	operationTypeSend      = "send"
	operationTypeCreate    = "create"
	operationTypeProcess   = "process"
	operationNamePublish   = "publish"
	operationNameDLQ       = "dead_letter"
	operationNameRedrive   = "redrive"
	operationNameReplay    = "replay"
	operationNameProcess   = "process"
	operationNameSendBatch = "send"
)

// defaultGlobalTP is the global tracer provider as it is before
// otel.SetTracerProvider is called: a delegate that traces nothing until a
// provider is set. While it is the global one, the default transport
// starts no span at all (no allocation on the publish and consume paths).
var defaultGlobalTP = otel.GetTracerProvider()

// telemetry holds the transport's tracer and propagator.
type telemetry struct {
	tp       trace.TracerProvider // explicit provider; nil: the otel global
	tr       trace.Tracer         // tracer of tp, or of the global delegate
	prop     propagation.TextMapPropagator
	explicit bool
}

// WithTracerProvider makes the transport trace with tp instead of the
// otel global provider. A noop provider turns tracing off.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(t *Transport) {
		if tp != nil {
			t.tel.tp, t.tel.explicit = tp, true
		}
	}
}

// WithPropagator makes the transport inject and extract trace context
// with p instead of the otel global propagator (whose default propagates
// nothing). Use propagation.TraceContext{} (optionally in a composite with
// propagation.Baggage{}) to write W3C traceparent/tracestate headers.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(t *Transport) {
		if p != nil {
			t.tel.prop = p
		}
	}
}

func (o *telemetry) init() {
	if o.explicit {
		if _, ok := o.tp.(noop.TracerProvider); !ok {
			o.tr = o.tp.Tracer(InstrumentationName)
		}
		return
	}
	// The global delegate's tracers forward to a provider set later.
	o.tr = otel.GetTracerProvider().Tracer(InstrumentationName)
}

// tracer returns the tracer, or nil when tracing is off: a noop provider
// was given, or none and the otel global provider was never set (or set
// to a noop one). It does not allocate.
func (o *telemetry) tracer() trace.Tracer {
	if o.explicit {
		return o.tr
	}
	g := otel.GetTracerProvider()
	if g == defaultGlobalTP {
		return nil
	}
	if _, ok := g.(noop.TracerProvider); ok {
		return nil
	}
	return o.tr
}

// propagator returns the configured propagator or the otel global one.
func (o *telemetry) propagator() propagation.TextMapPropagator {
	if o.prop != nil {
		return o.prop
	}
	return otel.GetTextMapPropagator()
}

// extract returns ctx with the trace context carried by hs's headers, if
// any; a missing or malformed traceparent leaves ctx as it is.
func (o *telemetry) extract(ctx context.Context, hs core.Headers) context.Context {
	return o.propagator().Extract(ctx, headerReader(hs))
}

// headerReader reads trace context from message headers.
type headerReader core.Headers

func (h headerReader) Get(key string) string {
	for _, x := range h {
		if x.Key == key && x.Kind == core.HeaderString {
			return string(x.Value)
		}
	}
	return ""
}

func (h headerReader) Set(string, string) {}

func (h headerReader) Keys() []string {
	out := make([]string, 0, len(h))
	for _, x := range h {
		out = append(out, x.Key)
	}
	return out
}

// headerWriter sets trace context headers on a header list, replacing a
// header of the same key. Values longer than Iggy's 255-byte limit (a long
// tracestate or baggage) are dropped rather than cut.
type headerWriter struct{ hs *core.Headers }

func (w headerWriter) Get(key string) string { return headerReader(*w.hs).Get(key) }

func (w headerWriter) Set(key, value string) {
	if len(value) > maxHeaderValue || len(key) > maxHeaderValue {
		return
	}
	for i := range *w.hs {
		if (*w.hs)[i].Key == key {
			(*w.hs)[i] = core.StringHeader(key, value)
			return
		}
	}
	*w.hs = append(*w.hs, core.StringHeader(key, value))
}

func (w headerWriter) Keys() []string { return headerReader(*w.hs).Keys() }

// scratchWriter appends trace context headers to the last message built
// in a sendScratch, with their values in the scratch buffer.
type scratchWriter struct{ s *sendScratch }

func (w *scratchWriter) Get(string) string { return "" }

func (w *scratchWriter) Set(key, value string) {
	if len(value) > maxHeaderValue || len(key) > maxHeaderValue {
		return
	}
	s := w.s
	m := &s.msgs[len(s.msgs)-1]
	start := len(s.hdrs) - len(m.Headers) // the last message's headers are the tail of s.hdrs
	s.hdrs, s.buf = strHeader(s.hdrs, s.buf, key, value)
	m.Headers = s.hdrs[start:len(s.hdrs):len(s.hdrs)]
}

func (w *scratchWriter) Keys() []string { return nil }

// injectLast writes ctx's trace context into the headers of the last
// message added to s. Nothing is written when ctx carries no valid span
// context or the propagator propagates nothing.
func (o *telemetry) injectLast(ctx context.Context, s *sendScratch) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	s.writer.s = s
	o.propagator().Inject(ctx, &s.writer)
}

// inject writes ctx's trace context into hs, replacing headers of the
// same names.
func (o *telemetry) inject(ctx context.Context, hs *core.Headers) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	o.propagator().Inject(ctx, headerWriter{hs})
}

// fillTraceID sets e.TraceID from ctx's span context when it is empty and
// ctx has one; it reports whether it did.
func fillTraceID(ctx context.Context, e *core.Envelope) bool {
	if e.TraceID != "" {
		return false
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return false
	}
	e.TraceID = sc.TraceID().String()
	return true
}

// spanName returns "<operation> <topic>" without allocating for the
// package's topics.
func spanName(op, topic string) string {
	switch op {
	case operationTypeSend:
		switch topic {
		case TopicDomain:
			return "send domain"
		case TopicSystem:
			return "send system"
		case TopicDLQ:
			return "send dlq"
		}
	case operationTypeCreate:
		switch topic {
		case TopicDomain:
			return "create domain"
		case TopicSystem:
			return "create system"
		}
	case operationTypeProcess:
		switch topic {
		case TopicDomain:
			return "process domain"
		case TopicSystem:
			return "process system"
		case TopicDLQ:
			return "process dlq"
		}
	}
	return op + " " + topic
}

func baseAttrs(topic string, opType, opName string) []attribute.KeyValue {
	return []attribute.KeyValue{
		AttrMessagingSystem.String(MessagingSystemIggy),
		AttrDestinationName.String(topic),
		AttrOperationType.String(opType),
		AttrOperationName.String(opName),
	}
}

func envelopeAttrs(attrs []attribute.KeyValue, e *core.Envelope) []attribute.KeyValue {
	return append(attrs,
		AttrMessageID.String(uuid.UUID(e.ID).String()),
		AttrTenantID.String(uuid.UUID(e.TenantID).String()),
		AttrEventType.String(e.EventType),
	)
}

// messageAttrs describes a polled message from its headers (no decoding).
func messageAttrs(attrs []attribute.KeyValue, m *core.Message, partition uint32) []attribute.KeyValue {
	attrs = append(attrs,
		AttrMessageID.String(uuid.UUID(core.UUIDFromMessageID(m.ID)).String()),
		AttrPartitionID.String(strconv.FormatUint(uint64(partition), 10)),
		AttrMessageOffset.Int64(int64(m.Offset)),
	)
	if v := headerReader(m.Headers).Get(HeaderTenantID); v != "" {
		attrs = append(attrs, AttrTenantID.String(v))
	}
	if v := headerReader(m.Headers).Get(HeaderEventType); v != "" {
		attrs = append(attrs, AttrEventType.String(v))
	}
	return attrs
}

// endSpan records err (if any) on span and ends it. A nil span is ignored.
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, truncate(err.Error(), 255))
	}
	span.End()
}

// linkTo returns a link to sc, or no option when sc is not valid.
func linkTo(sc trace.SpanContext) []trace.SpanStartOption {
	if !sc.IsValid() {
		return nil
	}
	return []trace.SpanStartOption{trace.WithLinks(trace.Link{SpanContext: sc})}
}

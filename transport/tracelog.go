package transport

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys TraceLogHandler adds.
const (
	LogTraceID = "trace_id"
	LogSpanID  = "span_id"
)

// TraceLogHandler wraps a slog.Handler: a record logged with a context
// that carries a valid span context gets trace_id and span_id attributes
// (lower-case hex, as in traceparent), so logs join their trace. Records
// without one pass through unchanged and at no extra cost. The transport
// wraps the logger given to New with it.
type TraceLogHandler struct{ h slog.Handler }

var _ slog.Handler = TraceLogHandler{}

// NewTraceLogHandler returns h wrapped; a handler already wrapped is
// returned as is.
func NewTraceLogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(TraceLogHandler); ok {
		return h
	}
	return TraceLogHandler{h}
}

// Enabled reports whether the wrapped handler handles level.
func (t TraceLogHandler) Enabled(ctx context.Context, l slog.Level) bool { return t.h.Enabled(ctx, l) }

// Handle adds the trace attributes when ctx has a span context, then
// hands the record to the wrapped handler.
func (t TraceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String(LogTraceID, sc.TraceID().String()), slog.String(LogSpanID, sc.SpanID().String()))
	}
	return t.h.Handle(ctx, r)
}

// WithAttrs returns the wrapped handler's WithAttrs, wrapped.
func (t TraceLogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return TraceLogHandler{t.h.WithAttrs(as)}
}

// WithGroup returns the wrapped handler's WithGroup, wrapped.
func (t TraceLogHandler) WithGroup(name string) slog.Handler {
	return TraceLogHandler{t.h.WithGroup(name)}
}

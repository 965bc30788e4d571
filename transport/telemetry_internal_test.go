package transport

import (
	"context"
	"testing"

	"github.com/rustok/rustok-iggy/core"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// FuzzExtractTraceContext feeds arbitrary traceparent and tracestate
// header values (of any header kind) to the consumer's extraction: it
// must never panic, must accept only a well-formed traceparent, and what
// it accepts must survive an inject/extract round trip through message
// headers.
func FuzzExtractTraceContext(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", uint8(core.HeaderString))
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "", uint8(core.HeaderString))
	f.Add("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "", uint8(core.HeaderString))
	f.Add("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "", uint8(core.HeaderString))
	f.Add("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "a=b", uint8(core.HeaderString))
	f.Add("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", "", uint8(core.HeaderString))
	f.Add("garbage", "===,,,", uint8(core.HeaderRaw))
	f.Add("", "", uint8(0))
	o := telemetry{prop: propagation.TraceContext{}}
	f.Fuzz(func(t *testing.T, tp, ts string, kind uint8) {
		hs := core.Headers{
			{Key: HeaderTenantID, Kind: core.HeaderString, Value: []byte("t")},
			{Key: HeaderTraceParent, Kind: core.HeaderKind(kind), Value: []byte(tp)},
			{Key: HeaderTraceState, Kind: core.HeaderKind(kind), Value: []byte(ts)},
		}
		sc := trace.SpanContextFromContext(o.extract(context.Background(), hs))
		if !sc.IsValid() {
			return
		}
		if core.HeaderKind(kind) != core.HeaderString {
			t.Fatalf("extracted %v from a non-string header (kind %d)", sc, kind)
		}
		if len(tp) < 55 || sc.TraceID().String() != tp[3:35] || sc.SpanID().String() != tp[36:52] || !sc.IsRemote() {
			t.Fatalf("traceparent %q gave %v", tp, sc)
		}
		var out core.Headers
		o.inject(trace.ContextWithSpanContext(context.Background(), sc), &out)
		back := trace.SpanContextFromContext(o.extract(context.Background(), out))
		if !back.Equal(sc) {
			t.Fatalf("round trip of %v gave %v (headers %v)", sc, back, out)
		}
	})
}

// TestHeaderWriterLimits: a value over Iggy's 255-byte header limit is
// dropped, and a second Set of a key replaces the first.
func TestHeaderWriterLimits(t *testing.T) {
	var hs core.Headers
	w := headerWriter{&hs}
	w.Set(HeaderTraceParent, "a")
	w.Set(HeaderTraceParent, "b")
	w.Set(HeaderTraceState, string(make([]byte, 256)))
	if len(hs) != 1 || hs.Value(HeaderTraceParent) != "b" {
		t.Fatalf("headers %v", hs)
	}
}

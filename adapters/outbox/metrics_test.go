package outbox_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/rustok/rustok-iggy/adapters/outbox"
)

// RegisterMetrics observes the lag from the database and the relay's
// status at each collection.
func TestRegisterMetrics(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		k := newBroker(t, 0)
		ids := writeMany(t, h, 0, 1, 2) // 6 events
		w := newWatch(k.tr, ids)
		r := h.relay(t, w, outbox.RelayConfig{PollInterval: 10 * time.Millisecond})
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer mp.Shutdown(ctx)
		reg, err := outbox.RegisterMetrics(mp, h.o, h.db, r)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Unregister()
		values := func() map[string]float64 {
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(ctx, &rm); err != nil {
				t.Fatal(err)
			}
			out := map[string]float64{}
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					add := func(attrs attribute.Set, v float64) {
						if tb, _ := attrs.Value(outbox.AttrTable); tb.AsString() != h.o.Table() {
							t.Errorf("%s without the table attribute: %v", m.Name, attrs)
						}
						name := m.Name
						if s, ok := attrs.Value(outbox.AttrRelayState); ok {
							name += "/" + s.AsString()
						}
						out[name] = v
					}
					switch d := m.Data.(type) {
					case metricdata.Gauge[int64]:
						for _, p := range d.DataPoints {
							add(p.Attributes, float64(p.Value))
						}
					case metricdata.Gauge[float64]:
						for _, p := range d.DataPoints {
							add(p.Attributes, p.Value)
						}
					case metricdata.Sum[int64]:
						for _, p := range d.DataPoints {
							add(p.Attributes, float64(p.Value))
						}
					}
				}
			}
			return out
		}
		v := values()
		if v[outbox.MetricPending] != 6 || v[outbox.MetricOldestPendingAge] <= 0 || v[outbox.MetricRelayed] != 0 || v[outbox.MetricRelayState+"/starting"] != 1 {
			t.Errorf("before the relay ran: %v", v)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		w.wait(t)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		v = values()
		if v[outbox.MetricPending] != 0 || v[outbox.MetricOldestPendingAge] != 0 || v[outbox.MetricDead] != 0 || v[outbox.MetricRelayed] != 6 ||
			v[outbox.MetricDeadLettered] != 0 || v[outbox.MetricRelayState+"/stopped"] != 1 || v[outbox.MetricRelayState+"/active"] != 0 ||
			v[outbox.MetricRelayFailures] != 0 || v[outbox.MetricRelayLastError] != 0 {
			t.Errorf("after the relay ran: %v", v)
		}
	})
}

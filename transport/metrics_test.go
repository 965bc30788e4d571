package transport_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestMetrics: with a MeterProvider, a publish, a retried and then
// dead-lettered event and a replay show up in the messaging instruments
// read through a ManualReader, next to the caller's own hooks.
func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	var cfg transport.Config
	cfg.Topology.StreamName = transporttest.StreamName(t)
	cfg.Topology.DomainPartitions = 1
	cfg.Consumer.MaxAttempts = 2
	cfg.Consumer.InitialBackoff = 1
	hooks := transporttest.NewHooks()
	tr, err := transport.New(cfg, newFakeBroker(), transporttest.JSONCodec{}, nil,
		transport.WithMeterProvider(mp), transport.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(ctx) }()
	tenant := uuid.New()
	good, bad := transporttest.Event(tenant, "a.b", 1), transporttest.Event(tenant, "a.b", 2)
	if err := tr.PublishBatch(ctx, []core.Envelope{good, bad}); err != nil {
		t.Fatal(err)
	}
	sub, err := tr.Subscribe(ctx, "m", func(_ context.Context, d transport.Delivery) error {
		if d.Envelope.ID == bad.ID {
			return errors.New("no")
		}
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-hooks.DeadLetteredCh
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Replay(ctx, transport.ReplayRequest{}, func(context.Context, transport.Delivery) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	hist := map[string]uint64{}
	gauges := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != transport.InstrumentationName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if v, _ := p.Attributes.Value(transport.AttrMessagingSystem); v.AsString() != "iggy" {
						t.Errorf("%s without messaging.system: %v", m.Name, p.Attributes)
					}
					dest, _ := p.Attributes.Value(transport.AttrDestinationName)
					sums[m.Name+"/"+dest.AsString()] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					_, failed := p.Attributes.Value(transport.AttrErrorType)
					hist[m.Name+"/"+map[bool]string{true: "error", false: "ok"}[failed]] += p.Count
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					g, _ := p.Attributes.Value(transport.AttrConsumerGroup)
					part, _ := p.Attributes.Value(transport.AttrPartitionID)
					gauges[m.Name+"/"+g.AsString()+"/"+part.AsString()] = p.Value
				}
			}
		}
	}
	want := map[string]int64{
		transport.MetricSentMessages + "/domain":     2,
		transport.MetricSentMessages + "/dlq":        1,
		transport.MetricConsumedMessages + "/domain": 3, // good once, bad twice
		transport.MetricRetries + "/domain":          1,
		transport.MetricDLQEntries + "/domain":       1,
		transport.MetricReplayed + "/domain":         2,
	}
	for k, v := range want {
		if sums[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, sums[k], v, sums)
		}
	}
	if hist[transport.MetricOperationDuration+"/ok"] != 2 || hist[transport.MetricProcessDuration+"/ok"] != 1 ||
		hist[transport.MetricProcessDuration+"/error"] != 2 {
		t.Errorf("histogram counts %v", hist)
	}
	if v, ok := gauges[transport.MetricConsumerLag+"/m/0"]; !ok || v != 0 {
		t.Errorf("lag gauges %v", gauges)
	}
	if p, h, _, d, _ := hooks.Counts(); p != 3 || h != 3 || d != 1 {
		t.Errorf("the caller's hooks saw published %d handled %d dead %d", p, h, d)
	}
}

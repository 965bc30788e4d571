package httpapi

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/rustok/rustok-iggy/transport"
)

// Namespace prefixes the broker gauges of `rustok-iggy serve`
// (rustok_iggy_broker_*).
const Namespace = "rustok_iggy"

// Prometheus names of the transport's OpenTelemetry instruments
// (transport.Metric*) as the OTel Prometheus exporter writes them: dots
// become underscores, counters get _total, second-valued histograms
// _seconds.
const (
	PromSentMessages      = "messaging_client_sent_messages_total"
	PromConsumedMessages  = "messaging_client_consumed_messages_total"
	PromOperationDuration = "messaging_client_operation_duration_seconds"
	PromProcessDuration   = "messaging_process_duration_seconds"
	PromConsumerLag       = "rustok_consumer_lag"
	PromRetries           = "rustok_consumer_retries_total"
	PromDLQEntries        = "rustok_dlq_entries_total"
	PromReplayed          = "rustok_replay_messages_total"
)

// Prometheus names of the outbox's instruments (outbox.Metric*), served on
// the same /metrics when an App runs an outbox (events.outbox.enabled).
// Labels: rustok_outbox_table, and rustok_outbox_relay_state on
// PromOutboxRelayState (one series per state, 1 for the current one).
const (
	PromOutboxPending          = "rustok_outbox_pending"
	PromOutboxOldestPendingAge = "rustok_outbox_oldest_pending_age_seconds"
	PromOutboxDead             = "rustok_outbox_dead"
	PromOutboxRelayed          = "rustok_outbox_relayed_total"
	PromOutboxDeadLettered     = "rustok_outbox_dead_lettered_total"
	PromOutboxRelayState       = "rustok_outbox_relay_state"
	PromOutboxRelayFailures    = "rustok_outbox_relay_failures"
	PromOutboxRelayLastError   = "rustok_outbox_relay_last_error_time_seconds"
)

// Metrics is a transport.Hooks recording the transport's OpenTelemetry
// instruments (see transport.NewMeterHooks and the Metric* names) in an
// OTel SDK MeterProvider whose only reader is the OTel Prometheus exporter,
// registered in a registry of its own. /metrics serves that registry in
// the Prometheus text format, with the Go runtime and process collectors.
// Labels are the instruments' attributes with dots as underscores:
// messaging_system, messaging_destination_name,
// messaging_consumer_group_name, messaging_destination_partition_id (lag),
// rustok_dlq_reason (DLQ entries), error_type (failures), plus the
// exporter's otel_scope_* labels.
//
// Every method is safe for concurrent use and does not block.
type Metrics struct {
	transport.Hooks
	reg *prometheus.Registry
	mp  *sdkmetric.MeterProvider
}

var _ transport.Hooks = (*Metrics)(nil)

// NewMetrics returns Metrics with a new registry holding the exporter and
// the Go runtime and process collectors.
func NewMetrics() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	hooks, err := transport.NewMeterHooks(mp)
	if err != nil {
		_ = mp.Shutdown(context.Background())
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &Metrics{Hooks: hooks, reg: reg, mp: mp}, nil
}

// Registry returns the registry /metrics serves; register more collectors
// on it to serve them on the same /metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// MeterProvider returns the provider behind the exporter: instruments an
// application creates from it are served on /metrics too.
func (m *Metrics) MeterProvider() metric.MeterProvider { return m.mp }

// Shutdown stops the meter provider; /metrics then serves only the
// runtime and process collectors.
func (m *Metrics) Shutdown(ctx context.Context) error { return m.mp.Shutdown(ctx) }

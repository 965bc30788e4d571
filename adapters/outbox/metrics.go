package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Names of the OpenTelemetry instruments RegisterMetrics creates. Each
// observation carries the attribute AttrTable; the relay state gauge also
// AttrRelayState.
const (
	// MetricPending is the number of rows not yet relayed (gauge).
	MetricPending = "rustok.outbox.pending"
	// MetricOldestPendingAge is the age of the oldest of them, in seconds
	// (gauge; 0 when none).
	MetricOldestPendingAge = "rustok.outbox.oldest_pending_age"
	// MetricDead is the number of rows the relay gave up on that are only
	// marked dead, not in the DLQ (gauge).
	MetricDead = "rustok.outbox.dead"
	// MetricRelayed counts the events this process's relay published and
	// marked delivered (counter).
	MetricRelayed = "rustok.outbox.relayed"
	// MetricDeadLettered counts the rows this process's relay stored in the
	// DLQ (counter).
	MetricDeadLettered = "rustok.outbox.dead_lettered"
	// MetricRelayState is 1 for the relay's current state and 0 for the
	// others, one series per state (AttrRelayState).
	MetricRelayState = "rustok.outbox.relay.state"
	// MetricRelayFailures is the relay's consecutive failures, 0 after a
	// success (gauge).
	MetricRelayFailures = "rustok.outbox.relay.failures"
	// MetricRelayLastError is when the relay last failed, Unix seconds
	// (gauge; 0 when never).
	MetricRelayLastError = "rustok.outbox.relay.last_error_time"

	// AttrTable is the outbox table.
	AttrTable = "rustok.outbox.table"
	// AttrRelayState is a RelayState.
	AttrRelayState = "rustok.outbox.relay.state"
)

// MetricsTimeout bounds the database query of one metrics collection.
const MetricsTimeout = 2 * time.Second

// RegisterMetrics creates the Metric* instruments in mp's meter
// "github.com/rustok/rustok-iggy/adapters/outbox" and one callback that,
// at each collection, reads the table's Lag from db (bounded by
// MetricsTimeout; on error the lag gauges are left out of that
// collection) and, when r is not nil, the relay's Status. Unregister the
// returned registration when the outbox closes. The callback is safe for
// concurrent use.
func RegisterMetrics(mp metric.MeterProvider, o *Outbox, db *sql.DB, r *Relay) (metric.Registration, error) {
	m := mp.Meter("github.com/rustok/rustok-iggy/adapters/outbox")
	var errs [8]error
	pending, e0 := m.Int64ObservableGauge(MetricPending, metric.WithUnit("{row}"), metric.WithDescription("Outbox rows not yet relayed."))
	oldest, e1 := m.Float64ObservableGauge(MetricOldestPendingAge, metric.WithUnit("s"), metric.WithDescription("Age of the oldest outbox row not yet relayed."))
	dead, e2 := m.Int64ObservableGauge(MetricDead, metric.WithUnit("{row}"), metric.WithDescription("Outbox rows given up on and only marked dead (not in the DLQ)."))
	relayed, e3 := m.Int64ObservableCounter(MetricRelayed, metric.WithUnit("{event}"), metric.WithDescription("Events the relay published and marked delivered."))
	lettered, e4 := m.Int64ObservableCounter(MetricDeadLettered, metric.WithUnit("{event}"), metric.WithDescription("Outbox rows the relay stored in the dead letter queue."))
	state, e5 := m.Int64ObservableGauge(MetricRelayState, metric.WithDescription("1 for the relay's current state, 0 for the others."))
	failures, e6 := m.Int64ObservableGauge(MetricRelayFailures, metric.WithUnit("{failure}"), metric.WithDescription("The relay's consecutive failures."))
	lastErr, e7 := m.Float64ObservableGauge(MetricRelayLastError, metric.WithUnit("s"), metric.WithDescription("When the relay last failed, Unix time; 0 when never."))
	errs = [8]error{e0, e1, e2, e3, e4, e5, e6, e7}
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	table := metric.WithAttributes(attribute.String(AttrTable, o.table))
	states := []RelayState{StateStarting, StateStandby, StateActive, StateStopped}
	stateOpts := make([]metric.ObserveOption, len(states))
	for i, s := range states {
		stateOpts[i] = metric.WithAttributes(attribute.String(AttrTable, o.table), attribute.String(AttrRelayState, string(s)))
	}
	instruments := []metric.Observable{pending, oldest, dead}
	if r != nil {
		instruments = append(instruments, relayed, lettered, state, failures, lastErr)
	}
	return m.RegisterCallback(func(ctx context.Context, obs metric.Observer) error {
		qctx, cancel := context.WithTimeout(ctx, MetricsTimeout)
		l, err := o.Lag(qctx, db)
		cancel()
		if err == nil {
			obs.ObserveInt64(pending, l.Pending, table)
			obs.ObserveFloat64(oldest, l.OldestPending.Seconds(), table)
			obs.ObserveInt64(dead, l.Dead, table)
		}
		if r != nil {
			st := r.Status()
			obs.ObserveInt64(relayed, int64(st.Relayed), table)
			obs.ObserveInt64(lettered, int64(st.DeadLettered), table)
			for i, s := range states {
				v := int64(0)
				if st.State == s {
					v = 1
				}
				obs.ObserveInt64(state, v, stateOpts[i])
			}
			obs.ObserveInt64(failures, int64(st.Failures), table)
			last := 0.0
			if !st.LastErrorAt.IsZero() {
				last = float64(st.LastErrorAt.UnixMilli()) / 1000
			}
			obs.ObserveFloat64(lastErr, last, table)
		}
		return nil // a failed lag query only leaves its gauges out
	}, instruments...)
}

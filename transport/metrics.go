package transport

import (
	"context"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Metric names the transport records through its MeterProvider. The
// first four are the OpenTelemetry messaging semantic conventions; the
// others are this transport's own.
const (
	// MetricSentMessages counts messages sent to the broker (a DLQ entry
	// under destination "dlq"), with error.type set when the send failed.
	MetricSentMessages = "messaging.client.sent.messages"
	// MetricConsumedMessages counts messages handed to a handler (each
	// attempt), by consumer group and destination.
	MetricConsumedMessages = "messaging.client.consumed.messages"
	// MetricOperationDuration is the duration of one broker send, in
	// seconds.
	MetricOperationDuration = "messaging.client.operation.duration"
	// MetricProcessDuration is the duration of one handler call, in
	// seconds, with error.type set when it failed.
	MetricProcessDuration = "messaging.process.duration"
	// MetricConsumerLag is a group's lag on a partition, in messages, as
	// of its last poll there.
	MetricConsumerLag = "rustok.consumer.lag"
	// MetricRetries counts handler calls that are retries.
	MetricRetries = "rustok.consumer.retries"
	// MetricDLQEntries counts events sent to the DLQ, by reason.
	MetricDLQEntries = "rustok.dlq.entries"
	// MetricReplayed counts events delivered by replays.
	MetricReplayed = "rustok.replay.messages"
)

// defaultGlobalMP is the global meter provider before otel.SetMeterProvider.
var defaultGlobalMP = otel.GetMeterProvider()

// WithMeterProvider makes the transport record the Metric* instruments
// with mp. Without it the otel global meter provider is used, as it is
// when New runs: if none was set by then (or a noop one is given), no
// metric is recorded and the hot paths pay nothing. The metrics are
// recorded in addition to any WithHooks hooks.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(t *Transport) {
		if mp != nil {
			t.meterProvider = mp
		}
	}
}

// meterHooks is the Hooks that records the OTel instruments. Attribute sets
// are built once per label combination, so recording does not allocate
// beyond the SDK's own work.
type meterHooks struct {
	sent     metric.Int64Counter
	consumed metric.Int64Counter
	opDur    metric.Float64Histogram
	procDur  metric.Float64Histogram
	lag      metric.Int64Gauge
	retries  metric.Int64Counter
	dlq      metric.Int64Counter
	replayed metric.Int64Counter

	mu   sync.RWMutex
	sets map[setKey]*attrOpts
}

// attrOpts is one attribute set as ready-made option slices: passing a
// slice (not a variadic list) to Add and Record allocates nothing.
type attrOpts struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

type setKey struct {
	kind         uint8
	topic, group string
	extra        string
	partition    uint32
}

const (
	setTopic = iota
	setTopicErr
	setGroup
	setGroupErr
	setLag
	setDLQ
)

// newMeterHooks returns the instruments of mp, or nil when mp records
// nothing (a noop provider, or the global one never set).
func newMeterHooks(mp metric.MeterProvider) (*meterHooks, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
		if mp == defaultGlobalMP {
			return nil, nil
		}
	}
	if _, ok := mp.(noop.MeterProvider); ok {
		return nil, nil
	}
	m := mp.Meter(InstrumentationName)
	h := &meterHooks{sets: map[setKey]*attrOpts{}}
	var err, e error
	h.sent, e = m.Int64Counter(MetricSentMessages, metric.WithUnit("{message}"), metric.WithDescription("Messages sent to the broker."))
	err = joinErr(err, e)
	h.consumed, e = m.Int64Counter(MetricConsumedMessages, metric.WithUnit("{message}"), metric.WithDescription("Messages handed to a handler, each attempt."))
	err = joinErr(err, e)
	bounds := metric.WithExplicitBucketBoundaries(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
	h.opDur, e = m.Float64Histogram(MetricOperationDuration, metric.WithUnit("s"), metric.WithDescription("Duration of one broker send."), bounds)
	err = joinErr(err, e)
	h.procDur, e = m.Float64Histogram(MetricProcessDuration, metric.WithUnit("s"), metric.WithDescription("Duration of one handler call."), bounds)
	err = joinErr(err, e)
	h.lag, e = m.Int64Gauge(MetricConsumerLag, metric.WithUnit("{message}"), metric.WithDescription("Messages after the last one a group handled on a partition, as of its last poll."))
	err = joinErr(err, e)
	h.retries, e = m.Int64Counter(MetricRetries, metric.WithUnit("{call}"), metric.WithDescription("Handler calls that were retries."))
	err = joinErr(err, e)
	h.dlq, e = m.Int64Counter(MetricDLQEntries, metric.WithUnit("{message}"), metric.WithDescription("Events sent to the dead letter queue."))
	err = joinErr(err, e)
	h.replayed, e = m.Int64Counter(MetricReplayed, metric.WithUnit("{message}"), metric.WithDescription("Events delivered by replays."))
	err = joinErr(err, e)
	if err != nil {
		return nil, err
	}
	return h, nil
}

func joinErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// set returns the attribute options of a label combination, built once.
func (h *meterHooks) set(k setKey) *attrOpts {
	h.mu.RLock()
	o := h.sets[k]
	h.mu.RUnlock()
	if o != nil {
		return o
	}
	attrs := []attribute.KeyValue{AttrMessagingSystem.String(MessagingSystemIggy), AttrDestinationName.String(k.topic)}
	switch k.kind {
	case setTopicErr, setGroupErr:
		attrs = append(attrs, AttrErrorType.String("error"))
	case setLag:
		attrs = append(attrs, AttrPartitionID.String(strconv.FormatUint(uint64(k.partition), 10)))
	case setDLQ:
		attrs = append(attrs, AttrDLQReason.String(k.extra))
	}
	if k.group != "" {
		attrs = append(attrs, AttrConsumerGroup.String(k.group))
	}
	opt := metric.WithAttributeSet(attribute.NewSet(attrs...))
	o = &attrOpts{add: []metric.AddOption{opt}, rec: []metric.RecordOption{opt}}
	h.mu.Lock()
	if prev := h.sets[k]; prev != nil {
		o = prev
	} else {
		h.sets[k] = o
	}
	h.mu.Unlock()
	return o
}

var _ Hooks = (*meterHooks)(nil)

func (h *meterHooks) Published(topic string, n int, d time.Duration, err error) {
	k := setKey{kind: setTopic, topic: topic}
	if err != nil {
		k.kind = setTopicErr
	}
	o := h.set(k)
	ctx := context.Background()
	h.sent.Add(ctx, int64(n), o.add...)
	h.opDur.Record(ctx, d.Seconds(), o.rec...)
}

func (h *meterHooks) Handled(group, topic string, _ uint32, d time.Duration, err error) {
	ctx := context.Background()
	k := setKey{kind: setGroup, topic: topic, group: group}
	h.consumed.Add(ctx, 1, h.set(k).add...)
	if err != nil {
		k.kind = setGroupErr
	}
	h.procDur.Record(ctx, d.Seconds(), h.set(k).rec...)
}

func (h *meterHooks) Retried(group, topic string, _ uint32, _ int) {
	h.retries.Add(context.Background(), 1, h.set(setKey{kind: setGroup, topic: topic, group: group}).add...)
}

func (h *meterHooks) DeadLettered(group, topic string, _ uint32, reason string) {
	h.dlq.Add(context.Background(), 1, h.set(setKey{kind: setDLQ, topic: topic, group: group, extra: reason}).add...)
}

func (h *meterHooks) Replayed(topic string, n int) {
	if n > 0 {
		h.replayed.Add(context.Background(), int64(n), h.set(setKey{kind: setTopic, topic: topic}).add...)
	}
}

func (h *meterHooks) Lag(group, topic string, partition uint32, lag uint64) {
	h.lag.Record(context.Background(), int64(min(lag, 1<<63-1)), h.set(setKey{kind: setLag, topic: topic, group: group, partition: partition}).rec...)
}

// teeHooks calls two Hooks in turn.
type teeHooks struct{ a, b Hooks }

func (t teeHooks) Published(topic string, n int, d time.Duration, err error) {
	t.a.Published(topic, n, d, err)
	t.b.Published(topic, n, d, err)
}

func (t teeHooks) Handled(group, topic string, p uint32, d time.Duration, err error) {
	t.a.Handled(group, topic, p, d, err)
	t.b.Handled(group, topic, p, d, err)
}

func (t teeHooks) Retried(group, topic string, p uint32, attempt int) {
	t.a.Retried(group, topic, p, attempt)
	t.b.Retried(group, topic, p, attempt)
}

func (t teeHooks) DeadLettered(group, topic string, p uint32, reason string) {
	t.a.DeadLettered(group, topic, p, reason)
	t.b.DeadLettered(group, topic, p, reason)
}

func (t teeHooks) Replayed(topic string, n int) {
	t.a.Replayed(topic, n)
	t.b.Replayed(topic, n)
}

func (t teeHooks) Lag(group, topic string, p uint32, lag uint64) {
	t.a.Lag(group, topic, p, lag)
	t.b.Lag(group, topic, p, lag)
}

// NewMeterHooks returns Hooks that record the Metric* instruments with mp
// (the otel global meter provider when nil), for a caller that builds the
// hooks itself, such as an HTTP adapter serving them; a Transport given
// WithMeterProvider records them without it. With a noop provider, or nil
// while no global one is set, it returns NopHooks.
func NewMeterHooks(mp metric.MeterProvider) (Hooks, error) {
	h, err := newMeterHooks(mp)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return NopHooks{}, nil
	}
	return h, nil
}

package httpapi

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rustok/rustok-iggy/transport"
)

// Namespace prefixes every metric name: rustok_iggy_<name>.
const Namespace = "rustok_iggy"

// Metric names, without the namespace. Label names are in the help texts
// and the doc comment of Metrics.
const (
	MetricPublished       = "published_events_total"
	MetricPublishDuration = "publish_duration_seconds"
	MetricConsumed        = "consumed_events_total"
	MetricHandlerFailures = "handler_failures_total"
	MetricHandleDuration  = "handler_duration_seconds"
	MetricRetried         = "retries_total"
	MetricDeadLettered    = "dead_lettered_events_total"
	MetricReplayed        = "replayed_events_total"
	MetricConsumerLag     = "consumer_lag_messages"
)

// Metrics is a transport.Hooks backed by Prometheus collectors in a
// registry of its own:
//
//   - rustok_iggy_published_events_total{topic,result}: events sent to the
//     broker, result "ok" or "error" (DLQ writes count under topic "dlq");
//   - rustok_iggy_publish_duration_seconds{topic}: one broker send;
//   - rustok_iggy_consumed_events_total{group,topic}: handler successes;
//   - rustok_iggy_handler_failures_total{group,topic}: failed handler calls;
//   - rustok_iggy_handler_duration_seconds{group,topic}: one handler call;
//   - rustok_iggy_retries_total{group,topic}: handler calls that are retries;
//   - rustok_iggy_dead_lettered_events_total{group,topic,reason};
//   - rustok_iggy_replayed_events_total{topic};
//   - rustok_iggy_consumer_lag_messages{group,topic,partition}: the lag a
//     group member saw at its last poll of the partition.
//
// The registry also holds the Go runtime and process collectors. Every
// method is safe for concurrent use and does not block; after the first
// call for a label set, the hook methods do not allocate.
type Metrics struct {
	reg *prometheus.Registry

	published *prometheus.CounterVec
	pubDur    *prometheus.HistogramVec
	consumed  *prometheus.CounterVec
	failures  *prometheus.CounterVec
	handleDur *prometheus.HistogramVec
	retried   *prometheus.CounterVec
	dead      *prometheus.CounterVec
	replayed  *prometheus.CounterVec
	lag       *prometheus.GaugeVec

	mu     sync.RWMutex
	topics map[string]*topicMetrics
	groups map[groupKey]*groupMetrics
	deads  map[deadKey]prometheus.Counter
	lags   map[lagKey]prometheus.Gauge
}

type topicMetrics struct {
	ok, failed prometheus.Counter
	dur        prometheus.Observer
	replayed   prometheus.Counter
}

type groupKey struct{ group, topic string }

type groupMetrics struct {
	consumed, failures, retried prometheus.Counter
	dur                         prometheus.Observer
}

type deadKey struct{ group, topic, reason string }

type lagKey struct {
	group, topic string
	partition    uint32
}

var _ transport.Hooks = (*Metrics)(nil)

// Latency buckets in seconds: 50µs to about 10s.
var latencyBuckets = prometheus.ExponentialBuckets(0.00005, 2.5, 14)

// NewMetrics returns Metrics with a new registry holding its collectors
// and the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: MetricPublished,
			Help: "Events sent to the broker, by topic and result (ok, error)."}, []string{"topic", "result"}),
		pubDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: MetricPublishDuration,
			Help: "Duration of one broker send, by topic.", Buckets: latencyBuckets}, []string{"topic"}),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: MetricConsumed,
			Help: "Events whose handler succeeded, by consumer group and topic."}, []string{"group", "topic"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: MetricHandlerFailures,
			Help: "Failed handler calls, by consumer group and topic."}, []string{"group", "topic"}),
		handleDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: MetricHandleDuration,
			Help: "Duration of one handler call, by consumer group and topic.", Buckets: latencyBuckets}, []string{"group", "topic"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: MetricRetried,
			Help: "Handler calls that were retries, by consumer group and topic."}, []string{"group", "topic"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: MetricDeadLettered,
			Help: "Events sent to the dead letter queue, by consumer group, source topic and reason (handler, decode)."}, []string{"group", "topic", "reason"}),
		replayed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: MetricReplayed,
			Help: "Events delivered by replays, by topic."}, []string{"topic"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: MetricConsumerLag,
			Help: "Messages after the last one a consumer group handled on a partition, as of its last poll."}, []string{"group", "topic", "partition"}),
		topics: map[string]*topicMetrics{},
		groups: map[groupKey]*groupMetrics{},
		deads:  map[deadKey]prometheus.Counter{},
		lags:   map[lagKey]prometheus.Gauge{},
	}
	m.reg.MustRegister(m.published, m.pubDur, m.consumed, m.failures, m.handleDur, m.retried, m.dead, m.replayed, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, t := range []string{transport.TopicDomain, transport.TopicSystem, transport.TopicDLQ} {
		m.topic(t)
	}
	return m
}

// Registry returns the registry holding the collectors; register more
// collectors on it to serve them on the same /metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) topic(t string) *topicMetrics {
	m.mu.RLock()
	tm := m.topics[t]
	m.mu.RUnlock()
	if tm != nil {
		return tm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if tm = m.topics[t]; tm == nil {
		tm = &topicMetrics{
			ok:       m.published.WithLabelValues(t, "ok"),
			failed:   m.published.WithLabelValues(t, "error"),
			dur:      m.pubDur.WithLabelValues(t),
			replayed: m.replayed.WithLabelValues(t),
		}
		m.topics[t] = tm
	}
	return tm
}

func (m *Metrics) group(g, t string) *groupMetrics {
	k := groupKey{g, t}
	m.mu.RLock()
	gm := m.groups[k]
	m.mu.RUnlock()
	if gm != nil {
		return gm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if gm = m.groups[k]; gm == nil {
		gm = &groupMetrics{
			consumed: m.consumed.WithLabelValues(g, t),
			failures: m.failures.WithLabelValues(g, t),
			retried:  m.retried.WithLabelValues(g, t),
			dur:      m.handleDur.WithLabelValues(g, t),
		}
		m.groups[k] = gm
	}
	return gm
}

// Published counts n events sent to topic, as "ok" when err is nil and
// "error" otherwise, and observes the send's duration.
func (m *Metrics) Published(topic string, n int, d time.Duration, err error) {
	tm := m.topic(topic)
	if err != nil {
		tm.failed.Add(float64(n))
	} else {
		tm.ok.Add(float64(n))
	}
	tm.dur.Observe(d.Seconds())
}

// Handled observes a handler call's duration and counts it as consumed
// (err nil) or as a failure.
func (m *Metrics) Handled(group, topic string, _ uint32, d time.Duration, err error) {
	gm := m.group(group, topic)
	if err != nil {
		gm.failures.Inc()
	} else {
		gm.consumed.Inc()
	}
	gm.dur.Observe(d.Seconds())
}

// Retried counts one retry.
func (m *Metrics) Retried(group, topic string, _ uint32, _ int) { m.group(group, topic).retried.Inc() }

// DeadLettered counts one event sent to the DLQ.
func (m *Metrics) DeadLettered(group, topic string, _ uint32, reason string) {
	k := deadKey{group, topic, reason}
	m.mu.RLock()
	c := m.deads[k]
	m.mu.RUnlock()
	if c == nil {
		m.mu.Lock()
		if c = m.deads[k]; c == nil {
			c = m.dead.WithLabelValues(group, topic, reason)
			m.deads[k] = c
		}
		m.mu.Unlock()
	}
	c.Inc()
}

// Replayed counts n events delivered by a replay.
func (m *Metrics) Replayed(topic string, n int) {
	if n > 0 {
		m.topic(topic).replayed.Add(float64(n))
	}
}

// Lag sets a group's lag on a partition.
func (m *Metrics) Lag(group, topic string, partition uint32, lag uint64) {
	k := lagKey{group, topic, partition}
	m.mu.RLock()
	g := m.lags[k]
	m.mu.RUnlock()
	if g == nil {
		m.mu.Lock()
		if g = m.lags[k]; g == nil {
			g = m.lag.WithLabelValues(group, topic, strconv.FormatUint(uint64(partition), 10))
			m.lags[k] = g
		}
		m.mu.Unlock()
	}
	g.Set(float64(lag))
}

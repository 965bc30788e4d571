package transport

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config configures a Transport. It mirrors the YAML document the adapters
// load; each field names its YAML key. Zero values mean "use the default".
// Use Validate to check a config and WithDefaults to see the effective one;
// New does both on a copy.
type Config struct {
	// Topology: the stream and its topics (topology.*).
	Topology TopologyConfig `yaml:"topology" json:"topology"`
	// Retention: per-topic expiry and size caps (retention.*).
	Retention RetentionConfig `yaml:"retention" json:"retention"`
	// Publisher: sync or async publishing (publisher.*).
	Publisher PublisherConfig `yaml:"publisher" json:"publisher"`
	// Consumer: retries, start position and polling (consumer.*).
	Consumer ConsumerConfig `yaml:"consumer" json:"consumer"`
	// Health: thresholds of Health (health.*).
	Health HealthConfig `yaml:"health" json:"health"`
}

// TopologyConfig names the stream and sizes its topics.
type TopologyConfig struct {
	// StreamName is the Iggy stream (topology.stream_name, default "rustok").
	StreamName string `yaml:"stream_name" json:"stream_name"`
	// DomainPartitions is the domain topic's partition count
	// (topology.domain_partitions, default 8, at most 1000).
	DomainPartitions uint32 `yaml:"domain_partitions" json:"domain_partitions"`
	// SystemPartitions is the system topic's partition count
	// (topology.system_partitions, default DomainPartitions).
	SystemPartitions uint32 `yaml:"system_partitions" json:"system_partitions"`
	// DLQPartitions is the dlq topic's partition count
	// (topology.dlq_partitions, default DomainPartitions).
	DLQPartitions uint32 `yaml:"dlq_partitions" json:"dlq_partitions"`
	// ReplicationFactor is stored as topic metadata
	// (topology.replication_factor, default 1).
	ReplicationFactor uint8 `yaml:"replication_factor" json:"replication_factor"`
}

// RetentionConfig sets each topic's message expiry and size cap.
type RetentionConfig struct {
	// Domain: retention.domain (default 30 days, 10 GB).
	Domain TopicRetention `yaml:"domain" json:"domain"`
	// System: retention.system (default 7 days, unlimited size).
	System TopicRetention `yaml:"system" json:"system"`
	// DLQ: retention.dlq (default 365 days, unlimited size).
	DLQ TopicRetention `yaml:"dlq" json:"dlq"`
}

// TopicRetention is one topic's retention.
type TopicRetention struct {
	// MaxAge is how long messages are kept (retention.<topic>.max_age).
	// 0 means the default; a negative value keeps messages forever.
	MaxAge time.Duration `yaml:"max_age" json:"max_age"`
	// MaxSize caps the topic's size in bytes (retention.<topic>.max_size).
	// 0 means the default; a negative value means unlimited.
	MaxSize int64 `yaml:"max_size" json:"max_size"`
}

// Publisher modes.
const (
	// ModeSync makes Publish return once the broker stored the event.
	ModeSync = "sync"
	// ModeAsync makes Publish return once the event is buffered; batches are
	// sent by a background flusher and Acknowledge waits for storage.
	ModeAsync = "async"
)

// PublisherConfig configures publishing.
type PublisherConfig struct {
	// Mode is "sync" (default) or "async" (publisher.mode).
	Mode string `yaml:"mode" json:"mode"`
	// Linger is how long the async flusher waits for a batch to fill
	// (publisher.linger, default 1ms).
	Linger time.Duration `yaml:"linger" json:"linger"`
	// MaxBatch is the most events in one async flush (publisher.max_batch,
	// default 1000).
	MaxBatch int `yaml:"max_batch" json:"max_batch"`
	// BufferSize bounds the events accepted by async Publish and not yet
	// stored (publisher.buffer_size, default 10000). Publish blocks while
	// it is full.
	BufferSize int `yaml:"buffer_size" json:"buffer_size"`
}

// Consumer start positions, for a partition on which a group has no stored
// offset.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
)

// ConsumerConfig configures subscriptions.
type ConsumerConfig struct {
	// MaxAttempts is how often a handler is called for one event before it
	// goes to the DLQ (consumer.max_attempts, default 5).
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts"`
	// InitialBackoff is the delay before the first retry
	// (consumer.initial_backoff, default 100ms); it doubles per retry.
	InitialBackoff time.Duration `yaml:"initial_backoff" json:"initial_backoff"`
	// MaxBackoff caps the retry delay (consumer.max_backoff, default 10s).
	MaxBackoff time.Duration `yaml:"max_backoff" json:"max_backoff"`
	// StartFrom is "earliest" (default) or "latest" (consumer.start_from):
	// where a group starts on a partition it has no stored offset for.
	StartFrom string `yaml:"start_from" json:"start_from"`
	// PollBatch is the most messages one poll returns
	// (consumer.poll_batch, default 100).
	PollBatch uint32 `yaml:"poll_batch" json:"poll_batch"`
	// PollIdleMin is the first pause after a member found nothing to read
	// in a whole round of polls (consumer.poll_idle_min, default 1ms); the
	// pause doubles with each further empty round, up to PollIdleMax. It
	// bounds the added latency of an event arriving on a quiet topic. A
	// broker that can wait in a poll (core.LongPoller, the embedded one)
	// is not paused for: its polls wait for messages instead.
	PollIdleMin time.Duration `yaml:"poll_idle_min" json:"poll_idle_min"`
	// PollIdleMax caps the idle pause (consumer.poll_idle_max, default
	// 100ms). With a core.LongPoller broker it is the MaxWait of each
	// poll: how long one poll waits for messages before it returns empty.
	PollIdleMax time.Duration `yaml:"poll_idle_max" json:"poll_idle_max"`
}

// HealthConfig holds the thresholds of Health.
type HealthConfig struct {
	// PingDegraded is the broker round trip above which health is Degraded
	// (health.ping_degraded, default 250ms).
	PingDegraded time.Duration `yaml:"ping_degraded" json:"ping_degraded"`
	// LagDegraded is the per-partition lag, in messages, above which a
	// subscription is Degraded (health.lag_degraded, default 10000).
	LagDegraded uint64 `yaml:"lag_degraded" json:"lag_degraded"`
	// LagUnhealthy is the per-partition lag above which it is Unhealthy
	// (health.lag_unhealthy, default 0 = never).
	LagUnhealthy uint64 `yaml:"lag_unhealthy" json:"lag_unhealthy"`
	// DLQWindow is the window over which DLQ growth is measured
	// (health.dlq_window, default 5m).
	DLQWindow time.Duration `yaml:"dlq_window" json:"dlq_window"`
	// DLQGrowthDegraded is the number of new DLQ entries within DLQWindow
	// at or above which health is Degraded (health.dlq_growth_degraded,
	// default 1).
	DLQGrowthDegraded uint64 `yaml:"dlq_growth_degraded" json:"dlq_growth_degraded"`
}

// Default values.
const (
	DefaultStreamName        = "rustok"
	DefaultPartitions        = 8
	DefaultDomainMaxAge      = 30 * 24 * time.Hour
	DefaultDomainMaxSize     = 10_000_000_000 // 10 GB, decimal as Iggy counts
	DefaultSystemMaxAge      = 7 * 24 * time.Hour
	DefaultDLQMaxAge         = 365 * 24 * time.Hour
	DefaultLinger            = time.Millisecond
	DefaultMaxBatch          = 1000
	DefaultBufferSize        = 10000
	DefaultMaxAttempts       = 5
	DefaultInitialBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff        = 10 * time.Second
	DefaultPollBatch         = 100
	DefaultPollIdleMin       = time.Millisecond
	DefaultPollIdleMax       = 100 * time.Millisecond
	DefaultPingDegraded      = 250 * time.Millisecond
	DefaultLagDegraded       = 10000
	DefaultDLQWindow         = 5 * time.Minute
	DefaultDLQGrowth         = 1
	maxPartitions            = 1000
	maxStreamNameLen         = 255
	defaultReplicationFactor = 1
)

// WithDefaults returns a copy of c with every zero field set to its
// default. It does not validate.
func (c Config) WithDefaults() Config {
	t := &c.Topology
	if t.StreamName == "" {
		t.StreamName = DefaultStreamName
	}
	if t.DomainPartitions == 0 {
		t.DomainPartitions = DefaultPartitions
	}
	if t.SystemPartitions == 0 {
		t.SystemPartitions = t.DomainPartitions
	}
	if t.DLQPartitions == 0 {
		t.DLQPartitions = t.DomainPartitions
	}
	if t.ReplicationFactor == 0 {
		t.ReplicationFactor = defaultReplicationFactor
	}
	r := &c.Retention
	defRet(&r.Domain, DefaultDomainMaxAge, DefaultDomainMaxSize)
	defRet(&r.System, DefaultSystemMaxAge, -1)
	defRet(&r.DLQ, DefaultDLQMaxAge, -1)
	p := &c.Publisher
	if p.Mode == "" {
		p.Mode = ModeSync
	}
	if p.Linger == 0 {
		p.Linger = DefaultLinger
	}
	if p.MaxBatch == 0 {
		p.MaxBatch = DefaultMaxBatch
	}
	if p.BufferSize == 0 {
		p.BufferSize = DefaultBufferSize
	}
	k := &c.Consumer
	if k.MaxAttempts == 0 {
		k.MaxAttempts = DefaultMaxAttempts
	}
	if k.InitialBackoff == 0 {
		k.InitialBackoff = DefaultInitialBackoff
	}
	if k.MaxBackoff == 0 {
		k.MaxBackoff = DefaultMaxBackoff
	}
	if k.StartFrom == "" {
		k.StartFrom = StartEarliest
	}
	if k.PollBatch == 0 {
		k.PollBatch = DefaultPollBatch
	}
	if k.PollIdleMin == 0 {
		k.PollIdleMin = DefaultPollIdleMin
	}
	if k.PollIdleMax == 0 {
		k.PollIdleMax = DefaultPollIdleMax
	}
	h := &c.Health
	if h.PingDegraded == 0 {
		h.PingDegraded = DefaultPingDegraded
	}
	if h.LagDegraded == 0 {
		h.LagDegraded = DefaultLagDegraded
	}
	if h.DLQWindow == 0 {
		h.DLQWindow = DefaultDLQWindow
	}
	if h.DLQGrowthDegraded == 0 {
		h.DLQGrowthDegraded = DefaultDLQGrowth
	}
	return c
}

func defRet(r *TopicRetention, age time.Duration, size int64) {
	if r.MaxAge == 0 {
		r.MaxAge = age
	}
	if r.MaxSize == 0 {
		r.MaxSize = size
	}
}

// Validate reports every problem of the config with defaults applied,
// joined, each naming its YAML key. It does not modify c.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	t := c.Topology
	if strings.TrimSpace(t.StreamName) == "" {
		bad("topology.stream_name", "is blank")
	} else if len(t.StreamName) > maxStreamNameLen {
		bad("topology.stream_name", "is %d bytes, the limit is %d", len(t.StreamName), maxStreamNameLen)
	}
	for _, p := range []struct {
		key string
		n   uint32
	}{{"topology.domain_partitions", t.DomainPartitions}, {"topology.system_partitions", t.SystemPartitions}, {"topology.dlq_partitions", t.DLQPartitions}} {
		if p.n > maxPartitions {
			bad(p.key, "%d is above the limit of %d", p.n, maxPartitions)
		}
	}
	for _, r := range []struct {
		key string
		r   TopicRetention
	}{{"retention.domain", c.Retention.Domain}, {"retention.system", c.Retention.System}, {"retention.dlq", c.Retention.DLQ}} {
		if r.r.MaxAge > 0 && r.r.MaxAge < time.Second {
			bad(r.key+".max_age", "%v is below one second", r.r.MaxAge)
		}
	}
	p := c.Publisher
	if p.Mode != ModeSync && p.Mode != ModeAsync {
		bad("publisher.mode", "%q is not %q or %q", p.Mode, ModeSync, ModeAsync)
	}
	if p.Linger < 0 {
		bad("publisher.linger", "%v is negative", p.Linger)
	}
	if p.MaxBatch < 0 {
		bad("publisher.max_batch", "%d is negative", p.MaxBatch)
	}
	if p.BufferSize < 0 {
		bad("publisher.buffer_size", "%d is negative", p.BufferSize)
	} else if p.MaxBatch > 0 && p.BufferSize < p.MaxBatch {
		bad("publisher.buffer_size", "%d is below publisher.max_batch %d", p.BufferSize, p.MaxBatch)
	}
	k := c.Consumer
	if k.MaxAttempts < 1 {
		bad("consumer.max_attempts", "%d is below 1", k.MaxAttempts)
	}
	if k.InitialBackoff < 0 {
		bad("consumer.initial_backoff", "%v is negative", k.InitialBackoff)
	}
	if k.MaxBackoff < k.InitialBackoff {
		bad("consumer.max_backoff", "%v is below consumer.initial_backoff %v", k.MaxBackoff, k.InitialBackoff)
	}
	if k.StartFrom != StartEarliest && k.StartFrom != StartLatest {
		bad("consumer.start_from", "%q is not %q or %q", k.StartFrom, StartEarliest, StartLatest)
	}
	if k.PollIdleMin < 0 {
		bad("consumer.poll_idle_min", "%v is negative", k.PollIdleMin)
	}
	if k.PollIdleMax < k.PollIdleMin {
		bad("consumer.poll_idle_max", "%v is below consumer.poll_idle_min %v", k.PollIdleMax, k.PollIdleMin)
	}
	h := c.Health
	if h.PingDegraded < 0 {
		bad("health.ping_degraded", "%v is negative", h.PingDegraded)
	}
	if h.LagUnhealthy != 0 && h.LagUnhealthy < h.LagDegraded {
		bad("health.lag_unhealthy", "%d is below health.lag_degraded %d", h.LagUnhealthy, h.LagDegraded)
	}
	if h.DLQWindow < 0 {
		bad("health.dlq_window", "%v is negative", h.DLQWindow)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: transport config: %w", ErrConfig, errors.Join(errs...))
}

// retention converts a TopicRetention with defaults applied into the
// broker's terms (0 = forever / unlimited).
func (r TopicRetention) expiry() time.Duration {
	if r.MaxAge < 0 {
		return 0
	}
	return r.MaxAge
}

func (r TopicRetention) maxSize() uint64 {
	if r.MaxSize < 0 {
		return 0
	}
	return uint64(r.MaxSize)
}

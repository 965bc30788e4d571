package iggywm

import (
	"errors"
	"fmt"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"log/slog"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// Defaults applied to zero-valued config fields.
const (
	// DefaultStream is the Iggy stream holding the Watermill topics.
	DefaultStream = "watermill"
	// DefaultPartitions is the partition count of a topic created on
	// first use: one, so that a topic keeps its publish order.
	DefaultPartitions = 1
	// DefaultBatchSize is how many messages a subscription polls at once.
	DefaultBatchSize = 100
	// DefaultPollInterval is the longest wait between polls that find
	// nothing new.
	DefaultPollInterval = 100 * time.Millisecond
	// DefaultRetryDelay is the wait after a broker call failed.
	DefaultRetryDelay = time.Second
)

// Limits of config fields.
const (
	// MaxPartitions is the most partitions Iggy gives a topic.
	MaxPartitions = 1000
	// MaxBatchSize bounds SubscriberConfig.BatchSize.
	MaxBatchSize = 10_000
)

// LeaveTimeout bounds leaving a consumer group when a subscription ends.
const LeaveTimeout = 5 * time.Second

// TopicConfig says where Watermill topics live and how they are created.
// Publisher and Subscriber both create a missing topic on first use (the
// stream too); whichever comes first decides its partition count.
type TopicConfig struct {
	// Stream is the Iggy stream holding one Iggy topic per Watermill topic
	// (stream), 1 to 255 bytes. Default "watermill".
	Stream string `yaml:"stream"`
	// Partitions is the partition count of a topic created on first use
	// (partitions), 0 to 1000. Default 1. An existing topic keeps its
	// count.
	Partitions uint32 `yaml:"partitions"`
}

// invalid is a configuration error wrapping core.ErrInvalid.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), core.ErrInvalid)
}

func (c TopicConfig) withDefaults() TopicConfig {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	return c
}

func (c TopicConfig) validate(section string) []error {
	var errs []error
	if len(c.Stream) > MaxHeaderField {
		errs = append(errs, invalid("%s.stream: %d bytes, at most 255", section, len(c.Stream)))
	}
	if c.Partitions > MaxPartitions {
		errs = append(errs, invalid("%s.partitions: %d, at most %d", section, c.Partitions, MaxPartitions))
	}
	return errs
}

// PublisherConfig configures a Publisher (YAML section publisher). Zero
// values mean the documented defaults.
type PublisherConfig struct {
	TopicConfig `yaml:",inline"`
	// PartitionKey names the metadata key whose value picks a message's
	// partition (partition_key), see ByMetadata: messages of one value
	// keep their order. Default "": Balanced.
	PartitionKey string `yaml:"partition_key"`
	// Partitioner, when set, picks partitions instead of PartitionKey.
	Partitioner Partitioner `yaml:"-"`
	// Marshaler converts messages. Default DefaultMarshaler.
	Marshaler Marshaler `yaml:"-"`
	// Propagator writes the trace context of each message's Context (when
	// it carries a valid span context) into the Iggy headers, W3C
	// traceparent/tracestate with propagation.TraceContext, unless the
	// metadata already has an entry of that key. Default nil: the otel
	// global propagator, which propagates nothing until one is set.
	Propagator propagation.TextMapPropagator `yaml:"-"`
	// Logger receives the publisher's logs. Nil discards them.
	Logger *slog.Logger `yaml:"-"`
}

// Validate reports every problem of the configuration, joined, each naming
// its YAML key under publisher and wrapping core.ErrInvalid.
func (c PublisherConfig) Validate() error {
	return errors.Join(c.validate("publisher")...)
}

func (c PublisherConfig) withDefaults() PublisherConfig {
	c.TopicConfig = c.TopicConfig.withDefaults()
	if c.Partitioner == nil {
		if c.PartitionKey != "" {
			c.Partitioner = ByMetadata(c.PartitionKey)
		} else {
			c.Partitioner = Balanced()
		}
	}
	if c.Marshaler == nil {
		c.Marshaler = DefaultMarshaler{}
	}
	if c.Propagator == nil {
		c.Propagator = otel.GetTextMapPropagator()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// SubscriberConfig configures a Subscriber (YAML section subscriber). Zero
// values mean the documented defaults.
type SubscriberConfig struct {
	TopicConfig `yaml:",inline"`
	// ConsumerGroup is the Iggy consumer group every subscription joins
	// (consumer_group), 1 to 255 bytes; created on first use. Each group
	// gets every message of a topic once (at least once); its members
	// share the partitions, and the group's offsets, stored on Ack, make a
	// later subscription continue after the last acknowledged message.
	//
	// Default "": no group. Each subscription then reads every partition
	// from the first retained message, keeps its position in memory only
	// and stores nothing: every new subscription gets every message.
	ConsumerGroup string `yaml:"consumer_group"`
	// DeleteGroupOnClose makes Close delete ConsumerGroup, with its stored
	// offsets, from every topic this Subscriber subscribed to, once its
	// subscriptions have left (delete_group_on_close). It is for a group
	// private to this Subscriber (one per process, say) that would
	// otherwise stay on the broker: another Subscriber of the group loses
	// its membership, and a later subscription starts from the first
	// message. It needs a broker with core.Deleter (both connectors of this
	// repository); without one, or when a delete fails, Close logs it.
	// Default false: the group and its offsets stay.
	DeleteGroupOnClose bool `yaml:"delete_group_on_close"`
	// BatchSize is how many messages a subscription polls at once
	// (batch_size), 1 to 10000. Default 100. The messages are handed out
	// one at a time; after a rebalance, the un-acknowledged part of a batch
	// may be delivered again by the partition's new owner.
	BatchSize uint32 `yaml:"batch_size"`
	// PollInterval is the longest wait between polls that find nothing new
	// (poll_interval); the wait starts at 1ms and doubles up to it. Iggy
	// has no long polling, so this is the delivery latency of an idle
	// subscription. Default 100ms.
	PollInterval time.Duration `yaml:"poll_interval"`
	// NackDelay is how long a subscription waits after a Nack before it
	// delivers the message again (nack_delay). Default 0: at once.
	NackDelay time.Duration `yaml:"nack_delay"`
	// RetryDelay is the wait after a failed broker call before the next
	// (retry_delay). Default 1s.
	RetryDelay time.Duration `yaml:"retry_delay"`
	// Unmarshaler converts messages. Default DefaultMarshaler.
	Unmarshaler Marshaler `yaml:"-"`
	// Propagator extracts the trace context from each delivered message's
	// metadata (traceparent and tracestate travel as metadata entries)
	// into the message's Context, so a handler's spans continue the
	// producer's trace. A missing or malformed traceparent leaves the
	// Context without one. Default nil: the otel global propagator.
	Propagator propagation.TextMapPropagator `yaml:"-"`
	// Logger receives the subscriber's logs. Nil discards them.
	Logger *slog.Logger `yaml:"-"`
}

// Validate reports every problem of the configuration, joined, each naming
// its YAML key under subscriber and wrapping core.ErrInvalid.
func (c SubscriberConfig) Validate() error {
	errs := c.validate("subscriber")
	if len(c.ConsumerGroup) > MaxHeaderField {
		errs = append(errs, invalid("subscriber.consumer_group: %d bytes, at most 255", len(c.ConsumerGroup)))
	}
	if c.BatchSize > MaxBatchSize {
		errs = append(errs, invalid("subscriber.batch_size: %d, at most %d", c.BatchSize, MaxBatchSize))
	}
	if c.PollInterval < 0 {
		errs = append(errs, invalid("subscriber.poll_interval: %s is negative", c.PollInterval))
	}
	if c.NackDelay < 0 {
		errs = append(errs, invalid("subscriber.nack_delay: %s is negative", c.NackDelay))
	}
	if c.RetryDelay < 0 {
		errs = append(errs, invalid("subscriber.retry_delay: %s is negative", c.RetryDelay))
	}
	return errors.Join(errs...)
}

func (c SubscriberConfig) withDefaults() SubscriberConfig {
	c.TopicConfig = c.TopicConfig.withDefaults()
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.Unmarshaler == nil {
		c.Unmarshaler = DefaultMarshaler{}
	}
	if c.Propagator == nil {
		c.Propagator = otel.GetTextMapPropagator()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

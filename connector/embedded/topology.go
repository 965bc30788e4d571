package embedded

import (
	"context"
	"fmt"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// CreateStream implements core.Broker. Names are 1 to 255 bytes
// (core.ErrInvalid otherwise); a taken name gives core.ErrAlreadyExists.
func (b *Broker) CreateStream(ctx context.Context, name string) (core.StreamInfo, error) {
	if err := b.enter(ctx); err != nil {
		return core.StreamInfo{}, fmt.Errorf("embedded: create stream %q: %w", name, err)
	}
	si, err := b.b.CreateStream(b.sys, name)
	if err != nil {
		return core.StreamInfo{}, fmt.Errorf("embedded: create stream %q: %w", name, b.fail(err))
	}
	return streamInfo(si), nil
}

// Stream implements core.Broker: the stream and its topics (without their
// partitions); core.ErrNotFound when it does not exist.
func (b *Broker) Stream(ctx context.Context, name string) (core.StreamInfo, error) {
	if err := b.enter(ctx); err != nil {
		return core.StreamInfo{}, fmt.Errorf("embedded: get stream %q: %w", name, err)
	}
	si, ok, err := b.b.GetStream(b.sys, iggyproto.NamedID(name))
	if err != nil {
		return core.StreamInfo{}, fmt.Errorf("embedded: get stream %q: %w", name, b.fail(err))
	}
	if !ok {
		return core.StreamInfo{}, fmt.Errorf("embedded: get stream %q: %w", name, core.ErrNotFound)
	}
	return streamInfo(si), nil
}

// CreateTopic implements core.Broker. A missing stream gives
// core.ErrNotFound; more than 1000 partitions, a negative expiry or a
// MaxSize below the segment size give core.ErrInvalid.
func (b *Broker) CreateTopic(ctx context.Context, stream, name string, cfg core.TopicConfig) (core.TopicInfo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: create topic %q in %q: %w", name, stream, err)
	}
	if err := b.enter(ctx); err != nil {
		return core.TopicInfo{}, wrap(err)
	}
	expiry, err := expiryToWire(cfg.MessageExpiry)
	if err != nil {
		return core.TopicInfo{}, wrap(err)
	}
	ti, err := b.b.CreateTopic(b.sys, iggyproto.NamedID(stream), broker.TopicConfig{
		Name:                 name,
		PartitionsCount:      cfg.Partitions,
		CompressionAlgorithm: broker.CompressionNone,
		MessageExpiry:        expiry,
		MaxTopicSize:         cfg.MaxSize,
		ReplicationFactor:    cfg.ReplicationFactor,
	})
	if err != nil {
		return core.TopicInfo{}, wrap(b.fail(err))
	}
	return topicInfo(ti), nil
}

// Topic implements core.Broker: the topic with its partitions;
// core.ErrNotFound when the stream or the topic does not exist.
func (b *Broker) Topic(ctx context.Context, stream, topic string) (core.TopicInfo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: get topic %q/%q: %w", stream, topic, err)
	}
	if err := b.enter(ctx); err != nil {
		return core.TopicInfo{}, wrap(err)
	}
	ti, ok, err := b.b.GetTopic(b.sys, iggyproto.NamedID(stream), iggyproto.NamedID(topic))
	if err != nil {
		return core.TopicInfo{}, wrap(b.fail(err))
	}
	if !ok {
		return core.TopicInfo{}, wrap(core.ErrNotFound)
	}
	return topicInfo(ti), nil
}

// CreatePartitions implements core.Broker. count must be 1 to 1000
// (core.ErrInvalid); every consumer group of the topic is rebalanced.
func (b *Broker) CreatePartitions(ctx context.Context, stream, topic string, count uint32) error {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: create %d partitions in %q/%q: %w", count, stream, topic, err)
	}
	if err := b.enter(ctx); err != nil {
		return wrap(err)
	}
	if err := b.b.CreatePartitions(b.sys, iggyproto.NamedID(stream), iggyproto.NamedID(topic), count); err != nil {
		return wrap(b.fail(err))
	}
	return nil
}

// CreateGroup implements core.Broker. A missing stream or topic gives
// core.ErrNotFound, a taken name core.ErrAlreadyExists.
func (b *Broker) CreateGroup(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: create group %q on %q/%q: %w", group, stream, topic, err)
	}
	if err := b.enter(ctx); err != nil {
		return core.GroupInfo{}, wrap(err)
	}
	gi, err := b.b.CreateConsumerGroup(b.sys, iggyproto.NamedID(stream), iggyproto.NamedID(topic), group)
	if err != nil {
		return core.GroupInfo{}, wrap(b.fail(err))
	}
	return groupInfo(gi), nil
}

// Group implements core.Broker: the group with its members and their
// partitions; core.ErrNotFound when the stream, topic or group does not
// exist.
func (b *Broker) Group(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: get group %q on %q/%q: %w", group, stream, topic, err)
	}
	if err := b.enter(ctx); err != nil {
		return core.GroupInfo{}, wrap(err)
	}
	gi, ok, err := b.b.GetConsumerGroup(b.sys, iggyproto.NamedID(stream), iggyproto.NamedID(topic), iggyproto.NamedID(group))
	if err != nil {
		return core.GroupInfo{}, wrap(b.fail(err))
	}
	if !ok {
		return core.GroupInfo{}, wrap(core.ErrNotFound)
	}
	return groupInfo(gi), nil
}

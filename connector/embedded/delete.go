package embedded

import (
	"context"
	"fmt"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

var _ core.Deleter = (*Broker)(nil)

// errGroupOffset refuses DeleteOffset of a group, which Iggy allows only
// to a member of the group (see core.Deleter).
var errGroupOffset = fmt.Errorf("%w: a group's offsets are deleted with the group", core.ErrInvalid)

// DeleteStream implements core.Deleter: the stream, its topics, their
// segment files, groups and offsets are removed; core.ErrNotFound when it
// does not exist.
func (b *Broker) DeleteStream(ctx context.Context, stream string) error {
	if err := b.enter(ctx); err != nil {
		return fmt.Errorf("embedded: delete stream %q: %w", stream, err)
	}
	if err := b.b.DeleteStream(b.sys, iggyproto.NamedID(stream)); err != nil {
		return fmt.Errorf("embedded: delete stream %q: %w", stream, b.fail(err))
	}
	return nil
}

// DeleteTopic implements core.Deleter: the topic, its partitions' files,
// groups and offsets are removed; core.ErrNotFound when the stream or
// topic does not exist.
func (b *Broker) DeleteTopic(ctx context.Context, stream, topic string) error {
	if err := b.enter(ctx); err != nil {
		return fmt.Errorf("embedded: delete topic %q/%q: %w", stream, topic, err)
	}
	if err := b.b.DeleteTopic(b.sys, iggyproto.NamedID(stream), iggyproto.NamedID(topic)); err != nil {
		return fmt.Errorf("embedded: delete topic %q/%q: %w", stream, topic, b.fail(err))
	}
	return nil
}

// DeleteGroup implements core.Deleter: the group, its memberships and its
// stored offsets are removed; core.ErrNotFound when the stream, topic or
// group does not exist.
func (b *Broker) DeleteGroup(ctx context.Context, stream, topic, group string) error {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: delete group %q on %q/%q: %w", group, stream, topic, err)
	}
	if err := b.enter(ctx); err != nil {
		return wrap(err)
	}
	if err := b.b.DeleteConsumerGroup(b.sys, iggyproto.NamedID(stream), iggyproto.NamedID(topic), iggyproto.NamedID(group)); err != nil {
		return wrap(b.fail(err))
	}
	return nil
}

// DeleteOffset implements core.Deleter for a single consumer;
// core.ErrNotFound when no offset is stored or the stream, topic or
// partition does not exist.
func (b *Broker) DeleteOffset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32) error {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: delete offset of %q on %q/%q partition %d: %w", c.Name, stream, topic, partition, err)
	}
	if err := b.enter(ctx); err != nil {
		return wrap(err)
	}
	if c.Kind == core.GroupConsumer {
		return wrap(errGroupOffset)
	}
	cons, err := consumer(c)
	if err != nil {
		return wrap(err)
	}
	if err := b.b.DeleteOffset(b.sys, cons, iggyproto.NamedID(stream), iggyproto.NamedID(topic), &partition); err != nil {
		return wrap(b.fail(err))
	}
	return nil
}

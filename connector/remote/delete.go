package remote

import (
	"context"
	"fmt"

	"github.com/apache/iggy/foreign/go/client/tcp"
	"github.com/rustok/rustok-iggy/core"
)

var _ core.Deleter = (*Broker)(nil)

// DeleteStream implements core.Deleter with Iggy's delete-stream command;
// core.ErrNotFound when the stream does not exist.
func (b *Broker) DeleteStream(ctx context.Context, stream string) error {
	sid, err := ident("stream", stream)
	if err == nil {
		err = b.do(ctx, func(c *tcp.IggyTcpClient) error { return c.DeleteStream(sid) })
	}
	if err != nil {
		return fmt.Errorf("remote: delete stream %q: %w", stream, err)
	}
	return nil
}

// DeleteTopic implements core.Deleter with Iggy's delete-topic command;
// core.ErrNotFound when the stream or topic does not exist.
func (b *Broker) DeleteTopic(ctx context.Context, stream, topic string) error {
	sid, tid, err := ids(stream, topic)
	if err == nil {
		err = b.do(ctx, func(c *tcp.IggyTcpClient) error { return c.DeleteTopic(sid, tid) })
	}
	if err != nil {
		return fmt.Errorf("remote: delete topic %q/%q: %w", stream, topic, err)
	}
	return nil
}

// DeleteGroup implements core.Deleter with Iggy's delete-consumer-group
// command; core.ErrNotFound when the stream, topic or group does not
// exist.
func (b *Broker) DeleteGroup(ctx context.Context, stream, topic, group string) error {
	sid, tid, err := ids(stream, topic)
	if err == nil {
		gid, gerr := ident("group", group)
		if err = gerr; err == nil {
			err = b.do(ctx, func(c *tcp.IggyTcpClient) error { return c.DeleteConsumerGroup(sid, tid, gid) })
		}
	}
	if err != nil {
		return fmt.Errorf("remote: delete group %q on %q/%q: %w", group, stream, topic, err)
	}
	return nil
}

// DeleteOffset implements core.Deleter with Iggy's delete-consumer-offset
// command, for a single consumer; core.ErrNotFound when nothing is stored.
func (b *Broker) DeleteOffset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32) error {
	sid, tid, err := ids(stream, topic)
	if err == nil && c.Kind == core.GroupConsumer {
		err = fmt.Errorf("%w: a group's offsets are deleted with the group", core.ErrInvalid)
	}
	if err == nil {
		cons, cerr := consumer(c)
		if err = cerr; err == nil {
			err = b.do(ctx, func(cl *tcp.IggyTcpClient) error { return cl.DeleteConsumerOffset(cons, sid, tid, &partition) })
		}
	}
	if err != nil {
		return fmt.Errorf("remote: delete offset of %q on %q/%q partition %d: %w", c.Name, stream, topic, partition, err)
	}
	return nil
}

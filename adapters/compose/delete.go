package compose

import (
	"context"
	"fmt"

	"github.com/rustok/rustok-iggy/core"
)

var _ core.Deleter = (*lateBroker)(nil)

// errCannotDelete is returned by the App broker's deletes when its
// connector has no core.Deleter (both of this repository's connectors
// have one).
var errCannotDelete = fmt.Errorf("%w: the connector cannot delete (no core.Deleter)", core.ErrInvalid)

func (l *lateBroker) deleter() (core.Deleter, error) {
	b, err := l.get()
	if err != nil {
		return nil, err
	}
	d, ok := b.(core.Deleter)
	if !ok {
		return nil, errCannotDelete
	}
	return d, nil
}

// DeleteStream implements core.Deleter by forwarding to the connector.
func (l *lateBroker) DeleteStream(ctx context.Context, stream string) error {
	d, err := l.deleter()
	if err != nil {
		return fmt.Errorf("delete stream %s: %w", stream, err)
	}
	return d.DeleteStream(ctx, stream)
}

// DeleteTopic implements core.Deleter by forwarding to the connector.
func (l *lateBroker) DeleteTopic(ctx context.Context, stream, topic string) error {
	d, err := l.deleter()
	if err != nil {
		return fmt.Errorf("delete topic %s/%s: %w", stream, topic, err)
	}
	return d.DeleteTopic(ctx, stream, topic)
}

// DeleteGroup implements core.Deleter by forwarding to the connector.
func (l *lateBroker) DeleteGroup(ctx context.Context, stream, topic, group string) error {
	d, err := l.deleter()
	if err != nil {
		return fmt.Errorf("delete group %q on %s/%s: %w", group, stream, topic, err)
	}
	return d.DeleteGroup(ctx, stream, topic, group)
}

// DeleteOffset implements core.Deleter by forwarding to the connector.
func (l *lateBroker) DeleteOffset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32) error {
	d, err := l.deleter()
	if err != nil {
		return fmt.Errorf("delete offset of %q on %s/%s/%d: %w", c.Name, stream, topic, partition, err)
	}
	return d.DeleteOffset(ctx, c, stream, topic, partition)
}

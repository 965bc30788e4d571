package compose

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// errNotConnected is returned by the App's broker before Start connected.
var errNotConnected = fmt.Errorf("%w: not connected yet (App.Start has not succeeded)", core.ErrUnavailable)

// lateBroker is the core.Broker the transport is built over: it forwards to
// the connector once App.Start opened it. Before that every call returns
// core.ErrUnavailable, after close core.ErrClosed. This lets New build the
// transport without I/O, so that connecting happens in Start.
type lateBroker struct {
	inner  atomic.Pointer[brokerRef]
	closed atomic.Bool
}

type brokerRef struct{ b core.Broker }

var (
	_ core.Broker            = (*lateBroker)(nil)
	_ transport.Reconnecting = (*lateBroker)(nil)
)

func (l *lateBroker) set(b core.Broker) { l.inner.Store(&brokerRef{b}) }

func (l *lateBroker) get() (core.Broker, error) {
	if l.closed.Load() {
		return nil, core.ErrClosed
	}
	r := l.inner.Load()
	if r == nil {
		return nil, errNotConnected
	}
	return r.b, nil
}

// connected returns the connector, or nil before Start.
func (l *lateBroker) connected() core.Broker {
	if r := l.inner.Load(); r != nil {
		return r.b
	}
	return nil
}

// Reconnecting reports true before the connector is open, and else the
// connector's own answer when it has one.
func (l *lateBroker) Reconnecting() bool {
	b := l.connected()
	if b == nil {
		return !l.closed.Load()
	}
	if rc, ok := b.(transport.Reconnecting); ok {
		return rc.Reconnecting()
	}
	return false
}

func (l *lateBroker) Ping(ctx context.Context) (time.Duration, error) {
	b, err := l.get()
	if err != nil {
		return 0, fmt.Errorf("ping: %w", err)
	}
	return b.Ping(ctx)
}

func (l *lateBroker) CreateStream(ctx context.Context, name string) (core.StreamInfo, error) {
	b, err := l.get()
	if err != nil {
		return core.StreamInfo{}, fmt.Errorf("create stream %q: %w", name, err)
	}
	return b.CreateStream(ctx, name)
}

func (l *lateBroker) Stream(ctx context.Context, name string) (core.StreamInfo, error) {
	b, err := l.get()
	if err != nil {
		return core.StreamInfo{}, fmt.Errorf("stream %q: %w", name, err)
	}
	return b.Stream(ctx, name)
}

func (l *lateBroker) CreateTopic(ctx context.Context, stream, name string, cfg core.TopicConfig) (core.TopicInfo, error) {
	b, err := l.get()
	if err != nil {
		return core.TopicInfo{}, fmt.Errorf("create topic %s/%s: %w", stream, name, err)
	}
	return b.CreateTopic(ctx, stream, name, cfg)
}

func (l *lateBroker) Topic(ctx context.Context, stream, topic string) (core.TopicInfo, error) {
	b, err := l.get()
	if err != nil {
		return core.TopicInfo{}, fmt.Errorf("topic %s/%s: %w", stream, topic, err)
	}
	return b.Topic(ctx, stream, topic)
}

func (l *lateBroker) CreatePartitions(ctx context.Context, stream, topic string, count uint32) error {
	b, err := l.get()
	if err != nil {
		return fmt.Errorf("create partitions %s/%s: %w", stream, topic, err)
	}
	return b.CreatePartitions(ctx, stream, topic, count)
}

func (l *lateBroker) Send(ctx context.Context, stream, topic string, p core.Partitioning, msgs []core.Message) error {
	b, err := l.get()
	if err != nil {
		return fmt.Errorf("send to %s/%s: %w", stream, topic, err)
	}
	return b.Send(ctx, stream, topic, p, msgs)
}

func (l *lateBroker) Poll(ctx context.Context, req core.PollRequest) (core.Polled, error) {
	b, err := l.get()
	if err != nil {
		return core.Polled{}, fmt.Errorf("poll %s/%s/%d: %w", req.Stream, req.Topic, req.Partition, err)
	}
	return b.Poll(ctx, req)
}

func (l *lateBroker) StoreOffset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32, offset uint64) error {
	b, err := l.get()
	if err != nil {
		return fmt.Errorf("store offset %s/%s/%d: %w", stream, topic, partition, err)
	}
	return b.StoreOffset(ctx, c, stream, topic, partition, offset)
}

func (l *lateBroker) Offset(ctx context.Context, c core.Consumer, stream, topic string, partition uint32) (core.OffsetInfo, error) {
	b, err := l.get()
	if err != nil {
		return core.OffsetInfo{}, fmt.Errorf("offset %s/%s/%d: %w", stream, topic, partition, err)
	}
	return b.Offset(ctx, c, stream, topic, partition)
}

func (l *lateBroker) CreateGroup(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	b, err := l.get()
	if err != nil {
		return core.GroupInfo{}, fmt.Errorf("create group %q on %s/%s: %w", group, stream, topic, err)
	}
	return b.CreateGroup(ctx, stream, topic, group)
}

func (l *lateBroker) Group(ctx context.Context, stream, topic, group string) (core.GroupInfo, error) {
	b, err := l.get()
	if err != nil {
		return core.GroupInfo{}, fmt.Errorf("group %q on %s/%s: %w", group, stream, topic, err)
	}
	return b.Group(ctx, stream, topic, group)
}

func (l *lateBroker) JoinGroup(ctx context.Context, stream, topic, group string) (core.GroupMember, error) {
	b, err := l.get()
	if err != nil {
		return nil, fmt.Errorf("join group %q on %s/%s: %w", group, stream, topic, err)
	}
	return b.JoinGroup(ctx, stream, topic, group)
}

// Close closes the connector, if one was opened. Idempotent.
func (l *lateBroker) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	if b := l.connected(); b != nil {
		return b.Close()
	}
	return nil
}

// multiHooks fans every hook out to several Hooks, in order.
type multiHooks []transport.Hooks

var _ transport.Hooks = multiHooks(nil)

func (m multiHooks) Published(topic string, n int, d time.Duration, err error) {
	for _, h := range m {
		h.Published(topic, n, d, err)
	}
}

func (m multiHooks) Handled(group, topic string, p uint32, d time.Duration, err error) {
	for _, h := range m {
		h.Handled(group, topic, p, d, err)
	}
}

func (m multiHooks) Retried(group, topic string, p uint32, attempt int) {
	for _, h := range m {
		h.Retried(group, topic, p, attempt)
	}
}

func (m multiHooks) DeadLettered(group, topic string, p uint32, reason string) {
	for _, h := range m {
		h.DeadLettered(group, topic, p, reason)
	}
}

func (m multiHooks) Replayed(topic string, n int) {
	for _, h := range m {
		h.Replayed(topic, n)
	}
}

func (m multiHooks) Lag(group, topic string, p uint32, lag uint64) {
	for _, h := range m {
		h.Lag(group, topic, p, lag)
	}
}

// Permanent reports whether a Start error will not go away by retrying
// the same App: a bad configuration (core.ErrInvalid) or credentials the
// broker refuses (core.ErrUnauthenticated, core.ErrPermissionDenied).
func Permanent(err error) bool {
	return errors.Is(err, core.ErrInvalid) || errors.Is(err, core.ErrUnauthenticated) || errors.Is(err, core.ErrPermissionDenied)
}

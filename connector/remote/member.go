package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/iggy/foreign/go/client/tcp"
	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/core"
)

// Member is one member of a consumer group (core.GroupMember): a
// connection of its own that joined the group. If the connection breaks it
// is replaced in the background and the new one joins the group again (the
// server has meanwhile dropped the old membership and rebalanced); calls
// fail with core.ErrUnavailable until then. If the group is gone by then,
// calls fail with core.ErrNotMember. Safe for concurrent use; requests run
// one at a time.
type Member struct {
	b                    *Broker
	stream, topic, group string
	sid, tid             iggcon.Identifier
	cons                 iggcon.Consumer
	link                 *link
	sem                  chan struct{} // one request at a time

	mu   sync.Mutex
	left bool
}

var _ core.GroupMember = (*Member)(nil)

// JoinGroup implements core.Broker: it opens a connection, logs in and
// joins the group (core.ErrNotFound when the group does not exist).
func (b *Broker) JoinGroup(ctx context.Context, stream, topic, group string) (core.GroupMember, error) {
	wrap := func(err error) error {
		return fmt.Errorf("remote: join group %q on %q/%q: %w", group, stream, topic, err)
	}
	sid, tid, err := ids(stream, topic)
	if err != nil {
		return nil, wrap(err)
	}
	gid, err := ident("group", group)
	if err != nil {
		return nil, wrap(err)
	}
	// Counted as running until it returns, so that Close waits for the
	// goroutines it starts.
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, wrap(core.ErrClosed)
	}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()
	// Close aborts a join in progress.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(b.ctx, cancel)()
	m := &Member{
		b: b, stream: stream, topic: topic, group: group,
		sid: sid, tid: tid, cons: iggcon.NewGroupConsumer(gid),
		sem: make(chan struct{}, 1),
	}
	join := func(ctx context.Context, s *session) error {
		ctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
		defer cancel()
		return b.runOn(ctx, s, func() error { return s.cli.JoinConsumerGroup(sid, tid, gid) })
	}
	s, err := b.dial(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	if err := join(ctx, s); err != nil {
		s.close()
		return nil, wrap(err)
	}
	m.link = newLink(b, fmt.Sprintf("member %s/%s/%s", stream, topic, group), s, join, nil)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		m.link.close()
		return nil, wrap(core.ErrClosed)
	}
	b.members[m] = struct{}{}
	b.mu.Unlock()
	return m, nil
}

// acquire takes the member's request slot.
func (m *Member) acquire(ctx context.Context) (func(), error) {
	m.mu.Lock()
	left := m.left
	m.mu.Unlock()
	if left {
		return nil, core.ErrClosed
	}
	select {
	case m.sem <- struct{}{}:
		return func() { <-m.sem }, nil
	case <-ctx.Done():
		return nil, ctxErr(ctx)
	}
}

// do runs fn on the member's connection.
func (m *Member) do(ctx context.Context, fn func(c *tcp.IggyTcpClient) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	release, err := m.acquire(ctx)
	if err != nil {
		return err
	}
	return m.link.exec(ctx, release, fn)
}

// Poll implements core.GroupMember. It ignores req.MaxWait and never waits
// for messages: Iggy 0.8.0 has no long poll.
func (m *Member) Poll(ctx context.Context, req core.GroupPoll) (core.Polled, error) {
	wrap := func(err error) error {
		return fmt.Errorf("remote: group %q poll %q/%q: %w", m.group, m.stream, m.topic, err)
	}
	strategy, err := pollingStrategy(req.Strategy)
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	var part *uint32
	if req.Partition != nil {
		p := *req.Partition
		part = &p
	}
	polled, err := pollVia(ctx, m.do, m.sid, m.tid, m.cons, strategy, req.Count, req.AutoCommit, part)
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	return polled, nil
}

// StoreOffset implements core.GroupMember.
func (m *Member) StoreOffset(ctx context.Context, partition uint32, offset uint64) error {
	err := m.do(ctx, func(c *tcp.IggyTcpClient) error {
		return c.StoreConsumerOffset(m.cons, m.sid, m.tid, offset, &partition)
	})
	if err != nil {
		return fmt.Errorf("remote: group %q store offset %d on %q/%q partition %d: %w", m.group, offset, m.stream, m.topic, partition, err)
	}
	return nil
}

// Leave implements core.GroupMember: it leaves the group (waiting, within
// ctx, for a request in flight) and closes the member's connection. If the
// leave request cannot be made, closing the connection makes the server
// drop the membership anyway. Later calls return core.ErrClosed.
func (m *Member) Leave(ctx context.Context) error {
	m.mu.Lock()
	if m.left {
		m.mu.Unlock()
		return nil
	}
	m.left = true
	m.mu.Unlock()
	var err error
	select {
	case m.sem <- struct{}{}:
		err = m.link.exec(ctx, func() { <-m.sem }, func(c *tcp.IggyTcpClient) error {
			return c.LeaveConsumerGroup(m.sid, m.tid, m.cons.Id)
		})
	case <-ctx.Done():
		err = ctxErr(ctx)
	}
	m.close()
	m.b.mu.Lock()
	delete(m.b.members, m)
	m.b.mu.Unlock()
	// Closing the connection left the group in any case.
	if errors.Is(err, core.ErrUnavailable) || errors.Is(err, core.ErrNotMember) || errors.Is(err, core.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("remote: group %q leave %q/%q: %w", m.group, m.stream, m.topic, err)
	}
	return nil
}

// close ends the member's connection without a leave request.
func (m *Member) close() {
	m.mu.Lock()
	m.left = true
	m.mu.Unlock()
	m.link.close()
}

// ping keeps an idle member's connection checked.
func (m *Member) ping() {
	select {
	case m.sem <- struct{}{}:
	default:
		return
	}
	_ = m.link.exec(m.link.ctx, func() { <-m.sem }, func(c *tcp.IggyTcpClient) error { return c.Ping() })
}

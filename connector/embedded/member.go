package embedded

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// Member is one member of a consumer group: its own broker session, logged
// in as root, that joined the group. It is safe for concurrent use. Leave
// it (or Close its Broker) to end the session.
type Member struct {
	b                    *Broker
	s                    *broker.Session
	stream, topic, group string
	sid, tid             iggyproto.Identifier
	cons                 broker.Consumer

	left    atomic.Bool
	stop    chan struct{} // closed when the member leaves (wakes waiting polls)
	endOnce sync.Once
}

var _ core.GroupMember = (*Member)(nil)

// JoinGroup implements core.Broker: it opens a new broker session, joins
// the group with it and returns the member. The broker hands it partitions
// cooperatively, as Iggy 0.8.0 does (at most one, once its owner committed
// what it polled there; see core.Broker.JoinGroup). A missing stream, topic
// or group gives core.ErrNotFound.
func (b *Broker) JoinGroup(ctx context.Context, stream, topic, group string) (core.GroupMember, error) {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: join group %q on %q/%q: %w", group, stream, topic, err)
	}
	if err := b.enter(ctx); err != nil {
		return nil, wrap(err)
	}
	if n := len(group); n == 0 || n > 255 {
		return nil, wrap(fmt.Errorf("%w: group name is %d bytes, want 1 to 255", core.ErrInvalid, n))
	}
	m := &Member{
		b: b, stream: stream, topic: topic, group: group,
		sid: iggyproto.NamedID(stream), tid: iggyproto.NamedID(topic),
		cons: broker.Consumer{Kind: broker.GroupConsumer, Group: iggyproto.NamedID(group)},
		stop: make(chan struct{}),
	}
	m.s = b.b.NewSystemSession("embedded-member")
	if err := b.b.JoinConsumerGroup(m.s, m.sid, m.tid, m.cons.Group); err != nil {
		b.b.CloseSession(m.s)
		return nil, wrap(b.fail(err))
	}
	b.mu.Lock()
	if b.members == nil { // closed meanwhile
		b.mu.Unlock()
		b.b.CloseSession(m.s)
		return nil, wrap(core.ErrClosed)
	}
	b.members[m] = struct{}{}
	b.mu.Unlock()
	return m, nil
}

// enter checks that the member may make a call.
func (m *Member) enter(ctx context.Context) error {
	if m.left.Load() || m.b.closed.Load() {
		return core.ErrClosed
	}
	return ctx.Err()
}

// fail maps a broker error; once the member left (or its Broker closed),
// the broker's "not a member", "client not found" and "disconnected"
// answers become core.ErrClosed.
func (m *Member) fail(err error) error {
	if m.left.Load() || m.b.closed.Load() {
		switch iggyproto.CodeOf(err) {
		case iggyproto.CodeDisconnected, iggyproto.CodeClientNotFound, iggyproto.CodeGroupMemberNotFound:
			return fmt.Errorf("%w: %w", core.ErrClosed, err)
		}
	}
	return err
}

// Poll implements core.GroupMember. With req.Partition nil the broker reads
// the member's partitions in turn, one per call. A partition not assigned
// to the member, or a member without partitions, yields an empty result.
// With req.MaxWait > 0 and nothing to read, it waits (holding no lock) for
// an append to the topic, for MaxWait to pass, for ctx to end or for the
// member to leave (core.ErrClosed), polling all of the member's partitions
// again after each append; see core.GroupPoll.MaxWait.
func (m *Member) Poll(ctx context.Context, req core.GroupPoll) (core.Polled, error) {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: group %q poll %q/%q: %w", m.group, m.stream, m.topic, err)
	}
	if err := m.enter(ctx); err != nil {
		return core.Polled{}, wrap(err)
	}
	st, err := strategy(req.Strategy)
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	var pid *uint32
	if req.Partition != nil {
		p := *req.Partition
		pid = &p
	}
	br := broker.PollRequest{
		Consumer:    m.cons,
		Stream:      m.sid,
		Topic:       m.tid,
		PartitionID: pid,
		Strategy:    st,
		Count:       req.Count,
		AutoCommit:  req.AutoCommit,
	}
	poll := func() (core.Polled, error) {
		res, err := m.b.b.Poll(m.s, br)
		if err != nil {
			return core.Polled{}, m.fail(err)
		}
		return polled(res)
	}
	var out core.Polled
	if req.MaxWait > 0 {
		out, err = m.b.waitPoll(ctx, m.s, &br, req.MaxWait, m.stop, m.fail, poll)
	} else {
		out, err = poll()
	}
	if err != nil {
		return core.Polled{}, wrap(err)
	}
	return out, nil
}

// StoreOffset implements core.GroupMember: it stores the group's offset on
// a partition assigned to this member (core.ErrNotMember otherwise). An
// offset beyond the partition's last message gives core.ErrInvalid.
func (m *Member) StoreOffset(ctx context.Context, partition uint32, offset uint64) error {
	wrap := func(err error) error {
		return fmt.Errorf("embedded: group %q store offset %d on %q/%q partition %d: %w", m.group, offset, m.stream, m.topic, partition, err)
	}
	if err := m.enter(ctx); err != nil {
		return wrap(err)
	}
	if err := m.b.b.StoreOffset(m.s, m.cons, m.sid, m.tid, &partition, offset); err != nil {
		return wrap(m.fail(err))
	}
	return nil
}

// Leave implements core.GroupMember: it leaves the group and ends the
// member's session; the broker gives its partitions to the remaining
// members. It does no I/O and never blocks, so it completes even when ctx
// has ended. It always returns nil (a group, topic or stream deleted
// meanwhile took the membership with it) and is safe to call more than
// once.
func (m *Member) Leave(ctx context.Context) error {
	m.b.mu.Lock()
	if m.b.members != nil {
		delete(m.b.members, m)
	}
	m.b.mu.Unlock()
	m.end()
	return nil
}

// end leaves the group and closes the session, once.
func (m *Member) end() {
	m.endOnce.Do(func() {
		m.left.Store(true)
		close(m.stop)
		// CloseSession leaves every group the session joined and
		// rebalances them; an explicit LeaveConsumerGroup first would only
		// add a second rebalance.
		m.b.b.CloseSession(m.s)
	})
}

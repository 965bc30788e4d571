package coretest

import (
	"context"
	"fmt"
	"slices"

	"github.com/rustok/rustok-iggy/core"
)

type group struct {
	id      uint32
	name    string
	t       *topic
	members []*member
	offsets map[uint32]uint64 // partition -> the group's stored offset
	nextM   uint32
	// polled is the offset of the last message a member's poll returned,
	// per partition (Iggy's last-polled marker for the hand-over).
	polled  map[uint32]uint64
	deleted bool
}

type member struct {
	conn *Broker
	g    *group
	id   uint32
	// parts are the member's partitions in assignment order; revoking
	// maps those being handed over to the member they go to.
	parts    []uint32
	revoking map[uint32]*member
	rr       int
	left     bool
}

var _ core.GroupMember = (*member)(nil)

// CreateGroup implements core.Broker.
func (b *Broker) CreateGroup(ctx context.Context, streamName, topicName, name string) (core.GroupInfo, error) {
	t, err := b.lockTopic(ctx, streamName, topicName)
	if err != nil {
		return core.GroupInfo{}, err
	}
	defer b.st.mu.Unlock()
	if err := validName("group", name); err != nil {
		return core.GroupInfo{}, err
	}
	if _, ok := t.groups[name]; ok {
		return core.GroupInfo{}, fmt.Errorf("coretest: group %q: %w", name, core.ErrAlreadyExists)
	}
	g := &group{id: t.nextG, name: name, t: t, offsets: map[uint32]uint64{}, polled: map[uint32]uint64{}}
	t.nextG++
	t.groups[name] = g
	return g.info(), nil
}

func (g *group) info() core.GroupInfo {
	gi := core.GroupInfo{ID: g.id, Name: g.name, PartitionsCount: uint32(len(g.t.parts))}
	for _, m := range g.members {
		gi.Members = append(gi.Members, core.GroupMemberInfo{ID: m.id, Partitions: slices.Clone(m.parts)})
	}
	return gi
}

// Group implements core.Broker.
func (b *Broker) Group(ctx context.Context, streamName, topicName, name string) (core.GroupInfo, error) {
	t, err := b.lockTopic(ctx, streamName, topicName)
	if err != nil {
		return core.GroupInfo{}, err
	}
	defer b.st.mu.Unlock()
	g, ok := t.groups[name]
	if !ok {
		return core.GroupInfo{}, fmt.Errorf("coretest: group %q: %w", name, core.ErrNotFound)
	}
	return g.info(), nil
}

// JoinGroup implements core.Broker: cooperatively as Iggy 0.8.0, or with a
// full rebalance under Options.FullRebalance.
func (b *Broker) JoinGroup(ctx context.Context, streamName, topicName, name string) (core.GroupMember, error) {
	t, err := b.lockTopic(ctx, streamName, topicName)
	if err != nil {
		return nil, err
	}
	defer b.st.mu.Unlock()
	g, ok := t.groups[name]
	if !ok {
		return nil, fmt.Errorf("coretest: group %q: %w", name, core.ErrNotFound)
	}
	m := &member{conn: b, g: g, id: g.nextM}
	g.nextM++
	g.members = append(g.members, m)
	if b.st.opts.FullRebalance {
		g.rebalance()
	} else {
		g.join(m)
	}
	b.members = append(b.members, m)
	return m, nil
}

// rebalance assigns partition i to member i mod n and cancels the
// hand-overs in progress.
func (g *group) rebalance() {
	for _, m := range g.members {
		m.parts, m.revoking, m.rr = nil, nil, 0
	}
	if len(g.members) == 0 {
		return
	}
	for i := range g.t.parts {
		m := g.members[i%len(g.members)]
		m.parts = append(m.parts, uint32(i))
	}
}

// join gives the new member m its share as Iggy 0.8.0 does: every
// partition to the first member; otherwise the last kept partition of the
// first member over its fair share is marked for m, and handed over at once
// if its last poll is committed or it was never polled.
func (g *group) join(m *member) {
	if len(g.members) == 1 {
		for i := range g.t.parts {
			m.parts = append(m.parts, uint32(i))
		}
		return
	}
	fair, extra := len(g.t.parts)/len(g.members), len(g.t.parts)%len(g.members)
	for _, o := range g.members {
		kept := o.kept()
		allowed := fair
		if extra > 0 {
			allowed++
		}
		if len(kept) > fair && extra > 0 {
			extra--
		}
		if len(kept) <= allowed {
			continue
		}
		p := kept[len(kept)-1]
		if o.revoking == nil {
			o.revoking = map[uint32]*member{}
		}
		o.revoking[p] = m
		o.complete(p)
		return
	}
}

// kept returns the partitions m is not handing over.
func (m *member) kept() []uint32 {
	if len(m.revoking) == 0 {
		return m.parts
	}
	return slices.DeleteFunc(slices.Clone(m.parts), func(p uint32) bool { return m.revoking[p] != nil })
}

// complete moves p to the member it is being handed to once the group has
// stored the offset last polled there.
func (m *member) complete(p uint32) {
	to := m.revoking[p]
	if to == nil {
		return
	}
	if polled, ok := m.g.polled[p]; ok {
		if c, ok := m.g.offsets[p]; !ok || c < polled {
			return
		}
	}
	delete(m.revoking, p)
	m.parts = slices.DeleteFunc(m.parts, func(q uint32) bool { return q == p })
	to.parts = append(to.parts, p)
}

func (m *member) leaveLocked() {
	if m.left {
		return
	}
	m.left = true
	g := m.g
	g.members = slices.DeleteFunc(g.members, func(x *member) bool { return x == m })
	for _, p := range m.parts {
		delete(g.polled, p)
	}
	g.rebalance()
}

// lock takes st.mu for a member call: the connection's checks, then the
// member's own (left, group or topic deleted).
func (m *member) lock(ctx context.Context) error {
	if err := m.conn.lock(ctx); err != nil {
		return err
	}
	switch {
	case m.left:
		m.conn.st.mu.Unlock()
		return core.ErrClosed
	case m.g.deleted || m.g.t.deleted:
		m.conn.st.mu.Unlock()
		return fmt.Errorf("coretest: group %q: %w", m.g.name, core.ErrNotFound)
	}
	return nil
}

// Poll implements core.GroupMember. Without a partition it reads the
// member's kept partitions in turn, one per call; with Options.LongPoll and
// a positive MaxWait it tries each of them before waiting.
func (m *member) Poll(ctx context.Context, req core.GroupPoll) (core.Polled, error) {
	if h := m.conn.hooks().Poll; h != nil {
		if err := h(ctx, PollCall{Stream: m.g.t.stream, Topic: m.g.t.info.Name, Group: m.g.name, Partition: req.Partition, MaxWait: req.MaxWait}); err != nil {
			return core.Polled{}, err
		}
	}
	return m.conn.pollLoop(ctx, req.MaxWait, func() (core.Polled, <-chan struct{}, error) { return m.pollOnce(ctx, req) })
}

func (m *member) pollOnce(ctx context.Context, req core.GroupPoll) (core.Polled, <-chan struct{}, error) {
	if err := m.lock(ctx); err != nil {
		return core.Polled{}, nil, err
	}
	defer m.conn.st.mu.Unlock()
	wake := m.conn.st.appended
	t := m.g.t
	if req.Partition != nil {
		pid := *req.Partition
		if pid >= uint32(len(t.parts)) {
			return core.Polled{}, nil, fmt.Errorf("coretest: partition %d of %q: %w", pid, t.info.Name, core.ErrNotFound)
		}
		if !slices.Contains(m.parts, pid) {
			return core.Polled{Partition: pid, CurrentOffset: t.parts[pid].current()}, wake, nil
		}
		return m.readLocked(pid, req), wake, nil
	}
	kept := m.kept()
	tries := 1
	if m.conn.st.opts.LongPoll && req.MaxWait > 0 {
		tries = len(kept)
	}
	var out core.Polled
	for range min(tries, len(kept)) {
		pid := kept[m.rr%len(kept)]
		m.rr = (m.rr + 1) % len(kept)
		if out = m.readLocked(pid, req); len(out.Messages) > 0 {
			break
		}
	}
	return out, wake, nil
}

// readLocked polls one of the member's partitions; st.mu is held.
func (m *member) readLocked(pid uint32, req core.GroupPoll) core.Polled {
	p := m.g.t.parts[pid]
	var stored *uint64
	if o, ok := m.g.offsets[pid]; ok {
		stored = &o
	}
	msgs := p.read(req.Strategy, req.Count, stored)
	if len(msgs) > 0 {
		last := msgs[len(msgs)-1].Offset
		m.g.polled[pid] = last
		if req.AutoCommit {
			m.g.offsets[pid] = last
			m.complete(pid)
		}
	}
	return core.Polled{Partition: pid, CurrentOffset: p.current(), Messages: msgs}
}

// StoreOffset implements core.GroupMember: a partition the member does not
// own gives core.ErrNotMember.
func (m *member) StoreOffset(ctx context.Context, partitionID uint32, offset uint64) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.conn.st.mu.Unlock()
	t := m.g.t
	if partitionID >= uint32(len(t.parts)) {
		return fmt.Errorf("coretest: partition %d of %q: %w", partitionID, t.info.Name, core.ErrNotFound)
	}
	if !slices.Contains(m.parts, partitionID) {
		return fmt.Errorf("coretest: partition %d not assigned to member %d: %w", partitionID, m.id, core.ErrNotMember)
	}
	p := t.parts[partitionID]
	if len(p.msgs) == 0 || offset > p.current() {
		return fmt.Errorf("coretest: offset %d beyond partition %d's end: %w", offset, partitionID, core.ErrInvalid)
	}
	m.g.offsets[partitionID] = offset
	m.complete(partitionID)
	return nil
}

// Leave implements core.GroupMember; the group rebalances fully.
func (m *member) Leave(ctx context.Context) error {
	m.conn.st.mu.Lock()
	defer m.conn.st.mu.Unlock()
	m.leaveLocked()
	return nil
}

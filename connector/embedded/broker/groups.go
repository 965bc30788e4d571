package broker

import (
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// GroupInfo describes a consumer group (GroupHeader record; Members, in
// member-id order, with GetConsumerGroup only). PartitionsCount is the
// topic's partition count.
type GroupInfo struct {
	ID              uint32
	PartitionsCount uint32
	MembersCount    uint32
	Name            string
	Members         []GroupMemberInfo
}

// GroupMemberInfo is one member (GroupMember record): a per-group member id
// (not a client id) and its assigned partitions in ascending order.
type GroupMemberInfo struct {
	ID         uint32
	Partitions []uint32
}

func (g *group) info(withMembers bool) GroupInfo {
	gi := GroupInfo{ID: g.id, PartitionsCount: uint32(len(g.topic.partitions)), MembersCount: uint32(len(g.members)), Name: g.name}
	if withMembers {
		for _, m := range g.members {
			gi.Members = append(gi.Members, GroupMemberInfo{ID: m.id, Partitions: append([]uint32{}, m.partitions...)})
		}
	}
	return gi
}

func (g *group) memberOf(s *Session) *member {
	for _, m := range g.members {
		if m.session == s {
			return m
		}
	}
	return nil
}

// rebalance is the full rebalance of Iggy 0.8.0: the partition at
// position i goes to member i mod n, in member order. Cursors restart.
// The caller holds Broker.mu for writing.
func (g *group) rebalance() {
	for _, m := range g.members {
		m.partitions = nil
		m.next = 0
	}
	if len(g.members) == 0 {
		return
	}
	for i := range g.topic.partitions {
		m := g.members[i%len(g.members)]
		m.partitions = append(m.partitions, uint32(i))
	}
}

func (g *group) resetCursors() {
	for _, m := range g.members {
		m.next = 0
	}
}

// leaveAllLocked removes s from every group it joined, rebalancing each.
func (b *Broker) leaveAllLocked(s *Session) {
	for _, st := range b.streams {
		for _, t := range st.topics {
			for _, g := range t.groups {
				if g.remove(s) {
					g.rebalance()
				}
			}
		}
	}
}

func (g *group) remove(s *Session) bool {
	for i, m := range g.members {
		if m.session == s {
			g.members = append(g.members[:i], g.members[i+1:]...)
			return true
		}
	}
	return false
}

// groupOf resolves stream, topic and group: 1009, 2010, 5000.
func (b *Broker) groupOf(sid, tid, gid iggyproto.Identifier) (*group, error) {
	t, err := b.topicOf(sid, tid)
	if err != nil {
		return nil, err
	}
	g := findGroup(t, gid)
	if g == nil {
		return nil, errf(iggyproto.CodeGroupIDNotFound, "consumer group %s not found in topic %d/%d", gid, t.stream.id, t.id)
	}
	return g, nil
}

// groupToUse resolves a group (1009, 2010, 5000) and checks the caller may
// read its topic (41, refusing op), the right every group command needs;
// caller holds mu.
func (b *Broker) groupToUse(a access, sid, tid, gid iggyproto.Identifier, op string) (*group, error) {
	g, err := b.groupOf(sid, tid, gid)
	if err != nil {
		return nil, err
	}
	if !a.readTopic(g.topic.stream.id, g.topic.id) {
		return nil, errUnauthorized(op)
	}
	return g, nil
}

// CreateConsumerGroup creates a group on a topic (0-based id, reuse): 4
// bad name, 1009, 2010, 41 without read on the topic, 5004 name taken.
func (b *Broker) CreateConsumerGroup(s *Session, streamID, topicID iggyproto.Identifier, name string) (GroupInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return GroupInfo{}, err
	}
	if err := validName("consumer group", name); err != nil {
		return GroupInfo{}, err
	}
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		return GroupInfo{}, err
	}
	if !a.readTopic(t.stream.id, t.id) {
		return GroupInfo{}, errUnauthorized("create consumer group")
	}
	if findGroup(t, iggyproto.NamedID(name)) != nil {
		return GroupInfo{}, errf(iggyproto.CodeGroupNameAlreadyExists, "consumer group %q exists", name)
	}
	g := &group{topic: t, id: t.groupIDs.alloc(), name: name}
	putGroup(t, g)
	// A reused id must not inherit a deleted group's offsets.
	for _, p := range t.partitions {
		if err := p.offsets.removeAll(uint8(GroupConsumer), g.id); err != nil {
			b.logIOErr("create consumer group", err)
		}
	}
	return g.info(false), b.persist("create consumer group")
}

// DeleteConsumerGroup deletes a group, its memberships and its stored
// offsets: 1009, 2010, 5000, 41.
func (b *Broker) DeleteConsumerGroup(s *Session, streamID, topicID, groupID iggyproto.Identifier) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	g, err := b.groupToUse(a, streamID, topicID, groupID, "delete consumer group")
	if err != nil {
		return err
	}
	t := g.topic
	dropGroup(g)
	t.groupIDs.release(g.id)
	g.members = nil
	for _, p := range t.partitions {
		if err := p.offsets.removeAll(uint8(GroupConsumer), g.id); err != nil {
			b.logIOErr("delete consumer group", err)
		}
	}
	return b.persist("delete consumer group")
}

// GetConsumerGroup returns a group with its members and their partitions;
// ok == false (empty OK) if the stream, topic or group does not exist.
// Needs read on the topic (41).
func (b *Broker) GetConsumerGroup(s *Session, streamID, topicID, groupID iggyproto.Identifier) (GroupInfo, bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return GroupInfo{}, false, err
	}
	g, err := b.groupOf(streamID, topicID, groupID)
	if err != nil {
		return GroupInfo{}, false, nil
	}
	if !a.readTopic(g.topic.stream.id, g.topic.id) {
		return GroupInfo{}, false, errUnauthorized("get consumer group")
	}
	return g.info(true), true, nil
}

// GetConsumerGroups lists a topic's groups by id (without members); ok ==
// false (empty OK) if the stream or topic does not exist. Needs read on the
// topic (41).
func (b *Broker) GetConsumerGroups(s *Session, streamID, topicID iggyproto.Identifier) ([]GroupInfo, bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return nil, false, err
	}
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		return nil, false, nil
	}
	if !a.readTopic(t.stream.id, t.id) {
		return nil, false, errUnauthorized("get consumer groups")
	}
	out := make([]GroupInfo, 0, len(t.groups))
	for _, gid := range sortedKeys(t.groups) {
		out = append(out, t.groups[gid].info(false))
	}
	return out, true, nil
}

// JoinConsumerGroup makes s a member (member id = highest + 1, from 0) and
// runs a full rebalance (a simplification the fact sheet allows instead of
// Iggy's cooperative join: every member's assignment may change). Already a
// member: OK, nothing changes. Codes: 1009, 2010, 5000, 41.
func (b *Broker) JoinConsumerGroup(s *Session, streamID, topicID, groupID iggyproto.Identifier) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	g, err := b.groupToUse(a, streamID, topicID, groupID, "join consumer group")
	if err != nil {
		return err
	}
	if g.memberOf(s) != nil {
		return nil
	}
	var id uint32
	for _, m := range g.members {
		id = max(id, m.id+1)
	}
	g.members = append(g.members, &member{id: id, session: s})
	g.rebalance()
	return nil
}

// LeaveConsumerGroup removes s from a group and rebalances it: 1009,
// 2010, 5000, 41, 5006 not a member.
func (b *Broker) LeaveConsumerGroup(s *Session, streamID, topicID, groupID iggyproto.Identifier) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	g, err := b.groupToUse(a, streamID, topicID, groupID, "leave consumer group")
	if err != nil {
		return err
	}
	if !g.remove(s) {
		return errf(iggyproto.CodeGroupMemberNotFound, "client %d is not a member of group %d", s.id, g.id)
	}
	g.rebalance()
	return nil
}

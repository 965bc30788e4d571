package broker

import (
	"cmp"
	"log/slog"
	"slices"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// GroupInfo describes a consumer group (GroupHeader record; Members, in
// member-slot order, with GetConsumerGroup only). PartitionsCount is the
// topic's partition count.
type GroupInfo struct {
	ID              uint32
	PartitionsCount uint32
	MembersCount    uint32
	Name            string
	Members         []GroupMemberInfo
}

// GroupMemberInfo is one member (GroupMember record): a per-group member id
// (not a client id) and its assigned partitions in assignment order. A
// partition pending hand-over to another member is still listed under
// its current owner, as Iggy 0.8.0 lists it.
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

// # Assignment (Iggy 0.8.0's cooperative protocol)
//
// A join is cooperative (rebalanceCooperative): the new member first gets
// the partitions nobody owns; then, if it still has none, the first member
// over its fair share marks the last of its partitions as pending
// revocation to it. A revocation completes (the partition moves) as soon
// as the group's last poll of that partition was committed (committed
// offset >= last polled offset), or at once if the group never polled it
// since the markers were last cleared: checked at the join, after each
// offset store or auto-commit by the owner, and by the background
// timeout (Config.RebalancingTimeout). Until then the partition stays
// listed under its owner, which can still poll it explicitly and store
// its offset, but its round-robin polls skip it; the new member's polls
// return nothing. As each join targets only idle members, a joining member
// takes at most one partition from the others: 8 partitions and 2 members
// end 7/1. A leave, a dropped connection and a change of the partition
// count run the full rebalance instead. The caller of every method below
// holds Broker.mu for writing.

// rebalance is the full rebalance: every assignment and pending revocation
// is cleared and the partition at position i goes to member i mod n, in
// slot order. Round-robin cursors are kept, as Iggy keeps them.
func (g *group) rebalance() {
	for _, m := range g.members {
		m.partitions = nil
		m.pending = nil
	}
	if len(g.members) == 0 {
		return
	}
	for i := range g.topic.partitions {
		m := g.members[i%len(g.members)]
		m.partitions = append(m.partitions, uint32(i))
	}
}

// rebalanceCooperative is Iggy's rebalance_cooperative, run after a join.
func (g *group) rebalanceCooperative(now time.Time) {
	parts := len(g.topic.partitions)
	if len(g.members) == 0 || parts == 0 {
		return
	}
	// Step 1: partitions nobody owns go round-robin to members owning none.
	assigned := make([]bool, parts)
	for _, m := range g.members {
		for _, p := range m.partitions {
			if int(p) < parts {
				assigned[p] = true
			}
		}
	}
	var unassigned []uint32
	for p, ok := range assigned {
		if !ok {
			unassigned = append(unassigned, uint32(p))
		}
	}
	if len(unassigned) > 0 {
		var idle []*member
		for _, m := range g.members {
			if len(m.partitions) == 0 {
				idle = append(idle, m)
			}
		}
		if len(idle) > 0 {
			for i, p := range unassigned {
				idle[i%len(idle)].partitions = append(idle[i%len(idle)].partitions, p)
			}
		}
	}
	// Step 2: members over their share hand partitions (the last ones
	// first) to idle members not already awaiting one, one each.
	fair, remainder := parts/len(g.members), parts%len(g.members)
	awaited := map[*member]bool{}
	for _, m := range g.members {
		for _, r := range m.pending {
			awaited[r.target] = true
		}
	}
	var idle []*member
	for _, m := range g.members {
		if len(m.partitions) == 0 && !awaited[m] {
			idle = append(idle, m)
		}
	}
	for _, m := range g.members {
		if len(idle) == 0 {
			return
		}
		effective := m.effective()
		allowed := fair
		if remainder > 0 {
			allowed++
		}
		if len(effective) <= allowed {
			if len(effective) > fair && remainder > 0 {
				remainder--
			}
			continue
		}
		excess := len(effective) - allowed
		if remainder > 0 && len(effective) > fair {
			remainder--
		}
		for i := len(effective) - 1; i >= 0 && excess > 0 && len(idle) > 0; i-- {
			m.pending = append(m.pending, revocation{partition: effective[i], target: idle[0], created: now})
			idle = idle[1:]
			excess--
		}
	}
}

// effective returns m's partitions not pending revocation, in order.
func (m *member) effective() []uint32 {
	if len(m.pending) == 0 {
		return m.partitions
	}
	out := make([]uint32, 0, len(m.partitions))
	for _, p := range m.partitions {
		if !m.revoking(p) {
			out = append(out, p)
		}
	}
	return out
}

func (m *member) revoking(p uint32) bool {
	for _, r := range m.pending {
		if r.partition == p {
			return true
		}
	}
	return false
}

// completable reports whether the group's last poll of partition p is
// committed (or the group has not polled it).
func (g *group) completable(p uint32) bool {
	t := g.topic
	t.polledMu.Lock()
	polled, ok := t.lastPolled[polledKey{group: g.id, partition: p}]
	t.polledMu.Unlock()
	if !ok {
		return true
	}
	if int(p) >= len(t.partitions) {
		return false
	}
	committed, ok := t.partitions[p].offsets.get(offKey{kind: uint8(GroupConsumer), id: g.id})
	return ok && committed >= polled
}

// completeReady completes every revocation whose partition is completable
// (after a join).
func (g *group) completeReady() {
	type pend struct {
		m *member
		p uint32
	}
	var ready []pend
	for _, m := range g.members {
		for _, r := range m.pending {
			if g.completable(r.partition) {
				ready = append(ready, pend{m, r.partition})
			}
		}
	}
	for _, r := range ready {
		g.completeRevocation(r.m, r.p)
	}
}

// maybeComplete completes m's revocation of p if there is one and p is
// completable (after m stored an offset on p).
func (g *group) maybeComplete(m *member, p uint32) {
	if m.revoking(p) && g.completable(p) {
		g.completeRevocation(m, p)
	}
}

// completeRevocation moves p from m to the revocation's target; a target
// that is no longer a member makes a full rebalance. False if m has no
// such revocation (any more).
func (g *group) completeRevocation(m *member, p uint32) bool {
	if !g.has(m) {
		return false
	}
	i := slices.IndexFunc(m.pending, func(r revocation) bool { return r.partition == p })
	if i < 0 {
		return false
	}
	target := m.pending[i].target
	m.pending = slices.Delete(m.pending, i, i+1)
	m.partitions = slices.DeleteFunc(m.partitions, func(q uint32) bool { return q == p })
	if !g.has(target) {
		g.rebalance()
		return true
	}
	target.partitions = append(target.partitions, p)
	return true
}

func (g *group) has(m *member) bool {
	return slices.Contains(g.members, m)
}

// expireRevocations completes every revocation created at least timeout
// before now, whatever was polled (Iggy's periodic force-completion), and
// returns how many moved.
func (g *group) expireRevocations(now time.Time, timeout time.Duration) int {
	type pend struct {
		m *member
		p uint32
	}
	var due []pend
	for _, m := range g.members {
		for _, r := range m.pending {
			if now.Sub(r.created) >= timeout {
				due = append(due, pend{m, r.partition})
			}
		}
	}
	n := 0
	for _, d := range due {
		if g.completeRevocation(d.m, d.p) {
			n++
		}
	}
	return n
}

// expireRevocations runs the revocation timeout over every group (the
// background goroutine calls it every RebalancingCheckInterval).
func (b *Broker) expireRevocations() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.cfg.Now()
	for _, st := range b.streams {
		for _, t := range st.topics {
			for _, g := range t.groups {
				if n := g.expireRevocations(now, b.cfg.RebalancingTimeout); n > 0 {
					b.log.Warn("timed out partition revocations force-completed",
						slog.Uint64("stream", uint64(st.id)), slog.Uint64("topic", uint64(t.id)),
						slog.Uint64("group", uint64(g.id)), slog.Int("count", n))
				}
			}
		}
	}
}

// recordPolled sets the group's last polled offset on partition p (after
// a group poll returned messages; safe without Broker.mu).
func (t *topic) recordPolled(groupID, p uint32, offset uint64) {
	t.polledMu.Lock()
	defer t.polledMu.Unlock()
	if t.lastPolled == nil {
		t.lastPolled = map[polledKey]uint64{}
	}
	t.lastPolled[polledKey{group: groupID, partition: p}] = offset
}

// forgetPolled clears the group's markers on the given partitions, or on
// every partition when all is set (and those of any group on partitions
// that no longer exist).
func (t *topic) forgetPolled(groupID uint32, partitions []uint32, all bool) {
	t.polledMu.Lock()
	defer t.polledMu.Unlock()
	for k := range t.lastPolled {
		if (k.group == groupID && (all || slices.Contains(partitions, k.partition))) || int(k.partition) >= len(t.partitions) {
			delete(t.lastPolled, k)
		}
	}
}

// join adds a member for s (member id = highest + 1, from 0; a free slot
// reused first), rebalances cooperatively and completes what can move now.
func (g *group) join(s *Session, now time.Time) {
	var id uint32
	for _, m := range g.members {
		id = max(id, m.id+1)
	}
	m := &member{group: g, id: id, slot: g.slots.alloc(), session: s}
	i, _ := slices.BinarySearchFunc(g.members, m.slot, func(x *member, slot uint32) int { return cmp.Compare(x.slot, slot) })
	g.members = slices.Insert(g.members, i, m)
	g.rebalanceCooperative(now)
	g.completeReady()
}

// leave removes s's member, if any, runs the full rebalance and clears the
// group's markers on the partitions it owned.
func (g *group) leave(s *Session) bool {
	m := g.memberOf(s)
	if m == nil {
		return false
	}
	g.members = slices.DeleteFunc(g.members, func(x *member) bool { return x == m })
	g.slots.release(m.slot)
	g.rebalance()
	g.topic.forgetPolled(g.id, m.partitions, false)
	return true
}

// partitionsChanged runs the full rebalance after the topic's partition
// count changed and clears the group's markers.
func (g *group) partitionsChanged() {
	g.rebalance()
	g.topic.forgetPolled(g.id, nil, true)
}

// clearMembers drops every member (the broker closes or the group goes).
func (g *group) clearMembers() {
	g.members = nil
	g.slots = slab{}
}

// leaveAllLocked removes s from every group it joined, rebalancing each.
func (b *Broker) leaveAllLocked(s *Session) {
	for _, st := range b.streams {
		for _, t := range st.topics {
			for _, g := range t.groups {
				g.leave(s)
			}
		}
	}
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
	g.clearMembers()
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

// JoinConsumerGroup makes s a member (member id = highest + 1, from 0)
// and hands it partitions cooperatively, as Iggy 0.8.0 does (see
// "Assignment" above): it may get nothing until a member's pending
// revocation completes. Already a member: OK, nothing changes (beyond
// completing what can complete). Codes:
// 1009, 2010, 5000, 41.
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
		// As Iggy, a repeated join changes no assignment but completes any
		// hand-over that can complete.
		g.completeReady()
		return nil
	}
	g.join(s, b.cfg.Now())
	return nil
}

// LeaveConsumerGroup removes s from a group and runs the full rebalance:
// 1009, 2010, 5000, 41, 5006 not a member.
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
	if !g.leave(s) {
		return errf(iggyproto.CodeGroupMemberNotFound, "client %d is not a member of group %d", s.id, g.id)
	}
	return nil
}

package broker

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func members(t *testing.T, e *env) [][]uint32 {
	t.Helper()
	gi, ok, err := e.b.GetConsumerGroup(e.root, name("s"), name("t"), name("g"))
	if err != nil || !ok {
		t.Fatalf("get group: %v %v", ok, err)
	}
	if int(gi.MembersCount) != len(gi.Members) {
		t.Fatalf("members count %d vs %d", gi.MembersCount, len(gi.Members))
	}
	out := make([][]uint32, len(gi.Members))
	for i, m := range gi.Members {
		out[i] = m.Partitions
		if out[i] == nil {
			out[i] = []uint32{}
		}
	}
	return out
}

// TestGroupAssignment: joins before any poll hand over one partition each
// (Iggy 0.8.0's cooperative join); a leave runs the full round-robin
// rebalance over the remaining members in slot order.
func TestGroupAssignment(t *testing.T) {
	cases := []struct {
		partitions, members int
		joined, full        [][]uint32
	}{
		{3, 1, [][]uint32{{0, 1, 2}}, [][]uint32{{0, 1, 2}}},
		{3, 2, [][]uint32{{0, 1}, {2}}, [][]uint32{{0, 2}, {1}}},
		{3, 3, [][]uint32{{0}, {2}, {1}}, [][]uint32{{0}, {1}, {2}}},
		{8, 1, [][]uint32{{0, 1, 2, 3, 4, 5, 6, 7}}, [][]uint32{{0, 1, 2, 3, 4, 5, 6, 7}}},
		{8, 2, [][]uint32{{0, 1, 2, 3, 4, 5, 6}, {7}}, [][]uint32{{0, 2, 4, 6}, {1, 3, 5, 7}}},
		{8, 3, [][]uint32{{0, 1, 2, 3, 4, 5}, {7}, {6}}, [][]uint32{{0, 3, 6}, {1, 4, 7}, {2, 5}}},
		{8, 4, [][]uint32{{0, 1, 2, 3, 4}, {7}, {6}, {5}}, [][]uint32{{0, 4}, {1, 5}, {2, 6}, {3, 7}}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%dp_%dm", c.partitions, c.members), func(t *testing.T) {
			e := newEnv(t)
			e.stream("s")
			e.topic("s", "t", uint32(c.partitions))
			gi := must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, name("s"), name("t"), "g"))
			if gi.ID != 0 || gi.PartitionsCount != uint32(c.partitions) || gi.MembersCount != 0 {
				t.Fatalf("created %+v", gi)
			}
			for range c.members {
				wantCode(t, e.b.JoinConsumerGroup(e.b.NewSystemSession("m"), name("s"), name("t"), num(0)), 0)
			}
			if got := members(t, e); !slices.EqualFunc(got, c.joined, slices.Equal) {
				t.Fatalf("after the joins %v, want %v", got, c.joined)
			}
			extra := e.b.NewSystemSession("extra")
			wantCode(t, e.b.JoinConsumerGroup(extra, name("s"), name("t"), num(0)), 0)
			wantCode(t, e.b.LeaveConsumerGroup(extra, name("s"), name("t"), num(0)), 0)
			if got := members(t, e); !slices.EqualFunc(got, c.full, slices.Equal) {
				t.Fatalf("after a leave %v, want %v", got, c.full)
			}
		})
	}
}

func TestGroupRebalance(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 3)
	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, name("s"), name("t"), "g"))
	s, tp, g := name("s"), name("t"), name("g")
	a, b2, c := e.b.NewSystemSession("a"), e.b.NewSystemSession("b"), e.b.NewSystemSession("c")
	wantCode(t, e.b.JoinConsumerGroup(a, s, tp, g), 0)
	wantCode(t, e.b.JoinConsumerGroup(a, s, tp, g), 0) // again: no change
	if got := members(t, e); len(got) != 1 || len(got[0]) != 3 {
		t.Fatalf("one member: %v", got)
	}
	wantCode(t, e.b.JoinConsumerGroup(b2, s, tp, g), 0)
	wantCode(t, e.b.JoinConsumerGroup(c, s, tp, g), 0)
	if got := members(t, e); !slices.EqualFunc(got, [][]uint32{{0}, {2}, {1}}, slices.Equal) {
		t.Fatalf("three members: %v", got)
	}
	// Leave: full rebalance; member ids are kept, the next is max+1.
	wantCode(t, e.b.LeaveConsumerGroup(b2, s, tp, g), 0)
	wantCode(t, e.b.LeaveConsumerGroup(b2, s, tp, g), iggyproto.CodeGroupMemberNotFound)
	gi, _, _ := e.b.GetConsumerGroup(e.root, s, tp, g)
	if len(gi.Members) != 2 || gi.Members[0].ID != 0 || gi.Members[1].ID != 2 ||
		!slices.Equal(gi.Members[0].Partitions, []uint32{0, 2}) || !slices.Equal(gi.Members[1].Partitions, []uint32{1}) {
		t.Fatalf("after leave: %+v", gi)
	}
	// Rejoining takes the freed slot (listed in slot order) and one
	// partition.
	wantCode(t, e.b.JoinConsumerGroup(b2, s, tp, g), 0)
	gi, _, _ = e.b.GetConsumerGroup(e.root, s, tp, g)
	if len(gi.Members) != 3 || gi.Members[0].ID != 0 || gi.Members[1].ID != 3 || gi.Members[2].ID != 2 {
		t.Fatalf("member ids %+v", gi.Members)
	}
	if got := members(t, e); !slices.EqualFunc(got, [][]uint32{{0}, {2}, {1}}, slices.Equal) {
		t.Fatalf("after the rejoin: %v", got)
	}
	// Closing a session leaves its groups.
	e.b.CloseSession(a)
	if got := members(t, e); !slices.EqualFunc(got, [][]uint32{{0, 2}, {1}}, slices.Equal) {
		t.Fatalf("after close: %v", got)
	}
	// Partition changes re-sync the assignment.
	wantCode(t, e.b.CreatePartitions(e.root, s, tp, 2), 0)
	if got := members(t, e); !slices.EqualFunc(got, [][]uint32{{0, 2, 4}, {1, 3}}, slices.Equal) {
		t.Fatalf("after create partitions: %v", got)
	}
	wantCode(t, e.b.DeletePartitions(e.root, s, tp, 4), 0)
	if got := members(t, e); !slices.EqualFunc(got, [][]uint32{{0}, {}}, slices.Equal) {
		t.Fatalf("after delete partitions: %v", got)
	}
	// GetMe / GetClient list memberships.
	me := must[ClientInfo](t)(e.b.GetMe(c))
	if !slices.Equal(me.ConsumerGroups, []ClientGroup{{0, 0, 0}}) {
		t.Fatalf("GetMe groups %+v", me.ConsumerGroups)
	}
	groups := must[[]GroupInfo](t)(func() ([]GroupInfo, error) { g, _, err := e.b.GetConsumerGroups(e.root, s, tp); return g, err }())
	if len(groups) != 1 || groups[0].MembersCount != 2 || groups[0].Members != nil {
		t.Fatalf("groups %+v", groups)
	}
	// Deleting the group ends memberships.
	wantCode(t, e.b.DeleteConsumerGroup(e.root, s, tp, g), 0)
	if me := must[ClientInfo](t)(e.b.GetMe(c)); len(me.ConsumerGroups) != 0 {
		t.Fatalf("membership survived delete: %+v", me)
	}
}

func TestGroupPoll(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 3)
	s, tp, g := name("s"), name("t"), name("g")
	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, s, tp, "g"))
	for p := range uint32(3) {
		e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: p}, int(p)+1)
	}
	gc := Consumer{Kind: GroupConsumer, Group: g}
	poll := func(sess *Session, pid *uint32) (PollResult, error) {
		return e.b.Poll(sess, PollRequest{Consumer: gc, Stream: s, Topic: tp, PartitionID: pid, Strategy: PollStrategy{Kind: PollNext}, Count: 10, AutoCommit: true})
	}
	a, b2 := e.b.NewSystemSession("a"), e.b.NewSystemSession("b")
	_, err := poll(a, nil)
	wantCode(t, err, iggyproto.CodeGroupMemberNotFound)
	_, err = e.b.Poll(a, PollRequest{Consumer: Consumer{Kind: GroupConsumer, Group: name("nope")}, Stream: s, Topic: tp, Strategy: PollStrategy{Kind: PollNext}, Count: 1})
	wantCode(t, err, iggyproto.CodeGroupIDNotFound)
	wantCode(t, e.b.JoinConsumerGroup(a, s, tp, g), 0)
	wantCode(t, e.b.JoinConsumerGroup(b2, s, tp, g), 0) // a: [0,1], b: [2]
	// Round robin over the member's partitions.
	var seen []uint32
	for range 4 {
		r := must[PollResult](t)(poll(a, nil))
		seen = append(seen, r.PartitionID)
	}
	if !slices.Equal(seen, []uint32{0, 1, 0, 1}) {
		t.Fatalf("round robin %v", seen)
	}
	// Auto-commit moved the group's offsets: the second round was empty.
	r := must[PollResult](t)(poll(b2, nil))
	if r.PartitionID != 2 || r.Count != 3 {
		t.Fatalf("b: %+v", r)
	}
	// Explicit partition not owned: the empty 16-zero-byte answer.
	r = must[PollResult](t)(poll(b2, ptr[uint32](0)))
	if r.PartitionID != 0 || r.CurrentOffset != 0 || r.Count != 0 || r.Messages != nil {
		t.Fatalf("not owned: %+v", r)
	}
	r = must[PollResult](t)(poll(b2, ptr[uint32](7))) // not owned (and not existing): empty too
	if r.PartitionID != 0 || r.Count != 0 || r.Messages != nil {
		t.Fatalf("missing partition: %+v", r)
	}
	// A member without partitions gets the empty answer too.
	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, s, tp, "big"))
	var last *Session
	for range 4 {
		last = e.b.NewSystemSession("x")
		wantCode(t, e.b.JoinConsumerGroup(last, s, tp, name("big")), 0)
	}
	r = must[PollResult](t)(e.b.Poll(last, PollRequest{Consumer: Consumer{Kind: GroupConsumer, Group: name("big")}, Stream: s, Topic: tp, Strategy: PollStrategy{Kind: PollFirst}, Count: 10}))
	if r.PartitionID != 0 || r.CurrentOffset != 0 || r.Count != 0 || r.Messages != nil {
		t.Fatalf("member without partitions: %+v", r)
	}
}

func TestClientsAndStats(t *testing.T) {
	e := newEnv(t)
	s := e.b.NewSession("192.168.1.5:4000", TransportTCP)
	ci := must[ClientInfo](t)(func() (ClientInfo, error) { c, _, err := e.b.GetClient(e.root, s.ID()); return c, err }())
	if ci.UserID != NoUser || ci.Address != "192.168.1.5:4000" || ci.Transport != TransportTCP || ci.ClientID != s.ID() {
		t.Fatalf("client %+v", ci)
	}
	_, _, err := e.b.GetClient(e.root, 0)
	wantCode(t, err, iggyproto.CodeInvalidClientID)
	if _, ok, err := e.b.GetClient(e.root, 999999); ok || err != nil {
		t.Fatalf("unknown client: %v %v", ok, err)
	}
	all := must[[]ClientInfo](t)(e.b.GetClients(e.root))
	if len(all) != 2 || all[0].ClientID != e.root.ID() || all[0].UserID != 0 {
		t.Fatalf("clients %+v", all)
	}
	e.stream("s")
	e.topic("s", "t", 2)
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionBalanced}, 3)
	st := must[Stats](t)(e.b.GetStats(e.root))
	if st.StreamsCount != 1 || st.TopicsCount != 1 || st.PartitionsCount != 2 || st.MessagesCount != 3 || st.ClientsCount != 2 ||
		st.ServerVersion != "0.8.0" || st.ServerSemver != 8000 || st.ProcessID == 0 || st.MemoryUsage == 0 || st.WrittenBytes == 0 {
		t.Fatalf("stats %+v", st)
	}
}

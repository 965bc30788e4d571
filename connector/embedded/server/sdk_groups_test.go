package server

import (
	"slices"
	"sync"
	"testing"
	"time"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
)

// assignment returns each member's partitions, checking they are disjoint
// and cover all `parts` partitions.
func assignment(t *testing.T, cli iggcon.Client, s, tp, g uint32, members, parts int) [][]uint32 {
	t.Helper()
	d := must(cli.GetConsumerGroup(nid(s), nid(tp), nid(g)))(t)
	if int(d.MembersCount) != members || len(d.Members) != members {
		t.Fatalf("%d members (%d listed), want %d", d.MembersCount, len(d.Members), members)
	}
	var all []uint32
	var out [][]uint32
	for _, m := range d.Members {
		if int(m.PartitionsCount) != len(m.Partitions) {
			t.Fatalf("member %d: count %d, list %v", m.ID, m.PartitionsCount, m.Partitions)
		}
		all = append(all, m.Partitions...)
		out = append(out, slices.Clone(m.Partitions))
	}
	slices.Sort(all)
	want := make([]uint32, parts)
	for i := range want {
		want[i] = uint32(i)
	}
	if !slices.Equal(all, want) {
		t.Fatalf("partitions %v, want each of 0..%d once", all, parts-1)
	}
	return out
}

// wantAssignment checks the members' partitions, in listing order.
func wantAssignment(t *testing.T, cli iggcon.Client, s, tp, g uint32, parts int, want ...[]uint32) {
	t.Helper()
	got := assignment(t, cli, s, tp, g, len(want), parts)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("assignment %v, want %v", got, want)
	}
}

// listed returns each member's listed partitions (pending hand-overs
// included), checking the counts agree.
func listed(t *testing.T, cli iggcon.Client, s, tp, g uint32) [][]uint32 {
	t.Helper()
	d := must(cli.GetConsumerGroup(nid(s), nid(tp), nid(g)))(t)
	if int(d.MembersCount) != len(d.Members) {
		t.Fatalf("members count %d, %d listed", d.MembersCount, len(d.Members))
	}
	out := [][]uint32{}
	for _, m := range d.Members {
		if int(m.PartitionsCount) != len(m.Partitions) {
			t.Fatalf("member %d: count %d, list %v", m.ID, m.PartitionsCount, m.Partitions)
		}
		out = append(out, slices.Clone(m.Partitions))
	}
	return out
}

// TestSDKGroupAssignmentAndRebalance: with the official SDK, a join
// hands over one partition (nothing polled yet, so at once), a leave or a
// dropped connection and new partitions rebalance fully, in slot order.
func TestSDKGroupAssignmentAndRebalance(t *testing.T) {
	e := newEnv(t)
	admin := e.root(t)
	const parts = 6
	s, tp := mkTopic(t, admin, "s", "t", parts)
	g := must(admin.CreateConsumerGroup(nid(s), nid(tp), "g"))(t).Id

	a, b, c := e.root(t), e.root(t), e.root(t)
	ok(t, a.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	wantAssignment(t, admin, s, tp, g, parts, []uint32{0, 1, 2, 3, 4, 5})
	ok(t, b.JoinConsumerGroup(nid(s), nid(tp), sid("g")))
	wantAssignment(t, admin, s, tp, g, parts, []uint32{0, 1, 2, 3, 4}, []uint32{5})
	ok(t, c.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	wantAssignment(t, admin, s, tp, g, parts, []uint32{0, 1, 2, 3}, []uint32{5}, []uint32{4})

	// Leave: the rest share everything.
	ok(t, c.LeaveConsumerGroup(nid(s), nid(tp), nid(g)))
	wantAssignment(t, admin, s, tp, g, parts, []uint32{0, 2, 4}, []uint32{1, 3, 5})

	// A killed connection leaves its groups.
	ok(t, b.Close())
	waitFor(t, func() bool {
		d, err := admin.GetConsumerGroup(nid(s), nid(tp), nid(g))
		return err == nil && d.MembersCount == 1
	})
	wantAssignment(t, admin, s, tp, g, parts, []uint32{0, 1, 2, 3, 4, 5})

	// Creating partitions rebalances fully too.
	ok(t, c.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	wantAssignment(t, admin, s, tp, g, parts, []uint32{0, 1, 2, 3, 4}, []uint32{5})
	ok(t, admin.CreatePartitions(nid(s), nid(tp), 2))
	wantAssignment(t, admin, s, tp, g, parts+2, []uint32{0, 2, 4, 6}, []uint32{1, 3, 5, 7})
}

// TestSDKGroupJoinTakesOne: a joining member takes at most one partition
// from the others, so 8 partitions and 2 members end 7/1.
func TestSDKGroupJoinTakesOne(t *testing.T) {
	e := newEnv(t)
	admin := e.root(t)
	s, tp := mkTopic(t, admin, "s", "t", 8)
	g := must(admin.CreateConsumerGroup(nid(s), nid(tp), "g"))(t).Id
	c1, c2 := e.root(t), e.root(t)
	ok(t, c1.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	ok(t, c2.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	wantAssignment(t, admin, s, tp, g, 8, []uint32{0, 1, 2, 3, 4, 5, 6}, []uint32{7})
}

// TestSDKGroupCooperativeHandOver is the sequence observed with the
// official Go SDK on a real Iggy 0.8.0 server (issue 14).
func TestSDKGroupCooperativeHandOver(t *testing.T) {
	e := newEnv(t)
	admin := e.root(t)
	const parts = 4
	s, tp := mkTopic(t, admin, "s", "t", parts)
	for p := range uint32(parts) {
		ok(t, admin.SendMessages(nid(s), nid(tp), iggcon.PartitionId(p), msgs(t, "p"+itoa(int(p)), 10)))
	}
	g := must(admin.CreateConsumerGroup(nid(s), nid(tp), "g"))(t).Id
	gc := iggcon.NewGroupConsumer(nid(g))
	poll := func(cli iggcon.Client, pid *uint32, count uint32) *iggcon.PolledMessage {
		t.Helper()
		return must(cli.PollMessages(nid(s), nid(tp), gc, iggcon.NextPollingStrategy(), count, false, pid))(t)
	}
	offsets := func(pm *iggcon.PolledMessage) []uint64 {
		var out []uint64
		for _, m := range pm.Messages {
			out = append(out, m.Header.Offset)
		}
		return out
	}

	// c1 joins and polls 2 messages from each partition, committing none.
	c1, c2 := e.root(t), e.root(t)
	ok(t, c1.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	var seen []uint32
	for range parts {
		pm := poll(c1, nil, 2)
		if !slices.Equal(offsets(pm), []uint64{0, 1}) {
			t.Fatalf("c1 read %v from partition %d", offsets(pm), pm.PartitionId)
		}
		seen = append(seen, pm.PartitionId)
	}
	if !slices.Equal(seen, []uint32{0, 1, 2, 3}) {
		t.Fatalf("c1 polled partitions %v", seen)
	}

	// c2 joins: c1 keeps [0 1 2 3], c2 is listed with [] and reads nothing.
	ok(t, c2.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	if got := listed(t, admin, s, tp, g); !slices.EqualFunc(got, [][]uint32{{0, 1, 2, 3}, {}}, slices.Equal) {
		t.Fatalf("after c2 joined: %v, want [[0 1 2 3] []]", got)
	}
	if pm := poll(c2, nil, 10); len(pm.Messages) != 0 || pm.MessageCount != 0 {
		t.Fatalf("c2 polled %d messages from partition %d", len(pm.Messages), pm.PartitionId)
	}
	if pm := poll(c2, ptr[uint32](3), 10); len(pm.Messages) != 0 {
		t.Fatalf("c2 polled %d messages from partition 3", len(pm.Messages))
	}

	// c1 stores offset 1 on every partition: partition 3 moves to c2.
	for p := range uint32(parts) {
		ok(t, c1.StoreConsumerOffset(gc, nid(s), nid(tp), 1, ptr(p)))
	}
	if got := listed(t, admin, s, tp, g); !slices.EqualFunc(got, [][]uint32{{0, 1, 2}, {3}}, slices.Equal) {
		t.Fatalf("after c1 committed: %v, want [[0 1 2] [3]]", got)
	}
	pm := poll(c2, nil, 10)
	if pm.PartitionId != 3 || !slices.Equal(offsets(pm), []uint64{2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("c2 read partition %d offsets %v, want partition 3 from offset 2", pm.PartitionId, offsets(pm))
	}
	// c1 goes on with its three partitions from offset 2.
	seen = nil
	for range parts - 1 {
		pm := poll(c1, nil, 1)
		if !slices.Equal(offsets(pm), []uint64{2}) {
			t.Fatalf("c1 read %v from partition %d", offsets(pm), pm.PartitionId)
		}
		seen = append(seen, pm.PartitionId)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []uint32{0, 1, 2}) {
		t.Fatalf("c1 polled partitions %v after the hand-over", seen)
	}
}

// consumeAll runs one goroutine per client polling the group (no partition
// id, auto-commit) until want messages were consumed in total, and returns
// how many times each payload was seen and by which client.
func consumeAll(t *testing.T, clients []iggcon.Client, s, tp, g uint32, want int) (map[string]int, []int) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	per := make([]int, len(clients))
	total := 0
	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for i, cli := range clients {
		wg.Go(func() {
			for {
				mu.Lock()
				done := total >= want
				mu.Unlock()
				if done || time.Now().After(deadline) {
					return
				}
				got, err := cli.PollMessages(nid(s), nid(tp), iggcon.NewGroupConsumer(nid(g)), iggcon.NextPollingStrategy(), 7, true, nil)
				if err != nil {
					t.Errorf("client %d poll: %v", i, err)
					return
				}
				mu.Lock()
				for _, m := range got.Messages {
					seen[string(m.Payload)]++
					per[i]++
					total++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return seen, per
}

func testGroupExactlyOnce(t *testing.T, members int) {
	e := newEnv(t)
	admin := e.root(t)
	const parts, n = 6, 600
	s, tp := mkTopic(t, admin, "s", "t", parts)
	g := must(admin.CreateConsumerGroup(nid(s), nid(tp), "g"))(t).Id
	clients := make([]iggcon.Client, members)
	for i := range clients {
		clients[i] = e.root(t)
		ok(t, clients[i].JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	}
	// Each join took one partition (nothing was polled yet).
	as := assignment(t, admin, s, tp, g, members, parts)
	if len(as[0]) != parts-members+1 {
		t.Fatalf("assignment %v, want %d for the first member and 1 for each other", as, parts-members+1)
	}
	for i := range n / 20 {
		ok(t, admin.SendMessages(nid(s), nid(tp), iggcon.None(), msgs(t, "batch"+itoa(i), 20)))
	}
	seen, per := consumeAll(t, clients, s, tp, g, n)
	if len(seen) != n {
		t.Fatalf("consumed %d distinct messages, want %d", len(seen), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("message %q consumed %d times", k, c)
		}
	}
	for i, c := range per {
		if c == 0 {
			t.Fatalf("client %d consumed nothing: %v", i, per)
		}
	}
	// Every partition's group offset is at its end.
	for p := uint32(0); p < parts; p++ {
		off := must(admin.GetConsumerOffset(iggcon.NewGroupConsumer(nid(g)), nid(s), nid(tp), ptr(p)))(t)
		if off == nil || off.StoredOffset != off.CurrentOffset {
			t.Fatalf("partition %d offset %+v", p, off)
		}
	}
}

func TestSDKGroupTwoMembersExactlyOnce(t *testing.T)   { testGroupExactlyOnce(t, 2) }
func TestSDKGroupThreeMembersExactlyOnce(t *testing.T) { testGroupExactlyOnce(t, 3) }

func TestSDKGroupMemberKilledMidStream(t *testing.T) {
	e := newEnv(t)
	admin := e.root(t)
	const parts = 4
	s, tp := mkTopic(t, admin, "s", "t", parts)
	g := must(admin.CreateConsumerGroup(nid(s), nid(tp), "g"))(t).Id
	a, b := e.root(t), e.root(t)
	ok(t, a.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	ok(t, b.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	for i := range 10 {
		ok(t, admin.SendMessages(nid(s), nid(tp), iggcon.None(), msgs(t, "first"+itoa(i), 10)))
	}
	// b consumes (and commits) its share, partition 3 (two batches of
	// the balanced sends), then dies.
	wantAssignment(t, admin, s, tp, g, parts, []uint32{0, 1, 2}, []uint32{3})
	seenB, _ := consumeAll(t, []iggcon.Client{b}, s, tp, g, 20)
	ok(t, b.Close())
	waitFor(t, func() bool {
		d, err := admin.GetConsumerGroup(nid(s), nid(tp), nid(g))
		return err == nil && d.MembersCount == 1
	})
	// a takes over every partition and reads the rest exactly once.
	seenA, _ := consumeAll(t, []iggcon.Client{a}, s, tp, g, 80)
	for k := range seenA {
		if seenB[k] > 0 {
			t.Fatalf("%q consumed by both", k)
		}
	}
	if len(seenA)+len(seenB) != 100 {
		t.Fatalf("consumed %d + %d", len(seenA), len(seenB))
	}
}

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

// fairShare checks every member has parts/members or one more.
func fairShare(t *testing.T, a [][]uint32, parts int) {
	t.Helper()
	lo := parts / len(a)
	for _, p := range a {
		if len(p) < lo || len(p) > lo+1 {
			t.Fatalf("unbalanced assignment %v", a)
		}
	}
}

func TestSDKGroupAssignmentAndRebalance(t *testing.T) {
	e := newEnv(t)
	admin := e.root(t)
	const parts = 6
	s, tp := mkTopic(t, admin, "s", "t", parts)
	g := must(admin.CreateConsumerGroup(nid(s), nid(tp), "g"))(t).Id

	a, b, c := e.root(t), e.root(t), e.root(t)
	ok(t, a.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	if as := assignment(t, admin, s, tp, g, 1, parts); len(as[0]) != parts {
		t.Fatalf("single member %v", as)
	}
	ok(t, b.JoinConsumerGroup(nid(s), nid(tp), sid("g")))
	fairShare(t, assignment(t, admin, s, tp, g, 2, parts), parts)
	ok(t, c.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	fairShare(t, assignment(t, admin, s, tp, g, 3, parts), parts)

	// Leave: the rest share everything.
	ok(t, c.LeaveConsumerGroup(nid(s), nid(tp), nid(g)))
	fairShare(t, assignment(t, admin, s, tp, g, 2, parts), parts)

	// A killed connection leaves its groups.
	ok(t, b.Close())
	waitFor(t, func() bool {
		d, err := admin.GetConsumerGroup(nid(s), nid(tp), nid(g))
		return err == nil && d.MembersCount == 1
	})
	if as := assignment(t, admin, s, tp, g, 1, parts); len(as[0]) != parts {
		t.Fatalf("after kill %v", as)
	}

	// Creating partitions rebalances too.
	ok(t, c.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
	ok(t, admin.CreatePartitions(nid(s), nid(tp), 2))
	fairShare(t, assignment(t, admin, s, tp, g, 2, parts+2), parts+2)
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
	fairShare(t, assignment(t, admin, s, tp, g, members, parts), parts)
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
	// b consumes (and commits) its share, then dies.
	seenB, _ := consumeAll(t, []iggcon.Client{b}, s, tp, g, 50)
	ok(t, b.Close())
	waitFor(t, func() bool {
		d, err := admin.GetConsumerGroup(nid(s), nid(tp), nid(g))
		return err == nil && d.MembersCount == 1
	})
	// a takes over every partition and reads the rest exactly once.
	seenA, _ := consumeAll(t, []iggcon.Client{a}, s, tp, g, 50)
	for k := range seenA {
		if seenB[k] > 0 {
			t.Fatalf("%q consumed by both", k)
		}
	}
	if len(seenA)+len(seenB) != 100 {
		t.Fatalf("consumed %d + %d", len(seenA), len(seenB))
	}
}

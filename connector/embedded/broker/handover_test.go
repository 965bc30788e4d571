package broker

import (
	"slices"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// handover is a topic of 4 partitions with 10 messages each and group g,
// for the cooperative hand-over tests.
type handover struct {
	*env
	s, tp, g iggyproto.Identifier
}

func newHandover(t *testing.T, parts uint32, mods ...func(*Config)) *handover {
	e := newEnv(t, mods...)
	e.stream("s")
	e.topic("s", "t", parts)
	for p := range parts {
		e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: p}, 10)
	}
	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, name("s"), name("t"), "g"))
	return &handover{env: e, s: name("s"), tp: name("t"), g: name("g")}
}

func (h *handover) join(who string) *Session {
	h.t.Helper()
	s := h.b.NewSystemSession(who)
	wantCode(h.t, h.b.JoinConsumerGroup(s, h.s, h.tp, h.g), 0)
	return s
}

// poll polls count messages with "next" (pid nil: round robin) and
// returns the partition and the offsets read.
func (h *handover) poll(s *Session, pid *uint32, count uint32, autoCommit bool) (uint32, []uint64) {
	h.t.Helper()
	r := must[PollResult](h.t)(h.b.Poll(s, PollRequest{Consumer: Consumer{Kind: GroupConsumer, Group: h.g}, Stream: h.s, Topic: h.tp,
		PartitionID: pid, Strategy: PollStrategy{Kind: PollNext}, Count: count, AutoCommit: autoCommit}))
	return r.PartitionID, offsetsOf(h.t, r)
}

func (h *handover) store(s *Session, p uint32, offset uint64) error {
	return h.b.StoreOffset(s, Consumer{Kind: GroupConsumer, Group: h.g}, h.s, h.tp, &p, offset)
}

func (h *handover) want(step string, want ...[]uint32) {
	h.t.Helper()
	if got := members(h.t, h.env); !slices.EqualFunc(got, want, slices.Equal) {
		h.t.Fatalf("%s: members %v, want %v", step, got, want)
	}
}

// pollAll makes s poll 2 messages from each of its n partitions without
// committing.
func (h *handover) pollAll(s *Session, n int) {
	h.t.Helper()
	for range n {
		if _, offs := h.poll(s, nil, 2, false); len(offs) != 2 {
			h.t.Fatalf("poll: %v", offs)
		}
	}
}

// TestHandOverSequence is the sequence observed on a real Iggy 0.8.0
// (issue 14): c2's join leaves partition 3 pending under c1 until c1
// commits what it polled there.
func TestHandOverSequence(t *testing.T) {
	h := newHandover(t, 4)
	c1 := h.join("c1")
	var seen []uint32
	for range 4 {
		p, offs := h.poll(c1, nil, 2, false)
		if !slices.Equal(offs, []uint64{0, 1}) {
			t.Fatalf("c1 partition %d read %v", p, offs)
		}
		seen = append(seen, p)
	}
	if !slices.Equal(seen, []uint32{0, 1, 2, 3}) {
		t.Fatalf("c1 round robin %v", seen)
	}
	c2 := h.join("c2")
	h.want("after c2 joined", []uint32{0, 1, 2, 3}, []uint32{})
	// c2 reads nothing, not even partition 3 named explicitly, and may not
	// store there.
	if p, offs := h.poll(c2, nil, 10, false); len(offs) != 0 || p != 0 {
		t.Fatalf("c2 polled partition %d: %v", p, offs)
	}
	if _, offs := h.poll(c2, ptr[uint32](3), 10, false); len(offs) != 0 {
		t.Fatalf("c2 polled partition 3: %v", offs)
	}
	wantCode(t, h.store(c2, 3, 1), iggyproto.CodeNotResolvedConsumer)
	// c1's round robin skips partition 3 (c1 polled 0..3, its cursor is
	// back at 0, and now cycles over 0, 1, 2).
	seen = nil
	for range 4 {
		p, _ := h.poll(c1, nil, 2, false)
		seen = append(seen, p)
	}
	if !slices.Equal(seen, []uint32{0, 1, 2, 0}) {
		t.Fatalf("c1 round robin while 3 is pending %v", seen)
	}
	// Commits on other partitions, and one short of the poll, change nothing.
	for p := range uint32(3) {
		wantCode(t, h.store(c1, p, 1), 0)
	}
	wantCode(t, h.store(c1, 3, 0), 0)
	h.want("after c1 stored 1 on 0..2 and 0 on 3", []uint32{0, 1, 2, 3}, []uint32{})
	wantCode(t, h.store(c1, 3, 1), 0)
	h.want("after c1 stored 1 on 3", []uint32{0, 1, 2}, []uint32{3})
	if p, offs := h.poll(c2, nil, 10, false); p != 3 || !slices.Equal(offs, []uint64{2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("c2 read partition %d offsets %v, want 3 from 2", p, offs)
	}
	// c1 no longer owns 3.
	wantCode(t, h.store(c1, 3, 1), iggyproto.CodeNotResolvedConsumer)
	if _, offs := h.poll(c1, ptr[uint32](3), 10, false); len(offs) != 0 {
		t.Fatalf("c1 still reads partition 3: %v", offs)
	}
}

// TestHandOverCompletesAtJoin: a partition the group never polled, or
// whose last poll is committed, moves at the join.
func TestHandOverCompletesAtJoin(t *testing.T) {
	h := newHandover(t, 4)
	h.join("c1")
	h.join("c2")
	h.want("nothing polled", []uint32{0, 1, 2}, []uint32{3})

	h = newHandover(t, 4)
	c1 := h.join("c1")
	for range 4 {
		h.poll(c1, nil, 3, true) // auto-commit: polled == committed
	}
	h.join("c2")
	h.want("all committed", []uint32{0, 1, 2}, []uint32{3})

	// Polled past the commit on partition 3 only: it waits.
	h = newHandover(t, 4)
	c1 = h.join("c1")
	h.poll(c1, ptr[uint32](3), 2, false)
	h.join("c2")
	h.want("3 polled, not committed", []uint32{0, 1, 2, 3}, []uint32{})
}

// TestHandOverOwnerStillReadsPending: the owner may poll and commit a
// pending partition explicitly; an auto-commit completes the hand-over
// (judged on the previous poll) and the new owner continues after it.
func TestHandOverOwnerStillReadsPending(t *testing.T) {
	h := newHandover(t, 4)
	c1 := h.join("c1")
	h.pollAll(c1, 4)
	c2 := h.join("c2")
	h.want("pending", []uint32{0, 1, 2, 3}, []uint32{})
	// Without commit: the marker moves to 3, still pending.
	if _, offs := h.poll(c1, ptr[uint32](3), 2, false); !slices.Equal(offs, []uint64{0, 1}) {
		t.Fatalf("c1 explicit poll of pending 3: %v", offs)
	}
	wantCode(t, h.store(c1, 3, 1), 0)
	h.want("stored 1, last polled 1", []uint32{0, 1, 2}, []uint32{3})
	if _, offs := h.poll(c2, nil, 3, false); !slices.Equal(offs, []uint64{2, 3, 4}) {
		t.Fatalf("c2: %v", offs)
	}

	h = newHandover(t, 4)
	c1 = h.join("c1")
	h.pollAll(c1, 4)
	c2 = h.join("c2")
	if _, offs := h.poll(c1, ptr[uint32](3), 4, true); !slices.Equal(offs, []uint64{0, 1, 2, 3}) {
		t.Fatalf("c1 auto-commit poll of pending 3: %v", offs)
	}
	h.want("after the auto-commit poll", []uint32{0, 1, 2}, []uint32{3})
	if _, offs := h.poll(c2, nil, 2, false); !slices.Equal(offs, []uint64{4, 5}) {
		t.Fatalf("c2 after the auto-commit: %v", offs)
	}
}

// TestHandOverSecondJoiner: a member awaiting a partition is not an idle
// target again; the next joiner gets the next revocation.
func TestHandOverSecondJoiner(t *testing.T) {
	h := newHandover(t, 4)
	c1 := h.join("c1")
	h.pollAll(c1, 4)
	h.join("c2")
	h.join("c3")
	h.want("two pending", []uint32{0, 1, 2, 3}, []uint32{}, []uint32{})
	wantCode(t, h.store(c1, 2, 1), 0)
	h.want("2 moved to c3", []uint32{0, 1, 3}, []uint32{}, []uint32{2})
	wantCode(t, h.store(c1, 3, 1), 0)
	h.want("3 moved to c2", []uint32{0, 1}, []uint32{3}, []uint32{2})
	// A fourth member: c1 is over its share of 1 and hands over its last
	// partition, which it polled.
	h.join("c4")
	h.want("c4 joined", []uint32{0, 1}, []uint32{3}, []uint32{2}, []uint32{})
	wantCode(t, h.store(c1, 1, 1), 0)
	h.want("1 moved to c4", []uint32{0}, []uint32{3}, []uint32{2}, []uint32{1})
}

// TestHandOverLeaveAndDrop: a leave or a closed session runs the full
// rebalance, dropping pending revocations, and clears the group's last
// polled markers of the partitions the leaver owned.
func TestHandOverLeaveAndDrop(t *testing.T) {
	h := newHandover(t, 4)
	c1 := h.join("c1")
	h.pollAll(c1, 4)
	c2 := h.join("c2")
	h.want("pending", []uint32{0, 1, 2, 3}, []uint32{})
	wantCode(t, h.b.LeaveConsumerGroup(c2, h.s, h.tp, h.g), 0)
	h.want("c2 left", []uint32{0, 1, 2, 3})
	// c1's markers stay: a new joiner waits again.
	c3 := h.join("c3")
	h.want("c3 joined", []uint32{0, 1, 2, 3}, []uint32{})
	// c1's session ends: full rebalance, c1's markers are gone, so the
	// next join completes at once.
	h.b.CloseSession(c1)
	h.want("c1 dropped", []uint32{0, 1, 2, 3})
	h.join("c4") // in c1's freed slot, so listed first
	h.want("c4 joined", []uint32{3}, []uint32{0, 1, 2})
	if p, offs := h.poll(c3, nil, 1, false); p != 0 || !slices.Equal(offs, []uint64{0}) {
		t.Fatalf("c3 reads partition %d %v, want 0 from the start (nothing committed)", p, offs)
	}
}

// TestHandOverNewPartitions: creating or deleting partitions runs the full
// rebalance and clears the group's markers.
func TestHandOverNewPartitions(t *testing.T) {
	h := newHandover(t, 4)
	c1 := h.join("c1")
	h.pollAll(c1, 4)
	c2 := h.join("c2")
	h.want("pending", []uint32{0, 1, 2, 3}, []uint32{})
	wantCode(t, h.b.CreatePartitions(h.root, h.s, h.tp, 2), 0)
	h.want("after create partitions", []uint32{0, 2, 4}, []uint32{1, 3, 5})
	for p := uint32(4); p < 6; p++ {
		h.send(h.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: p}, 10)
	}
	h.join("c3")
	// Fair share 2: c1, the first over it, hands over its last partition;
	// the markers are gone, so it moves at once.
	h.want("c3 joined", []uint32{0, 2}, []uint32{1, 3, 5}, []uint32{4})
	// c2 polls its three; with 6 over 4, c1 keeps one of the remainder
	// and c2, over it, hands over 5, which waits for c2's commit.
	h.pollAll(c2, 3)
	h.join("c4")
	h.want("c4 joined", []uint32{0, 2}, []uint32{1, 3, 5}, []uint32{4}, []uint32{})
	wantCode(t, h.b.DeletePartitions(h.root, h.s, h.tp, 1), 0)
	h.want("after delete partitions", []uint32{0, 4}, []uint32{1}, []uint32{2}, []uint32{3})
}

// TestHandOverTimeout: a pending revocation moves after
// RebalancingTimeout whatever was committed.
func TestHandOverTimeout(t *testing.T) {
	h := newHandover(t, 4, func(c *Config) { c.RebalancingTimeout = 10 * time.Second })
	c1 := h.join("c1")
	h.pollAll(c1, 4)
	h.join("c2")
	h.clk.Advance(9 * time.Second)
	h.b.expireRevocations()
	h.want("before the timeout", []uint32{0, 1, 2, 3}, []uint32{})
	h.clk.Advance(time.Second)
	h.b.expireRevocations()
	h.want("at the timeout", []uint32{0, 1, 2}, []uint32{3})
	if h.b.cfg.RebalancingCheckInterval != DefaultRebalancingCheckInterval {
		t.Fatalf("check interval %s", h.b.cfg.RebalancingCheckInterval)
	}
	def := newHandover(t, 1)
	if def.b.cfg.RebalancingTimeout != 30*time.Second {
		t.Fatalf("default timeout %s, want Iggy's 30 s", def.b.cfg.RebalancingTimeout)
	}
}

func TestRebalancingConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{DataDir: "d", RebalancingTimeout: -1},
		{DataDir: "d", RebalancingCheckInterval: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v validated", c)
		}
	}
}

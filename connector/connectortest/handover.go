package connectortest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

// rounds makes m poll n times ("next", count messages each, no commit)
// and returns what each partition gave; every poll must return messages
// of a partition no earlier poll of the call read.
func rounds(t *testing.T, ctx context.Context, m core.GroupMember, n int, count uint32) map[uint32][]core.Message {
	t.Helper()
	out := map[uint32][]core.Message{}
	for range n {
		p, err := m.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: count})
		if err != nil {
			t.Fatalf("member Poll: %v", err)
		}
		if len(p.Messages) == 0 {
			t.Fatalf("member Poll of partition %d returned nothing", p.Partition)
		}
		if _, ok := out[p.Partition]; ok {
			t.Fatalf("member Poll read partition %d twice in %d polls (read so far: %d partitions)", p.Partition, n, len(out))
		}
		out[p.Partition] = p.Messages
	}
	return out
}

// wantMembers checks the group's members (in the order Group lists them)
// and their partitions (in assignment order; nil for none).
func wantMembers(t *testing.T, ctx context.Context, b core.Broker, st, tp, group, step string, want ...[]uint32) {
	t.Helper()
	info, err := b.Group(ctx, st, tp, group)
	if err != nil {
		t.Fatalf("%s: Group: %v", step, err)
	}
	got := make([][]uint32, len(info.Members))
	for i, m := range info.Members {
		got[i] = m.Partitions
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("%s: members own %v, want %v", step, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

// joinTakesOne: Iggy 0.8.0's cooperative join takes at most one partition
// from the others, so 8 partitions and 2 members end 7/1, even with
// nothing polled; a leave rebalances fully (4/4 for 2 of 3).
func (s *suite) joinTakesOne(t *testing.T, b core.Broker) {
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 8)
	if _, err := b.CreateGroup(ctx, st, tp, "g"); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	var ms []core.GroupMember
	for i := range 3 {
		m, err := b.JoinGroup(ctx, st, tp, "g")
		if err != nil {
			t.Fatalf("JoinGroup %d: %v", i+1, err)
		}
		t.Cleanup(func() { _ = m.Leave(context.Background()) })
		ms = append(ms, m)
		switch i {
		case 1:
			wantMembers(t, ctx, b, st, tp, "g", "two members", []uint32{0, 1, 2, 3, 4, 5, 6}, []uint32{7})
		case 2:
			wantMembers(t, ctx, b, st, tp, "g", "three members", []uint32{0, 1, 2, 3, 4, 5}, []uint32{7}, []uint32{6})
		}
	}
	if err := ms[1].Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	wantMembers(t, ctx, b, st, tp, "g", fmt.Sprintf("after member %d left", 2), []uint32{0, 2, 4, 6}, []uint32{1, 3, 5, 7})
}

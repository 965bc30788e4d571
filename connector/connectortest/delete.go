package connectortest

import (
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

// deletes checks core.Deleter, skipped for a broker without it: a single
// consumer's offset, a group, a topic and a stream are deleted and gone,
// each with its contents (a recreated group starts without offsets, a
// recreated topic empty), deleting each again gives core.ErrNotFound, and
// DeleteOffset of a group gives core.ErrInvalid.
func (s *suite) deletes(t *testing.T, b core.Broker) {
	d, ok := b.(core.Deleter)
	if !ok {
		t.Skip("the broker does not implement core.Deleter")
	}
	ctx := s.ctx(t)
	st, tp := topic(t, ctx, b, 2)
	send(t, ctx, b, st, tp, core.ToPartition(1), msgs("d", 3))

	// Offsets: single consumer and group.
	single := core.Consumer{Kind: core.SingleConsumer, Name: "c"}
	group := core.Consumer{Kind: core.GroupConsumer, Name: "g"}
	if _, err := b.CreateGroup(ctx, st, tp, "g"); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	m, err := b.JoinGroup(ctx, st, tp, "g")
	if err != nil {
		t.Fatalf("JoinGroup: %v", err)
	}
	defer m.Leave(ctx)
	// Group offsets are stored by a member (Iggy requires membership).
	store := map[core.ConsumerKind]func(uint64) error{
		core.SingleConsumer: func(o uint64) error { return b.StoreOffset(ctx, single, st, tp, 1, o) },
		core.GroupConsumer:  func(o uint64) error { return m.StoreOffset(ctx, 1, o) },
	}
	if err := store[core.SingleConsumer](2); err != nil {
		t.Fatalf("StoreOffset(single): %v", err)
	}
	if err := d.DeleteOffset(ctx, single, st, tp, 1); err != nil {
		t.Fatalf("DeleteOffset(single): %v", err)
	}
	_, err = b.Offset(ctx, single, st, tp, 1)
	wantErr(t, "Offset after DeleteOffset", err, core.ErrNotFound)
	wantErr(t, "DeleteOffset again", d.DeleteOffset(ctx, single, st, tp, 1), core.ErrNotFound)
	wantErr(t, "DeleteOffset of a group", d.DeleteOffset(ctx, group, st, tp, 1), core.ErrInvalid)

	// Group: gone with its offsets.
	if err := store[core.GroupConsumer](1); err != nil {
		t.Fatalf("StoreOffset(group): %v", err)
	}
	if err := m.Leave(ctx); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if err := d.DeleteGroup(ctx, st, tp, "g"); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	_, err = b.Group(ctx, st, tp, "g")
	wantErr(t, "Group after DeleteGroup", err, core.ErrNotFound)
	wantErr(t, "DeleteGroup again", d.DeleteGroup(ctx, st, tp, "g"), core.ErrNotFound)
	if _, err := b.CreateGroup(ctx, st, tp, "g"); err != nil {
		t.Fatalf("CreateGroup after DeleteGroup: %v", err)
	}
	_, err = b.Offset(ctx, group, st, tp, 1)
	wantErr(t, "Offset of a recreated group", err, core.ErrNotFound)

	// Topic: gone with its messages.
	if err := d.DeleteTopic(ctx, st, tp); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	_, err = b.Topic(ctx, st, tp)
	wantErr(t, "Topic after DeleteTopic", err, core.ErrNotFound)
	wantErr(t, "DeleteTopic again", d.DeleteTopic(ctx, st, tp), core.ErrNotFound)
	if _, err := b.CreateTopic(ctx, st, tp, core.TopicConfig{Partitions: 2}); err != nil {
		t.Fatalf("CreateTopic after DeleteTopic: %v", err)
	}
	if got := pollAll(t, ctx, b, st, tp, 1); len(got) != 0 {
		t.Fatalf("a recreated topic holds %d messages", len(got))
	}

	// Stream.
	if err := d.DeleteStream(ctx, st); err != nil {
		t.Fatalf("DeleteStream: %v", err)
	}
	_, err = b.Stream(ctx, st)
	wantErr(t, "Stream after DeleteStream", err, core.ErrNotFound)
	wantErr(t, "DeleteStream again", d.DeleteStream(ctx, st), core.ErrNotFound)
}

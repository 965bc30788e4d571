package broker

import (
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestAppendSignal: the channel closes at the next send to any partition
// of its topic (not of another topic) and when the topic is deleted; the
// poll count is the member's partition count, 1 for a single consumer.
func TestAppendSignal(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 4)
	e.topic("s", "other", 1)
	single := Consumer{Kind: SingleConsumer, ID: 1}
	ch, polls, err := e.b.AppendSignal(e.root, name("s"), name("t"), single)
	if err != nil || polls != 1 {
		t.Fatalf("AppendSignal = %d polls, %v", polls, err)
	}
	if again, _, _ := e.b.AppendSignal(e.root, name("s"), name("t"), single); again != ch {
		t.Fatal("two waiters got different channels before an append")
	}
	e.send(e.root, "s", "other", Partitioning{Kind: PartitionByID, PartitionID: 0}, 1)
	if closed(ch) {
		t.Fatal("a send to another topic closed the channel")
	}
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: 3}, 1)
	if !closed(ch) {
		t.Fatal("a send to partition 3 did not close the channel")
	}
	ch2, _, _ := e.b.AppendSignal(e.root, name("s"), name("t"), single)
	if closed(ch2) {
		t.Fatal("the channel after an append is already closed")
	}

	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, name("s"), name("t"), "g"))
	m1, m2 := e.b.NewSystemSession("m1"), e.b.NewSystemSession("m2")
	gc := Consumer{Kind: GroupConsumer, Group: name("g")}
	wantCode(t, e.b.JoinConsumerGroup(m1, name("s"), name("t"), name("g")), 0)
	if _, polls, _ := e.b.AppendSignal(m1, name("s"), name("t"), gc); polls != 4 {
		t.Fatalf("sole member: %d polls, want 4", polls)
	}
	wantCode(t, e.b.JoinConsumerGroup(m2, name("s"), name("t"), name("g")), 0)
	if _, polls, _ := e.b.AppendSignal(m1, name("s"), name("t"), gc); polls != 3 {
		t.Fatalf("one of two members (3 partitions of 4): %d polls, want 3", polls)
	}

	wantCode(t, e.b.DeleteTopic(e.root, name("s"), name("t")), 0)
	if !closed(ch2) {
		t.Fatal("deleting the topic did not close the channel")
	}
	_, _, err = e.b.AppendSignal(e.root, name("s"), name("t"), single)
	wantCode(t, err, iggyproto.CodeTopicIDNotFound)
}

// TestAppendSignalNoWaiterIsFree: an append without waiters costs no
// allocation and no lock.
func TestAppendSignalNoWaiterIsFree(t *testing.T) {
	var s appendSignal
	if n := testing.AllocsPerRun(100, s.notify); n != 0 {
		t.Fatalf("notify without waiters: %v allocations", n)
	}
	ch := s.wait()
	s.notify()
	if !closed(ch) || s.waiting.Load() {
		t.Fatal("notify with a waiter did not close and forget the channel")
	}
}

package coretest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/core/coretest"
)

// The broker's behaviour as a stream port is checked by
// connector/connectortest (coretest_test.go there); these tests check the
// hooks and switches only coretest has.

func topic(t *testing.T, b *coretest.Broker, partitions uint32) {
	t.Helper()
	ctx := t.Context()
	if _, err := b.CreateStream(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateTopic(ctx, "s", "t", core.TopicConfig{Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, b core.Broker, partition uint32) int {
	t.Helper()
	p, err := b.Poll(t.Context(), core.PollRequest{Stream: "s", Topic: "t", Partition: partition, Strategy: core.First(), Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Messages)
}

func TestSendHook(t *testing.T) {
	b := coretest.New(coretest.Options{})
	topic(t, b, 3)
	boom := errors.New("boom")
	var calls []coretest.SendCall
	b.SetHooks(coretest.Hooks{Send: func(_ context.Context, c coretest.SendCall) error {
		calls = append(calls, c)
		if c.Partition == 2 {
			return boom
		}
		return nil
	}})
	msgs := []core.Message{{Payload: []byte("a")}, {Payload: []byte("b")}}
	if err := b.Send(t.Context(), "s", "t", core.ToPartition(1), msgs); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(t.Context(), "s", "t", core.ToPartition(2), msgs); !errors.Is(err, boom) {
		t.Fatalf("Send through a failing hook = %v, want its error", err)
	}
	if len(calls) != 2 || calls[0].Stream != "s" || calls[0].Topic != "t" || calls[0].Partition != 1 || len(calls[0].Messages) != 2 {
		t.Fatalf("hook saw %+v", calls)
	}
	if n1, n2 := count(t, b, 1), count(t, b, 2); n1 != 2 || n2 != 0 {
		t.Fatalf("partitions 1 and 2 hold %d and %d messages, want 2 and 0 (a failed send stores nothing)", n1, n2)
	}
	// A hook that blocks holds the send until it returns, or ends with ctx.
	release := make(chan struct{})
	b.SetHooks(coretest.Hooks{Send: func(ctx context.Context, _ coretest.SendCall) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	done := make(chan error, 1)
	go func() { done <- b.Send(t.Context(), "s", "t", core.ToPartition(0), msgs) }()
	if n := count(t, b, 0); n != 0 {
		t.Fatalf("a held send stored %d messages", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, 0); n != 2 {
		t.Fatalf("a released send stored %d messages, want 2", n)
	}
}

func TestPollHook(t *testing.T) {
	b := coretest.New(coretest.Options{})
	topic(t, b, 2)
	ctx := t.Context()
	if _, err := b.CreateGroup(ctx, "s", "t", "g"); err != nil {
		t.Fatal(err)
	}
	m, err := b.JoinGroup(ctx, "s", "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	var calls []coretest.PollCall
	b.SetHooks(coretest.Hooks{Poll: func(_ context.Context, c coretest.PollCall) error {
		calls = append(calls, c)
		if c.Group != "" {
			return refused
		}
		return nil
	}})
	if _, err := b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Partition: 1, Strategy: core.First(), Count: 1, MaxWait: time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: 1}); !errors.Is(err, refused) {
		t.Fatalf("member Poll through a failing hook = %v", err)
	}
	if len(calls) != 2 || calls[0].Group != "" || *calls[0].Partition != 1 || calls[0].MaxWait != time.Second ||
		calls[1].Group != "g" || calls[1].Stream != "s" || calls[1].Partition != nil {
		t.Fatalf("hook saw %+v", calls)
	}
}

func TestDownAndReconnecting(t *testing.T) {
	b := coretest.New(coretest.Options{})
	topic(t, b, 1)
	other := b.Connect()
	b.SetDown(true)
	for name, err := range map[string]error{
		"Send":  other.Send(t.Context(), "s", "t", core.ToPartition(0), []core.Message{{Payload: []byte("x")}}),
		"Topic": func() error { _, err := b.Topic(t.Context(), "s", "t"); return err }(),
	} {
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s while down = %v, want ErrUnavailable", name, err)
		}
	}
	b.SetDown(false)
	if _, err := other.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after SetDown(false): %v", err)
	}
	if b.Reconnecting() {
		t.Fatal("Reconnecting before SetReconnecting")
	}
	b.SetReconnecting(true)
	if !other.Reconnecting() {
		t.Fatal("Reconnecting is the broker's, not one connection's")
	}
}

func TestConnect(t *testing.T) {
	b := coretest.New(coretest.Options{})
	topic(t, b, 1)
	ctx := t.Context()
	other := b.Connect()
	if err := other.Send(ctx, "s", "t", core.ToPartition(0), []core.Message{{Payload: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateGroup(ctx, "s", "t", "g"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.JoinGroup(ctx, "s", "t", "g"); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Ping(ctx); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("Ping after Close = %v", err)
	}
	info, err := b.Group(ctx, "s", "t", "g")
	if err != nil || len(info.Members) != 0 {
		t.Fatalf("after the other connection closed: %+v, %v; want the group without members", info, err)
	}
	if n := count(t, b, 0); n != 1 {
		t.Fatalf("the first connection sees %d messages of the other's, want 1", n)
	}
}

func TestCanceledContext(t *testing.T) {
	b := coretest.New(coretest.Options{LongPoll: true})
	topic(t, b, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Stream(ctx, "s"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stream with a cancelled ctx = %v", err)
	}
}

package embedded_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
)

// TestLongPollEndsOnLeaveAndClose: a poll waiting for messages returns
// core.ErrClosed when its member leaves or the broker closes, long before
// its MaxWait.
func TestLongPollEndsOnLeaveAndClose(t *testing.T) {
	b, err := embedded.Open(context.Background(), embedded.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	setup(t, b, 2)
	ctx := context.Background()
	if _, err := b.CreateGroup(ctx, "s", "t", "g"); err != nil {
		t.Fatal(err)
	}
	waiting := func(m core.GroupMember) <-chan error {
		res := make(chan error, 1)
		go func() {
			_, err := m.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: 10, MaxWait: time.Hour})
			res <- err
		}()
		return res
	}
	m1, err := b.JoinGroup(ctx, "s", "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	res := waiting(m1)
	_ = m1.Leave(ctx)
	if err := <-res; !errors.Is(err, core.ErrClosed) {
		t.Fatalf("poll of a member that left: %v, want core.ErrClosed", err)
	}
	m2, err := b.JoinGroup(ctx, "s", "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	res = waiting(m2)
	single := make(chan error, 1)
	go func() {
		_, err := b.Poll(ctx, core.PollRequest{Stream: "s", Topic: "t", Strategy: core.First(), Count: 10, MaxWait: time.Hour})
		single <- err
	}()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, core.ErrClosed) {
		t.Fatalf("member poll when the broker closed: %v, want core.ErrClosed", err)
	}
	if err := <-single; !errors.Is(err, core.ErrClosed) {
		t.Fatalf("poll when the broker closed: %v, want core.ErrClosed", err)
	}
}

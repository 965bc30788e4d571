package outbox

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// memStore is a store in memory: rows, marks and the lock.
type memStore struct {
	mu        sync.Mutex
	rows      []pending
	delivered map[int64]bool
	dead      map[int64]bool
	locked    bool
	closes    int
}

func newMemStore(n int) *memStore {
	s := &memStore{delivered: map[int64]bool{}, dead: map[int64]bool{}}
	tenant := uuid.New()
	for i := range n {
		id := uuid.New()
		s.rows = append(s.rows, pending{seq: int64(i + 1), id: id.String(), tenant: tenant.String(), correlation: id.String(),
			contentType: "application/json", payload: []byte(`{}`), eventType: "order.created", schema: 1})
	}
	return s
}

func (s *memStore) open(context.Context) error { return nil }
func (s *memStore) tryLock(context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locked = true
	return true, nil
}
func (s *memStore) fetch(ctx context.Context, n int) ([]pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []pending
	for _, p := range s.rows {
		if !s.delivered[p.seq] && !s.dead[p.seq] && len(out) < n {
			out = append(out, p)
		}
	}
	return out, ctx.Err()
}
func (s *memStore) markDelivered(_ context.Context, seqs []int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range seqs {
		s.delivered[q] = true
	}
	return nil
}
func (s *memStore) markDead(_ context.Context, seq int64, _ string, lettered bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dead[seq] = true
	if lettered {
		s.delivered[seq] = true
	}
	return nil
}
func (s *memStore) prune(context.Context, time.Duration) (int64, error) { return 0, nil }
func (s *memStore) wait(ctx context.Context, d time.Duration) error {
	sleep(ctx, d)
	return nil
}
func (s *memStore) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked {
		s.locked = false
		s.closes++
	}
}

func (s *memStore) state() (delivered int, locked bool, closes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.delivered), s.locked, s.closes
}

// gatePub is a publisher whose PublishEncoded blocks until released or
// until its context ends, then reports success (released) or the
// context's error.
type gatePub struct {
	core.EventTransport
	release chan struct{}
	mu      sync.Mutex
	calls   int
	ctxErr  error // the publish context's error when it returned
}

func (g *gatePub) PublishEncoded(ctx context.Context, events []transport.EncodedEvent) error {
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	var err error
	select {
	case <-g.release:
	case <-ctx.Done():
		err = &transport.BatchError{}
		for i := range events {
			err.(*transport.BatchError).Failed = append(err.(*transport.BatchError).Failed, transport.FailedEvent{Index: i, ID: events[i].ID, Err: ctx.Err()})
		}
	}
	g.mu.Lock()
	g.ctxErr = ctx.Err()
	g.mu.Unlock()
	return err
}

func newTestRelay(t *testing.T, st store, pub core.EventTransport) *Relay {
	t.Helper()
	o, err := New(Config{Dialect: SQLite})
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRelay(o, st, pub, RelayConfig{PollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Shutdown while a publish is in flight lets it finish, marks its rows and
// then releases the lock.
func TestShutdownDrainsPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore(5)
		pub := &gatePub{release: make(chan struct{})}
		r := newTestRelay(t, st, pub)
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the relay is blocked in the publish
		if pub.calls != 1 {
			t.Fatalf("%d publish calls, want 1 in flight", pub.calls)
		}
		res := make(chan error, 1)
		go func() { res <- r.Shutdown(context.Background()) }()
		synctest.Wait() // Shutdown has asked the relay to stop and waits
		select {
		case err := <-res:
			t.Fatalf("Shutdown returned %v with a publish in flight", err)
		default:
		}
		close(pub.release)
		if err := <-res; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if pub.ctxErr != nil {
			t.Errorf("the publish in flight saw its context end: %v", pub.ctxErr)
		}
		delivered, locked, closes := st.state()
		if delivered != 5 || locked || closes != 1 {
			t.Errorf("after Shutdown: %d of 5 rows delivered, lock held %v, %d session closes; want 5, false, 1", delivered, locked, closes)
		}
		if pub.calls != 1 {
			t.Errorf("%d publish calls, want 1: the stopped relay took another batch", pub.calls)
		}
		if s := r.Status(); s.State != StateStopped || s.Relayed != 5 {
			t.Errorf("status %+v", s)
		}
	})
}

// When Shutdown's context ends first, the publish in flight is cancelled,
// its rows stay pending, the lock is released and Shutdown says so.
func TestShutdownDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore(3)
		pub := &gatePub{release: make(chan struct{})}
		r := newTestRelay(t, st, pub)
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
		}
		if !errors.Is(pub.ctxErr, context.Canceled) {
			t.Errorf("publish context error %v, want Canceled", pub.ctxErr)
		}
		delivered, locked, _ := st.state()
		if delivered != 0 || locked {
			t.Errorf("%d rows delivered, lock held %v; want 0, false", delivered, locked)
		}
		if err := r.Close(); err != nil { // idempotent
			t.Errorf("second Close: %v", err)
		}
	})
}

// A relay waiting for work (poll interval) stops at once.
func TestShutdownIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newMemStore(0)
		r := newTestRelay(t, st, &gatePub{release: make(chan struct{})})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		start := time.Now()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Close of an idle relay took %s of (fake) time, want 0: it waited out its poll", d)
		}
		if _, locked, closes := st.state(); locked || closes != 1 {
			t.Errorf("lock held %v, closes %d", locked, closes)
		}
	})
}

// settle counts attempts on a tenant's head only, ignores transient
// failures and gives up at MaxAttempts.
func TestSettleAttempts(t *testing.T) {
	st := newMemStore(0)
	r := newTestRelay(t, st, &gatePub{})
	r.cfg.MaxAttempts = 2
	tA, tB := "a", "b"
	rows := []*pending{{seq: 1, tenant: tA}, {seq: 2, tenant: tA}, {seq: 3, tenant: tB}, {seq: 4, tenant: tB}}
	seqs := []int64{1, 2, 3, 4}
	tenants := []string{tA, tA, tB, tB}
	perm := errors.New("rejected")
	berr := &transport.BatchError{Failed: []transport.FailedEvent{
		{Index: 0, Err: perm}, {Index: 1, Err: perm}, // tenant a: head 1 fails permanently
		{Index: 2, Err: core.ErrUnavailable}, // tenant b: head 3 transiently; 4 stored
	}}
	var gaveUp []int64
	giveUp := func(p *pending, _ string, _ error, _ *attempt) { gaveUp = append(gaveUp, p.seq) }
	for round := 1; round <= 2; round++ {
		heads := map[int64]*attempt{}
		done, blocked := r.settle(berr, seqs, tenants, rows, heads, giveUp, time.Now())
		r.attempts = heads
		switch round {
		case 1:
			if len(done) != 0 || !blocked || len(gaveUp) != 0 || heads[1] == nil || heads[1].n != 1 || heads[2] != nil || heads[3] != nil {
				t.Fatalf("round 1: done %v blocked %v gaveUp %v heads %v", done, blocked, gaveUp, heads)
			}
		case 2:
			// Row 1 is given up on; row 2 failed behind it and waits;
			// tenant b is still blocked by its transient failure.
			if !slices.Equal(gaveUp, []int64{1}) || !blocked || len(done) != 0 {
				t.Fatalf("round 2: done %v blocked %v gaveUp %v", done, blocked, gaveUp)
			}
		}
	}
	// Nothing per event: no attempt is charged.
	heads := map[int64]*attempt{}
	done, blocked := r.settle(errors.New("down"), seqs, tenants, rows, heads, giveUp, time.Now())
	if done != nil || !blocked || len(gaveUp) != 1 {
		t.Errorf("batch-wide failure: done %v blocked %v gaveUp %v", done, blocked, gaveUp)
	}
}

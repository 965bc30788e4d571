package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/adapters/outbox"
)

// Three relays against one PostgreSQL table while writers commit: the first
// active relay's session is killed (pg_terminate_backend) after it published
// a batch and before it marked it. A standby takes over and republishes;
// with broker deduplication every committed event is stored once and each
// tenant's order holds.
func TestThreeRelaysTakeover(t *testing.T) {
	{
		h := pgHarness(t, "")
		k := newBroker(t, time.Minute)
		ctx := context.Background()
		first := writeMany(t, h, 0, 10, 10)

		var once sync.Once
		killed := make(chan struct{})
		var relays []*outbox.Relay
		for i := range 3 {
			w := newWatch(k.tr, nil)
			name := fmt.Sprintf("test-%d", i)
			w.after = func(_ int, err error) error {
				once.Do(func() {
					// This relay is active and its batch is in the broker:
					// kill its session before it marks.
					if _, err := h.db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, outbox.RelayAppName+" "+name); err != nil {
						t.Error(err)
					}
					close(killed)
				})
				return err
			}
			r := h.relay(t, w, outbox.RelayConfig{BatchSize: 25, PollInterval: 20 * time.Millisecond, Name: name})
			relays = append(relays, r)
		}
		for _, r := range relays {
			if err := r.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		<-killed
		second := writeMany(t, h, 100, 10, 10)
		for id := range second {
			first[id] = true
		}
		// Wait until every committed row is marked delivered: then no
		// relay has anything left to publish.
		waitDelivered(t, h, len(first))
		for _, r := range relays {
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
		checkExactlyOnceInOrder(t, k.all(t), first)
		var total uint64
		for _, r := range relays {
			total += r.Status().Relayed
		}
		if total < uint64(len(first)) {
			t.Errorf("relays marked %d, want at least %d", total, len(first))
		}
	}
}

// waitDelivered waits for n delivered rows, polling the table (the state is
// in another session; there is nothing to block on).
func waitDelivered(t *testing.T, h *harness, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for h.count(t, "delivered_at IS NOT NULL") < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d rows delivered after 2 minutes", h.count(t, "delivered_at IS NOT NULL"), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A second SQLite relay stands by until the first closes, then delivers.
func TestSQLiteStandby(t *testing.T) {
	{
		h := sqliteHarness(t, t.TempDir())
		k := newBroker(t, time.Minute)
		ctx := context.Background()
		ids := writeMany(t, h, 0, 3, 3)
		w1 := newWatch(k.tr, ids)
		r1 := h.relay(t, w1, outbox.RelayConfig{PollInterval: 5 * time.Millisecond})
		if err := r1.Start(ctx); err != nil {
			t.Fatal(err)
		}
		w1.wait(t)
		r2 := h.relay(t, newWatch(k.tr, nil), outbox.RelayConfig{PollInterval: 5 * time.Millisecond})
		if err := r2.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for r2.Status().State != outbox.StateStandby {
			time.Sleep(time.Millisecond)
		}
		if active, err := outbox.SQLiteRelayActive(h.lockPath); err != nil || !active {
			t.Fatalf("SQLiteRelayActive = %v, %v", active, err)
		}
		if err := r1.Close(); err != nil {
			t.Fatal(err)
		}
		more := writeMany(t, h, 10, 2, 2)
		waitDelivered(t, h, len(ids)+len(more))
		if err := r2.Close(); err != nil {
			t.Fatal(err)
		}
		for id := range more {
			ids[id] = true
		}
		checkExactlyOnceInOrder(t, k.all(t), ids)
		if r2.Status().Relayed != uint64(len(more)) {
			t.Errorf("standby relayed %d, want %d", r2.Status().Relayed, len(more))
		}
	}
}

package inbox_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/inbox"
	"github.com/rustok/rustok-iggy/adapters/internal/pgtest"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type harness struct {
	in      *inbox.Inbox
	db      *sql.DB
	effects string // the handler's own table
	ph      func(int) string
}

func eachDialect(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Run("sqlite", func(t *testing.T) {
		db, err := outbox.OpenSQLite(filepath.Join(t.TempDir(), "app.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		f(t, newHarness(t, outbox.SQLite, db))
	})
	t.Run("postgres", func(t *testing.T) {
		db, err := sql.Open("pgx", pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		f(t, newHarness(t, outbox.Postgres, db))
	})
}

func newHarness(t *testing.T, d outbox.Dialect, db *sql.DB) *harness {
	t.Helper()
	table := pgtest.Table(t)
	in, err := inbox.New(inbox.Config{Dialect: d, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	h := &harness{in: in, db: db, effects: table + "_effects", ph: func(int) string { return "?" }}
	if d == outbox.Postgres {
		h.ph = func(n int) string { return "$" + string(rune('0'+n)) }
	}
	if _, err := db.Exec(`CREATE TABLE ` + h.effects + ` (event_id text NOT NULL, note text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.Exec(`DROP TABLE IF EXISTS ` + table + `, ` + h.effects) })
	return h
}

// effect is the handler's database work: one row per call.
func (h *harness) effect(ctx context.Context, tx *sql.Tx, id uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO `+h.effects+` (event_id, note) VALUES (`+h.ph(1)+`, 'done')`, id.String())
	return err
}

func (h *harness) effectCount(t *testing.T, id uuid.UUID) int {
	t.Helper()
	var n int
	if err := h.db.QueryRow(`SELECT count(*) FROM `+h.effects+` WHERE event_id = `+h.ph(1), id.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A redelivered event is skipped; a failed handler leaves no record, so the
// next delivery runs it; another consumer name handles the event itself.
func TestProcessOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		id := uuid.New()
		boom := errors.New("boom")
		ok, err := h.in.Process(ctx, h.db, "billing", id, func(ctx context.Context, tx *sql.Tx) error {
			if err := h.effect(ctx, tx, id); err != nil {
				return err
			}
			return boom
		})
		if ok || !errors.Is(err, boom) {
			t.Fatalf("failing handler: %v, %v", ok, err)
		}
		if n := h.effectCount(t, id); n != 0 {
			t.Fatalf("%d effects of a failed handler", n)
		}
		for i, want := range []bool{true, false, false} {
			ok, err := h.in.Process(ctx, h.db, "billing", id, func(ctx context.Context, tx *sql.Tx) error { return h.effect(ctx, tx, id) })
			if err != nil || ok != want {
				t.Fatalf("delivery %d: %v, %v, want %v", i, ok, err, want)
			}
		}
		ok, err = h.in.Process(ctx, h.db, "search", id, func(ctx context.Context, tx *sql.Tx) error { return h.effect(ctx, tx, id) })
		if !ok || err != nil {
			t.Fatalf("other consumer: %v, %v", ok, err)
		}
		if n := h.effectCount(t, id); n != 2 {
			t.Fatalf("%d effects, want 2 (one per consumer)", n)
		}
	})
}

// Concurrent deliveries of one event: one effect.
func TestProcessConcurrent(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		id := uuid.New()
		var wg sync.WaitGroup
		var handled atomic.Int32
		for range 8 {
			wg.Go(func() {
				ok, err := h.in.Process(ctx, h.db, "billing", id, func(ctx context.Context, tx *sql.Tx) error { return h.effect(ctx, tx, id) })
				if err != nil {
					t.Error(err)
				}
				if ok {
					handled.Add(1)
				}
			})
		}
		wg.Wait()
		if handled.Load() != 1 || h.effectCount(t, id) != 1 {
			t.Fatalf("handled %d times, %d effects; want 1", handled.Load(), h.effectCount(t, id))
		}
	})
}

// Through a real subscription: every event is published twice (no broker
// deduplication, like a relay that republished), and the handler's table
// shows each effect once.
func TestHandlerRedelivery(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		b, err := embedded.Open(ctx, embedded.Config{DataDir: t.TempDir(), Fsync: "never"})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		tr, err := transport.New(transport.Config{}, b, codec.JSON{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer tr.Shutdown(ctx)
		tenant := uuid.New()
		var events []core.Envelope
		for range 5 {
			events = append(events, core.NewEnvelope(tenant, "order.paid", core.Event{Type: "OrderPaid"}))
		}
		for range 2 {
			if err := tr.PublishBatch(ctx, events); err != nil {
				t.Fatal(err)
			}
		}
		calls := make(chan struct{}, 10)
		handler := h.in.Handler(h.db, "billing", func(ctx context.Context, tx *sql.Tx, d transport.Delivery) error {
			return h.effect(ctx, tx, d.Envelope.ID)
		})
		sub, err := tr.Subscribe(ctx, "billing", func(ctx context.Context, d transport.Delivery) error {
			err := handler(ctx, d)
			calls <- struct{}{}
			return err
		}, transport.SubscribeOptions{StartFrom: "earliest"})
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			select {
			case <-calls:
			case <-time.After(time.Minute):
				t.Fatal("deliveries did not arrive")
			}
		}
		if err := sub.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if n := h.effectCount(t, e.ID); n != 1 {
				t.Errorf("event %s: %d effects, want 1", e.ID, n)
			}
		}
		if n, err := h.in.Prune(ctx, h.db); err != nil || n != 0 {
			t.Errorf("Prune of fresh ids = %d, %v", n, err)
		}
	})
}

func TestConfig(t *testing.T) {
	for _, c := range []inbox.Config{{}, {Dialect: "x"}, {Dialect: outbox.SQLite, Table: "a.b"}, {Dialect: outbox.Postgres, Retention: -1}, {Dialect: outbox.Postgres, Table: "A"}} {
		if _, err := inbox.New(c); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("New(%+v) = %v", c, err)
		}
	}
}

// PruneBefore forgets ids past the retention; the event is then handled again.
func TestPrune(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		in := h.in
		id := uuid.New()
		run := func() bool {
			ok, err := in.Process(ctx, h.db, "billing", id, func(ctx context.Context, tx *sql.Tx) error { return h.effect(ctx, tx, id) })
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !run() || run() {
			t.Fatal("first delivery not handled or second not skipped")
		}
		if n, err := in.PruneBefore(ctx, h.db, time.Now().Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("Prune = %d, %v; want 1", n, err)
		}
		if !run() {
			t.Fatal("after Prune the event was not handled again")
		}
	})
}

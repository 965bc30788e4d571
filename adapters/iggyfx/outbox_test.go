package iggyfx_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/iggyfx"
	"github.com/rustok/rustok-iggy/adapters/internal/pgtest"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// With events.outbox.enabled the module's start runs the relay, and its
// stop drains it: every message in the broker is a row marked delivered
// (nothing published was left unmarked), the lock is released, and a
// second start relays the rest, each event once.
func TestModuleOutboxRelay(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testModuleOutboxRelay(t, "    driver: sqlite\n    dsn: "+filepath.Join(t.TempDir(), "outbox.db")+"\n")
	})
	t.Run("postgres", func(t *testing.T) {
		dsn, table := pgtest.DSN(t), pgtest.Table(t)
		t.Cleanup(func() {
			if db, err := sql.Open("pgx", dsn); err == nil {
				_, _ = db.Exec(`DROP TABLE IF EXISTS ` + table + `, ` + table + `_version`)
				_ = db.Close()
			}
		})
		testModuleOutboxRelay(t, fmt.Sprintf("    driver: postgres\n    dsn: %q\n    table: %s\n", dsn, table))
	})
}

func testModuleOutboxRelay(t *testing.T, store string) {
	const events = 3000
	path := writeConfig(t, "  outbox:\n    enabled: true\n    batch_size: 500\n    poll_interval: 5ms\n"+store)
	start := func() (*fxtest.App, *compose.App, *outbox.Outbox) {
		var app *compose.App
		var w *outbox.Outbox
		fxApp := fxtest.New(t, iggyfx.Module(iggyfx.WithConfigFile(path), iggyfx.WithoutOTelEnv()), fx.Populate(&app, &w))
		fxApp.RequireStart()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := iggyfx.WaitReady(ctx, app); err != nil {
			t.Fatal(err)
		}
		if w == nil || app.Outbox() == nil || app.Outbox().Relay() == nil {
			t.Fatalf("writer %v, outbox %v: want both and a relay", w, app.Outbox())
		}
		return fxApp, app, w
	}

	fxApp, app, w := start()
	ctx := context.Background()
	ids := map[uuid.UUID]bool{}
	tenants := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	tx, err := app.Outbox().DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]core.Envelope, events)
	for i := range evs {
		evs[i] = core.NewEnvelope(tenants[i%3], "order.created", core.Event{Type: "A"})
		ids[evs[i].ID] = true
	}
	if err := w.Write(ctx, tx, evs...); err != nil {
		t.Fatal(err)
	}
	// Stop as soon as the first event arrived: the relay is mid-stream.
	first := make(chan struct{})
	var once sync.Once
	sub, err := app.Transport().Subscribe(ctx, "g", func(context.Context, transport.Delivery) error {
		once.Do(func() { close(first) })
		return nil
	}, transport.SubscribeOptions{StartFrom: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-first:
	case <-time.After(time.Minute):
		t.Fatal("no event relayed within a minute")
	}
	_ = sub.Stop(ctx)
	r := app.Outbox().Relay()
	fxApp.RequireStop()
	if s := r.Status(); s.State != outbox.StateStopped {
		t.Errorf("relay after stop: %+v", s)
	}

	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	delivered := countRows(t, cfg, "delivered_at IS NOT NULL")
	if stored := storedMessages(t, cfg); stored != delivered {
		t.Errorf("after stop %d messages in the broker, %d rows marked delivered: the stop left publishes unmarked", stored, delivered)
	}
	t.Logf("stopped after %d of %d events relayed", delivered, events)
	if delivered == 0 || delivered > events {
		t.Errorf("%d rows delivered of %d", delivered, events)
	}

	// The second start relays the rest; the first one's lock is free.
	fxApp, app, _ = start()
	got := map[uuid.UUID]int{}
	var mu sync.Mutex
	all := make(chan struct{})
	sub, err = app.Transport().Subscribe(ctx, "g2", func(_ context.Context, d transport.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		got[d.Envelope.ID]++
		if len(got) == events {
			select {
			case <-all:
			default:
				close(all)
			}
		}
		return nil
	}, transport.SubscribeOptions{StartFrom: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%d of %d events after the restart", len(got), events)
	}
	_ = sub.Stop(ctx)
	fxApp.RequireStop()
	for id := range ids {
		if got[id] != 1 {
			t.Fatalf("event %s delivered %d times, want 1", id, got[id])
		}
	}
	if n := storedMessages(t, cfg); n != events {
		t.Errorf("%d messages in the broker, want %d", n, events)
	}
}

func countRows(t *testing.T, cfg config.Config, where string) int {
	t.Helper()
	oc := cfg.Events.Outbox
	var db *sql.DB
	var err error
	if oc.Driver == "postgres" {
		db, err = sql.Open("pgx", oc.DSN.Reveal())
	} else {
		db, err = outbox.OpenSQLite(oc.DSN.Reveal())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + oc.Table + ` WHERE ` + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// storedMessages opens the (stopped) embedded broker's data directory and
// counts the domain topic's messages.
func storedMessages(t *testing.T, cfg config.Config) int {
	t.Helper()
	b, err := embedded.Open(context.Background(), embedded.Config{DataDir: cfg.Events.Iggy.Embedded.DataDir, Fsync: "never"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	info, err := b.Topic(context.Background(), cfg.Events.Iggy.Topology.StreamName, transport.TopicDomain)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range info.Partitions {
		n += int(p.MessagesCount)
	}
	return n
}

package compose_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/httpapi"
	"github.com/rustok/rustok-iggy/adapters/internal/pgtest"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// outboxConfig is testConfig with the outbox enabled on a SQLite file of
// the test.
func outboxConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := testConfig(t)
	cfg.Events.Outbox.Enabled = true
	cfg.Events.Outbox.DSN = config.Secret(filepath.Join(t.TempDir(), "db", "outbox.db"))
	cfg.Events.Outbox.PollInterval = 5 * time.Millisecond
	return cfg
}

// eachDriver runs f with an outbox config on SQLite and on PostgreSQL
// (skipped without a server, failed in CI), each with its own table.
func eachDriver(t *testing.T, f func(t *testing.T, cfg config.Config)) {
	t.Run("sqlite", func(t *testing.T) { f(t, outboxConfig(t)) })
	t.Run("postgres", func(t *testing.T) {
		cfg := outboxConfig(t)
		cfg.Events.Outbox.Driver = "postgres"
		cfg.Events.Outbox.DSN = config.Secret(pgtest.DSN(t))
		cfg.Events.Outbox.Table = pgtest.Table(t)
		t.Cleanup(func() {
			db, err := sql.Open("pgx", cfg.Events.Outbox.DSN.Reveal())
			if err == nil {
				_, _ = db.Exec(`DROP TABLE IF EXISTS ` + cfg.Events.Outbox.Table + `, ` + cfg.Events.Outbox.Table + `_version`)
				_ = db.Close()
			}
		})
		f(t, cfg)
	})
}

// writeEvents commits events into the App's outbox in one transaction.
func writeEvents(t *testing.T, app *compose.App, events ...core.Envelope) {
	t.Helper()
	ctx := context.Background()
	tx, err := app.Outbox().DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.OutboxWriter().Write(ctx, tx, events...); err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// awaitIDs subscribes to the domain topic and returns a channel closed
// once every id was delivered.
func awaitIDs(t *testing.T, tr *transport.Transport, ids ...uuid.UUID) <-chan struct{} {
	t.Helper()
	var mu sync.Mutex
	want := map[uuid.UUID]bool{}
	for _, id := range ids {
		want[id] = true
	}
	done := make(chan struct{})
	sub, err := tr.Subscribe(context.Background(), "g-"+uuid.NewString()[:8], func(ctx context.Context, d transport.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		if want[d.Envelope.ID] {
			delete(want, d.Envelope.ID)
			if len(want) == 0 {
				close(done)
			}
		}
		return nil
	}, transport.SubscribeOptions{StartFrom: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })
	return done
}

func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("%s within a minute", what)
	}
}

// requireLockReleased takes the relay lock of cfg's outbox: at once on
// SQLite (the flock is released synchronously), waiting for it on
// PostgreSQL (the session of a closed connection ends asynchronously).
func requireLockReleased(t *testing.T, cfg config.Config) {
	t.Helper()
	oc := cfg.Events.Outbox
	if oc.Driver == "sqlite" {
		active, err := outbox.SQLiteRelayActive(oc.DSN.Reveal() + "-relay.lock")
		if err != nil || active {
			t.Fatalf("SQLite relay lock still held after Shutdown (active %v, %v)", active, err)
		}
		return
	}
	ob, err := outbox.New(outbox.Config{Dialect: outbox.Postgres, Table: oc.Table})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, oc.DSN.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// pg_advisory_lock waits for the holder's session to end.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, ob.RelayLockKey()); err != nil {
		t.Fatalf("relay lock not released within 30s of Shutdown: %v", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, ob.RelayLockKey()); err != nil {
		t.Fatal(err)
	}
}

// An App with events.outbox.enabled opens the outbox in Start, runs the
// relay (committed events reach the broker), shows it in /health and
// /metrics, and stops it with Shutdown, releasing the relay lock.
func TestAppRunsOutboxRelay(t *testing.T) {
	eachDriver(t, func(t *testing.T, cfg config.Config) {
		ctx := context.Background()
		app, err := compose.New(ctx, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if app.OutboxWriter() == nil || app.Outbox() != nil {
			t.Fatalf("before Start: writer %v, outbox %v; want a writer and no outbox", app.OutboxWriter(), app.Outbox())
		}
		if err := app.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stopped := false
		t.Cleanup(func() {
			if !stopped {
				_ = app.Shutdown(ctx)
			}
		})
		ob := app.Outbox()
		if ob == nil || ob.Relay() == nil {
			t.Fatal("no outbox or no relay after Start")
		}
		e1, e2 := core.NewEnvelope(uuid.New(), "order.created", core.Event{Type: "A"}), core.NewEnvelope(uuid.New(), "order.paid", core.Event{Type: "B"})
		got := awaitIDs(t, app.Transport(), e1.ID, e2.ID)
		writeEvents(t, app, e1, e2)
		await(t, got, "the committed events did not arrive")

		rep := app.Health().Check(ctx)
		var check *transport.Check
		for i := range rep.Checks {
			if rep.Checks[i].Name == compose.CheckName {
				check = &rep.Checks[i]
			}
		}
		if check == nil {
			t.Fatalf("no outbox check in %v", rep)
		}
		// (The counts may still be 0: the relay marks and counts after
		// the consumer may have seen the events; Status is checked after
		// Shutdown.)
		if check.Status != transport.Healthy || !strings.Contains(check.Detail, "relay active") || !strings.Contains(check.Detail, " pending, oldest ") {
			t.Errorf("outbox check %+v, want healthy with the relay active and the lag", *check)
		}

		rec := httptest.NewRecorder()
		app.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		table := `rustok_outbox_table="` + ob.Outbox.Table() + `"`
		for _, name := range []string{httpapi.PromOutboxPending, httpapi.PromOutboxOldestPendingAge, httpapi.PromOutboxDead,
			httpapi.PromOutboxRelayed, httpapi.PromOutboxDeadLettered, httpapi.PromOutboxRelayState,
			httpapi.PromOutboxRelayFailures, httpapi.PromOutboxRelayLastError} {
			if !metricLine(string(body), name+"{", "", table) {
				t.Errorf("/metrics has no %s of table %s", name, ob.Outbox.Table())
			}
		}
		if !metricLine(string(body), httpapi.PromOutboxRelayState+"{", "1", `rustok_outbox_relay_state="active"`) ||
			!metricLine(string(body), httpapi.PromOutboxRelayState+"{", "0", `rustok_outbox_relay_state="standby"`) {
			t.Errorf("/metrics: state active = 1, standby = 0 not found in\n%s", grep(string(body), "rustok_outbox"))
		}

		r := ob.Relay()
		if err := app.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		stopped = true
		if s := r.Status(); s.State != outbox.StateStopped || s.Relayed != 2 {
			t.Errorf("relay after Shutdown: %+v", s)
		}
		requireLockReleased(t, cfg)
	})
}

// metricLine reports whether a line of body starts with prefix, contains
// every extra string and ends with the value (any value when "").
func metricLine(body, prefix, value string, extra ...string) bool {
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, prefix) || (value != "" && !strings.HasSuffix(l, " "+value)) {
			continue
		}
		ok := true
		for _, x := range extra {
			ok = ok && strings.Contains(l, x)
		}
		if ok {
			return true
		}
	}
	return false
}

func grep(body, s string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// signal is a slog handler that closes ch at the first record whose
// message is msg.
type signal struct {
	msg  string
	once sync.Once
	ch   chan struct{}
}

func (s *signal) Enabled(context.Context, slog.Level) bool { return true }
func (s *signal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == s.msg {
		s.once.Do(func() { close(s.ch) })
	}
	return nil
}
func (s *signal) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *signal) WithGroup(string) slog.Handler      { return s }

// Health is Degraded when more rows than max_pending are pending (here no
// relay runs: WithoutOutboxRelay), and when the relay is failing.
func TestAppOutboxHealthDegraded(t *testing.T) {
	eachDriver(t, func(t *testing.T, cfg config.Config) {
		ctx := context.Background()
		cfg.Events.Outbox.MaxPending = 2
		app := startApp(t, cfg, compose.WithoutOutboxRelay())
		if app.Outbox() == nil || app.Outbox().Relay() != nil {
			t.Fatal("WithoutOutboxRelay: want an outbox without a relay")
		}
		var evs []core.Envelope
		for range 3 {
			evs = append(evs, core.NewEnvelope(uuid.New(), "order.created", core.Event{Type: "A"}))
		}
		writeEvents(t, app, evs...)
		rep := app.Health().Check(ctx)
		c := rep.Checks[len(rep.Checks)-1]
		if rep.Status != transport.Degraded || c.Name != compose.CheckName || c.Status != transport.Degraded ||
			!strings.Contains(c.Detail, "3 events pending (max_pending 2)") || !strings.Contains(c.Detail, "no relay in this process") {
			t.Errorf("report %v, want degraded by the outbox's pending rows", rep)
		}
	})
	t.Run("failing", func(t *testing.T) {
		ctx := context.Background()
		cfg := outboxConfig(t)
		sig := &signal{msg: "relay failure", ch: make(chan struct{})}
		app, err := compose.New(ctx, cfg, slog.New(sig))
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer app.Shutdown(ctx)
		if rep := app.Health().Check(ctx); rep.Status != transport.Healthy {
			t.Fatalf("before the failure: %v", rep)
		}
		// The relay's next read fails: the table is gone.
		if _, err := app.Outbox().DB.Exec(`DROP TABLE ` + app.Outbox().Outbox.Table()); err != nil {
			t.Fatal(err)
		}
		await(t, sig.ch, "the relay reported no failure")
		rep := app.Health().Check(ctx)
		c := rep.Checks[len(rep.Checks)-1]
		if rep.Status != transport.Degraded || c.Status != transport.Degraded || !strings.Contains(c.Detail, "relay failing") || !strings.Contains(c.Detail, "no such table") {
			t.Errorf("report %v, want degraded: relay failing, with its error", rep)
		}
	})
}

// The configured outbox (SQLite in the data directory) relays a committed
// event into the App's embedded broker; dedup is on for the broker.
func TestOutboxFromConfig(t *testing.T) {
	cfg := outboxConfig(t)
	cfg.Events.Outbox.MaxPendingAge = time.Nanosecond
	if d := compose.EmbeddedConfig(cfg).DedupWindow; d != 10*time.Minute {
		t.Fatalf("embedded dedup window %s, want 10m with the outbox enabled", d)
	}
	ctx := context.Background()
	app := startApp(t, cfg, compose.WithoutTCPListener(), compose.WithoutOutboxRelay())
	ob, err := compose.OpenOutbox(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Shutdown(ctx)

	e := core.NewEnvelope(uuid.New(), "order.created", core.Event{Type: "OrderCreated"})
	tx, err := ob.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Outbox.Write(ctx, tx, e); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if h := ob.Health(ctx); len(h) == 0 {
		t.Error("health has no reason with an event pending past max_pending_age")
	}
	got := awaitIDs(t, app.Transport(), e.ID)
	if _, err := ob.StartRelay(ctx, app.Transport(), nil); err == nil {
		t.Fatal("StartRelay with dead_letter dlq and no broker: no error")
	}
	if _, err := ob.StartRelay(ctx, app.Transport(), app.Broker()); err != nil {
		t.Fatal(err)
	}
	await(t, got, "the relayed event did not arrive")
}

// A Start whose outbox database cannot be reached fails with
// core.ErrUnavailable (the fx module retries it); one with a malformed DSN
// with core.ErrInvalid (it does not).
func TestAppOutboxUnreachable(t *testing.T) {
	ctx := context.Background()
	cfg := outboxConfig(t)
	cfg.Events.Outbox.Driver = "postgres"
	cfg.Events.Outbox.DSN = "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	app, err := compose.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(ctx)
	if err := app.Start(ctx); err == nil || compose.Permanent(err) || !strings.Contains(err.Error(), "events.outbox") {
		t.Errorf("Start with an unreachable outbox database: %v, want a retryable error naming events.outbox", err)
	}
	cfg.Events.Outbox.DSN = "postgres://a b"
	cfg.Events.Iggy.Embedded.DataDir = t.TempDir()
	app2, err := compose.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app2.Shutdown(ctx)
	if err := app2.Start(ctx); err == nil || !compose.Permanent(err) {
		t.Errorf("Start with a malformed DSN: %v, want a permanent error", err)
	}
}

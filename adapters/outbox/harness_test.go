package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/internal/pgtest"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// harness is one database behind the outbox.
type harness struct {
	dialect  outbox.Dialect
	o        *outbox.Outbox
	db       *sql.DB
	dsn      string // postgres
	lockPath string // sqlite
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// eachDialect runs f against SQLite (always) and PostgreSQL (skipped
// without a server, failed in CI), each with a fresh, migrated table.
func eachDialect(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Run("sqlite", func(t *testing.T) { f(t, sqliteHarness(t, t.TempDir())) })
	t.Run("postgres", func(t *testing.T) { f(t, pgHarness(t, "")) })
}

// sqliteHarness opens dir/app.db with a fresh table.
func sqliteHarness(t *testing.T, dir string) *harness {
	t.Helper()
	db, err := outbox.OpenSQLite(filepath.Join(dir, "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return newHarness(t, outbox.SQLite, db, "", filepath.Join(dir, "app.db-relay.lock"), "")
}

// pgHarness connects to the test server with a fresh table (or the named
// one).
func pgHarness(t *testing.T, table string) *harness {
	t.Helper()
	dsn := pgtest.DSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return newHarness(t, outbox.Postgres, db, dsn, "", table)
}

func newHarness(t *testing.T, d outbox.Dialect, db *sql.DB, dsn, lock, table string) *harness {
	t.Helper()
	if table == "" {
		table = pgtest.Table(t)
	}
	o, err := outbox.New(outbox.Config{Dialect: d, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if d == outbox.Postgres {
		t.Cleanup(func() {
			_, _ = db.Exec(`DROP TABLE IF EXISTS ` + table + `, ` + table + `_version`)
		})
	}
	return &harness{dialect: d, o: o, db: db, dsn: dsn, lockPath: lock}
}

func (h *harness) relay(t *testing.T, pub core.EventTransport, cfg outbox.RelayConfig) *outbox.Relay {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.StandbyInterval == 0 {
		cfg.StandbyInterval = 10 * time.Millisecond
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 20*time.Millisecond
	}
	var r *outbox.Relay
	var err error
	if h.dialect == outbox.Postgres {
		r, err = outbox.NewPostgresRelay(h.o, h.dsn, pub, cfg)
	} else {
		r, err = outbox.NewSQLiteRelay(h.o, h.db, h.lockPath, pub, cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// write commits one transaction with events through database/sql.
func (h *harness) write(t testing.TB, events ...core.Envelope) {
	t.Helper()
	ctx := context.Background()
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.o.Write(ctx, tx, events...); err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) count(t testing.TB, where string) int {
	t.Helper()
	var n int
	if err := h.db.QueryRow(`SELECT count(*) FROM ` + h.o.Table() + ` WHERE ` + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func pgxConn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// event is tenant's n-th event.
func event(tenant uuid.UUID, n int) core.Envelope {
	return core.NewEnvelope(tenant, "order.created", core.Event{Type: "OrderCreated", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))})
}

// broker is an embedded broker with message deduplication and a transport
// over it.
type broker struct {
	b  *embedded.Broker
	tr *transport.Transport
}

const partitions = 3

func newBroker(t *testing.T, dedup time.Duration) *broker {
	t.Helper()
	b, err := embedded.Open(context.Background(), embedded.Config{DataDir: t.TempDir(), Fsync: "never", DedupWindow: dedup, TCPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transport.New(transport.Config{Topology: transport.TopologyConfig{DomainPartitions: partitions}}, b, codec.JSON{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tr.Shutdown(context.Background())
		_ = b.Close()
	})
	return &broker{b: b, tr: tr}
}

// stored is one event as read back from the broker.
type stored struct {
	id     uuid.UUID
	tenant uuid.UUID
	n      int
}

// all reads every message of the domain topic, partition by partition.
func (k *broker) all(t *testing.T) []stored {
	t.Helper()
	var out []stored
	for p := range uint32(partitions) {
		off := uint64(0)
		for {
			res, err := k.b.Poll(context.Background(), core.PollRequest{Stream: "rustok", Topic: transport.TopicDomain, Partition: p, Strategy: core.FromOffset(off), Count: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Messages) == 0 {
				break
			}
			for _, m := range res.Messages {
				e, err := codec.JSON{}.Decode(m.Payload)
				if err != nil {
					t.Fatal(err)
				}
				var d struct{ N int }
				if err := json.Unmarshal(e.Event.Data, &d); err != nil {
					t.Fatal(err)
				}
				out = append(out, stored{id: uuid.UUID(core.UUIDFromMessageID(m.ID)), tenant: e.TenantID, n: d.N})
				off = m.Offset + 1
			}
		}
	}
	return out
}

// checkExactlyOnceInOrder checks that the broker holds each of the want
// events once and each tenant's events in increasing n.
func checkExactlyOnceInOrder(t *testing.T, got []stored, want map[uuid.UUID]bool) {
	t.Helper()
	seen := map[uuid.UUID]int{}
	last := map[uuid.UUID]int{}
	for _, s := range got {
		seen[s.id]++
		if !want[s.id] {
			t.Errorf("event %s in the broker was never committed", s.id)
		}
		if l, ok := last[s.tenant]; ok && s.n <= l {
			t.Errorf("tenant %s: event n=%d after n=%d", s.tenant, s.n, l)
		}
		last[s.tenant] = s.n
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("event %s stored %d times, want 1", id, seen[id])
		}
	}
}

// watch wraps a publisher: it records what was published and closes done
// once every id in want was published successfully at least once. after,
// if set, may replace the result. It offers PublishEncoded (the relay's
// preferred path) when the publisher has it; batchOnly hides it.
type watch struct {
	core.EventTransport
	mu     sync.Mutex
	want   map[uuid.UUID]bool
	got    map[uuid.UUID]int
	done   chan struct{}
	closed bool
	after  func(n int, err error) error
}

func newWatch(pub core.EventTransport, want map[uuid.UUID]bool) *watch {
	return &watch{EventTransport: pub, want: want, got: map[uuid.UUID]int{}, done: make(chan struct{})}
}

// batchOnly is a publisher without PublishEncoded: the relay decodes rows
// and calls PublishBatch.
type batchOnly struct{ core.EventTransport }

func (w *watch) record(ids []uuid.UUID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		w.got[id]++
	}
	if !w.closed && len(w.want) > 0 {
		for id := range w.want {
			if w.got[id] == 0 {
				return
			}
		}
		w.closed = true
		close(w.done)
	}
}

func (w *watch) PublishBatch(ctx context.Context, events []core.Envelope) error {
	err := w.EventTransport.PublishBatch(ctx, events)
	if err == nil {
		ids := make([]uuid.UUID, len(events))
		for i := range events {
			ids[i] = events[i].ID
		}
		w.record(ids)
	}
	if w.after != nil {
		err = w.after(len(events), err)
	}
	return err
}

func (w *watch) PublishEncoded(ctx context.Context, events []transport.EncodedEvent) error {
	ep, ok := w.EventTransport.(outbox.EncodedPublisher)
	if !ok {
		return errors.New("watch: the publisher has no PublishEncoded")
	}
	err := ep.PublishEncoded(ctx, events)
	if err == nil {
		ids := make([]uuid.UUID, len(events))
		for i := range events {
			ids[i] = events[i].ID
		}
		w.record(ids)
	}
	if w.after != nil {
		err = w.after(len(events), err)
	}
	return err
}

func (w *watch) wait(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(2 * time.Minute):
		t.Fatal("relay did not publish every event within 2 minutes")
	}
}

package outbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

var (
	tenantA = uuid.MustParse("0a000000-0000-4000-8000-00000000000a")
	tenantB = uuid.MustParse("0b000000-0000-4000-8000-00000000000b")
	tenantC = uuid.MustParse("0c000000-0000-4000-8000-00000000000c")
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []outbox.Config{
		{},
		{Dialect: "mysql"},
		{Dialect: outbox.Postgres, Table: "Bad-Name"},
		{Dialect: outbox.SQLite, Table: "s.t"},
		{Dialect: outbox.Postgres, Table: "a.b.c"},
		{Dialect: outbox.Postgres, Table: "x; DROP TABLE y"},
	} {
		if _, err := outbox.New(c); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", c, err)
		}
	}
	if _, err := outbox.New(outbox.Config{Dialect: outbox.Postgres, Table: "events.outbox_1"}); err != nil {
		t.Errorf("schema-qualified table: %v", err)
	}
	if err := (outbox.RelayConfig{BatchSize: -1, MinBackoff: time.Second, MaxBackoff: time.Millisecond}).Validate(); err == nil {
		t.Error("bad relay config accepted")
	}
}

// Committed writes are stored with their target; rolled-back and invalid
// writes leave nothing.
func TestWriteCommitRollback(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		committed := []core.Envelope{event(tenantA, 1), event(tenantB, 1), event(tenantA, 2)}
		committed[1].TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		committed[2].EventType = "system.tick"
		h.write(t, committed...)

		tx, err := h.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.o.Write(ctx, tx, event(tenantA, 3), event(tenantC, 1)); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}

		tx, err = h.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		bad := event(tenantA, 4)
		bad.TenantID = uuid.Nil
		err = h.o.Write(ctx, tx, event(tenantA, 5), bad)
		if !errors.Is(err, core.ErrInvalidEnvelope) {
			t.Fatalf("Write with an invalid event = %v, want ErrInvalidEnvelope", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}

		if n := h.count(t, "1=1"); n != 3 {
			t.Fatalf("%d rows, want the 3 committed", n)
		}
		rows, err := h.db.Query(`SELECT event_id, tenant_id, event_type, topic, partition_key, trace_id, content_type, payload FROM ` + h.o.Table() + ` ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		i := 0
		for rows.Next() {
			var id, tenant, typ, topic, key, ct string
			var trace *string
			var payload []byte
			if err := rows.Scan(&id, &tenant, &typ, &topic, &key, &trace, &ct, &payload); err != nil {
				t.Fatal(err)
			}
			want := committed[i]
			wantTopic := "domain"
			if i == 2 {
				wantTopic = "system"
			}
			if id != want.ID.String() || tenant != want.TenantID.String() || key != tenant || typ != want.EventType || topic != wantTopic || ct != codec.ContentTypeJSON {
				t.Errorf("row %d: %s %s %s %s %s %s", i, id, tenant, typ, topic, key, ct)
			}
			if (trace == nil) != (want.TraceID == "") || (trace != nil && *trace != want.TraceID) {
				t.Errorf("row %d: trace_id %v, want %q", i, trace, want.TraceID)
			}
			got, err := codec.JSON{}.Decode(payload)
			if err != nil || got.ID != want.ID || string(got.Event.Data) != string(want.Event.Data) || got.TraceID != want.TraceID {
				t.Errorf("row %d: payload decodes to %+v, %v", i, got, err)
			}
			i++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	})
}

// The pgx front end writes the same rows, and rolls back the same way.
func TestWritePgx(t *testing.T) {
	{
		h := pgHarness(t, "")
		ctx := context.Background()
		conn := pgxConn(t, h.dsn)
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.o.WritePgx(ctx, tx, event(tenantA, 1), event(tenantB, 1)); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		tx, err = conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.o.WritePgx(ctx, tx, event(tenantC, 1)); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if n := h.count(t, "1=1"); n != 2 {
			t.Fatalf("%d rows, want 2", n)
		}
		if err := h.o.MigratePgx(ctx, conn); err != nil {
			t.Fatalf("MigratePgx on a migrated table: %v", err)
		}
	}
}

// The port: the transaction travels in the context.
func TestTransport(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		tr := h.o.Transport()
		if tr.ReliabilityLevel() != core.Outbox {
			t.Fatalf("ReliabilityLevel = %v", tr.ReliabilityLevel())
		}
		if err := tr.Publish(ctx, event(tenantA, 1)); !errors.Is(err, outbox.ErrNoTx) {
			t.Fatalf("Publish without a tx = %v, want ErrNoTx", err)
		}
		tx, err := h.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		tctx := outbox.WithTx(ctx, tx)
		if err := tr.Publish(tctx, event(tenantA, 1)); err != nil {
			t.Fatal(err)
		}
		if err := tr.PublishBatch(tctx, []core.Envelope{event(tenantA, 2), event(tenantB, 1)}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if n := h.count(t, "1=1"); n != 3 {
			t.Fatalf("%d rows, want 3", n)
		}
	})
}

// Migrate is idempotent and refuses a newer schema.
func TestMigrate(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		if err := h.o.Migrate(ctx, h.db); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if _, err := h.db.Exec(`INSERT INTO ` + h.o.Table() + `_version (version) VALUES (99)`); err != nil {
			t.Fatal(err)
		}
		if err := h.o.Migrate(ctx, h.db); !errors.Is(err, outbox.ErrSchemaNewer) {
			t.Fatalf("Migrate over version 99 = %v, want ErrSchemaNewer", err)
		}
	})
}

// Writing to a table that was never migrated is a clear error.
func TestWriteMissingTable(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		o, err := outbox.New(outbox.Config{Dialect: h.dialect, Table: "never_migrated"})
		if err != nil {
			t.Fatal(err)
		}
		tx, err := h.db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		if err := o.Write(context.Background(), tx, event(tenantA, 1)); err == nil {
			t.Fatal("Write to a missing table succeeded")
		}
	})
}

// writeMany commits txs transactions of per events (numbered from from+1)
// over three tenants, from
// three goroutines (one per tenant, so each tenant's n is increasing in
// commit order), and returns the ids.
func writeMany(t *testing.T, h *harness, from, txs, per int) map[uuid.UUID]bool {
	t.Helper()
	var mu sync.Mutex
	ids := map[uuid.UUID]bool{}
	var wg sync.WaitGroup
	for _, tenant := range []uuid.UUID{tenantA, tenantB, tenantC} {
		wg.Go(func() {
			n := from
			for range txs {
				evs := make([]core.Envelope, per)
				for j := range evs {
					n++
					evs[j] = event(tenant, n)
				}
				h.write(t, evs...)
				mu.Lock()
				for _, e := range evs {
					ids[e.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ids
}

// The relay delivers every committed event once, in per-tenant order, and
// marks it delivered.
func TestRelayDelivers(t *testing.T) {
	for _, decode := range []bool{false, true} {
		t.Run(map[bool]string{false: "encoded", true: "decoded"}[decode], func(t *testing.T) { testRelayDelivers(t, decode) })
	}
}

func testRelayDelivers(t *testing.T, decode bool) {
	eachDialect(t, func(t *testing.T, h *harness) {
		k := newBroker(t, time.Minute)
		ids := writeMany(t, h, 0, 20, 7)
		w := newWatch(k.tr, ids)
		var pub core.EventTransport = w
		if decode {
			pub = batchOnly{w}
		}
		r := h.relay(t, pub, outbox.RelayConfig{BatchSize: 50, PollInterval: 10 * time.Millisecond})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.wait(t)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		checkExactlyOnceInOrder(t, k.all(t), ids)
		if n := h.count(t, "delivered_at IS NULL"); n != 0 {
			t.Errorf("%d rows still pending", n)
		}
		st := r.Status()
		if st.State != outbox.StateStopped || st.Relayed != uint64(len(ids)) {
			t.Errorf("status %+v, want stopped with %d relayed", st, len(ids))
		}
		s, err := h.o.Stats(context.Background(), h.db)
		if err != nil {
			t.Fatal(err)
		}
		if s.Pending != 0 || s.Dead != 0 || s.DeliveredLastMinute != int64(len(ids)) {
			t.Errorf("stats %+v", s)
		}
	})
}

// A publish that stored the events but reported failure (a lost ack, or a
// relay stopped before marking) is republished with the same message ids:
// the broker's deduplication keeps one copy; without it the duplicates are
// there (at least once).
func TestRelayRepublishes(t *testing.T) {
	for _, dedup := range []time.Duration{time.Minute, 0} {
		name := "dedup"
		if dedup == 0 {
			name = "nodedup"
		}
		t.Run(name, func(t *testing.T) {
			eachDialect(t, func(t *testing.T, h *harness) {
				k := newBroker(t, dedup)
				ids := writeMany(t, h, 0, 4, 5)
				w := newWatch(k.tr, ids)
				var mu sync.Mutex
				lost := 0
				w.after = func(_ int, err error) error {
					mu.Lock()
					defer mu.Unlock()
					if err == nil && lost < 2 {
						lost++
						return core.ErrUnavailable
					}
					return err
				}
				r := h.relay(t, w, outbox.RelayConfig{BatchSize: 8, PollInterval: 10 * time.Millisecond})
				if err := r.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				w.wait(t)
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				got := k.all(t)
				if dedup > 0 {
					checkExactlyOnceInOrder(t, got, ids)
				} else if len(got) <= len(ids) {
					t.Errorf("without dedup %d messages for %d events: the lost acks were not republished", len(got), len(ids))
				}
				if r.Status().Failures != 0 && r.Status().LastError == "" {
					t.Errorf("status %+v", r.Status())
				}
			})
		})
	}
}

// A row whose payload does not decode is marked dead (and, with a
// DeadLetterer, stored in the DLQ with reason decode) and does not block
// the rows after it.
func TestRelayDeadRow(t *testing.T) {
	for _, lettered := range []bool{false, true} {
		t.Run(map[bool]string{false: "mark", true: "dlq"}[lettered], func(t *testing.T) { testRelayDeadRow(t, lettered) })
	}
}

func testRelayDeadRow(t *testing.T, lettered bool) {
	eachDialect(t, func(t *testing.T, h *harness) {
		k := newBroker(t, time.Minute)
		first := writeMany(t, h, 0, 1, 2)
		q := `INSERT INTO ` + h.o.Table() + ` (event_id, tenant_id, correlation_id, event_type, topic, partition_key, content_type, payload, created_at) VALUES ($1, $2, $1, 'x', 'domain', $3, 'application/json', $4, $5)`
		var created any = time.Now().UnixMicro()
		if h.dialect == outbox.Postgres {
			created = time.Now()
		} else {
			q = `INSERT INTO ` + h.o.Table() + ` (event_id, tenant_id, correlation_id, event_type, topic, partition_key, content_type, payload, created_at) VALUES (?1, ?2, ?1, 'x', 'domain', ?3, 'application/json', ?4, ?5)`
		}
		badID := uuid.New()
		if _, err := h.db.Exec(q, badID.String(), tenantA.String(), tenantA.String(), []byte(`{"not":"an envelope"`), created); err != nil {
			t.Fatal(err)
		}
		second := writeMany(t, h, 10, 1, 2)
		for id := range second {
			first[id] = true
		}
		w := newWatch(k.tr, first)
		// Through PublishBatch: the relay decodes, so it sees the bad row.
		cfg := outbox.RelayConfig{PollInterval: 10 * time.Millisecond}
		if lettered {
			cfg.DeadLetter = outbox.NewBrokerDLQ(k.b, "rustok")
		}
		r := h.relay(t, batchOnly{w}, cfg)
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.wait(t)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		checkExactlyOnceInOrder(t, k.all(t), first)
		if n := h.count(t, "dead_at IS NOT NULL AND last_error IS NOT NULL"); n != 1 {
			t.Errorf("%d dead rows, want 1", n)
		}
		if r.Status().Dead != 1 {
			t.Errorf("status %+v, want 1 dead", r.Status())
		}
		es, err := k.tr.DLQ().List(context.Background(), transport.DLQFilter{})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !lettered && len(es) != 0:
			t.Errorf("%d DLQ entries without a DeadLetterer", len(es))
		case lettered && (len(es) != 1 || es[0].ID != badID || es[0].Reason != transport.DLQReasonDecode || es[0].HeaderErr != nil || es[0].Attempts != 1):
			t.Errorf("DLQ entries %+v, want one of %s with reason decode", es, badID)
		}
	})
}

// Delivered rows past the retention are deleted.
func TestRelayPrunes(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		k := newBroker(t, 0)
		ids := writeMany(t, h, 0, 1, 3)
		w := newWatch(k.tr, ids)
		r := h.relay(t, w, outbox.RelayConfig{PollInterval: 10 * time.Millisecond, Retention: time.Nanosecond, PruneInterval: time.Nanosecond})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.wait(t)
		// After the batch is marked, the next loop prunes it; writing one
		// more event and waiting for it proves a later loop ran.
		more := event(tenantA, 100)
		w2 := newWatch(k.tr, map[uuid.UUID]bool{more.ID: true})
		w.mu.Lock()
		w.want, w.done, w.closed = w2.want, w2.done, false
		w.mu.Unlock()
		h.write(t, more)
		w.wait(t)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if n := h.count(t, "delivered_at IS NOT NULL AND event_id <> '"+more.ID.String()+"'"); n != 0 {
			t.Errorf("%d delivered rows kept past retention", n)
		}
	})
}

// A large transaction is inserted in several statements and relayed whole.
func TestLargeTransaction(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		k := newBroker(t, 0)
		evs := make([]core.Envelope, 2500)
		ids := map[uuid.UUID]bool{}
		for i := range evs {
			evs[i] = event([]uuid.UUID{tenantA, tenantB, tenantC}[i%3], i)
			ids[evs[i].ID] = true
		}
		h.write(t, evs...)
		if n := h.count(t, "1=1"); n != len(evs) {
			t.Fatalf("%d rows, want %d", n, len(evs))
		}
		w := newWatch(k.tr, ids)
		r := h.relay(t, w, outbox.RelayConfig{PollInterval: 10 * time.Millisecond})
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.wait(t)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		checkExactlyOnceInOrder(t, k.all(t), ids)
	})
}

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/inbox"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// Sizes of the demo's outbox part.
const (
	demoOutboxTenants   = 4
	demoOutboxCommitted = 10 // orders per tenant that commit
	demoOutboxRolled    = 3  // per tenant that roll back
	demoOutboxBatch     = 12 // relay batch size: the first relay dies after one batch
)

// demoCrashPub publishes the first batch and then fails as if the process
// died before marking it: nothing after that reaches the broker.
type demoCrashPub struct {
	core.EventTransport
	mu      sync.Mutex
	crashed bool
	sent    int
	done    chan struct{}
}

var errDemoCrash = errors.New("demo: relay stopped between publish and mark")

func (p *demoCrashPub) PublishBatch(ctx context.Context, events []core.Envelope) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.crashed {
		return errDemoCrash
	}
	if err := p.EventTransport.PublishBatch(ctx, events); err != nil {
		return err
	}
	p.crashed, p.sent = true, len(events)
	close(p.done)
	return errDemoCrash
}

// demoOutbox is the outbox and inbox part of the demo, on its own embedded
// broker (message deduplication on, as for outbox topics) and a SQLite
// database in a temporary directory: application transactions that commit
// and some that roll back; a relay stopped between publish and mark and a
// second one taking over; every committed event in Iggy once, no rolled-back
// one, per-tenant order; an inbox consumer whose handler writes a table,
// with forced redeliveries.
func demoOutbox(ctx context.Context, run string, timeout time.Duration, say func(string, ...any)) ([]demoCheck, error) {
	dir, err := os.MkdirTemp("", "rustok-demo-outbox-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	b, err := embedded.Open(ctx, embedded.Config{DataDir: filepath.Join(dir, "iggy"), Fsync: "never", DedupWindow: 10 * time.Minute})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	tr, err := transport.New(transport.Config{Topology: transport.TopologyConfig{DomainPartitions: 3}}, b, codec.JSON{}, nil)
	if err != nil {
		return nil, err
	}
	if err := tr.Start(ctx); err != nil {
		return nil, err
	}
	defer tr.Shutdown(context.WithoutCancel(ctx))
	dbPath := filepath.Join(dir, "app.db")
	db, err := outbox.OpenSQLite(dbPath)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ob, err := outbox.New(outbox.Config{Dialect: outbox.SQLite})
	if err != nil {
		return nil, err
	}
	in, err := inbox.New(inbox.Config{Dialect: outbox.SQLite})
	if err != nil {
		return nil, err
	}
	if err := ob.Migrate(ctx, db); err != nil {
		return nil, err
	}
	if err := in.Migrate(ctx, db); err != nil {
		return nil, err
	}
	for _, q := range []string{`CREATE TABLE orders (id TEXT, tenant TEXT, n INTEGER)`, `CREATE TABLE invoices (event_id TEXT)`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}

	// Application transactions: the order row and its event commit or roll
	// back together.
	committed := map[uuid.UUID]int{} // id -> tenant index
	rolled := map[uuid.UUID]bool{}
	tenants := make([]uuid.UUID, demoOutboxTenants)
	for i := range tenants {
		tenants[i] = uuid.NewSHA1(tenantNamespace, []byte(fmt.Sprintf("outbox-%s-%d", run, i)))
	}
	for n := range demoOutboxCommitted + demoOutboxRolled {
		for ti, tenant := range tenants {
			commit := n < demoOutboxCommitted
			e := core.NewEnvelope(tenant, "order.placed", core.Event{Type: "OrderPlaced", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))})
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return nil, err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO orders VALUES (?, ?, ?)`, e.ID.String(), tenant.String(), n); err != nil {
				_ = tx.Rollback()
				return nil, err
			}
			if err := ob.Transport().Publish(outbox.WithTx(ctx, tx), e); err != nil {
				_ = tx.Rollback()
				return nil, err
			}
			if commit {
				err, committed[e.ID] = tx.Commit(), ti
			} else {
				err, rolled[e.ID] = tx.Rollback(), true
			}
			if err != nil {
				return nil, err
			}
		}
	}
	say("outbox: %d orders committed with their events, %d rolled back", len(committed), len(rolled))

	// A relay that dies after its first batch reached Iggy, before marking.
	crash := &demoCrashPub{EventTransport: tr, done: make(chan struct{})}
	r1, err := outbox.NewSQLiteRelay(ob, db, dbPath+"-relay.lock", crash, outbox.RelayConfig{BatchSize: demoOutboxBatch, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	if err := r1.Start(ctx); err != nil {
		return nil, err
	}
	select {
	case <-crash.done:
	case <-time.After(timeout):
		_ = r1.Close()
		return nil, errors.New("demo: the first relay did not publish")
	}
	_ = r1.Close()
	st, err := ob.Stats(ctx, db)
	if err != nil {
		return nil, err
	}
	stoppedOK := st.Pending == int64(len(committed)) && crash.sent > 0
	say("outbox: relay 1 published %d events and stopped before marking them (%d still pending)", crash.sent, st.Pending)

	// A second relay takes over and republishes that batch.
	r2, err := outbox.NewSQLiteRelay(ob, db, dbPath+"-relay.lock", tr, outbox.RelayConfig{BatchSize: demoOutboxBatch})
	if err != nil {
		return nil, err
	}
	if err := r2.Start(ctx); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		if st, err = ob.Stats(ctx, db); err != nil {
			_ = r2.Close()
			return nil, err
		}
		if st.Pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = r2.Close()
	say("outbox: relay 2 took over; %d pending", st.Pending)

	// Count by id what reached Iggy.
	seen := map[uuid.UUID]int{}
	lastN := map[uuid.UUID]int{}
	disorder, strays := 0, 0
	for p := range uint32(3) {
		off := uint64(0)
		for {
			res, err := b.Poll(ctx, core.PollRequest{Stream: transport.DefaultStreamName, Topic: transport.TopicDomain, Partition: p, Strategy: core.FromOffset(off), Count: 1000})
			if err != nil {
				return nil, err
			}
			if len(res.Messages) == 0 {
				break
			}
			for _, m := range res.Messages {
				off = m.Offset + 1
				e, err := codec.JSON{}.Decode(m.Payload)
				if err != nil {
					return nil, err
				}
				if rolled[e.ID] {
					strays++
				}
				seen[e.ID]++
				var d struct{ N int }
				_ = json.Unmarshal(e.Event.Data, &d)
				if l, ok := lastN[e.TenantID]; ok && d.N <= l {
					disorder++
				}
				lastN[e.TenantID] = d.N
			}
		}
	}
	once, dup, missing := 0, 0, 0
	for id := range committed {
		switch seen[id] {
		case 0:
			missing++
		case 1:
			once++
		default:
			dup++
		}
	}

	// Inbox: a handler writing invoices; every third event is redelivered
	// after its effect committed (as after a crash before the offset was
	// stored).
	var mu sync.Mutex
	calls, redelivered := 0, 0
	attempted := map[uuid.UUID]bool{}
	allDone := make(chan struct{})
	var doneOnce sync.Once
	h := in.Handler(db, "billing", func(ctx context.Context, tx *sql.Tx, d transport.Delivery) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO invoices VALUES (?)`, d.Envelope.ID.String())
		return err
	})
	n := 0
	sub, err := tr.Subscribe(ctx, "demo-inbox", func(ctx context.Context, d transport.Delivery) error {
		if err := h(ctx, d); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		calls++
		if !attempted[d.Envelope.ID] {
			attempted[d.Envelope.ID] = true
			n++
			if n%3 == 0 {
				redelivered++
				return errors.New("demo: forced redelivery")
			}
		}
		if len(attempted) == len(committed) && calls == len(committed)+redelivered {
			doneOnce.Do(func() { close(allDone) })
		}
		return nil
	}, transport.SubscribeOptions{StartFrom: transport.StartEarliest, MaxAttempts: 3})
	if err != nil {
		return nil, err
	}
	select {
	case <-allDone:
	case <-time.After(timeout):
	}
	_ = sub.Stop(context.WithoutCancel(ctx))
	var invoices, distinct int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT event_id) FROM invoices`).Scan(&invoices, &distinct); err != nil {
		return nil, err
	}
	say("inbox: %d deliveries (%d forced redeliveries), %d invoices", calls, redelivered, invoices)

	return []demoCheck{
		{"outbox commit", st.Pending == 0 && strays == 0, fmt.Sprintf("%d committed events relayed, %d rolled-back events in Iggy", len(committed)-missing, strays)},
		{"outbox relay stop", stoppedOK, fmt.Sprintf("relay 1 stopped after publishing %d, before marking; relay 2 took over", crash.sent)},
		{"outbox once", once == len(committed) && dup == 0 && missing == 0, fmt.Sprintf("%d of %d events once in Iggy by id (relay 1's %d republished and dropped by dedup; %d missing)", once, len(committed), crash.sent, missing)},
		{"outbox order", disorder == 0 && len(lastN) == demoOutboxTenants, fmt.Sprintf("%d tenants, %d order violations", len(lastN), disorder)},
		{"inbox once", invoices == len(committed) && distinct == len(committed) && redelivered > 0, fmt.Sprintf("%d invoices for %d events after %d forced redeliveries", invoices, len(committed), redelivered)},
	}, nil
}

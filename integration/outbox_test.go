package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/inbox"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// The outbox relay child and its environment.
const (
	roleOutboxRelay = "outbox-relay"

	envOutboxDriver = "RUSTOK_IT_OUTBOX_DRIVER"
	envOutboxDSN    = "RUSTOK_IT_OUTBOX_DSN"
	envOutboxTable  = "RUSTOK_IT_OUTBOX_TABLE"

	// envPostgresDSN names the test PostgreSQL server, as for the adapters'
	// tests (.ci/postgres.sh sets it).
	envPostgresDSN = "RUSTOK_TEST_POSTGRES_DSN"
)

// runOutboxRelay is a relay process: an App in remote mode on the parent's
// embedded broker with events.outbox enabled, so the App's start runs the
// relay and its shutdown (on SIGTERM) stops it gracefully. SIGKILL is the
// crash.
func runOutboxRelay() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	parts, err := strconv.ParseUint(os.Getenv(envPartitions), 10, 32)
	if err != nil {
		return fmt.Errorf("%s: %w", envPartitions, err)
	}
	cfg := config.Default()
	ig := &cfg.Events.Iggy
	ig.Mode = config.ModeRemote
	ig.Remote.Addresses = []string{os.Getenv(envAddr)}
	ig.Remote.Username, ig.Remote.Password = "iggy", "iggy"
	ig.Topology.StreamName = os.Getenv(envStream)
	ig.Topology.DomainPartitions = int(parts)
	ob := &cfg.Events.Outbox
	ob.Enabled = true
	ob.Driver, ob.DSN, ob.Table = os.Getenv(envOutboxDriver), config.Secret(os.Getenv(envOutboxDSN)), os.Getenv(envOutboxTable)
	ob.BatchSize = 25 // many batches: the kill comes between two of them, or in one
	ob.PollInterval = 5 * time.Millisecond
	app, err := compose.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := app.Start(sctx); err != nil {
		_ = app.Shutdown(context.Background())
		return fmt.Errorf("start: %w", err)
	}
	fmt.Fprintln(os.Stderr, "relay started")
	<-ctx.Done()
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	return app.Shutdown(dctx)
}

// outboxEvent is tenant's n-th order.
func outboxEvent(tenant uuid.UUID, n int) core.Envelope {
	return core.NewEnvelope(tenant, "order.created", core.Event{Type: "OrderCreated", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))})
}

func eventN(e core.Envelope) (int, error) {
	var d struct{ N int }
	err := json.Unmarshal(e.Event.Data, &d)
	return d.N, err
}

// progress counts the inbox's effects and lets a test wait for a count.
type progress struct {
	mu      sync.Mutex
	n       int
	waiters map[int][]chan struct{}
}

func (p *progress) add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	for _, ch := range p.waiters[p.n] {
		close(ch)
	}
	delete(p.waiters, p.n)
}

// reached returns a channel closed once the count is at least n.
func (p *progress) reached(n int) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan struct{})
	if p.n >= n {
		close(ch)
		return ch
	}
	if p.waiters == nil {
		p.waiters = map[int][]chan struct{}{}
	}
	p.waiters[n] = append(p.waiters[n], ch)
	return ch
}

func (p *progress) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// TestOutboxScenario is the outbox and inbox end to end on the embedded
// broker, with the outbox in SQLite and (when a server is given) in
// PostgreSQL: an application commits orders with their events and rolls
// some back; a relay process (an App with events.outbox enabled) relays
// them while orders keep coming, is killed with SIGKILL mid-stream and
// another takes over, then stops gracefully; an inbox consumer, whose
// handler writes an effect row and fails once after committing for some
// events (a forced redelivery), and a full replay through the same inbox,
// leave each committed event's effect exactly once, none of the rolled
// back ones, in order per tenant; the broker holds each committed event
// exactly once (counted by id) in tenant order.
func TestOutboxScenario(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testOutboxScenario(t, "sqlite", filepath.Join(t.TempDir(), "app.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv(envPostgresDSN)
		if dsn == "" {
			msg := envPostgresDSN + " is not set: no PostgreSQL server (run `. .ci/postgres.sh && pg_throwaway_start`)"
			if os.Getenv("RUSTOK_CI") != "" || os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		testOutboxScenario(t, "postgres", dsn)
	})
}

func testOutboxScenario(t *testing.T, driver, dsn string) {
	const (
		tenants    = 4
		waves      = 8
		txsPerWave = 12 // per wave, round robin over the tenants
		perTx      = 5
		partitions = 3
	)
	ctx := context.Background()
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	table := "it_outbox_" + suffix
	stream := "it-outbox-" + suffix

	cfg := config.Default()
	ig := &cfg.Events.Iggy
	ig.Embedded.DataDir = t.TempDir()
	ig.Embedded.TCPPort = 0
	ig.Embedded.HTTPPort = 0
	ig.Embedded.Fsync = config.FsyncNever
	ig.Topology.StreamName = stream
	ig.Topology.DomainPartitions = partitions
	ig.Consumer.InitialBackoff, ig.Consumer.MaxBackoff = time.Millisecond, 5*time.Millisecond
	ig.Consumer.MaxAttempts = 10
	ob := &cfg.Events.Outbox
	ob.Enabled = true // dedup on the embedded broker; the relays run in the children
	ob.Driver, ob.DSN, ob.Table = driver, config.Secret(dsn), table
	app, err := compose.New(ctx, cfg, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})), compose.WithoutOutboxRelay())
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(ctx)
	db, w := app.Outbox().DB, app.OutboxWriter()
	ph := func(i int) string { // placeholder
		if driver == "postgres" {
			return "$" + strconv.Itoa(i)
		}
		return "?"
	}
	inboxTable, orders, effects := "it_inbox_"+suffix, "it_orders_"+suffix, "it_effects_"+suffix
	serial := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if driver == "postgres" {
		serial = "bigserial PRIMARY KEY"
	}
	for _, q := range []string{
		`CREATE TABLE ` + orders + ` (tenant text NOT NULL, n integer NOT NULL)`,
		`CREATE TABLE ` + effects + ` (seq ` + serial + `, event_id text NOT NULL, tenant text NOT NULL, n integer NOT NULL)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if driver == "postgres" {
		t.Cleanup(func() {
			for _, tb := range []string{table, table + "_version", inboxTable, orders, effects} {
				_, _ = db.Exec(`DROP TABLE IF EXISTS ` + tb)
			}
		})
	}
	in, err := inbox.New(inbox.Config{Dialect: outbox.Dialect(driver), Table: inboxTable})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}

	// The inbox consumer. For every 20th event the handler fails once after
	// the effect committed: the redelivery must be skipped by the inbox.
	var prog progress
	var mu sync.Mutex
	failedOnce := map[uuid.UUID]bool{}
	redelivered := 0
	handler := func(hctx context.Context, d transport.Delivery) error {
		n, err := eventN(d.Envelope)
		if err != nil {
			return err
		}
		done, err := in.Process(hctx, db, "it-consumer", d.Envelope.ID, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO `+effects+` (event_id, tenant, n) VALUES (`+ph(1)+`, `+ph(2)+`, `+ph(3)+`)`,
				d.Envelope.ID.String(), d.Envelope.TenantID.String(), n)
			return err
		})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if !done {
			redelivered++
			return nil
		}
		prog.add()
		if n%20 == 0 && !failedOnce[d.Envelope.ID] {
			failedOnce[d.Envelope.ID] = true
			return errors.New("forced failure after the effect committed")
		}
		return nil
	}
	sub, err := app.Transport().Subscribe(ctx, "it-inbox", handler, transport.SubscribeOptions{StartFrom: "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(ctx)

	env := []string{
		envAddr + "=" + app.TCPAddr(), envStream + "=" + stream, envPartitions + "=" + strconv.Itoa(partitions),
		envOutboxDriver + "=" + driver, envOutboxDSN + "=" + dsn, envOutboxTable + "=" + table,
	}
	relay1 := startChildRole(t, roleOutboxRelay, env)

	// The application: waves of transactions, each of one tenant's next
	// orders (an orders row per event, and the events), every third one
	// rolled back; a wave starts once half of what was committed before it
	// has been handled, so writing, relaying and consuming interleave.
	tenantIDs := make([]uuid.UUID, tenants)
	for i := range tenantIDs {
		tenantIDs[i] = uuid.New()
	}
	next := make([]int, tenants)
	committed := map[uuid.UUID]bool{}
	rolled := map[uuid.UUID]bool{}
	var relay2 *childProc
	tx := 0
	for wave := range waves {
		await := prog.reached(len(committed) / 2)
		select {
		case <-await:
		case <-time.After(2 * time.Minute):
			t.Fatalf("wave %d: %d of %d committed events handled within 2 minutes\nrelay 1:\n%s", wave, prog.count(), len(committed), relay1.out)
		}
		for range txsPerWave {
			ti := tx % tenants
			commit := tx%3 != 2
			tx++
			stx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			evs := make([]core.Envelope, perTx)
			for j := range evs {
				next[ti]++
				evs[j] = outboxEvent(tenantIDs[ti], next[ti])
				if _, err := stx.ExecContext(ctx, `INSERT INTO `+orders+` (tenant, n) VALUES (`+ph(1)+`, `+ph(2)+`)`, tenantIDs[ti].String(), next[ti]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Write(ctx, stx, evs...); err != nil {
				t.Fatal(err)
			}
			if commit {
				err = stx.Commit()
			} else {
				err = stx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if commit {
					committed[e.ID] = true
				} else {
					rolled[e.ID] = true
				}
			}
		}
		if wave == waves/2 {
			// Mid-stream: this wave was just committed, the relay is at it.
			lag, err := app.OutboxWriter().Lag(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			relay1.kill()
			t.Logf("relay 1 killed with %d of %d committed events handled, %d pending", prog.count(), len(committed), lag.Pending)
			relay2 = startChildRole(t, roleOutboxRelay, env)
		}
	}
	select {
	case <-prog.reached(len(committed)):
	case <-time.After(3 * time.Minute):
		t.Fatalf("%d of %d committed events handled within 3 minutes\nrelay 2:\n%s", prog.count(), len(committed), relay2.out)
	}
	relay2.stop() // graceful: SIGTERM, exit 0
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// Forced redelivery of everything: a replay through the same inbox.
	mu.Lock()
	before := redelivered
	mu.Unlock()
	res, err := app.Transport().Replay(ctx, transport.ReplayRequest{}, handler)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	replaySkipped := redelivered - before
	mu.Unlock()
	if int(res.Delivered) != len(committed) || replaySkipped != len(committed) {
		t.Errorf("replay delivered %d, the inbox skipped %d; want %d and %d", res.Delivered, replaySkipped, len(committed), len(committed))
	}
	if redelivered-replaySkipped < len(failedOnce) {
		t.Errorf("%d redeliveries skipped before the replay, want at least the %d forced ones", redelivered-replaySkipped, len(failedOnce))
	}

	// The broker: each committed event exactly once, none rolled back,
	// tenant order by offset.
	inBroker := map[uuid.UUID]int{}
	for p := range uint32(partitions) {
		last := map[uuid.UUID]int{}
		for off := uint64(0); ; {
			polled, err := app.Broker().Poll(ctx, core.PollRequest{Stream: stream, Topic: transport.TopicDomain, Partition: p, Strategy: core.FromOffset(off), Count: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(polled.Messages) == 0 {
				break
			}
			for _, m := range polled.Messages {
				id := uuid.UUID(core.UUIDFromMessageID(m.ID))
				inBroker[id]++
				off = m.Offset + 1
				e, err := (codec.JSON{}).Decode(m.Payload)
				if err != nil {
					t.Fatalf("partition %d offset %d: %v", p, m.Offset, err)
				}
				n, _ := eventN(e)
				if n <= last[e.TenantID] {
					t.Errorf("broker partition %d: tenant %s order %d after %d", p, e.TenantID, n, last[e.TenantID])
				}
				last[e.TenantID] = n
			}
		}
	}
	checkOnce(t, "broker", inBroker, committed, rolled)

	// The effects: each committed event once, none rolled back, tenant
	// order by effect sequence.
	rows, err := db.QueryContext(ctx, `SELECT event_id, tenant, n FROM `+effects+` ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	inEffects := map[uuid.UUID]int{}
	last := map[string]int{}
	for rows.Next() {
		var id, tenant string
		var n int
		if err := rows.Scan(&id, &tenant, &n); err != nil {
			t.Fatal(err)
		}
		inEffects[uuid.MustParse(id)]++
		if n <= last[tenant] {
			t.Errorf("effects: tenant %s order %d after %d", tenant, n, last[tenant])
		}
		last[tenant] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	checkOnce(t, "effects", inEffects, committed, rolled)

	var ordersN int
	if err := db.QueryRow(`SELECT count(*) FROM ` + orders).Scan(&ordersN); err != nil {
		t.Fatal(err)
	}
	st, err := w.Stats(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if ordersN != len(committed) || st.Pending != 0 || st.Dead != 0 || st.DeadLettered != 0 {
		t.Errorf("%d order rows (want %d), outbox stats %+v (want nothing pending or dead)", ordersN, len(committed), st)
	}
	t.Logf("%s: %d committed, %d rolled back, %d in the broker, %d effects, %d redeliveries skipped by the inbox",
		driver, len(committed), len(rolled), len(inBroker), len(inEffects), redelivered)
}

// checkOnce checks that got counts every committed id once and no rolled
// back id.
func checkOnce(t *testing.T, where string, got map[uuid.UUID]int, committed, rolled map[uuid.UUID]bool) {
	t.Helper()
	missing, dup, stray := 0, 0, 0
	for id := range committed {
		switch got[id] {
		case 1:
		case 0:
			missing++
		default:
			dup++
		}
	}
	for id := range got {
		if !committed[id] {
			stray++
			if rolled[id] {
				t.Errorf("%s: rolled-back event %s is there", where, id)
			}
		}
	}
	if missing+dup+stray > 0 {
		t.Errorf("%s: %d committed events missing, %d more than once, %d not committed (of %d committed)", where, missing, dup, stray, len(committed))
	}
}

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/components/forwarder"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	iggywm "github.com/rustok/rustok-iggy/adapters/watermill"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// Outbox scenarios (target outbox): --events events written by
// --publishers goroutines in transactions of 1 and of 100, then relayed
// into a fresh embedded broker; commit-to-Iggy latency with the relay idle
// on LISTEN/NOTIFY (PostgreSQL) or polling (SQLite). The peer is
// Watermill's SQL forwarder (watermill-sql v4 publisher in the transaction,
// components/forwarder into the Iggy Watermill publisher over the same kind
// of broker) on the same PostgreSQL.
const (
	scOBWrite1   = "outbox-write-tx1"
	scOBWrite100 = "outbox-write-tx100"
	scOBRelay    = "outbox-relay"
	scOBLatency  = "outbox-commit-to-iggy"
)

// EnvPostgresDSN names the PostgreSQL server of the outbox rows.
const EnvPostgresDSN = "RUSTOK_TEST_POSTGRES_DSN"

func runOutbox(ctx context.Context, o *options, base string) []Row {
	var rows []Row
	dsn := os.Getenv(EnvPostgresDSN)
	tag := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff)
	if dsn == "" {
		rows = append(rows, Row{Target: "rustok-outbox-pg", Scenario: scOBRelay, Err: EnvPostgresDSN + " is not set (. .ci/postgres.sh && pg_throwaway_start)"})
	} else {
		rows = append(rows, outboxTarget(ctx, o, base, outbox.Postgres, dsn, tag)...)
		rows = append(rows, forwarderTarget(ctx, o, base, dsn, tag)...)
	}
	return append(rows, outboxTarget(ctx, o, base, outbox.SQLite, filepath.Join(base, "outbox.db"), tag)...)
}

func openOutboxDB(d outbox.Dialect, dsn string) (*sql.DB, error) {
	if d == outbox.SQLite {
		return outbox.OpenSQLite(dsn)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(32)
	return db, db.Ping()
}

func benchEnvelopes(n, dataSize int) []core.Envelope {
	tenants := make([]uuid.UUID, 16)
	for i := range tenants {
		tenants[i] = uuid.New()
	}
	data := []byte(`{"pad":""}`)
	if dataSize > 12 {
		pad := make([]byte, dataSize-12)
		for i := range pad {
			pad[i] = 'x'
		}
		data = []byte(`{"pad":"` + string(pad) + `"}`)
	}
	out := make([]core.Envelope, n)
	for i := range out {
		out[i] = core.NewEnvelope(tenants[i%len(tenants)], "order.created", core.Event{Type: "OrderCreated", Data: data})
	}
	return out
}

// writeParallel commits events in transactions of per events from
// o.publishers goroutines, each through write.
func writeParallel(ctx context.Context, o *options, db *sql.DB, events []core.Envelope, per int, write func(ctx context.Context, tx *sql.Tx, evs []core.Envelope) error) error {
	var next atomic.Int64
	errs := make(chan error, o.publishers)
	var wg sync.WaitGroup
	for range o.publishers {
		wg.Go(func() {
			for {
				i := int(next.Add(int64(per))) - per
				if i >= len(events) || ctx.Err() != nil {
					return
				}
				tx, err := db.BeginTx(ctx, nil)
				if err == nil {
					if err = write(ctx, tx, events[i:min(i+per, len(events))]); err == nil {
						err = tx.Commit()
					} else {
						_ = tx.Rollback()
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// countingPub counts published events and closes done at want.
type countingPub struct {
	core.EventTransport
	n    atomic.Int64
	want int64
	done chan struct{}
	once sync.Once
	at   sync.Map // event id -> time published (latency scenario)
	rec  bool
}

func (c *countingPub) PublishBatch(ctx context.Context, events []core.Envelope) error {
	err := c.EventTransport.PublishBatch(ctx, events)
	if err == nil {
		if c.rec {
			now := time.Now()
			for i := range events {
				c.at.Store(events[i].ID, now)
			}
		}
		if c.n.Add(int64(len(events))) >= c.want {
			c.once.Do(func() { close(c.done) })
		}
	}
	return err
}

// PublishEncoded keeps the relay on its fast path (the transport's
// PublishEncoded: stored bytes published as they are).
func (c *countingPub) PublishEncoded(ctx context.Context, events []transport.EncodedEvent) error {
	err := c.EventTransport.(outbox.EncodedPublisher).PublishEncoded(ctx, events)
	if err == nil {
		if c.rec {
			now := time.Now()
			for i := range events {
				c.at.Store(events[i].ID, now)
			}
		}
		if c.n.Add(int64(len(events))) >= c.want {
			c.once.Do(func() { close(c.done) })
		}
	}
	return err
}

func outboxTarget(ctx context.Context, o *options, base string, d outbox.Dialect, dsn, tag string) []Row {
	target := "rustok-outbox-" + map[outbox.Dialect]string{outbox.Postgres: "pg", outbox.SQLite: "sqlite"}[d]
	var rows []Row
	fail := func(sc string, err error) []Row {
		o.logf("%-22s %s: %v", target, sc, err)
		return append(rows, Row{Target: target, Scenario: sc, Err: err.Error()})
	}
	db, err := openOutboxDB(d, dsn)
	if err != nil {
		return fail("open", err)
	}
	defer db.Close()
	ob, err := outbox.New(outbox.Config{Dialect: d, Table: "rustok_bench_outbox_" + tag})
	if err != nil {
		return fail("open", err)
	}
	if err := ob.Migrate(ctx, db); err != nil {
		return fail("open", err)
	}
	defer func() {
		_, _ = db.Exec(`DROP TABLE IF EXISTS ` + ob.Table() + `; DROP TABLE IF EXISTS ` + ob.Table() + `_version`)
	}()
	newRow := func(sc string) Row {
		r := Row{Target: target, Scenario: sc, Durability: "database default commit", Kind: kindWrite}
		if d == outbox.Postgres && sc != scOBLatency {
			r.PeerKey = sc + "/pg"
			r.Notes = append(r.Notes, "vs column: the watermill-forwarder-pg row of this run")
		}
		if sc == scOBLatency {
			r.Kind = kindLatency
		}
		return r
	}
	write := func(ctx context.Context, tx *sql.Tx, evs []core.Envelope) error { return ob.Write(ctx, tx, evs...) }
	total := 0
	for _, sc := range []struct {
		name string
		per  int
	}{{scOBWrite1, 1}, {scOBWrite100, 100}} {
		n := o.events
		if sc.per == 1 {
			n = max(o.events/10, 1) // single-event commits are slow; fewer of them
		}
		evs := benchEnvelopes(n, o.eventData)
		r := newRow(sc.name)
		beginRow(target, sc.name)
		m := startMeter()
		if err := writeParallel(ctx, o, db, evs, sc.per, write); err != nil {
			return fail(sc.name, err)
		}
		m.stop(&r, int64(n), 0, nil)
		r.Notes = append(r.Notes, fmt.Sprintf("%d writers", o.publishers))
		rows = append(rows, r)
		o.logf("%-22s %-28s %s", target, sc.name, r.brief())
		total += n
	}

	dir := filepath.Join(base, target)
	b, err := embedded.Open(ctx, embedded.Config{DataDir: dir, Fsync: o.fsync, DedupWindow: 10 * time.Minute})
	if err != nil {
		return fail(scOBRelay, err)
	}
	defer func() { _ = b.Close(); _ = os.RemoveAll(dir) }()
	tr, err := transport.New(transport.Config{Topology: transport.TopologyConfig{DomainPartitions: uint32(o.partitions)}}, b, codec.JSON{}, nil)
	if err != nil {
		return fail(scOBRelay, err)
	}
	if err := tr.Start(ctx); err != nil {
		return fail(scOBRelay, err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	pub := &countingPub{EventTransport: tr, want: int64(total), done: make(chan struct{})}
	rc := outbox.RelayConfig{BatchSize: 1000}
	var relay *outbox.Relay
	if d == outbox.Postgres {
		relay, err = outbox.NewPostgresRelay(ob, dsn, pub, rc)
	} else {
		relay, err = outbox.NewSQLiteRelay(ob, db, dsn+"-relay.lock", pub, rc)
	}
	if err != nil {
		return fail(scOBRelay, err)
	}
	r := newRow(scOBRelay)
	beginRow(target, scOBRelay)
	m := startMeter()
	if err := relay.Start(ctx); err != nil {
		return fail(scOBRelay, err)
	}
	defer func() { _ = relay.Close() }()
	select {
	case <-pub.done:
	case <-ctx.Done():
		return fail(scOBRelay, ctx.Err())
	case <-time.After(10 * time.Minute):
		return fail(scOBRelay, errors.New("relay did not finish in 10 minutes"))
	}
	m.stop(&r, int64(total), 0, nil)
	r.Notes = append(r.Notes, "into the embedded broker through the transport, dedup window on")
	rows = append(rows, r)
	o.logf("%-22s %-28s %s", target, scOBRelay, r.brief())

	// Commit-to-Iggy latency: single-event commits at a steady pace.
	n := max(o.events/100, 50)
	evs := benchEnvelopes(n, o.eventData)
	pub.rec = true
	commits := make([]time.Time, n)
	r = newRow(scOBLatency)
	beginRow(target, scOBLatency)
	m = startMeter()
	for i := range evs {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fail(scOBLatency, err)
		}
		if err := ob.Write(ctx, tx, evs[i]); err != nil {
			_ = tx.Rollback()
			return fail(scOBLatency, err)
		}
		if err := tx.Commit(); err != nil {
			return fail(scOBLatency, err)
		}
		commits[i] = time.Now()
		time.Sleep(2 * time.Millisecond)
	}
	lat := newLatencies("e2e")
	var rec recorder
	deadline := time.Now().Add(time.Minute)
	for i := range evs {
		for {
			if v, ok := pub.at.Load(evs[i].ID); ok {
				rec.add(max(v.(time.Time).Sub(commits[i]), 0))
				break
			}
			if time.Now().After(deadline) {
				return fail(scOBLatency, fmt.Errorf("event %d not relayed within a minute", i))
			}
			time.Sleep(time.Millisecond)
		}
	}
	lat.merge(&rec)
	m.stop(&r, int64(n), 0, lat)
	if d == outbox.Postgres {
		r.Notes = append(r.Notes, "relay woken by LISTEN/NOTIFY; commit returned -> PublishBatch returned")
	} else {
		r.Notes = append(r.Notes, "relay polling every 10ms; commit returned -> PublishBatch returned")
	}
	rows = append(rows, r)
	o.logf("%-22s %-28s %s", target, scOBLatency, r.brief())
	return rows
}

// countingWM counts messages published by the forwarder.
type countingWM struct {
	message.Publisher
	n    atomic.Int64
	want int64
	done chan struct{}
	once sync.Once
}

func (c *countingWM) Publish(topic string, msgs ...*message.Message) error {
	err := c.Publisher.Publish(topic, msgs...)
	if err == nil && c.n.Add(int64(len(msgs))) >= c.want {
		c.once.Do(func() { close(c.done) })
	}
	return err
}

func forwarderTarget(ctx context.Context, o *options, base, dsn, tag string) []Row {
	const target = "watermill-forwarder-pg"
	var rows []Row
	fail := func(sc string, err error) []Row {
		o.logf("%-22s %s: %v", target, sc, err)
		return append(rows, Row{Target: target, Scenario: sc, Err: err.Error()})
	}
	db, err := openOutboxDB(outbox.Postgres, dsn)
	if err != nil {
		return fail("open", err)
	}
	defer db.Close()
	logger := watermill.NopLogger{}
	schema := wsql.DefaultPostgreSQLSchema{GeneratePayloadType: func(string) string { return "BYTEA" }}
	offsets := wsql.DefaultPostgreSQLOffsetsAdapter{}
	fwdTopic := "rustok_bench_fwd_" + tag
	sub, err := wsql.NewSubscriber(wsql.BeginnerFromStdSQL(db), wsql.SubscriberConfig{
		SchemaAdapter: schema, OffsetsAdapter: offsets, InitializeSchema: true,
		PollInterval: 10 * time.Millisecond, ConsumerGroup: "bench",
	}, logger)
	if err != nil {
		return fail("open", err)
	}
	if err := sub.SubscribeInitialize(fwdTopic); err != nil {
		return fail("open", err)
	}
	defer func() {
		_, _ = db.Exec(`DROP TABLE IF EXISTS ` + schema.MessagesTable(fwdTopic))
		_, _ = db.Exec(`DROP TABLE IF EXISTS ` + offsets.MessagesOffsetsTable(fwdTopic))
	}()
	c := codec.JSON{}
	write := func(ctx context.Context, tx *sql.Tx, evs []core.Envelope) error {
		p, err := wsql.NewPublisher(wsql.TxFromStdSQL(tx), wsql.PublisherConfig{SchemaAdapter: schema}, logger)
		if err != nil {
			return err
		}
		fp := forwarder.NewPublisher(p, forwarder.PublisherConfig{ForwarderTopic: fwdTopic})
		msgs := make([]*message.Message, len(evs))
		for i := range evs {
			// Same validation and encoding as the outbox, for a like
			// comparison.
			if err := evs[i].Validate(); err != nil {
				return err
			}
			b, err := c.Encode(evs[i])
			if err != nil {
				return err
			}
			msgs[i] = message.NewMessage(evs[i].ID.String(), b)
			msgs[i].Metadata.Set("tenant_id", evs[i].TenantID.String())
		}
		return fp.Publish("domain", msgs...)
	}
	total := 0
	for _, sc := range []struct {
		name string
		per  int
	}{{scOBWrite1, 1}, {scOBWrite100, 100}} {
		n := o.events
		if sc.per == 1 {
			n = max(o.events/10, 1)
		}
		evs := benchEnvelopes(n, o.eventData)
		r := Row{Target: target, Scenario: sc.name, Durability: "database default commit", Kind: kindWrite, PeerKey: sc.name + "/pg", IsPeer: true}
		beginRow(target, sc.name)
		m := startMeter()
		if err := writeParallel(ctx, o, db, evs, sc.per, write); err != nil {
			return fail(sc.name, err)
		}
		m.stop(&r, int64(n), 0, nil)
		r.Notes = append(r.Notes, fmt.Sprintf("%d writers; watermill-sql v4.1.2 publisher + forwarder envelope", o.publishers))
		rows = append(rows, r)
		o.logf("%-22s %-28s %s", target, sc.name, r.brief())
		total += n
	}

	dir := filepath.Join(base, target)
	b, err := embedded.Open(ctx, embedded.Config{DataDir: dir, Fsync: o.fsync})
	if err != nil {
		return fail(scOBRelay, err)
	}
	defer func() { _ = b.Close(); _ = os.RemoveAll(dir) }()
	out, err := iggywm.NewPublisher(b, iggywm.PublisherConfig{TopicConfig: iggywm.TopicConfig{Stream: "watermill", Partitions: uint32(o.partitions)}, PartitionKey: "tenant_id"})
	if err != nil {
		return fail(scOBRelay, err)
	}
	cp := &countingWM{Publisher: out, want: int64(total), done: make(chan struct{})}
	fwd, err := forwarder.NewForwarder(sub, cp, logger, forwarder.Config{ForwarderTopic: fwdTopic})
	if err != nil {
		return fail(scOBRelay, err)
	}
	r := Row{Target: target, Scenario: scOBRelay, Durability: "database default commit", Kind: kindWrite, PeerKey: scOBRelay + "/pg", IsPeer: true}
	beginRow(target, scOBRelay)
	m := startMeter()
	fctx, cancel := context.WithCancel(ctx)
	ferr := make(chan error, 1)
	go func() { ferr <- fwd.Run(fctx) }()
	select {
	case <-cp.done:
	case err := <-ferr:
		cancel()
		return fail(scOBRelay, fmt.Errorf("forwarder stopped: %v", err))
	case <-time.After(10 * time.Minute):
		cancel()
		_ = fwd.Close()
		return fail(scOBRelay, errors.New("forwarder did not finish in 10 minutes"))
	}
	m.stop(&r, int64(total), 0, nil)
	cancel()
	_ = fwd.Close()
	<-ferr
	_ = sub.Close()
	_ = out.Close()
	r.Notes = append(r.Notes, "components/forwarder into the Iggy Watermill publisher over the embedded broker")
	rows = append(rows, r)
	o.logf("%-22s %-28s %s", target, scOBRelay, r.brief())
	return rows
}

package compose

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"go.opentelemetry.io/otel/metric"
)

// Outbox is the events.outbox section made real: the database handle, the
// migrated outbox table and, once StartRelay is called, its relay. Its
// methods are safe for concurrent use. An App with events.outbox.enabled
// opens one in Start (App.Outbox).
type Outbox struct {
	cfg    config.Outbox
	stream string
	Outbox *outbox.Outbox
	// DB is the outbox's database (SQLite via modernc.org/sqlite,
	// PostgreSQL via pgx's database/sql driver "pgx"); applications write
	// their own tables and the outbox rows in one of its transactions.
	DB  *sql.DB
	log *slog.Logger

	mu      sync.Mutex
	relay   *outbox.Relay
	metrics []metric.Registration // guarded by mu
	once    sync.Once
}

// NewOutboxWriter returns the outbox writer of cfg's events.outbox section
// (dialect, table, the codec of events.iggy.serialization). It does no
// I/O: the application writes with it into transactions of its own
// database handle.
func NewOutboxWriter(cfg config.Config) (*outbox.Outbox, error) {
	oc := cfg.Events.Outbox
	c, err := codec.ByName(string(cfg.Events.Iggy.Serialization))
	if err != nil {
		return nil, fmt.Errorf("compose: events.iggy.serialization: %w", err)
	}
	ob, err := outbox.New(outbox.Config{Dialect: outbox.Dialect(oc.Driver), Table: oc.Table, Codec: c})
	if err != nil {
		return nil, fmt.Errorf("compose: events.outbox: %w", err)
	}
	return ob, nil
}

// OpenOutbox opens the database of cfg's events.outbox section, runs the
// outbox migration and returns the Outbox (no relay yet). The codec is
// events.iggy.serialization's. A nil logger discards logs. A database that
// cannot be reached is an error wrapping core.ErrUnavailable; a bad DSN or
// a newer schema one wrapping core.ErrInvalid.
func OpenOutbox(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Outbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	oc := cfg.Events.Outbox
	ob, err := NewOutboxWriter(cfg)
	if err != nil {
		return nil, err
	}
	db, err := openSQL(oc.Driver, oc.DSN.Reveal())
	if err != nil {
		return nil, fmt.Errorf("compose: events.outbox.dsn: %w", err)
	}
	if err := ob.Migrate(ctx, db); err != nil {
		_ = db.Close()
		kind := core.ErrUnavailable
		if errors.Is(err, outbox.ErrSchemaNewer) {
			kind = core.ErrInvalid
		}
		return nil, fmt.Errorf("compose: events.outbox: %w: %w", kind, err)
	}
	return &Outbox{cfg: oc, stream: cfg.Events.Iggy.Topology.StreamName, Outbox: ob, DB: db, log: logger}, nil
}

func openSQL(driver, dsn string) (*sql.DB, error) {
	if driver == "sqlite" {
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("%w: %w", core.ErrInvalid, err)
			}
		}
		db, err := outbox.OpenSQLite(dsn)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", core.ErrInvalid, err)
		}
		return db, nil
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return nil, fmt.Errorf("%w: postgres dsn: %v", core.ErrInvalid, err) // %v: the parse error may quote the DSN
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", core.ErrInvalid, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to postgres: %w: %w", core.ErrUnavailable, err)
	}
	return db, nil
}

// LockPath is the SQLite relay lock file ("<dsn>-relay.lock").
func (o *Outbox) LockPath() string { return o.cfg.DSN.Reveal() + "-relay.lock" }

// StartRelay starts a relay publishing through pub (an App's Transport),
// configured by events.outbox (batch size, poll interval, retention,
// max_attempts). With dead_letter "dlq" the rows it gives up on go to the
// dlq topic of the configured stream through b (an App's Broker), which
// must then not be nil; with "mark" b is not used. It may be called once;
// Shutdown stops the relay.
func (o *Outbox) StartRelay(ctx context.Context, pub core.EventTransport, b core.Broker) (*outbox.Relay, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.relay != nil {
		return nil, fmt.Errorf("%w: compose: outbox relay already started", core.ErrAlreadyExists)
	}
	rc := outbox.RelayConfig{BatchSize: o.cfg.BatchSize, PollInterval: o.cfg.PollInterval, Retention: o.cfg.Retention,
		MaxAttempts: o.cfg.MaxAttempts, Logger: o.log}
	if o.cfg.DeadLetter != config.DeadLetterMark {
		if b == nil {
			return nil, fmt.Errorf("%w: compose: events.outbox.dead_letter is %q but no broker was given for the DLQ", core.ErrInvalid, o.cfg.DeadLetter)
		}
		rc.DeadLetter = outbox.NewBrokerDLQ(b, o.stream)
	}
	var r *outbox.Relay
	var err error
	if o.cfg.Driver == "postgres" {
		r, err = outbox.NewPostgresRelay(o.Outbox, o.cfg.DSN.Reveal(), pub, rc)
	} else {
		r, err = outbox.NewSQLiteRelay(o.Outbox, o.DB, o.LockPath(), pub, rc)
	}
	if err != nil {
		return nil, err
	}
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	o.relay = r
	return r, nil
}

// Relay returns the relay StartRelay started, or nil.
func (o *Outbox) Relay() *outbox.Relay {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.relay
}

// RegisterMetrics records the outbox's instruments (outbox.Metric*: lag,
// dead rows, and the relay's state, counters and failures once StartRelay
// was called) in each meter provider; Shutdown unregisters them. Call it
// after StartRelay to include the relay.
func (o *Outbox) RegisterMetrics(mps ...metric.MeterProvider) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, mp := range mps {
		reg, err := outbox.RegisterMetrics(mp, o.Outbox, o.DB, o.relay)
		if err != nil {
			return err
		}
		o.metrics = append(o.metrics, reg)
	}
	return nil
}

// CheckName is the name of the outbox's check in a health report.
const CheckName = "outbox"

// Check is the outbox's line of a health report: Degraded when the relay of
// this process is failing (its last attempt failed: database, broker or
// DLQ), when the oldest pending row is older than
// events.outbox.max_pending_age or more than events.outbox.max_pending
// rows are pending, when rows are only marked dead (dead_letter "mark"),
// or when the outbox database cannot be read; Healthy otherwise. Detail
// gives the relay's state (active, standby, starting, or none in this
// process), the lag (pending rows, oldest age), the relay's counters and
// its last error.
func (o *Outbox) Check(ctx context.Context) transport.Check {
	status, reasons, detail := o.evaluate(ctx)
	if len(reasons) > 0 {
		detail = strings.Join(reasons, "; ") + "; " + detail
	}
	return transport.Check{Name: CheckName, Status: status, Detail: detail}
}

// Health returns the reasons the outbox is degraded (see Check). Empty
// means healthy.
func (o *Outbox) Health(ctx context.Context) []string {
	_, reasons, _ := o.evaluate(ctx)
	return reasons
}

func (o *Outbox) evaluate(ctx context.Context) (transport.Status, []string, string) {
	var reasons []string
	var b strings.Builder
	r := o.Relay()
	if r == nil {
		b.WriteString("no relay in this process")
	} else {
		st := r.Status()
		fmt.Fprintf(&b, "relay %s, %d relayed, %d dead-lettered", st.State, st.Relayed, st.DeadLettered)
		if st.Failures > 0 {
			reasons = append(reasons, fmt.Sprintf("relay failing: %d consecutive failure(s), last at %s: %s",
				st.Failures, st.LastErrorAt.UTC().Format(time.RFC3339), st.LastError))
		} else if st.LastError != "" {
			fmt.Fprintf(&b, ", last error at %s: %s", st.LastErrorAt.UTC().Format(time.RFC3339), st.LastError)
		}
	}
	l, err := o.Outbox.Lag(ctx, o.DB)
	if err != nil {
		reasons = append(reasons, fmt.Sprintf("outbox database: %v", err))
	} else {
		fmt.Fprintf(&b, "; %d pending, oldest %s", l.Pending, l.OldestPending.Round(time.Millisecond))
		if a := o.cfg.MaxPendingAge; a > 0 && l.OldestPending > a {
			reasons = append(reasons, fmt.Sprintf("oldest pending event is %s old (max_pending_age %s)", l.OldestPending.Round(time.Millisecond), a))
		}
		if n := o.cfg.MaxPending; n > 0 && l.Pending > n {
			reasons = append(reasons, fmt.Sprintf("%d events pending (max_pending %d)", l.Pending, n))
		}
		if l.Dead > 0 {
			reasons = append(reasons, fmt.Sprintf("%d dead row(s) not in the DLQ (see last_error)", l.Dead))
		}
	}
	if len(reasons) > 0 {
		return transport.Degraded, reasons, b.String()
	}
	return transport.Healthy, nil, b.String()
}

// Shutdown stops the relay gracefully (the publish in flight finishes and
// is marked; see outbox.Relay.Shutdown), unregisters the metrics and closes
// the database, within ctx. Idempotent.
func (o *Outbox) Shutdown(ctx context.Context) error {
	var err error
	o.once.Do(func() {
		o.mu.Lock()
		r, regs := o.relay, o.metrics
		o.metrics = nil
		o.mu.Unlock()
		if r != nil {
			if rerr := r.Shutdown(ctx); rerr != nil {
				err = fmt.Errorf("outbox relay shutdown: %w", rerr)
			}
		}
		for _, reg := range regs {
			err = errors.Join(err, reg.Unregister())
		}
		err = errors.Join(err, o.DB.Close())
	})
	return err
}

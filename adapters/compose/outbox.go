package compose

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
)

// Outbox is the events.outbox section made real: the database handle, the
// migrated outbox table and, once StartRelay is called, its relay. Its
// methods are safe for concurrent use.
type Outbox struct {
	cfg    config.Outbox
	Outbox *outbox.Outbox
	// DB is the outbox's database (SQLite via modernc.org/sqlite,
	// PostgreSQL via pgx's database/sql driver "pgx"); applications write
	// their own tables and the outbox rows in one of its transactions.
	DB  *sql.DB
	log *slog.Logger

	mu    sync.Mutex
	relay *outbox.Relay
	once  sync.Once
}

// OpenOutbox opens the database of cfg's events.outbox section, runs the
// outbox migration and returns the Outbox (no relay yet). The codec is
// events.iggy.serialization's. A nil logger discards logs.
func OpenOutbox(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Outbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	oc := cfg.Events.Outbox
	c, err := codec.ByName(string(cfg.Events.Iggy.Serialization))
	if err != nil {
		return nil, fmt.Errorf("compose: events.iggy.serialization: %w", err)
	}
	ob, err := outbox.New(outbox.Config{Dialect: outbox.Dialect(oc.Driver), Table: oc.Table, Codec: c})
	if err != nil {
		return nil, fmt.Errorf("compose: events.outbox: %w", err)
	}
	db, err := openSQL(oc.Driver, oc.DSN.Reveal())
	if err != nil {
		return nil, fmt.Errorf("compose: events.outbox.dsn: %w", err)
	}
	if err := ob.Migrate(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("compose: events.outbox: %w", err)
	}
	return &Outbox{cfg: oc, Outbox: ob, DB: db, log: logger}, nil
}

func openSQL(driver, dsn string) (*sql.DB, error) {
	if driver == "sqlite" {
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, err
			}
		}
		return outbox.OpenSQLite(dsn)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return db, nil
}

// LockPath is the SQLite relay lock file ("<dsn>-relay.lock").
func (o *Outbox) LockPath() string { return o.cfg.DSN.Reveal() + "-relay.lock" }

// StartRelay starts a relay publishing through pub (an App's Transport).
// It may be called once.
func (o *Outbox) StartRelay(ctx context.Context, pub core.EventTransport) (*outbox.Relay, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.relay != nil {
		return nil, fmt.Errorf("%w: compose: outbox relay already started", core.ErrAlreadyExists)
	}
	rc := outbox.RelayConfig{BatchSize: o.cfg.BatchSize, PollInterval: o.cfg.PollInterval, Retention: o.cfg.Retention, Logger: o.log}
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

// Health returns the reasons the outbox is degraded: the oldest pending
// event older than events.outbox.max_pending_age, dead rows, a relay
// failing to publish. Empty means healthy.
func (o *Outbox) Health(ctx context.Context) []string {
	var reasons []string
	st, err := o.Outbox.Stats(ctx, o.DB)
	if err != nil {
		return []string{fmt.Sprintf("outbox: %v", err)}
	}
	if o.cfg.MaxPendingAge > 0 && st.OldestPending > o.cfg.MaxPendingAge {
		reasons = append(reasons, fmt.Sprintf("outbox: oldest pending event is %s old (max_pending_age %s), %d pending", st.OldestPending.Round(time.Millisecond), o.cfg.MaxPendingAge, st.Pending))
	}
	if st.Dead > 0 {
		reasons = append(reasons, fmt.Sprintf("outbox: %d dead row(s) (undecodable or invalid; see last_error)", st.Dead))
	}
	o.mu.Lock()
	r := o.relay
	o.mu.Unlock()
	if r != nil {
		if rs := r.Status(); rs.Failures > 0 {
			reasons = append(reasons, fmt.Sprintf("outbox relay: %d consecutive failure(s), last: %s", rs.Failures, rs.LastError))
		}
	}
	return reasons
}

// Shutdown stops the relay (after its batch in flight is marked) and
// closes the database. Idempotent.
func (o *Outbox) Shutdown(ctx context.Context) error {
	var err error
	o.once.Do(func() {
		o.mu.Lock()
		r := o.relay
		o.mu.Unlock()
		if r != nil {
			err = r.Shutdown(ctx)
		}
		err = errors.Join(err, o.DB.Close())
	})
	return err
}

// Package inbox is the idempotent consumer: a handler's database work and
// the record that the event was handled commit in one transaction, so the
// handler's effects happen exactly once in that database although delivery
// is at least once.
//
//	Inbox.Process(ctx, db, consumer, id, fn)   begin; insert (consumer, id)
//	                                           (already there: roll back,
//	                                           skip); fn(tx); commit
//	Inbox.Handler(db, consumer, fn)            the same as a transport.Handler
//
// # Guarantee
//
// For one consumer name, fn's changes to the database commit at most once
// per event id, and exactly once if the event is delivered until a Process
// call returns nil. A redelivered event (a consumer restarted before its
// offset was stored, a republished outbox row, a DLQ redrive) is skipped.
// Concurrent deliveries of one id are serialised by the primary key: the
// second waits for the first to commit or roll back. Effects outside the
// database (an e-mail, an HTTP call) are not covered: they may repeat.
// Ids are remembered for the retention period (Prune deletes older ones):
// an event redelivered after that is handled again.
package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/rustok/rustok-iggy/adapters/outbox"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// DefaultTable is the inbox table's default name.
const DefaultTable = "rustok_inbox"

// DefaultRetention is how long processed ids are kept by default.
const DefaultRetention = 7 * 24 * time.Hour

// Config configures an Inbox.
type Config struct {
	// Dialect is outbox.Postgres or outbox.SQLite. Required.
	Dialect outbox.Dialect
	// Table is the inbox table (schema-qualified allowed on PostgreSQL).
	// Default DefaultTable.
	Table string
	// Retention is how long a processed id is kept; Prune deletes older
	// ones. It must exceed the longest time after which an event can be
	// redelivered (broker retention, DLQ redrives). Default
	// DefaultRetention.
	Retention time.Duration
}

var tableRe = regexp.MustCompile(`^([a-z_][a-z0-9_]{0,47}\.)?[a-z_][a-z0-9_]{0,47}$`)

// Validate reports every problem, joined.
func (c Config) Validate() error {
	var errs []error
	if c.Dialect != outbox.Postgres && c.Dialect != outbox.SQLite {
		errs = append(errs, fmt.Errorf("%w: inbox: dialect %q (want postgres or sqlite)", core.ErrInvalid, c.Dialect))
	}
	if c.Table != "" && (!tableRe.MatchString(c.Table) || (c.Dialect == outbox.SQLite && strings.Contains(c.Table, "."))) {
		errs = append(errs, fmt.Errorf("%w: inbox: table %q: lower-case letters, digits and _ (schema.name on postgres only)", core.ErrInvalid, c.Table))
	}
	if c.Retention < 0 {
		errs = append(errs, fmt.Errorf("%w: inbox: retention %s is negative", core.ErrInvalid, c.Retention))
	}
	return errors.Join(errs...)
}

// Inbox records handled event ids. It holds no connection and is safe for
// concurrent use.
type Inbox struct {
	dialect   outbox.Dialect
	table     string
	retention time.Duration
	insert    string
}

// New returns an Inbox for cfg (validated, defaults applied).
func New(cfg Config) (*Inbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	i := &Inbox{dialect: cfg.Dialect, table: cfg.Table, retention: cfg.Retention}
	if cfg.Dialect == outbox.Postgres {
		i.insert = `INSERT INTO ` + i.table + ` (consumer, event_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
	} else {
		i.insert = `INSERT INTO ` + i.table + ` (consumer, event_id, processed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	}
	return i, nil
}

// Table returns the inbox table's name.
func (i *Inbox) Table() string { return i.table }

// DDL returns the statements Migrate runs (idempotent). processed_at is
// Unix microseconds.
func (i *Inbox) DDL() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + i.table + ` (
	consumer     text NOT NULL,
	event_id     text NOT NULL,
	processed_at bigint NOT NULL,
	PRIMARY KEY (consumer, event_id)
)`,
		`CREATE INDEX IF NOT EXISTS ` + baseName(i.table) + `_processed ON ` + i.table + ` (processed_at)`,
	}
}

func baseName(t string) string {
	for j := len(t) - 1; j >= 0; j-- {
		if t[j] == '.' {
			return t[j+1:]
		}
	}
	return t
}

// Migrate creates the inbox table if it does not exist.
func (i *Inbox) Migrate(ctx context.Context, db *sql.DB) error {
	for _, q := range i.DDL() {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("inbox migrate %s: %w", i.table, err)
		}
	}
	return nil
}

// MigratePgx is Migrate for a pgx connection or pool.
func (i *Inbox) MigratePgx(ctx context.Context, db outbox.PgxBeginner) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("inbox migrate %s: %w", i.table, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, q := range i.DDL() {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("inbox migrate %s: %w", i.table, err)
		}
	}
	return tx.Commit(ctx)
}

// Process runs fn in a new transaction of db that also records (consumer,
// id). If the pair is already recorded, fn is not called and Process
// returns (false, nil). If fn or the commit fails, the transaction rolls
// back (the id stays unrecorded, so a redelivery runs fn again) and the
// error is returned. On success it returns (true, nil).
func (i *Inbox) Process(ctx context.Context, db *sql.DB, consumer string, id uuid.UUID, fn func(ctx context.Context, tx *sql.Tx) error) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("inbox %s: begin: %w", i.table, err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, i.insert, consumer, id.String(), time.Now().UnixMicro())
	if err != nil {
		return false, fmt.Errorf("inbox %s: record %s: %w", i.table, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("inbox %s: record %s: %w", i.table, id, err)
	}
	if n == 0 {
		return false, nil
	}
	if err := fn(ctx, tx); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("inbox %s: commit %s: %w", i.table, id, err)
	}
	return true, nil
}

// ProcessPgx is Process for pgx (dialect Postgres).
func (i *Inbox) ProcessPgx(ctx context.Context, db outbox.PgxBeginner, consumer string, id uuid.UUID, fn func(ctx context.Context, tx pgx.Tx) error) (bool, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("inbox %s: begin: %w", i.table, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	tag, err := tx.Exec(ctx, i.insert, consumer, id.String(), time.Now().UnixMicro())
	if err != nil {
		return false, fmt.Errorf("inbox %s: record %s: %w", i.table, id, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if err := fn(ctx, tx); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("inbox %s: commit %s: %w", i.table, id, err)
	}
	return true, nil
}

// Handler returns a transport.Handler that runs fn through Process with
// the delivery's event id. Its error (fn's, or the database's) makes the
// subscription retry and finally dead-letter the event, as for any
// handler; a duplicate returns nil so its offset is stored.
func (i *Inbox) Handler(db *sql.DB, consumer string, fn func(ctx context.Context, tx *sql.Tx, d transport.Delivery) error) transport.Handler {
	return func(ctx context.Context, d transport.Delivery) error {
		_, err := i.Process(ctx, db, consumer, d.Envelope.ID, func(ctx context.Context, tx *sql.Tx) error { return fn(ctx, tx, d) })
		return err
	}
}

// HandlerPgx is Handler for pgx.
func (i *Inbox) HandlerPgx(db outbox.PgxBeginner, consumer string, fn func(ctx context.Context, tx pgx.Tx, d transport.Delivery) error) transport.Handler {
	return func(ctx context.Context, d transport.Delivery) error {
		_, err := i.ProcessPgx(ctx, db, consumer, d.Envelope.ID, func(ctx context.Context, tx pgx.Tx) error { return fn(ctx, tx, d) })
		return err
	}
}

// Prune deletes ids processed longer ago than the retention and returns
// how many. Run it periodically (hourly is plenty).
func (i *Inbox) Prune(ctx context.Context, db *sql.DB) (int64, error) {
	return i.PruneBefore(ctx, db, time.Now().Add(-i.retention))
}

// PruneBefore deletes ids processed before t and returns how many.
func (i *Inbox) PruneBefore(ctx context.Context, db *sql.DB, t time.Time) (int64, error) {
	q := `DELETE FROM ` + i.table + ` WHERE processed_at < ?`
	if i.dialect == outbox.Postgres {
		q = `DELETE FROM ` + i.table + ` WHERE processed_at < $1`
	}
	res, err := db.ExecContext(ctx, q, t.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("inbox prune %s: %w", i.table, err)
	}
	return res.RowsAffected()
}

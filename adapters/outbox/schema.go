package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/rustok/rustok-iggy/core"
)

// ErrSchemaNewer is returned by Migrate when the database holds a newer
// schema version than this code knows.
var ErrSchemaNewer = errors.New("outbox: schema version in the database is newer than this program's")

// DDL returns the statements Migrate runs for dialect d and table t, in
// order, for use in a migration tool. They are idempotent (IF NOT EXISTS).
func DDL(d Dialect, table string) []string {
	if table == "" {
		table = DefaultTable
	}
	base := table
	if i := strings.LastIndexByte(table, '.'); i >= 0 {
		base = table[i+1:]
	}
	if d == Postgres {
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + table + ` (
	seq           bigserial PRIMARY KEY,
	event_id      uuid NOT NULL,
	tenant_id     uuid NOT NULL,
	event_type    text NOT NULL,
	schema_version integer NOT NULL DEFAULT 1,
	correlation_id uuid NOT NULL,
	causation_id  uuid,
	topic         text NOT NULL,
	partition_key text NOT NULL,
	trace_id      text,
	content_type  text NOT NULL,
	payload       bytea NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	delivered_at  timestamptz,
	dead_at       timestamptz,
	last_error    text
)`,
			`CREATE INDEX IF NOT EXISTS ` + base + `_pending ON ` + table + ` (seq) WHERE delivered_at IS NULL AND dead_at IS NULL`,
			`CREATE INDEX IF NOT EXISTS ` + base + `_delivered ON ` + table + ` (delivered_at) WHERE delivered_at IS NOT NULL`,
			`CREATE INDEX IF NOT EXISTS ` + base + `_dead ON ` + table + ` (seq) WHERE dead_at IS NOT NULL AND delivered_at IS NULL`,
			`CREATE TABLE IF NOT EXISTS ` + table + `_version (version integer NOT NULL)`,
		}
	}
	// SQLite: times are Unix microseconds (UTC).
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + table + ` (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id      TEXT NOT NULL,
	tenant_id     TEXT NOT NULL,
	event_type    TEXT NOT NULL,
	schema_version INTEGER NOT NULL DEFAULT 1,
	correlation_id TEXT NOT NULL,
	causation_id  TEXT,
	topic         TEXT NOT NULL,
	partition_key TEXT NOT NULL,
	trace_id      TEXT,
	content_type  TEXT NOT NULL,
	payload       BLOB NOT NULL,
	created_at    INTEGER NOT NULL,
	delivered_at  INTEGER,
	dead_at       INTEGER,
	last_error    TEXT
)`,
		`CREATE INDEX IF NOT EXISTS ` + base + `_pending ON ` + table + ` (seq) WHERE delivered_at IS NULL AND dead_at IS NULL`,
		`CREATE INDEX IF NOT EXISTS ` + base + `_delivered ON ` + table + ` (delivered_at) WHERE delivered_at IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS ` + base + `_dead ON ` + table + ` (seq) WHERE dead_at IS NOT NULL AND delivered_at IS NULL`,
		`CREATE TABLE IF NOT EXISTS ` + table + `_version (version INTEGER NOT NULL)`,
	}
}

// Migrate creates the outbox tables in db if they do not exist and records
// SchemaVersion, in one transaction (on PostgreSQL under an advisory lock,
// so concurrent start-ups do not race). It returns ErrSchemaNewer when the
// database holds a newer version. Safe to call on every start.
func (o *Outbox) Migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox migrate %s: begin: %w", o.table, err)
	}
	defer func() { _ = tx.Rollback() }()
	exec := func(q string, args ...any) error { _, err := tx.ExecContext(ctx, q, args...); return err }
	query := func(q string) (int, error) {
		var v int
		err := tx.QueryRowContext(ctx, q).Scan(&v)
		return v, err
	}
	if err := o.migrate(exec, query); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox migrate %s: commit: %w", o.table, err)
	}
	return nil
}

// PgxBeginner is what MigratePgx needs: *pgx.Conn and *pgxpool.Pool have it.
type PgxBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// MigratePgx is Migrate for a pgx connection or pool (dialect Postgres).
func (o *Outbox) MigratePgx(ctx context.Context, db PgxBeginner) error {
	if o.dialect != Postgres {
		return fmt.Errorf("%w: outbox: MigratePgx needs dialect postgres, have %s", core.ErrInvalid, o.dialect)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("outbox migrate %s: begin: %w", o.table, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	exec := func(q string, args ...any) error { _, err := tx.Exec(ctx, q, args...); return err }
	query := func(q string) (int, error) {
		var v int
		err := tx.QueryRow(ctx, q).Scan(&v)
		return v, err
	}
	if err := o.migrate(exec, query); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("outbox migrate %s: commit: %w", o.table, err)
	}
	return nil
}

func (o *Outbox) migrate(exec func(string, ...any) error, query func(string) (int, error)) error {
	if o.dialect == Postgres {
		if err := exec(`SELECT pg_advisory_xact_lock($1)`, o.lockKey^1); err != nil {
			return fmt.Errorf("outbox migrate %s: lock: %w", o.table, err)
		}
	}
	for _, q := range DDL(o.dialect, o.table) {
		if err := exec(q); err != nil {
			return fmt.Errorf("outbox migrate %s: %w", o.table, err)
		}
	}
	v, err := query(`SELECT COALESCE(max(version), 0) FROM ` + o.table + `_version`)
	if err != nil {
		return fmt.Errorf("outbox migrate %s: read version: %w", o.table, err)
	}
	switch {
	case v > SchemaVersion:
		return fmt.Errorf("%w: %s has version %d, this program knows %d", ErrSchemaNewer, o.table, v, SchemaVersion)
	case v == SchemaVersion:
		return nil
	}
	if err := exec(`INSERT INTO ` + o.table + `_version (version) VALUES (` + fmt.Sprint(SchemaVersion) + `)`); err != nil {
		return fmt.Errorf("outbox migrate %s: record version: %w", o.table, err)
	}
	return nil
}

// hash32 is the advisory-lock key of a string (FNV-1a).
func hash32(s string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return int32(h.Sum32())
}

func hash64(s string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return int64(h.Sum64())
}

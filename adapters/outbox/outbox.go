package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// Outbox writes events into the outbox table inside the caller's
// transaction. It holds no connection and is safe for concurrent use.
type Outbox struct {
	dialect Dialect
	table   string
	channel string // LISTEN/NOTIFY channel (PostgreSQL)
	codec   core.Codec
	lockKey int64 // the relay's session advisory lock (PostgreSQL)
	txClass int32 // class of the per-tenant transaction locks
}

// New returns an Outbox for cfg (validated, defaults applied). It does not
// touch a database; see Migrate.
func New(cfg Config) (*Outbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Outbox{
		dialect: cfg.Dialect,
		table:   cfg.Table,
		channel: strings.ReplaceAll(cfg.Table, ".", "_"),
		codec:   cfg.Codec,
		lockKey: hash64("rustok-iggy outbox relay " + cfg.Table),
		txClass: hash32("rustok-iggy outbox tenant " + cfg.Table),
	}, nil
}

// Table returns the outbox table's name.
func (o *Outbox) Table() string { return o.table }

// Dialect returns the outbox's dialect.
func (o *Outbox) Dialect() Dialect { return o.dialect }

// RelayLockKey is the key of the PostgreSQL session advisory lock the
// active relay holds (pg_locks shows it as classid = key >> 32, objid =
// key & 0xffffffff, objsubid 1); a function of the table name.
func (o *Outbox) RelayLockKey() int64 { return o.lockKey }

// Channel is the PostgreSQL LISTEN/NOTIFY channel a Write notifies (the
// table name with "." replaced by "_"); the notification is delivered when
// the transaction commits.
func (o *Outbox) Channel() string { return o.channel }

// rowsPerInsert bounds one multi-row INSERT (12 parameters per row, under
// both databases' parameter limits).
const rowsPerInsert = 1000

type row struct {
	id, tenant, typ, topic, trace string
	correlation, causation        string // causation "" = none
	schema                        uint16
	payload                       []byte
}

// encode validates every event (as transport.Publish does; all problems
// joined, each naming the event's index and id) and encodes them.
func (o *Outbox) encode(events []core.Envelope) ([]row, error) {
	var errs []error
	rows := make([]row, 0, len(events))
	for i := range events {
		e := &events[i]
		if err := e.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("outbox write: event %d (%s): %w", i, e.ID, err))
			continue
		}
		p, err := o.codec.Encode(*e)
		if err != nil {
			errs = append(errs, fmt.Errorf("outbox write: event %d (%s): encode: %w", i, e.ID, err))
			continue
		}
		r := row{
			id: e.ID.String(), tenant: e.TenantID.String(), typ: e.EventType,
			topic: transport.TopicFor(e.EventType), trace: e.TraceID, payload: p,
			correlation: e.CorrelationID.String(), schema: e.SchemaVersion,
		}
		if e.CausationID != uuid.Nil {
			r.causation = e.CausationID.String()
		}
		rows = append(rows, r)
	}
	return rows, errors.Join(errs...)
}

// Write inserts events into the outbox within tx. Every event is validated
// and encoded first; if any fails nothing is written and the error lists
// each problem (wrapping core.ErrInvalid for invalid envelopes). The rows
// become visible to the relay when tx commits and vanish if it rolls back.
//
// On PostgreSQL, Write first takes a transaction-scoped advisory lock per
// tenant of the events (in sorted order) and queues a NOTIFY on Channel:
// transactions that write events of the same tenant are serialised from
// their first Write to their commit, which is what keeps a tenant's rows in
// commit order. Transactions writing the same tenants through several Write
// calls in different orders can deadlock; PostgreSQL then aborts one of
// them with a deadlock error.
//
// tx is a *sql.Tx of a database opened with a PostgreSQL driver (pgx's
// stdlib, lib/pq) for dialect Postgres, or with modernc.org/sqlite for
// dialect SQLite.
func (o *Outbox) Write(ctx context.Context, tx *sql.Tx, events ...core.Envelope) error {
	if tx == nil {
		return fmt.Errorf("%w: outbox write: nil transaction", core.ErrInvalid)
	}
	return o.write(ctx, func(q string, args []any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}, events)
}

// WritePgx is Write for a pgx transaction (dialect Postgres).
func (o *Outbox) WritePgx(ctx context.Context, tx pgx.Tx, events ...core.Envelope) error {
	if tx == nil {
		return fmt.Errorf("%w: outbox write: nil transaction", core.ErrInvalid)
	}
	if o.dialect != Postgres {
		return fmt.Errorf("%w: outbox: WritePgx needs dialect postgres, have %s", core.ErrInvalid, o.dialect)
	}
	return o.write(ctx, func(q string, args []any) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	}, events)
}

func (o *Outbox) write(ctx context.Context, exec func(string, []any) error, events []core.Envelope) error {
	if len(events) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("outbox write: %w", err)
	}
	rows, err := o.encode(events)
	if err != nil {
		return err
	}
	if o.dialect == Postgres {
		q, args := o.lockStatement(events)
		if err := exec(q, args); err != nil {
			return fmt.Errorf("outbox write %s: tenant locks: %w", o.table, err)
		}
	}
	now := time.Now().UnixMicro()
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		q, args := o.insertStatement(rows[:n], now)
		if err := exec(q, args); err != nil {
			return fmt.Errorf("outbox write %s: insert %d row(s): %w", o.table, n, err)
		}
		rows = rows[n:]
	}
	return nil
}

// lockStatement is one SELECT taking the tenants' transaction locks in
// sorted key order, then queuing the notification.
func (o *Outbox) lockStatement(events []core.Envelope) (string, []any) {
	keys := make([]int32, 0, 1)
	var last uuid.UUID
	for i := range events {
		if t := events[i].TenantID; i == 0 || t != last {
			keys = append(keys, hash32(t.String()))
			last = t
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var b strings.Builder
	b.WriteString("SELECT ")
	args := make([]any, 0, len(keys)+2)
	args = append(args, o.txClass)
	for i, k := range keys {
		b.WriteString("pg_advisory_xact_lock($1::int4, $")
		b.WriteString(strconv.Itoa(i + 2))
		b.WriteString("::int4), ")
		args = append(args, k)
	}
	b.WriteString("pg_notify($")
	b.WriteString(strconv.Itoa(len(keys) + 2))
	b.WriteString("::text, '')")
	args = append(args, o.channel)
	return b.String(), args
}

func (o *Outbox) insertStatement(rows []row, nowMicro int64) (string, []any) {
	var b strings.Builder
	b.Grow(120 + len(rows)*48)
	b.WriteString("INSERT INTO ")
	b.WriteString(o.table)
	cols := 11
	b.WriteString(" (event_id, tenant_id, event_type, schema_version, correlation_id, causation_id, topic, partition_key, trace_id, content_type, payload")
	if o.dialect == SQLite {
		cols = 12
		b.WriteString(", created_at")
	}
	b.WriteString(") VALUES ")
	args := make([]any, 0, len(rows)*cols)
	ct := o.codec.ContentType()
	n := 0
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			n++
			if o.dialect == SQLite {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			}
		}
		b.WriteByte(')')
		var trace, causation any
		if r.trace != "" {
			trace = r.trace
		}
		if r.causation != "" {
			causation = r.causation
		}
		args = append(args, r.id, r.tenant, r.typ, int32(r.schema), r.correlation, causation, r.topic, r.tenant, trace, ct, r.payload)
		if o.dialect == SQLite {
			args = append(args, nowMicro)
		}
	}
	return b.String(), args
}

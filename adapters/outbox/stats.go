package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Stats is the state of an outbox table, as `rustok-iggy outbox status`
// prints it.
type Stats struct {
	// Pending counts rows not yet delivered (and not dead).
	Pending int64
	// OldestPending is the age of the oldest pending row; 0 when none.
	OldestPending time.Duration
	// Dead counts rows the relay could not decode or publish ever.
	Dead int64
	// DeliveredLastMinute counts rows marked delivered in the last minute
	// (divide by 60 for a rate).
	DeliveredLastMinute int64
	// Relays lists the relay sessions connected (PostgreSQL only), the
	// active one (lock holder) first.
	Relays []RelaySession
}

// RelaySession is one relay connected to PostgreSQL.
type RelaySession struct {
	// Name is the relay's application_name without RelayAppName.
	Name string
	// PID is the server process id of its session.
	PID int32
	// Client is the client address ("" on a Unix socket).
	Client string
	// Active is true for the session holding the relay lock.
	Active bool
	// Since is when the session started.
	Since time.Time
}

// Stats reads the table's counters. db is a database/sql handle to the
// outbox's database (for PostgreSQL e.g. pgx's stdlib driver "pgx").
func (o *Outbox) Stats(ctx context.Context, db *sql.DB) (Stats, error) {
	var s Stats
	if o.dialect == Postgres {
		var oldest sql.NullFloat64
		err := db.QueryRowContext(ctx, `SELECT
	count(*) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL),
	EXTRACT(EPOCH FROM now() - min(created_at) FILTER (WHERE delivered_at IS NULL AND dead_at IS NULL))::float8,
	count(*) FILTER (WHERE dead_at IS NOT NULL),
	count(*) FILTER (WHERE delivered_at > now() - interval '1 minute')
FROM `+o.table).Scan(&s.Pending, &oldest, &s.Dead, &s.DeliveredLastMinute)
		if err != nil {
			return s, fmt.Errorf("outbox stats %s: %w", o.table, err)
		}
		if oldest.Valid && oldest.Float64 > 0 {
			s.OldestPending = time.Duration(oldest.Float64 * float64(time.Second))
		}
		rows, err := db.QueryContext(ctx, `SELECT a.pid, a.application_name, COALESCE(host(a.client_addr), ''), a.backend_start,
	EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
		AND l.objsubid = 1 AND l.classid::bigint = (($1::bigint >> 32) & 4294967295) AND l.objid::bigint = ($1::bigint & 4294967295))
FROM pg_stat_activity a WHERE a.application_name LIKE $2 AND a.datname = current_database()
ORDER BY 5 DESC, a.backend_start`, o.lockKey, RelayAppName+"%")
		if err != nil {
			return s, fmt.Errorf("outbox stats %s: relays: %w", o.table, err)
		}
		defer rows.Close()
		for rows.Next() {
			var r RelaySession
			if err := rows.Scan(&r.PID, &r.Name, &r.Client, &r.Since, &r.Active); err != nil {
				return s, fmt.Errorf("outbox stats %s: relays: %w", o.table, err)
			}
			r.Name = strings.TrimSpace(strings.TrimPrefix(r.Name, RelayAppName))
			s.Relays = append(s.Relays, r)
		}
		return s, rows.Err()
	}
	now := time.Now().UnixMicro()
	var oldest sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT
	COALESCE(SUM(delivered_at IS NULL AND dead_at IS NULL), 0),
	MIN(CASE WHEN delivered_at IS NULL AND dead_at IS NULL THEN created_at END),
	COALESCE(SUM(dead_at IS NOT NULL), 0),
	COALESCE(SUM(delivered_at > ?), 0)
FROM `+o.table, now-time.Minute.Microseconds()).Scan(&s.Pending, &oldest, &s.Dead, &s.DeliveredLastMinute)
	if err != nil {
		return s, fmt.Errorf("outbox stats %s: %w", o.table, err)
	}
	if oldest.Valid && now > oldest.Int64 {
		s.OldestPending = time.Duration(now-oldest.Int64) * time.Microsecond
	}
	return s, nil
}

// SQLiteRelayActive reports whether some relay holds the SQLite relay lock
// file at lockPath (by trying to take it; a missing file means no relay).
func SQLiteRelayActive(lockPath string) (bool, error) {
	f, ok, err := lockFile(lockPath)
	if err != nil {
		return false, err
	}
	if ok {
		unlockFile(f)
	}
	return !ok, nil
}

package config

import (
	"regexp"
	"strings"
	"time"
)

// Outbox is the events.outbox: section: the transactional outbox and its
// relay (package adapters/outbox).
type Outbox struct {
	// Enabled puts the outbox in use: the embedded broker runs with
	// DedupWindow, and an App (compose, the fx module) opens the outbox
	// database in Start and runs a relay until Shutdown, which drains it
	// (unless compose.WithoutOutboxRelay; `rustok-iggy outbox relay` runs
	// one alone). Its state is in /health and /metrics. Default false.
	Enabled bool `yaml:"enabled"`
	// Driver is "sqlite" (default) or "postgres".
	Driver string `yaml:"driver"`
	// DSN is the database: for sqlite a file path (default
	// "./data/outbox.db"), for postgres a connection string (required;
	// use ${ENV} for the password).
	DSN Secret `yaml:"dsn"`
	// Table is the outbox table. Default "rustok_outbox".
	Table string `yaml:"table"`
	// BatchSize is the most rows relayed at once. Default 1000.
	BatchSize int `yaml:"batch_size"`
	// PollInterval is the relay's fallback poll when idle (PostgreSQL
	// wakes it with NOTIFY earlier). Default 1s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// Retention is how long delivered rows are kept. Default 24h.
	Retention time.Duration `yaml:"retention"`
	// MaxPendingAge makes health Degraded when the oldest pending event
	// is older. Default 1m; 0 turns the check off.
	MaxPendingAge time.Duration `yaml:"max_pending_age"`
	// MaxPending makes health Degraded when more rows than this are
	// pending. Default 0: no limit.
	MaxPending int64 `yaml:"max_pending"`
	// MaxAttempts is how often the relay publishes a row that keeps
	// failing with a permanent error before it gives up on it (see
	// DeadLetter); a broker that is unavailable is waited for and never
	// counted. Default 5.
	MaxAttempts int `yaml:"max_attempts"`
	// DeadLetter says what happens to a row the relay gives up on (after
	// MaxAttempts, or at once when it does not decode or is invalid):
	// "dlq" (default) stores it in the transport's dlq topic with the DLQ
	// headers (dlq_reason "outbox" or "decode") and marks it dead and
	// delivered; "mark" only marks it dead in the table (dead_at,
	// last_error), where it stays. Either way the tenant's later events
	// move on.
	DeadLetter string `yaml:"dead_letter"`
	// DedupWindow is the embedded broker's message deduplication window
	// while the outbox is enabled, so a relay's republished batch is
	// stored once. Default 10m; 0 turns it off. Remote mode: set
	// [system.message_deduplication] on the Iggy server instead. A DLQ
	// redrive reuses the event's message id, so it is dropped when the
	// original is less than the window old.
	DedupWindow time.Duration `yaml:"dedup_window"`
}

// Inbox is the events.inbox: section: the idempotent consumer's table
// (package adapters/inbox).
type Inbox struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string `yaml:"driver"`
	// DSN as for the outbox (default "./data/outbox.db").
	DSN Secret `yaml:"dsn"`
	// Table is the inbox table. Default "rustok_inbox".
	Table string `yaml:"table"`
	// Retention is how long processed ids are kept. Default 168h.
	Retention time.Duration `yaml:"retention"`
}

func defaultOutbox() Outbox {
	return Outbox{
		Driver: "sqlite", DSN: "./data/outbox.db", Table: "rustok_outbox", BatchSize: 1000,
		PollInterval: time.Second, Retention: 24 * time.Hour, MaxPendingAge: time.Minute, DedupWindow: 10 * time.Minute,
		MaxAttempts: 5, DeadLetter: DeadLetterDLQ,
	}
}

// Values of Outbox.DeadLetter.
const (
	DeadLetterDLQ  = "dlq"
	DeadLetterMark = "mark"
)

func defaultInbox() Inbox {
	return Inbox{Driver: "sqlite", DSN: "./data/outbox.db", Table: "rustok_inbox", Retention: 7 * 24 * time.Hour}
}

var sqlTableRe = regexp.MustCompile(`^([a-z_][a-z0-9_]{0,47}\.)?[a-z_][a-z0-9_]{0,47}$`)

func (v *validator) sqlStore(p, driver string, dsn Secret, table string, required bool) {
	switch driver {
	case "sqlite", "postgres":
	default:
		v.add(p+".driver", "is %q; want \"sqlite\" or \"postgres\"", driver)
	}
	if required && strings.TrimSpace(string(dsn)) == "" {
		v.add(p+".dsn", "is empty")
	}
	if !sqlTableRe.MatchString(table) || (driver == "sqlite" && strings.Contains(table, ".")) {
		v.add(p+".table", "is %q; want lower-case letters, digits and _ (schema.name on postgres)", table)
	}
}

func (v *validator) outbox(o Outbox, in Inbox) {
	const p = "events.outbox"
	v.sqlStore(p, o.Driver, o.DSN, o.Table, o.Enabled)
	v.between(p+".batch_size", o.BatchSize, 1, 100_000)
	if o.PollInterval <= 0 {
		v.add(p+".poll_interval", "is %v; want more than 0", o.PollInterval)
	}
	v.nonNegative(p+".retention", o.Retention)
	v.nonNegative(p+".max_pending_age", o.MaxPendingAge)
	v.nonNegative(p+".dedup_window", o.DedupWindow)
	if o.MaxPending < 0 {
		v.add(p+".max_pending", "is %d; want 0 (no limit) or more", o.MaxPending)
	}
	v.between(p+".max_attempts", o.MaxAttempts, 1, 1000)
	switch o.DeadLetter {
	case DeadLetterDLQ, DeadLetterMark:
	default:
		v.add(p+".dead_letter", "is %q; want %q or %q", o.DeadLetter, DeadLetterDLQ, DeadLetterMark)
	}
	const q = "events.inbox"
	v.sqlStore(q, in.Driver, in.DSN, in.Table, false)
	v.nonNegative(q+".retention", in.Retention)
}

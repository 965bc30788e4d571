package config

import (
	"regexp"
	"strings"
	"time"
)

// Outbox is the events.outbox: section: the transactional outbox and its
// relay (package adapters/outbox).
type Outbox struct {
	// Enabled marks the outbox as in use: the embedded broker then runs
	// with DedupWindow. The relay itself runs where it is started:
	// `rustok-iggy outbox relay`, or compose.OpenOutbox + StartRelay in the
	// application (App.Start does not start it). Default false.
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
	// is older. Default 1m.
	MaxPendingAge time.Duration `yaml:"max_pending_age"`
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
	}
}

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
	const q = "events.inbox"
	v.sqlStore(q, in.Driver, in.DSN, in.Table, false)
	v.nonNegative(q+".retention", in.Retention)
}

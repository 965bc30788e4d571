package outbox

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/core"
)

// Dialect names the SQL database behind the outbox.
type Dialect string

// Supported dialects.
const (
	// Postgres is PostgreSQL, through pgx v5 (native or database/sql).
	Postgres Dialect = "postgres"
	// SQLite is SQLite through database/sql (modernc.org/sqlite, see
	// OpenSQLite).
	SQLite Dialect = "sqlite"
)

// DefaultTable is the outbox table's default name.
const DefaultTable = "rustok_outbox"

// SchemaVersion is the version of the tables Migrate creates.
const SchemaVersion = 1

// Config configures an Outbox.
type Config struct {
	// Dialect is Postgres or SQLite. Required.
	Dialect Dialect
	// Table is the outbox table, optionally schema-qualified on PostgreSQL
	// ("events.outbox"): lower-case letters, digits and underscores, at
	// most 48 bytes per part. Default DefaultTable.
	Table string
	// Codec encodes envelopes into rows. Default codec.JSON. The relay
	// decodes each row by its stored content type, so the codec may change
	// while rows are pending.
	Codec core.Codec
}

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// Validate reports every problem, joined, with its field.
func (c Config) Validate() error {
	var errs []error
	switch c.Dialect {
	case Postgres, SQLite:
	case "":
		errs = append(errs, fmt.Errorf("%w: outbox: dialect is required (postgres or sqlite)", core.ErrInvalid))
	default:
		errs = append(errs, fmt.Errorf("%w: outbox: dialect %q (want postgres or sqlite)", core.ErrInvalid, c.Dialect))
	}
	if c.Table != "" {
		if err := validTable(c.Table, c.Dialect); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func validTable(t string, d Dialect) error {
	parts := strings.Split(t, ".")
	if len(parts) > 2 || (len(parts) == 2 && d == SQLite) {
		return fmt.Errorf("%w: outbox: table %q: want name or schema.name (schema only on postgres)", core.ErrInvalid, t)
	}
	for _, p := range parts {
		if !identRe.MatchString(p) {
			return fmt.Errorf("%w: outbox: table %q: %q must be lower-case letters, digits and _ (at most 48 bytes, not starting with a digit)", core.ErrInvalid, t, p)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.Codec == nil {
		c.Codec = codec.JSON{}
	}
	return c
}

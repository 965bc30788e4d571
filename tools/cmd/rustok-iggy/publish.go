package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// maxInputLine bounds one stdin line or JSON file of publish, in bytes.
const maxInputLine = 16 << 20

// openClient loads the configuration and opens the App as the short-lived
// commands (publish, consume, replay, dlq, topology, health) need it: no TCP
// listener, no HTTP server, no outbox relay (that is `outbox relay`'s
// job), logging at level and up to stderr, and a
// context that ends on SIGINT or SIGTERM. The caller defers closeAll, which
// shuts the App down and then releases the signal context.
func openClient(cmd *cobra.Command, level slog.Level) (ctx context.Context, app *compose.App, closeAll func(), err error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, stop := signalContext(cmd)
	app, err = openApp(ctx, cfg, cliLogger(cmd, level), compose.WithoutTCPListener(), compose.WithHTTPAddr(""), compose.WithoutOutboxRelay())
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return ctx, app, func() { _ = closeApp(app); stop() }, nil
}

type publishOptions struct {
	tenant, eventType, variant, data string
	correlation, causation, actor    string
	traceID                          string
	count                            int
	file                             string
	stdin                            bool
	quiet                            bool
}

func newPublishCmd() *cobra.Command {
	var o publishOptions
	cmd := &cobra.Command{
		Use:   "publish [--tenant T --type TYPE [--data JSON] | --file FILE | --stdin]",
		Short: "Publish events from flags, a JSON file or stdin lines",
		Long: `Publishes events to the configured stream.

From flags: --tenant (a UUID, or a name that maps to a stable UUID) and
--type (e.g. order.placed) are required; --data is the event's JSON data,
--event its variant name (default from the type: order.placed -> OrderPlaced),
--count publishes that many copies with fresh ids.

From --file: a JSON array of events, one JSON event, or one event per line.
From --stdin (or "-"): one JSON event per line, published as it is read.
An event is the envelope's JSON (id, event_type, schema_version,
correlation_id, causation_id, tenant_id, trace_id, timestamp, actor_id,
event {type, data}, retry_count); only tenant_id and event_type are
required, "data" may be given instead of "event", and tenant_id may be a
name.

Prints one line per event: id, type, tenant, topic and partition.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if args[0] != "-" {
					return usageError("unexpected argument %q (use - for stdin)", args[0])
				}
				o.stdin = true
			}
			sources := 0
			if o.tenant != "" || o.eventType != "" {
				sources++
			}
			if o.file != "" {
				sources++
			}
			if o.stdin {
				sources++
			}
			if sources != 1 {
				return usageError("give exactly one source: --tenant and --type, --file, or --stdin")
			}
			var flagEvents []core.Envelope
			if o.file == "" && !o.stdin {
				evs, err := eventsFromFlags(o)
				if err != nil {
					return err
				}
				flagEvents = evs
			}
			ctx, app, closeAll, err := openClient(cmd, slog.LevelWarn)
			if err != nil {
				return err
			}
			defer closeAll()
			p := &publisher{tr: app.Transport(), out: cmd.OutOrStdout(), quiet: o.quiet}
			switch {
			case o.file != "":
				return p.file(ctx, o.file)
			case o.stdin:
				return p.lines(ctx, cmd.InOrStdin(), "stdin")
			default:
				return p.publish(ctx, flagEvents)
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.tenant, "tenant", "", "tenant `id` (UUID or name)")
	f.StringVar(&o.eventType, "type", "", "event `type`, e.g. order.placed")
	f.StringVar(&o.variant, "event", "", "event variant `name` (default derived from --type)")
	f.StringVar(&o.data, "data", "", "event data as `JSON`")
	f.StringVar(&o.correlation, "correlation-id", "", "correlation `UUID` (default the event id)")
	f.StringVar(&o.causation, "causation-id", "", "causation `UUID`")
	f.StringVar(&o.actor, "actor-id", "", "actor `UUID`")
	f.StringVar(&o.traceID, "trace-id", "", "trace `id`")
	f.IntVar(&o.count, "count", 1, "publish this many events (fresh ids)")
	f.StringVar(&o.file, "file", "", "read events from a JSON `file`")
	f.BoolVar(&o.stdin, "stdin", false, "read events from stdin, one JSON event per line")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the number of events published")
	return cmd
}

func eventsFromFlags(o publishOptions) ([]core.Envelope, error) {
	var errs []error
	if o.tenant == "" {
		errs = append(errs, errors.New("--tenant is required with --type"))
	}
	if o.eventType == "" {
		errs = append(errs, errors.New("--type is required with --tenant"))
	}
	if o.count < 1 {
		errs = append(errs, fmt.Errorf("--count must be at least 1, got %d", o.count))
	}
	if o.data != "" && !json.Valid([]byte(o.data)) {
		errs = append(errs, fmt.Errorf("--data is not valid JSON: %s", o.data))
	}
	var corr, cause, actor uuid.UUID
	for name, v := range map[string]struct {
		s   string
		dst *uuid.UUID
	}{"--correlation-id": {o.correlation, &corr}, "--causation-id": {o.causation, &cause}, "--actor-id": {o.actor, &actor}} {
		if v.s == "" {
			continue
		}
		id, err := uuid.Parse(v.s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		*v.dst = id
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("usage: %w", errors.Join(errs...))
	}
	tenant, err := parseTenant(o.tenant)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	variant := o.variant
	if variant == "" {
		variant = variantOf(o.eventType)
	}
	out := make([]core.Envelope, 0, o.count)
	for range o.count {
		e := core.NewEnvelope(tenant, o.eventType, core.Event{Type: variant, Data: json.RawMessage(o.data)})
		if corr != uuid.Nil {
			e.CorrelationID = corr
		}
		e.CausationID, e.ActorID, e.TraceID = cause, actor, o.traceID
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("usage: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// variantOf derives a variant name from an event type: order.placed ->
// OrderPlaced.
func variantOf(eventType string) string {
	var b strings.Builder
	up := true
	for _, r := range eventType {
		if r == '.' || r == '_' || r == '-' {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// inputEvent is an event as publish reads it: the envelope's JSON with
// only tenant_id and event_type required.
type inputEvent struct {
	ID            *uuid.UUID      `json:"id"`
	EventType     string          `json:"event_type"`
	SchemaVersion *uint16         `json:"schema_version"`
	CorrelationID *uuid.UUID      `json:"correlation_id"`
	CausationID   *uuid.UUID      `json:"causation_id"`
	TenantID      string          `json:"tenant_id"`
	TraceID       *string         `json:"trace_id"`
	Timestamp     *time.Time      `json:"timestamp"`
	ActorID       *uuid.UUID      `json:"actor_id"`
	Event         *core.Event     `json:"event"`
	Data          json.RawMessage `json:"data"`
	RetryCount    uint32          `json:"retry_count"`
}

// parseInputEvent decodes one event; unknown fields are errors.
func parseInputEvent(b []byte) (core.Envelope, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var in inputEvent
	if err := dec.Decode(&in); err != nil {
		return core.Envelope{}, err
	}
	if dec.More() {
		return core.Envelope{}, errors.New("more than one JSON value")
	}
	return in.envelope()
}

func (in inputEvent) envelope() (core.Envelope, error) {
	if in.TenantID == "" {
		return core.Envelope{}, errors.New("tenant_id is required")
	}
	tenant, err := parseTenant(in.TenantID)
	if err != nil {
		return core.Envelope{}, fmt.Errorf("tenant_id: %w", err)
	}
	ev := core.Event{Type: variantOf(in.EventType), Data: in.Data}
	if in.Event != nil {
		if in.Data != nil {
			return core.Envelope{}, errors.New("give either event or data, not both")
		}
		ev = *in.Event
	}
	e := core.NewEnvelope(tenant, in.EventType, ev)
	if in.ID != nil {
		e.ID, e.CorrelationID = *in.ID, *in.ID
	}
	if in.SchemaVersion != nil {
		e.SchemaVersion = *in.SchemaVersion
	}
	if in.CorrelationID != nil {
		e.CorrelationID = *in.CorrelationID
	}
	if in.CausationID != nil {
		e.CausationID = *in.CausationID
	}
	if in.TraceID != nil {
		e.TraceID = *in.TraceID
	}
	if in.Timestamp != nil {
		e.Timestamp = in.Timestamp.UTC()
	}
	if in.ActorID != nil {
		e.ActorID = *in.ActorID
	}
	e.RetryCount = in.RetryCount
	if err := e.Validate(); err != nil {
		return core.Envelope{}, err
	}
	return e, nil
}

type publisher struct {
	tr    *transport.Transport
	out   io.Writer
	quiet bool
	n     int
}

func (p *publisher) publish(ctx context.Context, evs []core.Envelope) error {
	if err := p.tr.PublishBatch(ctx, evs); err != nil {
		var be *transport.BatchError
		if errors.As(err, &be) {
			failed := map[uuid.UUID]bool{}
			for _, f := range be.Failed {
				failed[f.ID] = true
			}
			for _, e := range evs {
				if !failed[e.ID] {
					p.report(e)
				}
			}
		}
		return fmt.Errorf("publish: %w", err)
	}
	for _, e := range evs {
		p.report(e)
	}
	if p.quiet {
		fmt.Fprintf(p.out, "published %d events\n", p.n)
	}
	return nil
}

func (p *publisher) report(e core.Envelope) {
	p.n++
	if p.quiet {
		return
	}
	topic := transport.TopicFor(e.EventType)
	parts := p.tr.Config().Topology.DomainPartitions
	if topic == transport.TopicSystem {
		parts = p.tr.Config().Topology.SystemPartitions
	}
	fmt.Fprintf(p.out, "published %s %s tenant=%s topic=%s partition=%d\n", e.ID, e.EventType, e.TenantID, topic, transport.TenantPartition(e.TenantID, parts))
}

func (p *publisher) file(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxInputLine+1))
	if err != nil {
		return fmt.Errorf("--file %s: %w", path, err)
	}
	if len(b) > maxInputLine {
		return fmt.Errorf("--file %s: larger than %d bytes; use --stdin with one event per line", path, maxInputLine)
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return fmt.Errorf("--file %s: %w", path, err)
		}
		evs := make([]core.Envelope, 0, len(raw))
		var errs []error
		for i, r := range raw {
			e, err := parseInputEvent(r)
			if err != nil {
				errs = append(errs, fmt.Errorf("event [%d]: %w", i, err))
				continue
			}
			evs = append(evs, e)
		}
		if len(errs) > 0 {
			return fmt.Errorf("--file %s: nothing published:\n%w", path, errors.Join(errs...))
		}
		return p.publish(ctx, evs)
	}
	if e, err := parseInputEvent(trimmed); err == nil {
		return p.publish(ctx, []core.Envelope{e})
	}
	return p.lines(ctx, bytes.NewReader(b), path)
}

// lines publishes one event per non-empty line, as read; a bad line stops
// with an error naming it (the lines before it are published).
func (p *publisher) lines(ctx context.Context, r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxInputLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		e, err := parseInputEvent(b)
		if err != nil {
			return fmt.Errorf("%s line %d: %w (published %d events before it)", name, line, err, p.n)
		}
		if err := p.tr.Publish(ctx, e); err != nil {
			return fmt.Errorf("%s line %d: publish: %w", name, line, err)
		}
		p.report(e)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", name, line+1, err)
	}
	if p.quiet {
		fmt.Fprintf(p.out, "published %d events\n", p.n)
	}
	return nil
}

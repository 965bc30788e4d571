package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/transport"
)

type dlqFlags struct {
	groups, tenants, types []string
	since                  string
	limit                  int
	all                    bool
	asJSON                 bool
}

func (f *dlqFlags) register(cmd *cobra.Command, withAll bool) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.groups, "group", "g", nil, "only entries of this consumer group; repeatable")
	fl.StringArrayVar(&f.tenants, "tenant", nil, "only this tenant (UUID or name); repeatable")
	fl.StringArrayVar(&f.types, "type", nil, "only this event type; repeatable")
	fl.StringVar(&f.since, "since", "", "only entries stored at or after this RFC 3339 `time`")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON")
	if withAll {
		fl.IntVarP(&f.limit, "limit", "n", 0, "list at most this many entries (0: all)")
		fl.BoolVar(&f.all, "all", false, "include entries already redriven")
	}
}

func (f *dlqFlags) filter() (transport.DLQFilter, error) {
	ts, err := parseTenants(f.tenants)
	if err != nil {
		return transport.DLQFilter{}, fmt.Errorf("usage: %w", err)
	}
	if f.limit < 0 {
		return transport.DLQFilter{}, usageError("--limit must not be negative")
	}
	flt := transport.DLQFilter{Tenants: ts, EventTypes: f.types, Groups: f.groups, IncludeRedriven: f.all, Limit: f.limit}
	if f.since != "" {
		t, err := time.Parse(time.RFC3339Nano, f.since)
		if err != nil {
			return transport.DLQFilter{}, usageError("--since: want RFC 3339: %v", err)
		}
		flt.Since = t
	}
	return flt, nil
}

func newDLQCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect and redrive the dead letter queue",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDLQListCmd(), newDLQRedriveCmd())
	return cmd
}

// dlqEntryJSON is a DLQ entry as dlq list prints it.
type dlqEntryJSON struct {
	Partition    uint32    `json:"partition"`
	Offset       uint64    `json:"offset"`
	StoredAt     time.Time `json:"stored_at"`
	ID           uuid.UUID `json:"id"`
	TenantID     uuid.UUID `json:"tenant_id"`
	EventType    string    `json:"event_type"`
	Group        string    `json:"group"`
	Reason       string    `json:"reason"`
	Error        string    `json:"error"`
	Attempts     int       `json:"attempts"`
	Source       string    `json:"source"`
	FirstFailure time.Time `json:"first_failure_at"`
	LastFailure  time.Time `json:"last_failure_at"`
	Redriven     bool      `json:"redriven"`
	HeaderError  string    `json:"header_error,omitempty"`
}

func entryJSON(e transport.DLQEntry) dlqEntryJSON {
	j := dlqEntryJSON{Partition: e.Partition, Offset: e.Offset, StoredAt: e.StoredAt.UTC(), ID: e.ID, TenantID: e.TenantID,
		EventType: e.EventType, Group: e.Group, Reason: e.Reason, Error: e.Error, Attempts: e.Attempts,
		Source:       fmt.Sprintf("%s/%d@%d", e.SourceTopic, e.SourcePartition, e.SourceOffset),
		FirstFailure: e.FirstFailure.UTC(), LastFailure: e.LastFailure.UTC(), Redriven: e.Redriven}
	if e.HeaderErr != nil {
		j.HeaderError = e.HeaderErr.Error()
	}
	return j
}

func printEntries(w io.Writer, es []transport.DLQEntry) {
	for _, e := range es {
		state := ""
		if e.Redriven {
			state = " (redriven)"
		}
		fmt.Fprintf(w, "dlq/%d@%d  %s  %s  tenant=%s group=%s attempts=%d from %s/%d@%d%s\n    %s: %s\n",
			e.Partition, e.Offset, e.StoredAt.UTC().Format(time.RFC3339), e.EventType, e.TenantID, e.Group, e.Attempts,
			e.SourceTopic, e.SourcePartition, e.SourceOffset, state, e.Reason, e.Error)
	}
}

func newDLQListCmd() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead-lettered events (not yet redriven, unless --all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flt, err := f.filter()
			if err != nil {
				return err
			}
			ctx, app, closeAll, err := openClient(cmd, slog.LevelWarn)
			if err != nil {
				return err
			}
			defer closeAll()
			es, err := app.Transport().DLQ().List(ctx, flt)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.asJSON {
				js := make([]dlqEntryJSON, 0, len(es))
				for _, e := range es {
					js = append(js, entryJSON(e))
				}
				return writeJSON(out, js)
			}
			printEntries(out, es)
			fmt.Fprintf(out, "%d entries\n", len(es))
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

func newDLQRedriveCmd() *cobra.Command {
	var f dlqFlags
	cmd := &cobra.Command{
		Use:   "redrive",
		Short: "Publish dead-lettered events back to their topic (each entry once)",
		Long: `Publishes the matching DLQ entries that were not redriven before back to
their source topic, on their tenant's partition, with retry_count + 1, and
marks them redriven (running it again redrives nothing new). Consumer groups
then handle them again. Exits with status 1 if an entry could not be redriven.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flt, err := f.filter()
			if err != nil {
				return err
			}
			ctx, app, closeAll, err := openClient(cmd, slog.LevelWarn)
			if err != nil {
				return err
			}
			defer closeAll()
			res, err := app.Transport().DLQ().Redrive(ctx, flt)
			out := cmd.OutOrStdout()
			if f.asJSON {
				type failure struct {
					Entry dlqEntryJSON `json:"entry"`
					Error string       `json:"error"`
				}
				j := struct {
					Redriven        []dlqEntryJSON `json:"redriven"`
					AlreadyRedriven int            `json:"already_redriven"`
					Failed          []failure      `json:"failed"`
				}{Redriven: []dlqEntryJSON{}, AlreadyRedriven: res.AlreadyRedriven, Failed: []failure{}}
				for _, e := range res.Redriven {
					j.Redriven = append(j.Redriven, entryJSON(e))
				}
				for _, fl := range res.Failed {
					j.Failed = append(j.Failed, failure{entryJSON(fl.Entry), fl.Err.Error()})
				}
				if werr := writeJSON(out, j); werr != nil {
					return werr
				}
			} else {
				for _, e := range res.Redriven {
					fmt.Fprintf(out, "redriven dlq/%d@%d %s %s -> %s\n", e.Partition, e.Offset, e.EventType, e.ID, e.SourceTopic)
				}
				for _, fl := range res.Failed {
					fmt.Fprintf(out, "FAILED   dlq/%d@%d %s %s: %v\n", fl.Entry.Partition, fl.Entry.Offset, fl.Entry.EventType, fl.Entry.ID, fl.Err)
				}
				fmt.Fprintf(out, "%d redriven, %d failed, %d already redriven\n", len(res.Redriven), len(res.Failed), res.AlreadyRedriven)
			}
			if err != nil {
				return err
			}
			if len(res.Failed) > 0 {
				return fmt.Errorf("dlq redrive: %d entries could not be redriven", len(res.Failed))
			}
			return nil
		},
	}
	f.register(cmd, false)
	return cmd
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/outbox"
)

func newOutboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "Inspect the transactional outbox (status) or run its relay (relay)",
		Long: `Works on the outbox database of events.outbox (driver sqlite or postgres,
dsn, table). "status" prints pending rows, the oldest pending age, delivered
rows per second over the last minute, dead rows (only marked, and
dead-lettered into the DLQ) and the relays (which one holds the lock). "relay" runs a relay into the configured broker until
interrupted; several may run against one PostgreSQL database (one is active,
the others stand by), one per SQLite file.`,
	}
	cmd.AddCommand(newOutboxStatusCmd(), newOutboxRelayCmd())
	return cmd
}

func newOutboxStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the outbox's pending, delivered and dead rows and its relays",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			ob, err := compose.OpenOutbox(ctx, cfg, cliLogger(cmd, slog.LevelError))
			if err != nil {
				return err
			}
			defer ob.Shutdown(context.Background())
			st, err := ob.Outbox.Stats(ctx, ob.DB)
			if err != nil {
				return err
			}
			sqliteActive := false
			if ob.Outbox.Dialect() == outbox.SQLite {
				if sqliteActive, err = outbox.SQLiteRelayActive(ob.LockPath()); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				relays := []map[string]any{}
				for _, r := range st.Relays {
					relays = append(relays, map[string]any{"name": r.Name, "pid": r.PID, "client": r.Client, "active": r.Active, "since": r.Since.UTC().Format(time.RFC3339)})
				}
				if ob.Outbox.Dialect() == outbox.SQLite && sqliteActive {
					relays = append(relays, map[string]any{"name": "lock file " + ob.LockPath(), "active": true})
				}
				return writeJSON(out, map[string]any{
					"table": ob.Outbox.Table(), "driver": string(ob.Outbox.Dialect()),
					"pending": st.Pending, "oldest_pending_seconds": st.OldestPending.Seconds(),
					"dead": st.Dead, "dead_lettered": st.DeadLettered, "delivered_per_second": float64(st.DeliveredLastMinute) / 60,
					"relays": relays, "health": ob.Health(ctx),
				})
			}
			fmt.Fprintf(out, "outbox %s (%s)\n", ob.Outbox.Table(), ob.Outbox.Dialect())
			fmt.Fprintf(out, "  pending:        %d\n", st.Pending)
			fmt.Fprintf(out, "  oldest pending: %s\n", st.OldestPending.Round(time.Millisecond))
			fmt.Fprintf(out, "  delivered/s:    %.1f (last minute)\n", float64(st.DeliveredLastMinute)/60)
			fmt.Fprintf(out, "  dead:           %d (marked only)\n", st.Dead)
			fmt.Fprintf(out, "  dead-lettered:  %d (in the DLQ, not yet pruned)\n", st.DeadLettered)
			switch {
			case ob.Outbox.Dialect() == outbox.SQLite && sqliteActive:
				fmt.Fprintf(out, "  relay:          active (holds %s)\n", ob.LockPath())
			case ob.Outbox.Dialect() == outbox.SQLite, len(st.Relays) == 0:
				fmt.Fprintf(out, "  relay:          none running\n")
			default:
				for _, r := range st.Relays {
					role := "standby"
					if r.Active {
						role = "active (holds the lock)"
					}
					fmt.Fprintf(out, "  relay:          %s pid %d %s since %s: %s\n", r.Name, r.PID, r.Client, r.Since.UTC().Format(time.RFC3339), role)
				}
			}
			for _, h := range ob.Health(ctx) {
				fmt.Fprintf(out, "  degraded:       %s\n", h)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func newOutboxRelayCmd() *cobra.Command {
	var httpAddr string
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Relay committed outbox rows to the broker until interrupted",
		Long: `Runs the App with events.outbox enabled: its start opens the outbox database
and starts the relay; SIGINT/SIGTERM stop it gracefully (the publish in flight
finishes and its rows are marked, then the relay lock is released for a
standby relay). With --http-addr, /health (the "outbox" check: relay state,
pending rows, oldest pending age, last error) and /metrics (rustok_outbox_*)
are served there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			cfg.Events.Outbox.Enabled = true // the relay runs; dedup window on an embedded broker
			ctx, stop := signalContext(cmd)
			defer stop()
			logger := cliLogger(cmd, slog.LevelInfo)
			app, err := openApp(ctx, cfg, logger, compose.WithoutTCPListener(), compose.WithHTTPAddr(httpAddr))
			if err != nil {
				return err
			}
			ob := app.Outbox()
			msg := fmt.Sprintf("relaying %s (%s) to %s", ob.Outbox.Table(), ob.Outbox.Dialect(), app.Describe())
			if a := app.HTTPAddr(); a != "" {
				msg += "; /health and /metrics on http://" + a
			}
			fmt.Fprintln(cmd.OutOrStdout(), msg+"; Ctrl-C stops")
			<-ctx.Done()
			return closeApp(app)
		},
	}
	cmd.Flags().StringVar(&httpAddr, "http-addr", "", "serve /health and /metrics on this address (host:port; port 0 = any free port)")
	return cmd
}

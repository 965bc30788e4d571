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
rows per second over the last minute, dead rows and the relays (which one
holds the lock). "relay" runs a relay into the configured broker until
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
					"dead": st.Dead, "delivered_per_second": float64(st.DeliveredLastMinute) / 60,
					"relays": relays, "health": ob.Health(ctx),
				})
			}
			fmt.Fprintf(out, "outbox %s (%s)\n", ob.Outbox.Table(), ob.Outbox.Dialect())
			fmt.Fprintf(out, "  pending:        %d\n", st.Pending)
			fmt.Fprintf(out, "  oldest pending: %s\n", st.OldestPending.Round(time.Millisecond))
			fmt.Fprintf(out, "  delivered/s:    %.1f (last minute)\n", float64(st.DeliveredLastMinute)/60)
			fmt.Fprintf(out, "  dead:           %d\n", st.Dead)
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
	return &cobra.Command{
		Use:   "relay",
		Short: "Relay committed outbox rows to the broker until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			cfg.Events.Outbox.Enabled = true // dedup window on an embedded broker
			ctx, stop := signalContext(cmd)
			defer stop()
			logger := cliLogger(cmd, slog.LevelInfo)
			app, err := openApp(ctx, cfg, logger, compose.WithoutTCPListener(), compose.WithHTTPAddr(""))
			if err != nil {
				return err
			}
			defer closeApp(app)
			ob, err := compose.OpenOutbox(ctx, cfg, logger)
			if err != nil {
				return err
			}
			if _, err := ob.StartRelay(ctx, app.Transport()); err != nil {
				_ = ob.Shutdown(context.Background())
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "relaying %s (%s) to %s; Ctrl-C stops\n", ob.Outbox.Table(), ob.Outbox.Dialect(), app.Describe())
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			defer cancel()
			return ob.Shutdown(sctx)
		},
	}
}

package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/adapters/httpapi"
	"github.com/rustok/rustok-iggy/transport"
)

func newHealthCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check the broker, the topology and the DLQ; exit 1 when unhealthy",
		Long: `Connects with the configuration, checks the broker (ping and round trip),
the topology and the dead letter queue, and prints the report. Exits with
status 1 when the result is unhealthy (degraded exits 0).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, app, closeAll, err := openClient(cmd, slog.LevelError)
			if err != nil {
				return err
			}
			defer closeAll()
			rep := app.Health().Check(ctx)
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(out, httpapi.ReportJSON(rep)); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "%s (%s)\n", rep, app.Describe())
			}
			if rep.Status == transport.Unhealthy {
				return fmt.Errorf("health: unhealthy")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

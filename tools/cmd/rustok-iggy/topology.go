package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/transport"
)

// topicJSON describes one topic for the topology command.
type topicJSON struct {
	Name          string `json:"name"`
	Partitions    uint32 `json:"partitions"`
	Messages      uint64 `json:"messages"`
	SizeBytes     uint64 `json:"size_bytes"`
	MessageExpiry string `json:"message_expiry"`
	MaxSizeBytes  uint64 `json:"max_size_bytes"`
}

func newTopologyCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "topology",
		Short: "Create the stream and its topics if missing, and describe them",
		Long: `Ensures the configured stream and its domain, system and dlq topics exist
with at least the configured partitions (it never deletes or shrinks), then
prints each topic's partitions, messages, size and retention, and any
difference between the existing topics and the configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, app, closeAll, err := openClient(cmd, slog.LevelError)
			if err != nil {
				return err
			}
			defer closeAll()
			cfg := app.Config()
			stream := cfg.Events.Iggy.Topology.StreamName
			var topics []topicJSON
			for _, name := range []string{transport.TopicDomain, transport.TopicSystem, transport.TopicDLQ} {
				ti, err := app.Broker().Topic(ctx, stream, name)
				if err != nil {
					return err
				}
				exp := "never"
				if ti.MessageExpiry > 0 {
					exp = fmtAge(ti.MessageExpiry)
				}
				topics = append(topics, topicJSON{Name: ti.Name, Partitions: ti.PartitionsCount, Messages: ti.MessagesCount,
					SizeBytes: ti.SizeBytes, MessageExpiry: exp, MaxSizeBytes: ti.MaxSize})
			}
			conflicts := app.Transport().TopologyConflicts()
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, struct {
					Mode      string      `json:"mode"`
					Broker    string      `json:"broker"`
					Stream    string      `json:"stream"`
					Topics    []topicJSON `json:"topics"`
					Conflicts []string    `json:"conflicts"`
				}{string(cfg.Events.Iggy.Mode), app.Describe(), stream, topics, append([]string{}, conflicts...)})
			}
			fmt.Fprintf(out, "stream %q (%s)\n", stream, app.Describe())
			fmt.Fprintf(out, "  %-7s %10s %10s %12s %8s %14s\n", "TOPIC", "PARTITIONS", "MESSAGES", "SIZE", "EXPIRY", "MAX SIZE")
			for _, t := range topics {
				maxSize := "unlimited"
				if t.MaxSizeBytes > 0 {
					maxSize = fmtBytes(t.MaxSizeBytes)
				}
				fmt.Fprintf(out, "  %-7s %10d %10d %12s %8s %14s\n", t.Name, t.Partitions, t.Messages, fmtBytes(t.SizeBytes), t.MessageExpiry, maxSize)
			}
			for _, c := range conflicts {
				fmt.Fprintf(out, "  differs from the configuration (left unchanged): %s\n", c)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(newTopologyDeleteCmd())
	return cmd
}

func fmtAge(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func fmtBytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

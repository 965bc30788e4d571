package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/transport"
)

var errReplayLimit = errors.New("replay limit reached")

func newReplayCmd() *cobra.Command {
	var (
		topic, fromTime, toTime string
		tenants, types          []string
		fromOffset, toOffset    int64
		limit                   int
		asJSON                  bool
		partitions              []uint
	)
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Re-read events of a topic, filtered by tenant and type, without moving any group",
		Long: `Reads a topic (domain by default; system or dlq) from the beginning, an
offset (--from-offset, the same in every partition) or a time (--from-time,
RFC 3339), up to the end or --to-offset/--to-time, and prints the events that
match --tenant and --type (both repeatable). Only the tenants' partitions are
read. No consumer group's offsets change.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := transport.ReplayRequest{Topic: topic, EventTypes: types}
			switch topic {
			case transport.TopicDomain, transport.TopicSystem, transport.TopicDLQ:
			default:
				return usageError("--topic is %q; want domain, system or dlq", topic)
			}
			if cmd.Flags().Changed("from-offset") && fromTime != "" {
				return usageError("give --from-offset or --from-time, not both")
			}
			if cmd.Flags().Changed("to-offset") && toTime != "" {
				return usageError("give --to-offset or --to-time, not both")
			}
			if fromOffset < 0 || toOffset < -1 || limit < 0 {
				return usageError("--from-offset, --to-offset and --limit must not be negative")
			}
			if cmd.Flags().Changed("from-offset") {
				req.From = transport.AtOffset(uint64(fromOffset))
			}
			if toOffset >= 0 {
				req.To = transport.AtOffset(uint64(toOffset))
			}
			for _, tv := range []struct {
				flag, v string
				dst     *transport.Position
			}{{"--from-time", fromTime, &req.From}, {"--to-time", toTime, &req.To}} {
				if tv.v == "" {
					continue
				}
				t, err := time.Parse(time.RFC3339Nano, tv.v)
				if err != nil {
					return usageError("%s: want RFC 3339, like 2026-01-02T15:04:05Z: %v", tv.flag, err)
				}
				*tv.dst = transport.AtTime(t)
			}
			ts, err := parseTenants(tenants)
			if err != nil {
				return fmt.Errorf("usage: %w", err)
			}
			req.Tenants = ts
			for _, p := range partitions {
				req.Partitions = append(req.Partitions, uint32(p))
			}
			ctx, app, closeAll, err := openClient(cmd, slog.LevelWarn)
			if err != nil {
				return err
			}
			defer closeAll()
			out := cmd.OutOrStdout()
			n := 0
			res, err := app.Transport().Replay(ctx, req, func(_ context.Context, d transport.Delivery) error {
				if limit > 0 && n >= limit {
					return errReplayLimit
				}
				n++
				return printDelivery(out, d, asJSON)
			})
			if err != nil && !errors.Is(err, errReplayLimit) {
				return err
			}
			if !asJSON {
				fmt.Fprintf(cmd.ErrOrStderr(), "replayed %d of %d events scanned\n", n, res.Scanned)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&topic, "topic", transport.TopicDomain, "topic: domain, system or dlq")
	f.StringArrayVar(&tenants, "tenant", nil, "only this tenant (UUID or name); repeatable")
	f.StringArrayVar(&types, "type", nil, "only this event type; repeatable")
	f.Int64Var(&fromOffset, "from-offset", 0, "start at this `offset` in every partition read")
	f.StringVar(&fromTime, "from-time", "", "start at the first event stored at or after this RFC 3339 `time`")
	f.Int64Var(&toOffset, "to-offset", -1, "stop after this `offset` (-1: the end)")
	f.StringVar(&toTime, "to-time", "", "stop after the last event stored at or before this RFC 3339 `time`")
	f.UintSliceVar(&partitions, "partition", nil, "only these partition ids")
	f.IntVarP(&limit, "limit", "n", 0, "stop after this many events (0: no limit)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per event")
	return cmd
}

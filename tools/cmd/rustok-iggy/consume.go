package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/transport"
)

// errPastLimit makes the subscription leave an event beyond --limit
// unhandled: it is not stored and comes again to the group later.
var errPastLimit = errors.New("past --limit")

// consumeMaxAttempts keeps the printing handler's refusals (past --limit)
// from ever reaching the DLQ: Stop interrupts the retry first.
const consumeMaxAttempts = 1 << 30

func newConsumeCmd() *cobra.Command {
	var (
		group, from string
		system      bool
		limit       int
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Print events as they arrive, as a member of a consumer group",
		Long: `Joins a consumer group on the domain topic (and the system topic with
--system) and prints every event as it arrives, until interrupted or --limit
events were printed. The group's offsets are stored as events are printed,
so running it again with the same --group continues where it stopped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if group == "" {
				return usageError("--group must not be empty")
			}
			if from != transport.StartEarliest && from != transport.StartLatest {
				return usageError("--from is %q; want earliest or latest", from)
			}
			if limit < 0 {
				return usageError("--limit must not be negative")
			}
			ctx, app, closeAll, err := openClient(cmd, slog.LevelWarn)
			if err != nil {
				return err
			}
			defer closeAll()
			out := cmd.OutOrStdout()
			var (
				mu      sync.Mutex
				printed int
				werr    error
			)
			full := make(chan struct{})
			var fullOnce sync.Once
			sub, err := app.Transport().Subscribe(ctx, group, func(_ context.Context, d transport.Delivery) error {
				mu.Lock()
				defer mu.Unlock()
				if limit > 0 && printed >= limit {
					return errPastLimit
				}
				if err := printDelivery(out, d, asJSON); err != nil {
					werr = err
					fullOnce.Do(func() { close(full) })
					return err
				}
				printed++
				if limit > 0 && printed >= limit {
					fullOnce.Do(func() { close(full) })
				}
				return nil
			}, transport.SubscribeOptions{IncludeSystem: system, StartFrom: from, MaxAttempts: consumeMaxAttempts})
			if err != nil {
				return err
			}
			select {
			case <-ctx.Done():
			case <-full:
			case <-sub.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			defer cancel()
			if err := sub.Stop(sctx); err != nil {
				return err
			}
			if err := sub.Err(); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if werr != nil {
				return fmt.Errorf("consume: write: %w", werr)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&group, "group", "g", "rustok-iggy-cli", "consumer group `name`")
	f.StringVar(&from, "from", transport.StartEarliest, "where a new group starts: earliest or latest")
	f.BoolVar(&system, "system", false, "also consume the system topic")
	f.IntVarP(&limit, "limit", "n", 0, "stop after this many events (0: run until interrupted)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per event")
	return cmd
}

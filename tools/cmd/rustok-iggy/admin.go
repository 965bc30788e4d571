package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// errNotConfirmed is returned by a delete run without --yes.
var errNotConfirmed = errors.New("nothing deleted: add --yes to confirm")

// subscribedTopics are the topics a Subscribe joins groups on.
var subscribedTopics = []string{transport.TopicDomain, transport.TopicSystem}

func newGroupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Administer consumer groups",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newGroupDeleteCmd())
	return cmd
}

func newGroupDeleteCmd() *cobra.Command {
	var (
		yes    bool
		topics []string
	)
	cmd := &cobra.Command{
		Use:   "delete GROUP --yes",
		Short: "Delete a consumer group and its stored offsets",
		Long: `Deletes the consumer group GROUP from the configured stream's domain and
system topics (--topic to name others), with its stored offsets: a later
subscription of that name starts over from consumer.start_from. Members still
joined lose their membership. Without --yes it only says what it would
delete. It fails when the group exists on none of the topics, or when the
broker cannot delete.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			group := args[0]
			for _, t := range topics {
				if !slices.Contains([]string{transport.TopicDomain, transport.TopicSystem, transport.TopicDLQ}, t) {
					return usageError("--topic %q: want %s, %s or %s", t, transport.TopicDomain, transport.TopicSystem, transport.TopicDLQ)
				}
			}
			ctx, app, closeAll, err := openClient(cmd, slog.LevelError)
			if err != nil {
				return err
			}
			defer closeAll()
			stream := app.Config().Events.Iggy.Topology.StreamName
			return deleteGroup(ctx, cmd.OutOrStdout(), app.Broker(), stream, group, topics, yes)
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	cmd.Flags().StringSliceVar(&topics, "topic", subscribedTopics, "topics to delete the group from")
	return cmd
}

// deleteGroup deletes group from each topic where it exists; with yes
// false it only reports what it would delete.
func deleteGroup(ctx context.Context, out io.Writer, b core.Broker, stream, group string, topics []string, yes bool) error {
	d, ok := b.(core.Deleter)
	if !ok {
		return fmt.Errorf("group delete: the broker cannot delete (%T has no core.Deleter)", b)
	}
	var found []string
	for _, topic := range topics {
		gi, err := b.Group(ctx, stream, topic, group)
		switch {
		case errors.Is(err, core.ErrNotFound):
			fmt.Fprintf(out, "group %q: not on %s/%s\n", group, stream, topic)
			continue
		case err != nil:
			return fmt.Errorf("group delete: %w", err)
		}
		found = append(found, topic)
		if !yes {
			fmt.Fprintf(out, "would delete group %q from %s/%s (%d members joined)\n", group, stream, topic, len(gi.Members))
			continue
		}
		if err := d.DeleteGroup(ctx, stream, topic, group); err != nil {
			return fmt.Errorf("group delete: %w", err)
		}
		fmt.Fprintf(out, "deleted group %q from %s/%s\n", group, stream, topic)
	}
	if len(found) == 0 {
		return fmt.Errorf("group delete: group %q: %w on %s", group, core.ErrNotFound, strings.Join(topics, ", "))
	}
	if !yes {
		return errNotConfirmed
	}
	return nil
}

func newTopologyDeleteCmd() *cobra.Command {
	var (
		yes   bool
		topic string
	)
	cmd := &cobra.Command{
		Use:   "delete --yes",
		Short: "Delete the configured stream (or one topic) with all its messages",
		Long: `Deletes the configured stream with its domain, system and dlq topics, every
message in them, their consumer groups and stored offsets. With --topic it
deletes that topic only. This cannot be undone. Without --yes it only says
what it would delete. The next command that opens the transport creates the
topology again, empty.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topic != "" && !slices.Contains([]string{transport.TopicDomain, transport.TopicSystem, transport.TopicDLQ}, topic) {
				return usageError("--topic %q: want %s, %s or %s", topic, transport.TopicDomain, transport.TopicSystem, transport.TopicDLQ)
			}
			ctx, app, closeAll, err := openClient(cmd, slog.LevelError)
			if err != nil {
				return err
			}
			defer closeAll()
			stream := app.Config().Events.Iggy.Topology.StreamName
			return deleteTopology(ctx, cmd.OutOrStdout(), app.Broker(), stream, topic, yes)
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm the deletion")
	cmd.Flags().StringVar(&topic, "topic", "", "delete only this topic (domain, system or dlq)")
	return cmd
}

// deleteTopology deletes stream, or its topic when topic is not empty;
// with yes false it only reports what it would delete.
func deleteTopology(ctx context.Context, out io.Writer, b core.Broker, stream, topic string, yes bool) error {
	d, ok := b.(core.Deleter)
	if !ok {
		return fmt.Errorf("topology delete: the broker cannot delete (%T has no core.Deleter)", b)
	}
	if topic != "" {
		ti, err := b.Topic(ctx, stream, topic)
		if err != nil {
			return fmt.Errorf("topology delete: %w", err)
		}
		if !yes {
			fmt.Fprintf(out, "would delete topic %s/%s: %d partitions, %d messages, %s\n", stream, topic, ti.PartitionsCount, ti.MessagesCount, fmtBytes(ti.SizeBytes))
			return errNotConfirmed
		}
		if err := d.DeleteTopic(ctx, stream, topic); err != nil {
			return fmt.Errorf("topology delete: %w", err)
		}
		fmt.Fprintf(out, "deleted topic %s/%s\n", stream, topic)
		return nil
	}
	si, err := b.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("topology delete: %w", err)
	}
	if !yes {
		fmt.Fprintf(out, "would delete stream %s: %d topics, %d messages, %s\n", stream, len(si.Topics), si.MessagesCount, fmtBytes(si.SizeBytes))
		return errNotConfirmed
	}
	if err := d.DeleteStream(ctx, stream); err != nil {
		return fmt.Errorf("topology delete: %w", err)
	}
	fmt.Fprintf(out, "deleted stream %s\n", stream)
	return nil
}

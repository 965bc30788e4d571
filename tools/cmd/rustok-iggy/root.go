package main

import (
	"github.com/spf13/cobra"
)

// rootFlags are the flags every subcommand sees.
type rootFlags struct {
	// configPath is the rustok-iggy YAML configuration file ("" = none:
	// defaults). Flags given on the command line override its values.
	configPath string
}

// newRootCmd builds the command tree. Each subcommand lives in its own
// file and is added here.
func newRootCmd() *cobra.Command {
	rf := &rootFlags{}
	root := &cobra.Command{
		Use:           "rustok-iggy",
		Short:         "rustok-iggy: RusToK's event transport over Apache Iggy",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&rf.configPath, "config", "", "rustok-iggy YAML configuration `file` (flags override it)")
	root.AddCommand(newServeCmd(rf), newPingCmd())
	addFrontDoorCommands(root) // demo, publish, consume, replay, dlq, topology, health (frontdoor.go)
	return root
}

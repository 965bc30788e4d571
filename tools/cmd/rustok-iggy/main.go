// Command rustok-iggy is the rustok-iggy command line: run the embedded
// Iggy-compatible broker as a standalone server (serve), and more
// subcommands added beside it, one file each.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "rustok-iggy:", err)
		os.Exit(1)
	}
}

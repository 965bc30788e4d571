package config_test

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/rustok/rustok-iggy/adapters/config"
)

// Example parses a remote-mode configuration whose password comes from the
// environment, and logs it without leaking the password.
func Example() {
	os.Setenv("EXAMPLE_IGGY_PASSWORD", "s3cret")
	defer os.Unsetenv("EXAMPLE_IGGY_PASSWORD")

	cfg, err := config.Parse([]byte(`
events:
  transport: iggy
  iggy:
    mode: remote
    serialization: cbor
    remote:
      addresses: ["10.0.0.5:8090"]
      username: rustok
      password: ${EXAMPLE_IGGY_PASSWORD}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	r := cfg.Events.Iggy.Remote
	fmt.Println(cfg.Events.Iggy.Mode, cfg.Events.Iggy.Serialization, r.Addresses, r.Username)
	fmt.Println("partitions (default):", cfg.Events.Iggy.Topology.DomainPartitions)
	fmt.Println("password:", r.Password, len(r.Password.Reveal()), "bytes")

	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	log.Info("connecting", "user", r.Username, "password", r.Password)

	_, err = config.Parse([]byte("events:\n  iggy:\n    serialization: bincode\n    topology:\n      domain_partitions: 0\n"))
	fmt.Println(err)
	// Output:
	// remote cbor [10.0.0.5:8090] rustok
	// partitions (default): 8
	// password: [REDACTED] 6 bytes
	// level=INFO msg=connecting user=rustok password=[REDACTED]
	// events.iggy.serialization: "bincode" has no Go implementation; use "cbor" for a compact binary encoding (or "json" to share the stream with Rust services)
	// events.iggy.topology.domain_partitions: is 0; want 1 to 1000
}

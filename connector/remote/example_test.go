package remote_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rustok/rustok-iggy/connector/remote"
	"github.com/rustok/rustok-iggy/core"
)

// Connecting to an Iggy server (or `rustok-iggy serve`) with options. The
// example has no output comment: it needs a running server, so go test
// compiles it but does not run it.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	b, err := remote.New(ctx, remote.Config{
		Addresses:      []string{"127.0.0.1:8090", "127.0.0.1:8091"}, // tried in order
		Username:       "iggy",
		Password:       remote.Secret(os.Getenv("IGGY_PASSWORD")),
		TLS:            remote.TLSConfig{Enabled: false},
		ConnectTimeout: 2 * time.Second,
		RequestTimeout: 5 * time.Second,
		PoolSize:       4,
		Reconnect:      remote.BackoffConfig{Min: 100 * time.Millisecond, Max: 5 * time.Second},
		Logger:         slog.Default(),
	})
	switch {
	case errors.Is(err, core.ErrUnauthenticated):
		fmt.Println("wrong credentials")
		return
	case errors.Is(err, core.ErrUnavailable):
		fmt.Println("no server reachable")
		return
	case err != nil:
		fmt.Println("connect:", err)
		return
	}
	defer b.Close()

	rtt, err := b.Ping(ctx)
	if err != nil {
		fmt.Println("ping:", err)
		return
	}
	fmt.Println("connected, round trip", rtt)
}

package server_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/server"
)

// Example runs the broker behind the Iggy TCP protocol on a free loopback
// port, then shuts both down in order: the server first (requests in
// flight finish), then the broker (flush, close).
func Example() {
	dir, err := os.MkdirTemp("", "iggy-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	b, err := broker.Open(broker.Config{DataDir: dir})
	if err != nil {
		panic(err)
	}
	srv, err := server.New(b, server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	addr, err := srv.Start()
	if err != nil {
		panic(err)
	}
	fmt.Println("listening on loopback:", addr.IP.IsLoopback())
	// Official SDK clients connect to addr.String() here.

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		panic(err)
	}
	if err := b.Close(); err != nil {
		panic(err)
	}
	// Output: listening on loopback: true
}

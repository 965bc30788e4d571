package remote

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iggy/foreign/go/client/tcp"
	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/connector/connectortest"
	"github.com/rustok/rustok-iggy/core"
)

// TestConformanceIggy runs the stream port's conformance suite against the
// Iggy server named by IGGY_ADDR (comma-separated addresses), logging in
// with IGGY_USERNAME and IGGY_PASSWORD (default iggy/iggy). The streams it
// creates are deleted afterwards.
func TestConformanceIggy(t *testing.T) {
	addr := os.Getenv("IGGY_ADDR")
	if addr == "" {
		t.Skip("IGGY_ADDR is not set: no Iggy server to run the conformance suite against (set IGGY_ADDR, IGGY_USERNAME, IGGY_PASSWORD)")
	}
	cfg := Config{
		Addresses: strings.Split(addr, ","),
		Username:  envOr("IGGY_USERNAME", "iggy"),
		Password:  Secret(envOr("IGGY_PASSWORD", "iggy")),
	}
	connectortest.Run(t, func(t *testing.T) core.Broker {
		b, err := New(t.Context(), cfg)
		if err != nil {
			t.Fatalf("New(%s): %v", addr, err)
		}
		rb := &deletingBroker{Broker: b}
		t.Cleanup(func() {
			rb.deleteStreams()
			_ = b.Close()
		})
		return rb
	}, connectortest.Features{SharedBroker: true})
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// deletingBroker records the streams it creates and deletes them at
// cleanup, so that runs against a real server leave nothing behind.
type deletingBroker struct {
	*Broker
	mu      sync.Mutex
	streams []string
}

func (d *deletingBroker) CreateStream(ctx context.Context, name string) (core.StreamInfo, error) {
	info, err := d.Broker.CreateStream(ctx, name)
	if err == nil {
		d.mu.Lock()
		d.streams = append(d.streams, name)
		d.mu.Unlock()
	}
	return info, err
}

func (d *deletingBroker) deleteStreams() {
	d.mu.Lock()
	names := d.streams
	d.streams = nil
	d.mu.Unlock()
	if len(names) == 0 {
		return
	}
	// The subtest's own connector may be closed (the close subtest);
	// delete through a fresh one.
	b, err := New(context.Background(), d.cfg)
	if err != nil {
		return
	}
	defer b.Close()
	for _, name := range names {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		id, err := iggcon.NewIdentifier(name)
		if err == nil {
			_ = b.do(ctx, func(c *tcp.IggyTcpClient) error { return c.DeleteStream(id) })
		}
		cancel()
	}
}

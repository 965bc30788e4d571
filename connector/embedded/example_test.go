package embedded_test

import (
	"context"
	"fmt"
	"os"

	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/core"
)

// ExampleOpen opens an embedded broker in a fresh directory, sends two
// messages of one tenant (keyed by the tenant id, so both land on the same
// partition) and reads them back.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "embedded-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	b, err := embedded.Open(ctx, embedded.Config{DataDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	if _, err := b.CreateStream(ctx, "rustok"); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := b.CreateTopic(ctx, "rustok", "domain", core.TopicConfig{Partitions: 3}); err != nil {
		fmt.Println(err)
		return
	}
	tenant := core.Headers{core.StringHeader("tenant_id", "tenant-42")}
	err = b.Send(ctx, "rustok", "domain", core.ByKey([]byte("tenant-42")), []core.Message{
		{Payload: []byte(`{"type":"order.created"}`), Headers: tenant},
		{Payload: []byte(`{"type":"order.paid"}`), Headers: tenant},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for p := range uint32(3) {
		polled, err := b.Poll(ctx, core.PollRequest{Stream: "rustok", Topic: "domain", Partition: p, Strategy: core.First(), Count: 10})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, m := range polled.Messages {
			fmt.Printf("partition %d offset %d tenant %s: %s\n", p, m.Offset, m.Headers.Value("tenant_id"), m.Payload)
		}
	}
	// Output:
	// partition 1 offset 0 tenant tenant-42: {"type":"order.created"}
	// partition 1 offset 1 tenant tenant-42: {"type":"order.paid"}
}

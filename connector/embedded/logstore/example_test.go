package logstore_test

import (
	"fmt"
	"os"

	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// A partition in a temporary directory: a batch of two messages in the
// Iggy layout is appended, read back and decoded, and the partition is
// reopened (recovery validates the segment's tail) with both messages
// still there.
func Example() {
	dir, err := os.MkdirTemp("", "logstore-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	p, err := logstore.Open(dir, logstore.Options{Fsync: logstore.FsyncAlways})
	if err != nil {
		panic(err)
	}
	var batch []byte
	for _, payload := range []string{"order created", "order paid"} {
		batch, err = iggyproto.AppendCoreMessage(batch, core.Message{
			ID:      [16]byte{15: byte(len(payload))},
			Headers: core.Headers{core.StringHeader("tenant_id", "acme")},
			Payload: []byte(payload),
		})
		if err != nil {
			panic(err)
		}
	}
	res, err := p.Append(batch)
	if err != nil {
		panic(err)
	}
	fmt.Printf("appended %d messages from offset %d\n", res.Count, res.FirstOffset)
	if err := p.Close(); err != nil {
		panic(err)
	}

	p, err = logstore.Open(dir, logstore.Options{})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	chunk, err := p.Read(0, 10, 1<<20)
	if err != nil {
		panic(err)
	}
	msgs, err := iggyproto.DecodeCoreMessages(chunk.Data, chunk.Count)
	if err != nil {
		panic(err)
	}
	for _, m := range msgs {
		fmt.Printf("offset %d: %s (tenant %s, checksum set: %t)\n", m.Offset, m.Payload, m.Headers.Value("tenant_id"), m.Checksum != 0)
	}
	// Output:
	// appended 2 messages from offset 0
	// offset 0: order created (tenant acme, checksum set: true)
	// offset 1: order paid (tenant acme, checksum set: true)
}

package broker

import (
	"fmt"
	"testing"

	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// BenchmarkCreateTopic1000Partitions creates one topic of 1,000 partitions
// per iteration (Iggy's limit per request) under the default fsync policy.
// tools/bench's scale-create-partitions row measures the same over TCP.
func BenchmarkCreateTopic1000Partitions(b *testing.B) {
	cfg := Config{DataDir: b.TempDir(), Fsync: logstore.FsyncInterval}
	br, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := br.Close(); err != nil {
			b.Error(err)
		}
	}()
	root := br.NewSystemSession("127.0.0.1:1")
	if _, err := br.CreateStream(root, "s"); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if _, err := br.CreateTopic(root, iggyproto.NamedID("s"), TopicConfig{Name: fmt.Sprint("t", i), PartitionsCount: MaxPartitionsPerRequest, CompressionAlgorithm: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

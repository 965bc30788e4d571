package transport

import (
	"testing"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
)

// BenchmarkBuildMessage measures what the publish path does per event
// besides validation and encoding: the headers and the tenant's partition.
func BenchmarkBuildMessage(b *testing.B) {
	e := core.NewEnvelope(uuid.New(), "node.updated", core.Event{Type: "NodeUpdated", Data: []byte(`{}`)})
	payload := make([]byte, 300)
	var s sendScratch
	s.reset(1000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1000 == 0 {
			s.reset(1000)
		}
		tenant := s.add(&e, payload, "application/cbor")
		s.part = append(s.part, PartitionFor(tenant, 8))
	}
}

func TestFormatUUID(t *testing.T) {
	for range 100 {
		u := uuid.New()
		if got := string(appendUUID([]byte("x"), u)); got != "x"+u.String() {
			t.Fatalf("appendUUID = %q, want x%s", got, u)
		}
	}
}

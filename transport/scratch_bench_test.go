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

// TestAddValuesMatchesAdd: the async path's headers (eventValues built
// outside the lock, addValues under it) are exactly the other paths'.
func TestAddValuesMatchesAdd(t *testing.T) {
	base := core.NewEnvelope(uuid.New(), "node.updated", core.Event{Type: "NodeUpdated", Data: []byte(`{}`)})
	cases := []func(*core.Envelope){
		func(*core.Envelope) {},
		func(e *core.Envelope) { e.CausationID = uuid.New() },
		func(e *core.Envelope) { e.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736" },
		func(e *core.Envelope) { e.CausationID, e.TraceID, e.SchemaVersion = uuid.New(), "t", 65535 },
		func(e *core.Envelope) { e.SchemaVersion, e.EventType = 0, "system.x" },
	}
	for i, mut := range cases {
		e := base
		mut(&e)
		var want, got sendScratch
		want.reset(2)
		got.reset(2)
		want.add(&e, []byte("p"), "application/cbor")
		var vb [16]byte // too small on purpose: append must grow it
		got.addValues(&e, []byte("p"), "application/cbor", eventValues(vb[:0], &e, "application/cbor"))
		w, g := want.msgs[0], got.msgs[0]
		if w.ID != g.ID || string(w.Payload) != string(g.Payload) || len(w.Headers) != len(g.Headers) {
			t.Fatalf("case %d: messages differ:\n%+v\n%+v", i, w, g)
		}
		for j := range w.Headers {
			if w.Headers[j].Key != g.Headers[j].Key || w.Headers[j].Kind != g.Headers[j].Kind || string(w.Headers[j].Value) != string(g.Headers[j].Value) {
				t.Fatalf("case %d header %d: %+v, want %+v", i, j, g.Headers[j], w.Headers[j])
			}
		}
		if got := PartitionFor(eventValues(nil, &e, "x")[:36], 8); got != TenantPartition(e.TenantID, 8) {
			t.Fatalf("case %d: partition %d, want %d", i, got, TenantPartition(e.TenantID, 8))
		}
	}
}

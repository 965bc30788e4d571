package core_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/core"
)

// An envelope, its JSON form (the Rust EventEnvelope as serde writes it)
// and the partitioning the transport sends it with: Iggy messages-key
// partitioning on the tenant id string, so one tenant's events keep their
// order.
func ExampleEnvelope() {
	tenant := uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f")
	env := core.NewEnvelope(tenant, "node.created", core.Event{
		Type: "NodeCreated",
		Data: json.RawMessage(`{"node_id":"n-1"}`),
	})
	// Fixed id and time so that the output is stable.
	env.ID = uuid.MustParse("018f2a6b-7c3d-7e4f-8a9b-0c1d2e3f4a5b")
	env.CorrelationID = env.ID
	env.Timestamp = time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC)
	if err := env.Validate(); err != nil {
		fmt.Println("invalid:", err)
		return
	}

	b, err := json.Marshal(env)
	if err != nil {
		fmt.Println("marshal:", err)
		return
	}
	fmt.Println(string(b))

	var back core.Envelope
	if err := json.Unmarshal(b, &back); err != nil {
		fmt.Println("unmarshal:", err)
		return
	}
	fmt.Println("round trip:", back.ID == env.ID && back.Timestamp.Equal(env.Timestamp), "system:", back.IsSystem())

	p := core.ByKey([]byte(env.TenantID.String()))
	fmt.Printf("partition key: %s (kind %v)\n", p.Key, p.Kind == core.PartitionByKey)
	// Output:
	// {"id":"018f2a6b-7c3d-7e4f-8a9b-0c1d2e3f4a5b","event_type":"node.created","schema_version":1,"correlation_id":"018f2a6b-7c3d-7e4f-8a9b-0c1d2e3f4a5b","causation_id":null,"tenant_id":"5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f","trace_id":null,"timestamp":"2026-12-06T13:00:00Z","actor_id":null,"event":{"type":"NodeCreated","data":{"node_id":"n-1"}},"retry_count":0}
	// round trip: true system: false
	// partition key: 5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f (kind true)
}

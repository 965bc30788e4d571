package codec_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/core"
)

func exampleEnvelope() core.Envelope {
	id := uuid.MustParse("0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f")
	return core.Envelope{
		ID:            id,
		EventType:     "node.created",
		SchemaVersion: 1,
		CorrelationID: id,
		TenantID:      uuid.MustParse("5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f"),
		Timestamp:     time.Date(2025, 3, 14, 9, 26, 53, 589000000, time.UTC),
		Event:         core.Event{Type: "NodeCreated", Data: json.RawMessage(`{"title":"Hello & welcome"}`)},
	}
}

// ExampleJSON encodes an envelope exactly as the Rust side's serde_json
// would, and decodes it back.
func ExampleJSON() {
	var c codec.JSON
	b, err := c.Encode(exampleEnvelope())
	if err != nil {
		panic(err)
	}
	fmt.Println(c.ContentType())
	fmt.Println(string(b))
	e, err := c.Decode(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Event.Type, e.Timestamp)
	// Output:
	// application/json
	// {"id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f","event_type":"node.created","schema_version":1,"correlation_id":"0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f","causation_id":null,"tenant_id":"5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f","trace_id":null,"timestamp":"2025-03-14T09:26:53.589Z","actor_id":null,"event":{"type":"NodeCreated","data":{"title":"Hello & welcome"}},"retry_count":0}
	// NodeCreated 2025-03-14 09:26:53.589 +0000 UTC
}

// ExampleCBOR shows the binary codec's size next to JSON's.
func ExampleCBOR() {
	e := exampleEnvelope()
	j, _ := codec.JSON{}.Encode(e)
	b, err := codec.CBOR{}.Encode(e)
	if err != nil {
		panic(err)
	}
	back, err := codec.CBOR{}.Decode(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(j), "bytes as JSON,", len(b), "bytes as CBOR")
	fmt.Println(back.ID == e.ID, back.Timestamp.Equal(e.Timestamp), string(back.Event.Data))
	// Output:
	// 372 bytes as JSON, 131 bytes as CBOR
	// true true {"title":"Hello & welcome"}
}

// ExampleForContentType picks the decoder from a message's content_type
// header.
func ExampleForContentType() {
	for _, ct := range []string{"application/json", "application/cbor; x=1", "application/bincode"} {
		c, err := codec.ForContentType(ct)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(c.ContentType())
	}
	// Output:
	// application/json
	// application/cbor
	// error: invalid argument: unknown codec: content type "application/bincode" (want application/json or application/cbor)
}

// ExampleByName maps the configuration's serialization setting to a codec.
func ExampleByName() {
	c, _ := codec.ByName("cbor")
	fmt.Println(c.ContentType())
	_, err := codec.ByName("bincode")
	fmt.Println(err)
	// Output:
	// application/cbor
	// invalid argument: unknown codec: "bincode" has no Go implementation; use "cbor" for a compact binary encoding
}

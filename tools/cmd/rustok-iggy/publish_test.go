package main

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestParseInputEvent(t *testing.T) {
	id := uuid.MustParse("01890a5d-ac96-774b-b9aa-0a2b3c4d5e6f")
	e, err := parseInputEvent([]byte(`{"id":"` + id.String() + `","tenant_id":"acme","event_type":"order.placed","data":{"n":1},"trace_id":"t-1","timestamp":"2026-01-02T03:04:05+01:00"}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != id || e.CorrelationID != id || e.TenantID != tenantID("acme") || e.Event.Type != "OrderPlaced" ||
		string(e.Event.Data) != `{"n":1}` || e.TraceID != "t-1" || e.SchemaVersion != 1 || e.Timestamp.Hour() != 2 || e.Timestamp.Location().String() != "UTC" {
		t.Errorf("parsed %+v", e)
	}
	for _, tc := range []struct{ in, want string }{
		{`{"event_type":"a.b"}`, "tenant_id is required"},
		{`{"tenant_id":"acme"}`, "event_type is empty"},
		{`{"tenant_id":"acme","event_type":"a.b","color":1}`, `unknown field "color"`},
		{`{"tenant_id":"acme","event_type":"a.b","data":{},"event":{"type":"X"}}`, "either event or data"},
		{`{"tenant_id":"two words","event_type":"a.b"}`, "UUID or a name"},
		{`{"tenant_id":"acme","event_type":"a.b"} {}`, "more than one"},
		{`[1,2]`, "cannot unmarshal"},
	} {
		if _, err := parseInputEvent([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.in, err, tc.want)
		}
	}
	if got := variantOf("system.cache_invalidated"); got != "SystemCacheInvalidated" {
		t.Errorf("variantOf = %q", got)
	}
}

// FuzzParseInputEvent: publish decodes events from files and stdin; any
// input gives an event that validates or an error, never a panic.
func FuzzParseInputEvent(f *testing.F) {
	for _, s := range []string{
		`{"tenant_id":"acme","event_type":"order.placed","data":{"n":1}}`,
		`{"tenant_id":"5f0c3a1e-2b4d-4c6e-9f80-1a2b3c4d5e6f","event_type":"system.x","event":{"type":"X","data":null},"retry_count":2}`,
		`{"tenant_id":"acme","event_type":"a.b","timestamp":"2026-01-02T03:04:05Z","schema_version":70000}`,
		`{"tenant_id":"00000000-0000-0000-0000-000000000000","event_type":"a"}`,
		`{}`, `null`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseInputEvent(b)
		if err != nil {
			return
		}
		if verr := e.Validate(); verr != nil {
			t.Fatalf("accepted an invalid event: %v", verr)
		}
	})
}

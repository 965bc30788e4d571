package main

import (
	"testing"

	"github.com/rustok/rustok-iggy/transport"
)

func TestGenerateDemoEvents(t *testing.T) {
	tenants := demoTenants(25)
	if tenants[0].Name != "acme" || tenants[24].Name != "tenant-25" || tenants[0].ID != tenantID("acme") {
		t.Fatalf("tenants: %v", tenants)
	}
	for _, n := range []int{1, 2, 3, 40, 1000} {
		b := generateDemoEvents(n, tenants[:5], "0123456789abcdef", uint64(n))
		if len(b.events) != n || len(b.meta) != n {
			t.Fatalf("n=%d: %d events", n, len(b.events))
		}
		if b.failing == 0 {
			t.Errorf("n=%d: no event of the failing type", n)
		}
		seqs := map[orderKey]int{}
		for _, e := range b.events {
			if err := e.Validate(); err != nil {
				t.Fatal(err)
			}
			m := b.meta[e.ID]
			k := orderKey{m.tenant, m.topic}
			if m.seq != seqs[k] || m.topic != transport.TopicFor(e.EventType) || e.TenantID != tenants[m.tenant].ID {
				t.Fatalf("n=%d: bad meta %+v for %s", n, m, e.EventType)
			}
			seqs[k]++
			if len(e.TraceID) != 32 || e.TraceID[:16] != "0123456789abcdef" {
				t.Fatalf("trace id %q does not carry the run id", e.TraceID)
			}
		}
	}
}

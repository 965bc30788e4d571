package main

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// demoFailingType is the event type whose handler fails on purpose in the
// demo until the "fix" before the DLQ redrive.
const demoFailingType = "notification.email_requested"

// demoTenantNames name the demo's tenants; more tenants than names get
// "tenant-NN".
var demoTenantNames = []string{
	"acme", "globex", "initech", "umbrella", "hooli", "stark-industries", "wayne-enterprises", "wonka",
	"cyberdyne", "tyrell", "soylent", "aperture", "black-mesa", "oscorp", "vandelay", "pied-piper",
	"dunder-mifflin", "gringotts", "monarch", "massive-dynamic",
}

// demoTenant is one tenant of the demo.
type demoTenant struct {
	Name string
	ID   uuid.UUID
}

func demoTenants(n int) []demoTenant {
	out := make([]demoTenant, n)
	for i := range out {
		name := fmt.Sprintf("tenant-%02d", i+1)
		if i < len(demoTenantNames) {
			name = demoTenantNames[i]
		}
		out[i] = demoTenant{Name: name, ID: tenantID(name)}
	}
	return out
}

// demoStep is one event of a business flow.
type demoStep struct {
	eventType, variant string
	data               func(r *rand.Rand, f *flowState) map[string]any
}

type flowState struct {
	ref    string
	amount int
}

// demoFlows are the business operations the demo simulates; each is a
// chain of events sharing a correlation id, each caused by the previous.
var demoFlows = []struct {
	weight int
	steps  []demoStep
}{
	{35, []demoStep{
		{"node.created", "NodeCreated", func(r *rand.Rand, f *flowState) map[string]any {
			return map[string]any{"node_id": f.ref, "kind": pick(r, "article", "page", "product"), "title": pick(r, "Spring sale", "Release notes", "About us", "Shipping policy", "Careers")}
		}},
		{"node.updated", "NodeUpdated", func(r *rand.Rand, f *flowState) map[string]any {
			return map[string]any{"node_id": f.ref, "fields": []string{pick(r, "title", "body", "slug")}, "revision": 2}
		}},
		{"node.published", "NodePublished", func(r *rand.Rand, f *flowState) map[string]any {
			return map[string]any{"node_id": f.ref, "locale": pick(r, "en", "de", "fr", "ru")}
		}},
	}},
	{35, []demoStep{
		{"order.placed", "OrderPlaced", func(r *rand.Rand, f *flowState) map[string]any {
			f.amount = 500 + r.IntN(50000)
			return map[string]any{"order_id": f.ref, "items": 1 + r.IntN(5), "total_cents": f.amount, "currency": pick(r, "EUR", "USD", "GBP")}
		}},
		{"payment.captured", "PaymentCaptured", func(r *rand.Rand, f *flowState) map[string]any {
			return map[string]any{"order_id": f.ref, "amount_cents": f.amount, "provider": pick(r, "stripe", "adyen", "paypal")}
		}},
		{"order.shipped", "OrderShipped", func(r *rand.Rand, f *flowState) map[string]any {
			return map[string]any{"order_id": f.ref, "carrier": pick(r, "dhl", "ups", "fedex"), "tracking": fmt.Sprintf("TRK%08d", r.IntN(1e8))}
		}},
	}},
	{4, []demoStep{
		{"user.registered", "UserRegistered", func(r *rand.Rand, f *flowState) map[string]any {
			return map[string]any{"user_id": f.ref, "plan": pick(r, "free", "pro", "enterprise")}
		}},
		{demoFailingType, "EmailRequested", func(r *rand.Rand, f *flowState) map[string]any {
			return map[string]any{"user_id": f.ref, "template": "welcome"}
		}},
	}},
	{12, []demoStep{
		{"inventory.adjusted", "InventoryAdjusted", func(r *rand.Rand, f *flowState) map[string]any {
			return map[string]any{"sku": fmt.Sprintf("SKU-%05d", r.IntN(100000)), "delta": r.IntN(41) - 20, "warehouse": pick(r, "ams-1", "fra-2", "nyc-1")}
		}},
	}},
	{6, []demoStep{
		{"system.cache_invalidated", "CacheInvalidated", func(r *rand.Rand, f *flowState) map[string]any {
			return map[string]any{"cache": pick(r, "pages", "menus", "prices"), "keys": 1 + r.IntN(50)}
		}},
	}},
}

// maxFlowLen is the most events in one flow.
const maxFlowLen = 3

func pick(r *rand.Rand, options ...string) string { return options[r.IntN(len(options))] }

// demoEvent is what the demo knows about one event it published.
type demoEvent struct {
	tenant  int // index into the tenants
	topic   string
	seq     int // position among the run's events of (tenant, topic)
	failing bool
}

// demoBatch is the demo's generated event stream.
type demoBatch struct {
	events []core.Envelope
	meta   map[uuid.UUID]demoEvent
	// perKey counts events per (tenant, topic); failing counts the
	// events of demoFailingType.
	perKey  map[orderKey]int
	failing int
	system  int
}

type orderKey struct {
	tenant int
	topic  string
}

// generateDemoEvents makes n events for the tenants as interleaved
// business flows. The run id opens every trace id, so a run's events can be
// told from other runs'. At least one event is of the failing type.
func generateDemoEvents(n int, tenants []demoTenant, run string, seed uint64) demoBatch {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := demoBatch{meta: make(map[uuid.UUID]demoEvent, n), perKey: map[orderKey]int{}}
	total := 0
	for _, f := range demoFlows {
		total += f.weight
	}
	actors := make([]uuid.UUID, 5)
	for i := range actors {
		actors[i] = uuid.NewSHA1(tenantNamespace, []byte(fmt.Sprintf("actor-%d", i)))
	}
	flowNo := uint64(0)
	for len(b.events) < n {
		w := r.IntN(total)
		fi := 0
		for ; w >= demoFlows[fi].weight; fi++ {
			w -= demoFlows[fi].weight
		}
		steps := demoFlows[fi].steps
		if left := n - len(b.events); b.failing == 0 && left <= maxFlowLen {
			// Make sure the failing type occurs: end with the sign-up flow,
			// cut to what is left.
			steps = demoFlows[2].steps
			steps = steps[max(len(steps)-left, 0):]
		}
		flowNo++
		var trace [8]byte
		binary.BigEndian.PutUint64(trace[:], flowNo)
		traceID := run + hex.EncodeToString(trace[:])
		tn := r.IntN(len(tenants))
		st := &flowState{ref: fmt.Sprintf("%s-%06d", run[:6], flowNo)}
		var corr, prev uuid.UUID
		for _, step := range steps {
			if len(b.events) == n {
				break
			}
			data, _ := json.Marshal(step.data(r, st))
			e := core.NewEnvelope(tenants[tn].ID, step.eventType, core.Event{Type: step.variant, Data: data})
			if corr == uuid.Nil {
				corr = e.ID
			}
			e.CorrelationID, e.CausationID = corr, prev
			e.TraceID = traceID
			e.ActorID = actors[r.IntN(len(actors))]
			prev = e.ID
			k := orderKey{tn, transport.TopicFor(e.EventType)}
			failing := e.EventType == demoFailingType
			b.meta[e.ID] = demoEvent{tenant: tn, topic: k.topic, seq: b.perKey[k], failing: failing}
			b.perKey[k]++
			if failing {
				b.failing++
			}
			if k.topic == transport.TopicSystem {
				b.system++
			}
			b.events = append(b.events, e)
		}
	}
	return b
}

package transport

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// Status is an overall or per-check health state. Higher is worse.
type Status uint8

// Health states.
const (
	Healthy Status = iota
	Degraded
	Unhealthy
)

// String returns "healthy", "degraded" or "unhealthy".
func (s Status) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case Degraded:
		return "degraded"
	case Unhealthy:
		return "unhealthy"
	}
	return "unknown"
}

// Reconnecting is an optional capability of a core.Broker: a connector
// that re-establishes lost connections reports whether it is doing so now.
// Health finds it by type assertion.
type Reconnecting interface {
	Reconnecting() bool
}

// Check is one line of a health report.
type Check struct {
	// Name is "broker", "topology", "connector", "dlq" or "lag <group>".
	Name   string
	Status Status
	// Detail says what was measured and why the status.
	Detail string
}

// HealthReport is the result of Health: the worst check's status and every
// check.
type HealthReport struct {
	Status Status
	Checks []Check
	At     time.Time
}

// String renders the report, one line per check.
func (r HealthReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", r.Status)
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "\n  %-10s %-9s %s", c.Name, c.Status, c.Detail)
	}
	return b.String()
}

// healthState remembers DLQ scan positions and growth samples between
// Health calls.
type healthState struct {
	mu      sync.Mutex
	scanned map[uint32]int64 // dlq partition -> last offset counted
	total   uint64           // entries counted since the first Health
	samples []dlqSample
}

type dlqSample struct {
	at    time.Time
	total uint64
}

// Health checks the broker (ping and round trip), the topology, each
// running subscription's lag, the DLQ's growth over health.dlq_window
// (entries appended since the oldest sample in the window; the first call
// sets the baseline) and, if the broker implements Reconnecting, whether it
// is reconnecting. A failed ping makes it Unhealthy and skips the checks
// that need the broker. It never returns an error: failures are checks.
func (t *Transport) Health(ctx context.Context) HealthReport {
	r := HealthReport{At: time.Now()}
	add := func(name string, s Status, format string, args ...any) {
		r.Checks = append(r.Checks, Check{name, s, fmt.Sprintf(format, args...)})
		r.Status = max(r.Status, s)
	}
	hc := t.cfg.Health
	rtt, err := t.broker.Ping(ctx)
	switch {
	case err != nil:
		add("broker", Unhealthy, "unreachable: %v", err)
	case rtt > hc.PingDegraded:
		add("broker", Degraded, "round trip %s above %s", rtt, hc.PingDegraded)
	default:
		add("broker", Healthy, "round trip %s", rtt)
	}
	if rc, ok := t.broker.(Reconnecting); ok {
		if rc.Reconnecting() {
			add("connector", Degraded, "reconnecting")
		} else {
			add("connector", Healthy, "connected")
		}
	}
	if err != nil {
		return r
	}
	t.checkTopology(ctx, add)
	for _, s := range t.subscriptions() {
		lags, err := s.Lag(ctx)
		name := "lag " + s.group
		if err != nil {
			add(name, Unhealthy, "lag unknown: %v", err)
			continue
		}
		var worst PartitionLag
		for _, l := range lags {
			if l.Lag > worst.Lag {
				worst = l
			}
		}
		switch {
		case hc.LagUnhealthy > 0 && worst.Lag > hc.LagUnhealthy:
			add(name, Unhealthy, "lag %d on %s/%d above %d", worst.Lag, worst.Topic, worst.Partition, hc.LagUnhealthy)
		case worst.Lag > hc.LagDegraded:
			add(name, Degraded, "lag %d on %s/%d above %d", worst.Lag, worst.Topic, worst.Partition, hc.LagDegraded)
		default:
			add(name, Healthy, "max lag %d", worst.Lag)
		}
	}
	t.checkDLQ(ctx, r.At, add)
	return r
}

func (t *Transport) checkTopology(ctx context.Context, add func(string, Status, string, ...any)) {
	info, err := t.broker.Stream(ctx, t.cfg.Topology.StreamName)
	if err != nil {
		add("topology", Unhealthy, "stream %q: %v", t.cfg.Topology.StreamName, err)
		return
	}
	want := map[string]uint32{}
	for _, s := range t.topicSpecs() {
		want[s.name] = s.cfg.Partitions
	}
	var problems []string
	status := Healthy
	for _, tp := range info.Topics {
		if n, ok := want[tp.Name]; ok {
			if tp.PartitionsCount < n {
				problems = append(problems, fmt.Sprintf("topic %s has %d partitions, config wants %d", tp.Name, tp.PartitionsCount, n))
				status = max(status, Degraded)
			}
			delete(want, tp.Name)
		}
	}
	for name := range want {
		problems = append(problems, "topic "+name+" missing")
		status = Unhealthy
	}
	if c := t.TopologyConflicts(); len(c) > 0 {
		problems = append(problems, c...)
		status = max(status, Degraded)
	}
	if len(problems) == 0 {
		add("topology", Healthy, "stream %q with domain, system and dlq", t.cfg.Topology.StreamName)
		return
	}
	add("topology", status, "%s", strings.Join(problems, "; "))
}

// checkDLQ counts the entries (not markers) appended to the dlq topic since
// the last call and compares the growth within the window.
func (t *Transport) checkDLQ(ctx context.Context, now time.Time, add func(string, Status, string, ...any)) {
	info, err := t.broker.Topic(ctx, t.cfg.Topology.StreamName, TopicDLQ)
	if err != nil {
		add("dlq", Unhealthy, "dlq topic: %v", err)
		return
	}
	hs := &t.health
	hs.mu.Lock()
	defer hs.mu.Unlock()
	first := hs.scanned == nil
	if first {
		hs.scanned = map[uint32]int64{}
	}
	for _, p := range info.Partitions {
		last, seen := hs.scanned[p.ID]
		cur := int64(p.CurrentOffset)
		if p.MessagesCount == 0 {
			cur = -1
		}
		if first || !seen && cur < 0 {
			hs.scanned[p.ID] = cur
			continue
		}
		if !seen {
			last = -1
		}
		if cur <= last {
			continue
		}
		err := t.scan(ctx, TopicDLQ, p, core.FromOffset(uint64(last+1)), uint64(cur), func(m *core.Message) error {
			if _, _, marker := markerOf(m); !marker {
				hs.total++
			}
			return nil
		})
		if err != nil {
			add("dlq", Unhealthy, "reading dlq: %v", err)
			return
		}
		hs.scanned[p.ID] = cur
	}
	hs.samples = append(hs.samples, dlqSample{now, hs.total})
	window := t.cfg.Health.DLQWindow
	// Keep the newest sample at or before the window's start as the base.
	for len(hs.samples) > 1 && !hs.samples[1].at.After(now.Add(-window)) {
		hs.samples = hs.samples[1:]
	}
	growth := hs.total - hs.samples[0].total
	if growth >= t.cfg.Health.DLQGrowthDegraded {
		add("dlq", Degraded, "%d new entries within %s", growth, window)
		return
	}
	add("dlq", Healthy, "%d new entries within %s", growth, window)
}

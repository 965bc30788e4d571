package config

import (
	"strings"
	"testing"
	"time"
)

func TestEmbeddedListenerLimits(t *testing.T) {
	c, err := Parse([]byte(`
events:
  iggy:
    embedded:
      login_timeout: 5s
      idle_timeout: -1s
      read_timeout: 20s
      write_timeout: 15s
      max_connections: 500
      max_pending_connections: 64
      max_pending_per_addr: 4
      max_frame_memory: 134217728
`))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Events.Iggy.Embedded
	if e.LoginTimeout != 5*time.Second || e.IdleTimeout != -time.Second || e.ReadTimeout != 20*time.Second ||
		e.WriteTimeout != 15*time.Second || e.MaxConnections != 500 || e.MaxPendingConnections != 64 ||
		e.MaxPendingPerAddr != 4 || e.MaxFrameMemory != 128<<20 {
		t.Fatalf("%+v", e)
	}
	_, err = Parse([]byte(`
events:
  iggy:
    embedded:
      max_pending_per_addr: -1
      max_frame_memory: -5
`))
	for _, key := range []string{"embedded.max_pending_per_addr", "embedded.max_frame_memory"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Fatalf("want %s in %v", key, err)
		}
	}
}

func TestEmbeddedRebalancingTimeout(t *testing.T) {
	c, err := Parse([]byte(`
events:
  iggy:
    embedded:
      rebalancing_timeout: 45s
`))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Events.Iggy.Embedded.RebalancingTimeout; d != 45*time.Second {
		t.Fatalf("rebalancing_timeout %s", d)
	}
	_, err = Parse([]byte(`
events:
  iggy:
    embedded:
      rebalancing_timeout: -1s
`))
	if err == nil || !strings.Contains(err.Error(), "embedded.rebalancing_timeout") {
		t.Fatalf("want embedded.rebalancing_timeout in %v", err)
	}
}

func TestEmbeddedHeartbeat(t *testing.T) {
	c, err := Parse([]byte(`
events:
  iggy:
    embedded:
      heartbeat:
        enabled: true
        interval: 7s
`))
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Events.Iggy.Embedded.Heartbeat; !h.Enabled || h.Interval != 7*time.Second {
		t.Fatalf("%+v", h)
	}
	if h := Default().Events.Iggy.Embedded.Heartbeat; h.Enabled {
		t.Fatalf("heartbeat on by default: %+v", h)
	}
	_, err = Parse([]byte(`
events:
  iggy:
    embedded:
      heartbeat:
        interval: -1s
`))
	if err == nil || !strings.Contains(err.Error(), "embedded.heartbeat.interval") {
		t.Fatalf("negative interval: %v", err)
	}
}

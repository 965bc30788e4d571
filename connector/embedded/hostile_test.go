package embedded

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// A listener off loopback with the default root password is refused before
// anything is bound.
func TestListenerOffLoopbackNeedsARealRootPassword(t *testing.T) {
	t.Setenv("IGGY_ROOT_PASSWORD", "")
	_, err := Open(context.Background(), Config{DataDir: t.TempDir(), Fsync: "never", TCPAddr: "0.0.0.0:0"})
	if !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("want a refusal: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8090": true, "[::1]:8090": true, "localhost:1": true, "127.3.2.1:0": true,
		"0.0.0.0:8090": false, ":8090": false, "[::]:1": false, "10.0.0.1:8090": false, "example.com:1": false, "bad": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

// The heartbeat settings reach the broker; defaults stay off.
func TestBrokerConfigCarriesHeartbeat(t *testing.T) {
	bc := Config{DataDir: "d", HeartbeatEnabled: true, HeartbeatInterval: 3 * time.Second}.withDefaults().brokerConfig()
	if !bc.HeartbeatEnabled || bc.HeartbeatInterval != 3*time.Second {
		t.Fatalf("broker config %+v", bc)
	}
	if bc := (Config{DataDir: "d"}).withDefaults().brokerConfig(); bc.HeartbeatEnabled {
		t.Fatalf("heartbeat on by default: %+v", bc)
	}
}

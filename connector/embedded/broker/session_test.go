package broker

import (
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func TestClientIDIsXXH32OfTheAddress(t *testing.T) {
	e := newEnv(t)
	const addr = "127.0.0.1:54321"
	s := e.b.NewSession(addr, TransportTCP)
	if want := XXH32([]byte(addr)); s.ID() != want || ClientID(addr) != want {
		t.Fatalf("client id %d, ClientID %d, want XXH32 %d", s.ID(), ClientID(addr), want)
	}
	// A reconnect from the same address after the first closed gets the
	// same id, as from Iggy.
	e.b.CloseSession(s)
	if again := e.b.NewSession(addr, TransportTCP); again.ID() != s.ID() {
		t.Fatalf("reconnect id %d, want %d", again.ID(), s.ID())
	}
}

func TestClientIDCollisionStaysUnique(t *testing.T) {
	e := newEnv(t)
	a := e.b.NewSystemSession("embedded")
	b := e.b.NewSystemSession("embedded")
	if a.ID() == b.ID() || a.ID() != ClientID("embedded") || b.ID() != a.ID()+1 {
		t.Fatalf("ids %d and %d for one address (hash %d)", a.ID(), b.ID(), ClientID("embedded"))
	}
	cs := must[[]ClientInfo](t)(e.b.GetClients(e.root))
	seen := map[uint32]bool{}
	for _, c := range cs {
		if seen[c.ClientID] {
			t.Fatalf("client id %d listed twice: %+v", c.ClientID, cs)
		}
		seen[c.ClientID] = true
	}
	if len(cs) != 3 {
		t.Fatalf("%d clients, want 3", len(cs))
	}
}

func TestVerifyHeartbeats(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.HeartbeatInterval = 10 * time.Second })
	e.stream("s")
	e.topic("s", "t", 2)
	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, name("s"), name("t"), "g"))

	quiet := e.b.NewSession("10.0.0.1:1", TransportTCP)
	pinger := e.b.NewSession("10.0.0.2:2", TransportTCP)
	for _, s := range []*Session{quiet, pinger} {
		must[uint32](t)(e.b.Login(s, DefaultRootUsername, DefaultRootPassword))
		wantCode(t, e.b.JoinConsumerGroup(s, name("s"), name("t"), name("g")), 0)
	}

	// 12 s is exactly 1.2 intervals: not yet stale.
	e.clk.Advance(12 * time.Second)
	if n := e.b.VerifyHeartbeats(); n != 0 {
		t.Fatalf("removed %d sessions at 1.2 intervals, want 0", n)
	}
	wantCode(t, e.b.Ping(pinger), 0)
	// Other commands are no heartbeat.
	must[ClientInfo](t)(e.b.GetMe(quiet))
	e.clk.Advance(time.Second)
	if n := e.b.VerifyHeartbeats(); n != 1 {
		t.Fatalf("removed %d sessions, want 1 (the one that never pinged)", n)
	}

	_, err := e.b.GetMe(quiet)
	wantCode(t, err, iggyproto.CodeStaleClient)
	wantCode(t, e.b.JoinConsumerGroup(quiet, name("s"), name("t"), name("g")), iggyproto.CodeStaleClient)
	wantCode(t, e.b.Ping(quiet), 0) // Iggy answers a stale session's ping with OK
	_, err = e.b.GetMe(quiet)
	wantCode(t, err, iggyproto.CodeStaleClient) // and it stays removed

	must[ClientInfo](t)(e.b.GetMe(pinger))
	g, found, err := e.b.GetConsumerGroup(e.root, name("s"), name("t"), name("g"))
	if err != nil || !found {
		t.Fatalf("GetConsumerGroup: %v %v", found, err)
	}
	if len(g.Members) != 1 || len(g.Members[0].Partitions) != 2 {
		t.Fatalf("members after the stale one was removed: %+v", g.Members)
	}
	for _, c := range must[[]ClientInfo](t)(e.b.GetClients(e.root)) {
		if c.ClientID == quiet.ID() {
			t.Fatalf("stale client still listed: %+v", c)
		}
	}

	// System sessions never ping and are never removed.
	e.clk.Advance(time.Hour)
	if n := e.b.VerifyHeartbeats(); n != 1 { // pinger only
		t.Fatalf("removed %d sessions, want 1", n)
	}
	must[ClientInfo](t)(e.b.GetMe(e.root))
}

func TestHeartbeatConfig(t *testing.T) {
	if err := (Config{DataDir: "x", HeartbeatInterval: -time.Second}).Validate(); err == nil {
		t.Fatal("negative heartbeat interval accepted")
	}
	if c := (Config{}).withDefaults(); c.HeartbeatEnabled || c.HeartbeatInterval != DefaultHeartbeatInterval {
		t.Fatalf("defaults: enabled %v interval %s", c.HeartbeatEnabled, c.HeartbeatInterval)
	}
}

func TestHeartbeatVerifierRunsInTheBackground(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Now = nil // real clock: the ticker drives the verifier
		c.HeartbeatEnabled = true
		c.HeartbeatInterval = 5 * time.Millisecond
	})
	s := e.b.NewSession("10.0.0.3:3", TransportTCP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.b.GetMe(s) // no heartbeat: only Ping is one
		if iggyproto.CodeOf(err) == iggyproto.CodeStaleClient {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("session never removed by the background verifier")
		}
		time.Sleep(time.Millisecond)
	}
}

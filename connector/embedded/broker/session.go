package broker

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Client transports, numbered as on the Iggy wire.
const (
	TransportTCP       uint8 = 1
	TransportQUIC      uint8 = 2
	TransportHTTP      uint8 = 3
	TransportWebSocket uint8 = 4
)

// NoUser is the user id a ClientInfo reports for a session that is not
// logged in.
const NoUser uint32 = 0xFFFFFFFF

// Session is one client of the broker: a TCP connection, or an in-process
// caller. It carries the logged-in user and the consumer group memberships.
// Sessions are created by NewSession / NewSystemSession and ended by
// CloseSession. One Session may be used from several goroutines.
type Session struct {
	id        uint32
	addr      string
	transport uint8
	// system marks an in-process session (NewSystemSession): it never
	// pings, so the heartbeat verifier leaves it alone.
	system bool

	// lastHeartbeat is when the session was opened or last pinged, in
	// Unix microseconds of the broker's clock (Config.Now).
	lastHeartbeat atomic.Int64

	// Guarded by Broker.mu.
	user       *user
	registered bool
	// stale is set when the heartbeat verifier removed the session.
	stale bool
}

// ID returns the session's client id: unique among live sessions, never 0.
// It is computed as Iggy 0.8.0 does (see ClientID).
func (s *Session) ID() uint32 { return s.id }

// ClientID is the client id Iggy 0.8.0 gives a connection from addr: the
// XXH32 (seed 0) of the address string, "127.0.0.1:54321" or "[::1]:54321".
// A reconnect from the same address and port gets the same id again.
func ClientID(addr string) uint32 { return XXH32([]byte(addr)) }

// clientIDLocked picks the id of a new session from addr: ClientID(addr)
// when that id is free and not 0. Iggy has no collision handling (a second
// client with the same id replaces the first in its registry), which TCP
// clients cannot trigger since two live connections never share an
// address; in-process sessions can (NewSystemSession with the same addr),
// so a taken id is probed upwards to the next free non-zero one, keeping
// ids unique among live sessions. Caller holds mu for writing.
func (b *Broker) clientIDLocked(addr string) uint32 {
	id := ClientID(addr)
	for id == 0 || b.clients[id] != nil {
		id++
	}
	return id
}

// Addr returns the address given to NewSession.
func (s *Session) Addr() string { return s.addr }

// NewSession registers a new client (not logged in) with a unique non-zero
// client id derived from addr as Iggy does (ClientID); addr is "ip:port" and transport one of the Transport*
// constants. On a closed broker the session is returned unregistered and
// every call on it answers CodeDisconnected.
func (b *Broker) NewSession(addr string, transport uint8) *Session {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.newSessionLocked(addr, transport)
}

func (b *Broker) newSessionLocked(addr string, transport uint8) *Session {
	s := &Session{addr: addr, transport: transport}
	if b.closed {
		return s
	}
	s.id = b.clientIDLocked(addr)
	s.lastHeartbeat.Store(b.cfg.Now().UnixMicro())
	s.registered = true
	b.clients[s.id] = s
	return s
}

// NewSystemSession returns a registered session already logged in as the
// root user (id 0), for the in-process embedded connector. Its ClientInfo
// shows transport TCP and addr. The heartbeat verifier never removes it.
// End it with CloseSession.
func (b *Broker) NewSystemSession(addr string) *Session {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.newSessionLocked(addr, TransportTCP)
	s.system = true
	if s.registered {
		s.user = b.users[0]
	}
	return s
}

// CloseSession ends a session: it leaves every consumer group it joined
// (each group gets a full rebalance), is logged out and removed from the
// client registry. Later calls on it answer CodeClientNotFound. Closing
// twice is a no-op.
func (b *Broker) CloseSession(s *Session) {
	if s == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dropSessionLocked(s)
}

func (b *Broker) dropSessionLocked(s *Session) {
	if !s.registered {
		return
	}
	s.registered = false
	s.user = nil
	delete(b.clients, s.id)
	b.leaveAllLocked(s)
}

// usable checks the broker and the session (not the login); caller holds mu.
func (b *Broker) usable(s *Session) error {
	if b.closed {
		return errf(iggyproto.CodeDisconnected, "broker closed")
	}
	if s != nil && s.stale {
		return errf(iggyproto.CodeStaleClient, "session removed for a missed heartbeat")
	}
	if s == nil || !s.registered {
		return errf(iggyproto.CodeClientNotFound, "session not registered")
	}
	return nil
}

// authed checks that s is usable and logged in, and returns its rights;
// caller holds mu.
func (b *Broker) authed(s *Session) (access, error) {
	if err := b.usable(s); err != nil {
		return access{}, err
	}
	if s.user == nil {
		return access{}, errf(iggyproto.CodeUnauthenticated, "not logged in")
	}
	return access{root: s.user.ID == 0, perms: s.user.Permissions}, nil
}

// Ping checks the session and records a heartbeat for it; it needs no
// login. It fails only on a closed broker (8) or a closed session (100). A
// session already removed as stale gets OK, as from Iggy 0.8.0, and stays
// removed: every other call on it answers CodeStaleClient (30).
func (b *Broker) Ping(s *Session) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	err := b.usable(s)
	if iggyproto.CodeOf(err) == iggyproto.CodeStaleClient {
		return nil
	}
	if err == nil {
		s.lastHeartbeat.Store(b.cfg.Now().UnixMicro())
	}
	return err
}

// heartbeatThreshold is Iggy's tolerance over the heartbeat interval: a
// session is stale when its last heartbeat is older than 1.2 intervals.
const heartbeatThreshold = 1.2

// VerifyHeartbeats removes every session whose last heartbeat (its Ping,
// or its opening if it never pinged) is older than 1.2 heartbeat
// intervals, as Iggy 0.8.0's heartbeat verifier does, and returns how many
// it removed. A removed session leaves its consumer groups (each gets a
// full rebalance) and disappears from GetClients; its later calls answer
// CodeStaleClient (30) except Ping, and the TCP server closes the
// connection after sending that error. As in Iggy, only Ping counts as a
// heartbeat: a client sending other commands but never Ping goes stale
// too. System sessions (NewSystemSession) are never removed. With heartbeats on (Config.HeartbeatEnabled) the
// background goroutine calls it every interval; tests may call it at any
// time, whatever the config.
func (b *Broker) VerifyHeartbeats() int {
	maxAge := time.Duration(heartbeatThreshold * float64(b.cfg.HeartbeatInterval))
	cutoff := b.cfg.Now().Add(-maxAge).UnixMicro()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0
	}
	n := 0
	for _, id := range sortedKeys(b.clients) {
		s := b.clients[id]
		if s.system {
			continue
		}
		if last := s.lastHeartbeat.Load(); last < cutoff {
			b.log.Warn("stale client removed", slog.Uint64("client_id", uint64(s.id)), slog.String("address", s.addr),
				slog.Time("last_heartbeat", time.UnixMicro(last)))
			b.dropSessionLocked(s)
			s.stale = true
			n++
		}
	}
	return n
}

// ClientInfo describes a session (ClientInfo/ClientDetails records).
type ClientInfo struct {
	ClientID uint32
	// UserID is the logged-in user, or NoUser.
	UserID    uint32
	Transport uint8
	Address   string
	// ConsumerGroups lists the groups the session is a member of, sorted
	// by stream, topic and group id; its length is the consumer groups
	// count.
	ConsumerGroups []ClientGroup
}

// ClientGroup names one consumer group membership.
type ClientGroup struct {
	StreamID, TopicID, GroupID uint32
}

func (b *Broker) clientInfoLocked(s *Session) ClientInfo {
	ci := ClientInfo{ClientID: s.id, UserID: NoUser, Transport: s.transport, Address: s.addr}
	if s.user != nil {
		ci.UserID = s.user.ID
	}
	for _, sid := range sortedKeys(b.streams) {
		st := b.streams[sid]
		for _, tid := range sortedKeys(st.topics) {
			t := st.topics[tid]
			for _, gid := range sortedKeys(t.groups) {
				if t.groups[gid].memberOf(s) != nil {
					ci.ConsumerGroups = append(ci.ConsumerGroups, ClientGroup{StreamID: sid, TopicID: tid, GroupID: gid})
				}
			}
		}
	}
	return ci
}

// GetMe returns the caller's ClientDetails (needs login, no permission).
func (b *Broker) GetMe(s *Session) (ClientInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if _, err := b.authed(s); err != nil {
		return ClientInfo{}, err
	}
	return b.clientInfoLocked(s), nil
}

// GetClient returns a client's details. Id 0 answers 101; an unknown id
// returns ok == false (empty OK on the wire). Needs read_servers.
func (b *Broker) GetClient(s *Session, clientID uint32) (ClientInfo, bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return ClientInfo{}, false, err
	}
	if !a.readServers() {
		return ClientInfo{}, false, errUnauthorized("get client")
	}
	if clientID == 0 {
		return ClientInfo{}, false, errf(iggyproto.CodeInvalidClientID, "client id 0")
	}
	c := b.clients[clientID]
	if c == nil {
		return ClientInfo{}, false, nil
	}
	return b.clientInfoLocked(c), true, nil
}

// GetClients lists every registered session by client id. Needs
// read_servers.
func (b *Broker) GetClients(s *Session) ([]ClientInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return nil, err
	}
	if !a.readServers() {
		return nil, errUnauthorized("get clients")
	}
	out := make([]ClientInfo, 0, len(b.clients))
	for _, id := range sortedKeys(b.clients) {
		out = append(out, b.clientInfoLocked(b.clients[id]))
	}
	return out, nil
}

// NewStatelessSession returns a session for one request of a stateless
// transport (Iggy's HTTP API): usable at once, not logged in, with client
// id 0, and not listed among the clients (GetClients, GetStats). Log it in
// with Login or LoginWithToken, or use StatelessSessionFor. It cannot
// join consumer groups usefully (the membership ends with the request).
// End it with CloseSession. On a closed broker every call on it answers
// CodeDisconnected.
func (b *Broker) NewStatelessSession(addr string, transport uint8) *Session {
	return &Session{addr: addr, transport: transport, registered: true}
}

// StatelessSessionFor returns a stateless session (see
// NewStatelessSession) already logged in as userID, for a request whose
// caller was authenticated earlier (an HTTP bearer token). The session
// carries the user's current permissions, so every broker call checks
// them exactly as for a TCP client. An unknown or inactive user answers
// CodeUnauthenticated (40).
func (b *Broker) StatelessSessionFor(addr string, transport uint8, userID uint32) (*Session, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, errf(iggyproto.CodeDisconnected, "broker closed")
	}
	u := b.users[userID]
	if u == nil || u.Status != UserActive {
		return nil, errf(iggyproto.CodeUnauthenticated, "user %d is unknown or inactive", userID)
	}
	return &Session{addr: addr, transport: transport, registered: true, user: u}, nil
}

// UserID returns the id of the user s is logged in as, and false when it
// is not logged in.
func (s *Session) UserID(b *Broker) (uint32, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if s.user == nil {
		return 0, false
	}
	return s.user.ID, true
}

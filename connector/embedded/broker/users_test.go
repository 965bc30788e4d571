package broker

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	s := e.b.NewSession("10.0.0.1:5", TransportTCP)
	if s.ID() == 0 || s.ID() == e.root.ID() {
		t.Fatalf("client id %d", s.ID())
	}
	wantCode(t, e.b.Ping(s), 0)
	_, err := e.b.CreateStream(s, "x")
	wantCode(t, err, iggyproto.CodeUnauthenticated)
	_, err = e.b.GetStreams(s)
	wantCode(t, err, iggyproto.CodeUnauthenticated)
	_, _, err = e.b.GetStream(s, num(0))
	wantCode(t, err, iggyproto.CodeUnauthenticated)
	_, err = e.b.Send(s, num(0), num(0), Partitioning{Kind: PartitionBalanced}, batch("x", 1))
	wantCode(t, err, iggyproto.CodeUnauthenticated)
	_, err = e.b.Poll(s, PollRequest{Consumer: Consumer{Kind: SingleConsumer}, Strategy: PollStrategy{Kind: PollNext}, Count: 1})
	wantCode(t, err, iggyproto.CodeUnauthenticated)
	_, err = e.b.GetMe(s)
	wantCode(t, err, iggyproto.CodeUnauthenticated)
	_, err = e.b.GetStats(s)
	wantCode(t, err, iggyproto.CodeUnauthenticated)
	wantCode(t, e.b.Logout(s), iggyproto.CodeUnauthenticated)
	_, _, err = e.b.GetOffset(s, Consumer{Kind: SingleConsumer}, num(0), num(0), nil)
	wantCode(t, err, iggyproto.CodeUnauthenticated)

	// Closed session.
	e.b.CloseSession(s)
	wantCode(t, e.b.Ping(s), iggyproto.CodeClientNotFound)
	_, err = e.b.Login(s, "iggy", "iggy")
	wantCode(t, err, iggyproto.CodeClientNotFound)
}

func TestLoginCheckOrder(t *testing.T) {
	e := newEnv(t)
	must[UserDetails](t)(e.b.CreateUser(e.root, "sleepy", "secret", UserInactive, nil))
	cases := []struct {
		user, pass string
		code       iggyproto.Code
	}{
		{"ab", "x", iggyproto.CodeInvalidUsername},
		{strings.Repeat("u", 51), "iggy", iggyproto.CodeInvalidUsername},
		{"iggy", "xy", iggyproto.CodeInvalidPassword},
		{"iggy", strings.Repeat("p", 101), iggyproto.CodeInvalidPassword},
		{"nobody", "iggy", iggyproto.CodeInvalidCredentials},
		{"sleepy", "wrong", iggyproto.CodeUserInactive},
		{"iggy", "wrong", iggyproto.CodeInvalidCredentials},
		{"iggy", "iggy", 0},
	}
	for _, c := range cases {
		s := e.b.NewSession("a:1", TransportTCP)
		id, err := e.b.Login(s, c.user, c.pass)
		wantCode(t, err, c.code)
		if err == nil && id != 0 {
			t.Fatalf("root id %d", id)
		}
	}
}

func TestRootFromConfig(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RootUsername, c.RootPassword = "admin", "s3cret" })
	s := e.b.NewSession("a:1", TransportTCP)
	_, err := e.b.Login(s, "iggy", "iggy")
	wantCode(t, err, iggyproto.CodeInvalidCredentials)
	_, err = e.b.Login(s, "admin", "s3cret")
	wantCode(t, err, 0)
	// The root is created on the first start only.
	e.cfg.RootPassword = "other"
	e.reopen()
	s = e.b.NewSession("a:1", TransportTCP)
	_, err = e.b.Login(s, "admin", "s3cret")
	wantCode(t, err, 0)
}

func TestUsersCRUD(t *testing.T) {
	e := newEnv(t)
	u := must[UserDetails](t)(e.b.CreateUser(e.root, "alice", "pw-alice", UserActive, &Permissions{Global: GlobalPermissions{ReadStreams: true}}))
	if u.ID != 1 || u.Permissions == nil || !u.Permissions.Global.ReadStreams {
		t.Fatalf("created %+v", u)
	}
	_, err := e.b.CreateUser(e.root, "alice", "pw-alice", UserActive, nil)
	wantCode(t, err, iggyproto.CodeUserAlreadyExists)
	_, err = e.b.CreateUser(e.root, "al", "pw-alice", UserActive, nil)
	wantCode(t, err, iggyproto.CodeInvalidUsername)
	_, err = e.b.CreateUser(e.root, "bob", "p", UserActive, nil)
	wantCode(t, err, iggyproto.CodeInvalidPassword)
	_, err = e.b.CreateUser(e.root, "bob", "pw-bob", 7, nil)
	wantCode(t, err, iggyproto.CodeInvalidCommand)

	wantCode(t, e.b.DeleteUser(e.root, num(0)), iggyproto.CodeCannotDeleteUser)
	wantCode(t, e.b.DeleteUser(e.root, name("nobody")), iggyproto.CodeResourceNotFound)
	wantCode(t, e.b.UpdatePermissions(e.root, num(0), nil), iggyproto.CodeCannotChangePermissions)
	wantCode(t, e.b.UpdatePermissions(e.root, num(9), nil), iggyproto.CodeResourceNotFound)
	wantCode(t, e.b.UpdateUser(e.root, num(9), ptr("zzz"), nil), iggyproto.CodeResourceNotFound)
	wantCode(t, e.b.UpdateUser(e.root, name("alice"), ptr("iggy"), nil), iggyproto.CodeUserAlreadyExists)
	wantCode(t, e.b.UpdateUser(e.root, name("alice"), ptr("alice"), ptr(UserActive)), 0)
	wantCode(t, e.b.ChangePassword(e.root, num(9), "abc", "bcd"), iggyproto.CodeResourceNotFound)
	wantCode(t, e.b.ChangePassword(e.root, num(1), "a", "bcd"), iggyproto.CodeInvalidPassword)
	wantCode(t, e.b.ChangePassword(e.root, num(1), "pw-alice", "b"), iggyproto.CodeInvalidPassword)
	wantCode(t, e.b.ChangePassword(e.root, name("alice"), "wrong", "new-pw"), iggyproto.CodeInvalidCredentials)
	wantCode(t, e.b.ChangePassword(e.root, name("alice"), "pw-alice", "new-pw"), 0)

	if root, ok, _ := e.b.GetUser(e.root, name("iggy")); !ok || root.ID != 0 || root.Permissions == nil || !root.Permissions.Global.ManageServers {
		t.Fatalf("root %+v", root)
	}
	if _, ok, err := e.b.GetUser(e.root, num(42)); ok || err != nil {
		t.Fatalf("GetUser missing: %v %v", ok, err)
	}
	users := must[[]UserInfo](t)(e.b.GetUsers(e.root))
	if len(users) != 2 || users[0].Username != "iggy" || users[1].Username != "alice" {
		t.Fatalf("users %+v", users)
	}

	// alice: only read permissions.
	s := e.b.NewSession("b:2", TransportTCP)
	if id := must[uint32](t)(e.b.Login(s, "alice", "new-pw")); id != 1 {
		t.Fatalf("alice id %d", id)
	}
	_, err = e.b.GetUsers(s)
	wantCode(t, err, iggyproto.CodeUnauthorized)
	me := must[UserDetails](t)(func() (UserDetails, error) { d, _, err := e.b.GetUser(s, num(1)); return d, err }())
	if me.Username != "alice" {
		t.Fatalf("own user %+v", me)
	}
	_, _, err = e.b.GetUser(s, num(0))
	wantCode(t, err, iggyproto.CodeUnauthorized)
	wantCode(t, e.b.ChangePassword(s, num(1), "new-pw", "newer"), 0)
	wantCode(t, e.b.ChangePassword(s, num(0), "iggy", "hacked"), iggyproto.CodeUnauthorized)
	_, err = e.b.CreateUser(s, "mallory", "pw-m", UserActive, nil)
	wantCode(t, err, iggyproto.CodeUnauthorized)

	// A second login replaces the identity.
	if id := must[uint32](t)(e.b.Login(s, "iggy", "iggy")); id != 0 {
		t.Fatalf("root id %d", id)
	}
	ci := must[ClientInfo](t)(e.b.GetMe(s))
	if ci.UserID != 0 {
		t.Fatalf("after relogin user %d", ci.UserID)
	}
	wantCode(t, e.b.Logout(s), 0)
	_, err = e.b.GetMe(s)
	wantCode(t, err, iggyproto.CodeUnauthenticated)

	// Deleting a user removes its sessions; its id is reused.
	s2 := e.b.NewSession("c:3", TransportTCP)
	must[uint32](t)(e.b.Login(s2, "alice", "newer"))
	wantCode(t, e.b.DeleteUser(e.root, name("alice")), 0)
	_, err = e.b.GetMe(s2)
	wantCode(t, err, iggyproto.CodeClientNotFound)
	if u := must[UserDetails](t)(e.b.CreateUser(e.root, "carol", "pw-c", UserActive, nil)); u.ID != 1 {
		t.Fatalf("reused user id %d", u.ID)
	}
	// Inactive users cannot log in.
	wantCode(t, e.b.UpdateUser(e.root, name("carol"), nil, ptr(UserInactive)), 0)
	_, err = e.b.Login(e.b.NewSession("d:4", TransportTCP), "carol", "pw-c")
	wantCode(t, err, iggyproto.CodeUserInactive)
}

func TestPermissionsEnforced(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.stream("other")
	e.topic("s", "t", 1)
	e.topic("s", "u", 1)
	e.topic("other", "t", 1)
	mk := func(user string, p *Permissions) *Session {
		must[UserDetails](t)(e.b.CreateUser(e.root, user, "password", UserActive, p))
		s := e.b.NewSession("x:1", TransportTCP)
		must[uint32](t)(e.b.Login(s, user, "password"))
		return s
	}
	reader := mk("reader", &Permissions{Global: GlobalPermissions{ReadStreams: true}})
	none := mk("nobody", nil)
	streamMgr := mk("smgr", &Permissions{Streams: map[uint32]*StreamPermissions{0: {ManageStream: true}}})
	topicSender := mk("tsend", &Permissions{Streams: map[uint32]*StreamPermissions{0: {Topics: map[uint32]*TopicPermissions{0: {SendMessages: true}}}}})
	servers := mk("srv", &Permissions{Global: GlobalPermissions{ReadServers: true}})

	send := func(s *Session, stream, topic string) error {
		_, err := e.b.Send(s, name(stream), name(topic), Partitioning{Kind: PartitionBalanced}, batch("x", 1))
		return err
	}
	poll := func(s *Session, stream string) error {
		_, err := e.b.Poll(s, PollRequest{Consumer: Consumer{Kind: SingleConsumer, ID: 1}, Stream: name(stream), Topic: name("t"), Strategy: PollStrategy{Kind: PollFirst}, Count: 1})
		return err
	}
	createStream := func(s *Session) error {
		_, err := e.b.CreateStream(s, "new-"+s.addr+string(rune('a'+s.id)))
		return err
	}
	createTopic := func(s *Session, stream string) error {
		_, err := e.b.CreateTopic(s, name(stream), TopicConfig{Name: "nt" + string(rune('a'+s.id)), CompressionAlgorithm: 1})
		return err
	}
	getStreams := func(s *Session) error { _, err := e.b.GetStreams(s); return err }
	getStream := func(s *Session, n string) error { _, _, err := e.b.GetStream(s, name(n)); return err }
	stats := func(s *Session) error { _, err := e.b.GetStats(s); return err }
	clients := func(s *Session) error { _, err := e.b.GetClients(s); return err }
	group := func(s *Session, stream string) error {
		_, err := e.b.CreateConsumerGroup(s, name(stream), name("t"), "g"+string(rune('a'+s.id)))
		return err
	}

	U := iggyproto.CodeUnauthorized
	cases := []struct {
		name string
		err  error
		code iggyproto.Code
	}{
		{"reader create stream", createStream(reader), U},
		{"reader create topic", createTopic(reader, "s"), U},
		{"reader get streams", getStreams(reader), 0},
		{"reader get stream", getStream(reader, "s"), 0},
		{"reader poll", poll(reader, "s"), 0},
		{"reader send", send(reader, "s", "t"), U},
		{"reader delete stream", e.b.DeleteStream(reader, name("s")), U},
		{"reader stats", stats(reader), U},
		{"reader group", group(reader, "s"), 0},
		{"none get streams", getStreams(none), U},
		{"none get stream", getStream(none, "s"), U},
		{"none poll", poll(none, "s"), U},
		{"none send", send(none, "s", "t"), U},
		{"none group", group(none, "s"), U},
		{"smgr create stream", createStream(streamMgr), U},
		{"smgr create topic in own stream", createTopic(streamMgr, "s"), 0},
		{"smgr create topic elsewhere", createTopic(streamMgr, "other"), U},
		{"smgr get stream", getStream(streamMgr, "s"), 0},
		{"smgr get streams", getStreams(streamMgr), U},
		{"smgr send", send(streamMgr, "s", "t"), 0},
		{"smgr poll", poll(streamMgr, "s"), 0},
		{"smgr update other", e.b.UpdateStream(streamMgr, name("other"), "x2"), U},
		{"tsend send t", send(topicSender, "s", "t"), 0},
		{"tsend send u", send(topicSender, "s", "u"), U},
		{"tsend poll", poll(topicSender, "s"), U},
		{"srv stats", stats(servers), 0},
		{"srv clients", clients(servers), 0},
		{"srv streams", getStreams(servers), U},
		{"reader clients", clients(reader), U},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.err, c.code) })
	}
	// Permission changes apply to logged-in sessions at once.
	wantCode(t, e.b.UpdatePermissions(e.root, name("nobody"), &Permissions{Global: GlobalPermissions{ManageStreams: true}}), 0)
	wantCode(t, createStream(none), 0)
	wantCode(t, send(none, "s", "t"), 0)
}

func TestPersonalAccessTokens(t *testing.T) {
	e := newEnv(t)
	tok := must[string](t)(e.b.CreatePersonalAccessToken(e.root, "ci-token", 0))
	if len(tok) != 68 {
		t.Fatalf("token length %d", len(tok))
	}
	_, err := e.b.CreatePersonalAccessToken(e.root, "ci-token", 0)
	wantCode(t, err, iggyproto.CodePATAlreadyExists)
	_, err = e.b.CreatePersonalAccessToken(e.root, "ab", 0)
	wantCode(t, err, iggyproto.CodeInvalidPATName)
	_, err = e.b.CreatePersonalAccessToken(e.root, strings.Repeat("n", 31), 0)
	wantCode(t, err, iggyproto.CodeInvalidPATName)
	never := must[string](t)(e.b.CreatePersonalAccessToken(e.root, "never", math.MaxUint64))
	short := must[string](t)(e.b.CreatePersonalAccessToken(e.root, "short", uint64(time.Minute/time.Microsecond)))

	list := must[[]PATInfo](t)(e.b.GetPersonalAccessTokens(e.root))
	if len(list) != 3 || list[0].Name != "ci-token" || list[0].ExpiryAt != 0 || list[1].ExpiryAt != 0 {
		t.Fatalf("list %+v", list)
	}
	if want := uint64(e.clk.Now().Add(time.Minute).UnixMicro()); list[2].ExpiryAt != want {
		t.Fatalf("expiry %d, want %d", list[2].ExpiryAt, want)
	}

	s := e.b.NewSession("p:1", TransportTCP)
	_, err = e.b.LoginWithToken(s, "bogus")
	wantCode(t, err, iggyproto.CodeResourceNotFound)
	if id := must[uint32](t)(e.b.LoginWithToken(s, tok)); id != 0 {
		t.Fatalf("token login id %d", id)
	}
	must[uint32](t)(e.b.LoginWithToken(s, short))
	e.clk.Advance(2 * time.Minute)
	_, err = e.b.LoginWithToken(s, short)
	wantCode(t, err, iggyproto.CodePATExpired)
	must[uint32](t)(e.b.LoginWithToken(s, never))
	e.b.removeExpiredTokens() // the periodic cleaner drops the expired one
	if list := must[[]PATInfo](t)(e.b.GetPersonalAccessTokens(e.root)); len(list) != 2 {
		t.Fatalf("after cleanup %+v", list)
	}
	_, err = e.b.LoginWithToken(s, short)
	wantCode(t, err, iggyproto.CodeResourceNotFound)

	wantCode(t, e.b.DeletePersonalAccessToken(e.root, "nope"), iggyproto.CodeResourceNotFound)
	wantCode(t, e.b.DeletePersonalAccessToken(e.root, "ci-token"), 0)
	_, err = e.b.LoginWithToken(s, tok)
	wantCode(t, err, iggyproto.CodeResourceNotFound)

	// Limit of 100 per user; inactive users cannot use tokens.
	must[UserDetails](t)(e.b.CreateUser(e.root, "bot", "password", UserActive, nil))
	bs := e.b.NewSession("p:2", TransportTCP)
	must[uint32](t)(e.b.Login(bs, "bot", "password"))
	var botTok string
	for i := range MaxPATsPerUser {
		botTok = must[string](t)(e.b.CreatePersonalAccessToken(bs, "tok-"+strings.Repeat("x", i%20)+string(rune('A'+i/20))+string(rune('a'+i%20)), 0))
	}
	_, err = e.b.CreatePersonalAccessToken(bs, "one-more", 0)
	wantCode(t, err, iggyproto.CodePATLimitReached)
	wantCode(t, e.b.UpdateUser(e.root, name("bot"), nil, ptr(UserInactive)), 0)
	_, err = e.b.LoginWithToken(e.b.NewSession("p:3", TransportTCP), botTok)
	wantCode(t, err, iggyproto.CodeUserInactive)
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") || strings.Contains(h, "correct") {
		t.Fatalf("hash %q", h)
	}
	if !checkPassword(h, "correct horse") || checkPassword(h, "correct horsE") {
		t.Fatal("check")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2id$v=19$m=1,t=0,p=1$AA$AA", "$bcrypt$v=19$m=64,t=1,p=1$AA$AA", "$argon2id$v=19$m=64,t=1,p=1$!!$AA"} {
		if checkPassword(bad, "x") {
			t.Fatalf("malformed hash %q matched", bad)
		}
	}
}

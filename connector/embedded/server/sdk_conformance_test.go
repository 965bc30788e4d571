package server

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
	ierror "github.com/apache/iggy/foreign/go/errors"
)

// One test per SDK method (Go SDK v0.8.0, iggcon.Client), happy path and
// the error codes Iggy 0.8.0 answers.

func TestSDKPingAndAuthRequired(t *testing.T) {
	e := newEnv(t)
	cli := e.connect(t)
	ok(t, cli.Ping()) // Ping works before login
	_, err := cli.GetStreams()
	wantErr(t, err, ierror.ErrUnauthenticated)
	_, err = cli.GetClusterMetadata()
	wantErr(t, err, ierror.ErrUnauthenticated)
	_, err = cli.CreateStream("x")
	wantErr(t, err, ierror.ErrUnauthenticated)
	err = cli.SendMessages(nid(0), nid(0), iggcon.None(), msgs(t, "m", 1))
	wantErr(t, err, ierror.ErrUnauthenticated)
	// The connection is still in step after the refused send.
	ok(t, cli.Ping())
}

func TestSDKLoginUser(t *testing.T) {
	e := newEnv(t)
	cli := e.connect(t)
	_, err := cli.LoginUser(rootUser, "wrong")
	wantErr(t, err, ierror.ErrInvalidCredentials)
	_, err = cli.LoginUser("nobody", "secret")
	wantErr(t, err, ierror.ErrInvalidCredentials) // missing user -> 42, not 20
	_, err = cli.LoginUser("ab", "secret")
	wantErr(t, err, ierror.ErrInvalidUsername)
	_, err = cli.LoginUser(rootUser, "ab")
	wantErr(t, err, ierror.ErrInvalidPassword)
	id := must(cli.LoginUser(rootUser, rootPass))(t)
	if id.UserId != 0 {
		t.Fatalf("root user id %d, want 0", id.UserId)
	}
	// A second login on the same connection replaces the identity.
	must(cli.CreateUser("alice", "alice-pw", iggcon.Active, nil))(t)
	id = must(cli.LoginUser("alice", "alice-pw"))(t)
	if id.UserId != 1 {
		t.Fatalf("alice id %d, want 1", id.UserId)
	}
	_, err = cli.GetUsers()
	wantErr(t, err, ierror.ErrUnauthorized)
}

func TestSDKLogoutUser(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	ok(t, cli.LogoutUser())
	_, err := cli.GetStreams()
	wantErr(t, err, ierror.ErrUnauthenticated)
	err = cli.LogoutUser()
	wantErr(t, err, ierror.ErrUnauthenticated)
	ok(t, cli.Ping()) // connection stays open
	must(cli.LoginUser(rootUser, rootPass))(t)
	must(cli.GetStreams())(t)
}

func TestSDKGetClusterMetadata(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	md := must(cli.GetClusterMetadata())(t)
	if md.Name != "single-node" || len(md.Nodes) != 1 {
		t.Fatalf("metadata %+v", md)
	}
	n := md.Nodes[0]
	addr := e.srv.Addr()
	if n.Name != "iggy-node" || n.IP != addr.IP.String() || int(n.Endpoints.Tcp) != addr.Port ||
		n.Role != iggcon.RoleLeader || n.Status != iggcon.Healthy {
		t.Fatalf("node %+v, server at %v", n, addr)
	}
}

func TestSDKGetStats(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "stats", "t", 3)
	ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(1), msgs(t, "m", 5)))
	must(cli.CreateConsumerGroup(nid(s), nid(tp), "g"))(t)
	st := must(cli.GetStats())(t)
	if st.StreamsCount != 1 || st.TopicsCount != 1 || st.PartitionsCount != 3 || st.MessagesCount != 5 ||
		st.ConsumerGroupsCount != 1 || st.ClientsCount != 1 || st.IggyServerVersion != "0.8.0" ||
		st.IggyServerSemver != 8000 || st.ProcessId == 0 || st.SegmentsCount < 3 || st.MessagesSizeBytes == 0 {
		t.Fatalf("stats %+v", st)
	}
	limited := limitedUser(t, e, cli, "reader", iggcon.GlobalPermissions{ReadStreams: true})
	_, err := limited.GetStats()
	wantErr(t, err, ierror.ErrUnauthorized)
}

func TestSDKGetClientsAndGetClient(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	other := e.connect(t) // not logged in
	ok(t, other.Ping())
	s, tp := mkTopic(t, cli, "clients", "t", 2)
	g := must(cli.CreateConsumerGroup(nid(s), nid(tp), "g"))(t)
	ok(t, cli.JoinConsumerGroup(nid(s), nid(tp), nid(g.Id)))

	clients := must(cli.GetClients())(t)
	if len(clients) != 2 {
		t.Fatalf("clients %+v", clients)
	}
	var me, anon iggcon.ClientInfo
	for _, c := range clients {
		if c.UserID == 0 {
			me = c
		} else {
			anon = c
		}
	}
	if me.ID == 0 || me.Transport != "tcp" || me.ConsumerGroupsCount != 1 || !strings.HasPrefix(me.Address, "127.0.0.1:") {
		t.Fatalf("me %+v", me)
	}
	if anon.UserID != math.MaxUint32 || anon.ID == 0 || anon.ID == me.ID {
		t.Fatalf("anonymous client %+v", anon)
	}
	d := must(cli.GetClient(me.ID))(t)
	if d.ID != me.ID || d.Address != me.Address {
		t.Fatalf("details %+v", d)
	}
	// The SDK pre-fills ConsumerGroupsCount zero entries before the real
	// ones (an SDK quirk); the real entry is last.
	if len(d.ConsumerGroups) == 0 {
		t.Fatal("no consumer groups in client details")
	}
	last := d.ConsumerGroups[len(d.ConsumerGroups)-1]
	if last.StreamId != s || last.TopicId != tp || last.GroupId != g.Id {
		t.Fatalf("group %+v", last)
	}
	// GetClient(0) is InvalidClientId (101).
	_, err := cli.GetClient(0)
	wantErr(t, err, ierror.ErrInvalidClientId)

	limited := limitedUser(t, e, cli, "noserver", iggcon.GlobalPermissions{ReadStreams: true})
	_, err = limited.GetClients()
	wantErr(t, err, ierror.ErrUnauthorized)
	_, err = limited.GetClient(me.ID)
	wantErr(t, err, ierror.ErrUnauthorized)
}

func TestSDKStreams(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)

	s0 := must(cli.CreateStream("orders"))(t)
	if s0.Id != 0 || s0.Name != "orders" || s0.TopicsCount != 0 || s0.CreatedAt == 0 {
		t.Fatalf("created %+v", s0)
	}
	s1 := must(cli.CreateStream("payments"))(t)
	if s1.Id != 1 {
		t.Fatalf("second stream id %d", s1.Id)
	}
	_, err := cli.CreateStream("orders")
	wantErr(t, err, ierror.ErrStreamNameAlreadyExists)
	_, err = cli.CreateStream("")
	wantErr(t, err, ierror.ErrInvalidStreamName) // client-side check

	// GetStream by id and by name; missing -> empty OK -> SDK's StreamIdNotFound.
	got := must(cli.GetStream(sid("orders")))(t)
	if got.Id != 0 || got.Name != "orders" {
		t.Fatalf("get by name %+v", got)
	}
	_, err = cli.GetStream(nid(42))
	wantErr(t, err, ierror.ErrStreamIdNotFound)
	_, err = cli.GetStream(sid("nope"))
	wantErr(t, err, ierror.ErrStreamIdNotFound)

	list := must(cli.GetStreams())(t)
	if len(list) != 2 || list[0].Name != "orders" || list[1].Name != "payments" {
		t.Fatalf("streams %+v", list)
	}

	ok(t, cli.UpdateStream(nid(0), "orders-v2"))
	ok(t, cli.UpdateStream(nid(0), "orders-v2")) // renaming to the same name is allowed
	err = cli.UpdateStream(nid(0), "payments")
	wantErr(t, err, ierror.ErrStreamNameAlreadyExists)
	err = cli.UpdateStream(nid(9), "x")
	wantErr(t, err, ierror.ErrStreamIdNotFound)
	err = cli.UpdateStream(sid("missing"), "x")
	wantErr(t, err, ierror.ErrStreamIdNotFound)

	ok(t, cli.DeleteStream(sid("orders-v2")))
	err = cli.DeleteStream(nid(0))
	wantErr(t, err, ierror.ErrStreamIdNotFound)
	// Freed ids are reused.
	s2 := must(cli.CreateStream("again"))(t)
	if s2.Id != 0 {
		t.Fatalf("reused id %d, want 0", s2.Id)
	}

	limited := limitedUser(t, e, cli, "nostreams", iggcon.GlobalPermissions{ReadUsers: true})
	_, err = limited.CreateStream("x")
	wantErr(t, err, ierror.ErrUnauthorized)
	_, err = limited.GetStreams()
	wantErr(t, err, ierror.ErrUnauthorized)
	err = limited.DeleteStream(nid(1))
	wantErr(t, err, ierror.ErrUnauthorized)
}

func TestSDKTopics(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s := must(cli.CreateStream("s"))(t)

	tp := must(cli.CreateTopic(nid(s.Id), "events", 3, iggcon.CompressionAlgorithmNone, 0, 0, nil))(t)
	if tp.Id != 0 || tp.Name != "events" || tp.PartitionsCount != 3 || len(tp.Partitions) != 3 ||
		tp.MessageExpiry != iggcon.Duration(math.MaxUint64) || tp.MaxTopicSize != math.MaxUint64 ||
		tp.ReplicationFactor != 1 || tp.CompressionAlgorithm != 1 {
		t.Fatalf("created %+v", tp)
	}
	for i, p := range tp.Partitions {
		if p.Id != uint32(i) {
			t.Fatalf("partition %d has id %d", i, p.Id)
		}
	}
	tp2 := must(cli.CreateTopic(sid("s"), "audit", 0, iggcon.CompressionAlgorithmGzip, 3_600_000_000, math.MaxUint64, ptr(uint8(2))))(t)
	if tp2.Id != 1 || tp2.PartitionsCount != 0 || tp2.MessageExpiry != 3_600_000_000 || tp2.CompressionAlgorithm != 2 || tp2.ReplicationFactor != 2 {
		t.Fatalf("second topic %+v", tp2)
	}

	_, err := cli.CreateTopic(nid(s.Id), "events", 1, iggcon.CompressionAlgorithmNone, 0, 0, nil)
	wantErr(t, err, ierror.ErrTopicNameAlreadyExists)
	_, err = cli.CreateTopic(nid(7), "x", 1, iggcon.CompressionAlgorithmNone, 0, 0, nil)
	wantErr(t, err, ierror.ErrStreamIdNotFound)
	_, err = cli.CreateTopic(nid(s.Id), "x", 1, 0, 0, 0, nil) // compression 0
	wantErr(t, err, ierror.ErrInvalidCommand)
	_, err = cli.CreateTopic(nid(s.Id), "x", 1, iggcon.CompressionAlgorithmNone, 0, 1024, nil)
	wantErr(t, err, ierror.ErrInvalidTopicSize)
	_, err = cli.CreateTopic(nid(s.Id), "x", 1001, iggcon.CompressionAlgorithmNone, 0, 0, nil)
	wantErr(t, err, ierror.ErrTooManyPartitions) // client-side

	got := must(cli.GetTopic(sid("s"), sid("events")))(t)
	if got.Id != 0 || len(got.Partitions) != 3 {
		t.Fatalf("get %+v", got)
	}
	_, err = cli.GetTopic(nid(s.Id), nid(9))
	wantErr(t, err, ierror.ErrTopicIdNotFound)
	_, err = cli.GetTopic(nid(9), nid(0))
	wantErr(t, err, ierror.ErrTopicIdNotFound) // empty OK either way

	list := must(cli.GetTopics(nid(s.Id)))(t)
	if len(list) != 2 || list[0].Name != "events" || list[1].Name != "audit" {
		t.Fatalf("topics %+v", list)
	}
	if l := must(cli.GetTopics(nid(9)))(t); len(l) != 0 {
		t.Fatalf("topics of a missing stream %+v", l)
	}
	sd := must(cli.GetStream(nid(s.Id)))(t)
	if sd.TopicsCount != 2 || len(sd.Topics) != 2 {
		t.Fatalf("stream details %+v", sd)
	}

	ok(t, cli.UpdateTopic(nid(s.Id), nid(0), "events-v2", iggcon.CompressionAlgorithmGzip, 1_000_000, math.MaxUint64, ptr(uint8(3))))
	got = must(cli.GetTopic(nid(s.Id), nid(0)))(t)
	if got.Name != "events-v2" || got.CompressionAlgorithm != 2 || got.MessageExpiry != 1_000_000 || got.ReplicationFactor != 3 {
		t.Fatalf("updated %+v", got)
	}
	err = cli.UpdateTopic(nid(s.Id), nid(0), "audit", iggcon.CompressionAlgorithmNone, 0, 0, nil)
	wantErr(t, err, ierror.ErrTopicNameAlreadyExists)
	err = cli.UpdateTopic(nid(s.Id), nid(5), "zzz", iggcon.CompressionAlgorithmNone, 0, 0, nil)
	wantErr(t, err, ierror.ErrTopicIdNotFound)

	ok(t, cli.DeleteTopic(nid(s.Id), sid("audit")))
	err = cli.DeleteTopic(nid(s.Id), nid(1))
	wantErr(t, err, ierror.ErrTopicIdNotFound)
	err = cli.DeleteTopic(nid(8), nid(0))
	wantErr(t, err, ierror.ErrStreamIdNotFound)

	limited := limitedUser(t, e, cli, "readonly", iggcon.GlobalPermissions{ReadStreams: true, ReadTopics: true})
	must(limited.GetTopics(nid(s.Id)))(t)
	_, err = limited.CreateTopic(nid(s.Id), "nope", 1, iggcon.CompressionAlgorithmNone, 0, 0, nil)
	wantErr(t, err, ierror.ErrUnauthorized)
	err = limited.DeleteTopic(nid(s.Id), nid(0))
	wantErr(t, err, ierror.ErrUnauthorized)
}

func TestSDKPartitions(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 2)

	ok(t, cli.CreatePartitions(nid(s), nid(tp), 3))
	got := must(cli.GetTopic(nid(s), nid(tp)))(t)
	if got.PartitionsCount != 5 || len(got.Partitions) != 5 || got.Partitions[4].Id != 4 {
		t.Fatalf("after create %+v", got)
	}
	ok(t, cli.DeletePartitions(nid(s), nid(tp), 2))
	got = must(cli.GetTopic(nid(s), nid(tp)))(t)
	if got.PartitionsCount != 3 || got.Partitions[2].Id != 2 {
		t.Fatalf("after delete %+v", got)
	}
	err := cli.CreatePartitions(nid(s), nid(tp), 0)
	wantErr(t, err, ierror.ErrTooManyPartitions)
	err = cli.CreatePartitions(nid(s), nid(tp), 1001)
	wantErr(t, err, ierror.ErrTooManyPartitions)
	err = cli.DeletePartitions(nid(s), nid(tp), 0)
	wantErr(t, err, ierror.ErrTooManyPartitions)
	err = cli.DeletePartitions(nid(s), nid(tp), 4) // 2019: not in Go's table -> ErrError
	wantErr(t, err, ierror.ErrError)
	err = cli.CreatePartitions(nid(s), nid(9), 1)
	wantErr(t, err, ierror.ErrTopicIdNotFound)
	err = cli.DeletePartitions(nid(9), nid(tp), 1)
	wantErr(t, err, ierror.ErrStreamIdNotFound)
}

func TestSDKSendAndPollMessages(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 2)

	ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(1), msgs(t, "a", 10)))
	consumer := iggcon.NewSingleConsumer(nid(7))
	p1 := ptr(uint32(1))
	got := must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.FirstPollingStrategy(), 100, false, p1))(t)
	if got.PartitionId != 1 || got.CurrentOffset != 9 || got.MessageCount != 10 || len(got.Messages) != 10 {
		t.Fatalf("poll first: %+v", got)
	}
	for i, m := range got.Messages {
		if m.Header.Offset != uint64(i) || string(m.Payload) != "a-"+itoa(i) {
			t.Fatalf("message %d: offset %d payload %q", i, m.Header.Offset, m.Payload)
		}
	}
	// Strategies.
	got = must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.OffsetPollingStrategy(4), 3, false, p1))(t)
	if len(got.Messages) != 3 || got.Messages[0].Header.Offset != 4 {
		t.Fatalf("offset strategy %+v", got.Messages)
	}
	got = must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.OffsetPollingStrategy(10), 3, false, p1))(t)
	if len(got.Messages) != 0 || got.MessageCount != 0 || got.CurrentOffset != 9 {
		t.Fatalf("offset past the end %+v", got)
	}
	got = must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.LastPollingStrategy(), 3, false, p1))(t)
	if len(got.Messages) != 3 || got.Messages[0].Header.Offset != 7 {
		t.Fatalf("last strategy %+v", got.Messages)
	}
	ts := got.Messages[0].Header.Timestamp
	got = must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.TimestampPollingStrategy(ts), 100, false, p1))(t)
	if len(got.Messages) != 10 { // one timestamp per batch
		t.Fatalf("timestamp strategy: %d messages", len(got.Messages))
	}
	got = must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.TimestampPollingStrategy(ts+1), 100, false, p1))(t)
	if len(got.Messages) != 0 {
		t.Fatalf("timestamp after the batch: %d messages", len(got.Messages))
	}
	// Next with auto-commit walks forward.
	for want := uint64(0); want < 10; want += 4 {
		got = must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.NextPollingStrategy(), 4, true, p1))(t)
		if len(got.Messages) == 0 || got.Messages[0].Header.Offset != want {
			t.Fatalf("next from %d: %+v", want, got.Messages)
		}
	}
	got = must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.NextPollingStrategy(), 4, true, p1))(t)
	if len(got.Messages) != 0 {
		t.Fatalf("next at the end: %d messages", len(got.Messages))
	}
	off := must(cli.GetConsumerOffset(consumer, nid(s), nid(tp), p1))(t)
	if off == nil || off.StoredOffset != 9 || off.CurrentOffset != 9 || off.PartitionId != 1 {
		t.Fatalf("offset after auto-commit %+v", off)
	}
	// count 0 gives the head only; an empty partition gives an empty answer;
	// no partition id reads partition 0.
	got = must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.FirstPollingStrategy(), 0, false, p1))(t)
	if len(got.Messages) != 0 || got.PartitionId != 1 {
		t.Fatalf("count 0: %+v", got)
	}
	got = must(cli.PollMessages(nid(s), nid(tp), consumer, iggcon.FirstPollingStrategy(), 10, false, nil))(t)
	if len(got.Messages) != 0 || got.PartitionId != 0 || got.CurrentOffset != 0 {
		t.Fatalf("partition 0 (empty): %+v", got)
	}

	// Errors.
	err := cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(2), msgs(t, "x", 1))
	wantErr(t, err, ierror.ErrPartitionNotFound)
	err = cli.SendMessages(nid(s), nid(9), iggcon.None(), msgs(t, "x", 1))
	wantErr(t, err, ierror.ErrTopicIdNotFound)
	err = cli.SendMessages(nid(9), nid(tp), iggcon.None(), msgs(t, "x", 1))
	wantErr(t, err, ierror.ErrStreamIdNotFound)
	err = cli.SendMessages(sid("nope"), nid(tp), iggcon.None(), msgs(t, "x", 1))
	wantErr(t, err, ierror.ErrStreamIdNotFound)
	_, err = cli.PollMessages(nid(s), nid(tp), consumer, iggcon.FirstPollingStrategy(), 1, false, ptr(uint32(5)))
	wantErr(t, err, ierror.ErrPartitionNotFound)
	_, err = cli.PollMessages(nid(s), nid(9), consumer, iggcon.FirstPollingStrategy(), 1, false, nil)
	wantErr(t, err, ierror.ErrTopicIdNotFound)
	_, err = cli.PollMessages(nid(9), nid(tp), consumer, iggcon.FirstPollingStrategy(), 1, false, nil)
	wantErr(t, err, ierror.ErrStreamIdNotFound)
	// Balanced send to a topic without partitions.
	empty := must(cli.CreateTopic(nid(s), "empty", 0, iggcon.CompressionAlgorithmNone, 0, 0, nil))(t)
	err = cli.SendMessages(nid(s), nid(empty.Id), iggcon.None(), msgs(t, "x", 1))
	wantErr(t, err, ierror.ErrTopicIdNotFound)

	// Permissions: reading streams implies polling (Iggy 0.8.0), not sending.
	viewer := limitedUser(t, e, cli, "viewer", iggcon.GlobalPermissions{ReadStreams: true, ReadTopics: true})
	err = viewer.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), msgs(t, "x", 1))
	wantErr(t, err, ierror.ErrUnauthorized)
	must(viewer.PollMessages(nid(s), nid(tp), consumer, iggcon.FirstPollingStrategy(), 1, false, p1))(t)
	// A user without any stream right can do neither.
	limited := limitedUser(t, e, cli, "outsider", iggcon.GlobalPermissions{ReadUsers: true})
	err = limited.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), msgs(t, "x", 1))
	wantErr(t, err, ierror.ErrUnauthorized)
	_, err = limited.PollMessages(nid(s), nid(tp), consumer, iggcon.FirstPollingStrategy(), 1, false, p1)
	wantErr(t, err, ierror.ErrUnauthorized)
	// Stream-level permissions grant what the global ones do not.
	sender := limitedUserPerms(t, e, cli, "sender", &iggcon.Permissions{
		Streams: map[int]*iggcon.StreamPermissions{int(s): {SendMessages: true, PollMessages: true}},
	})
	ok(t, sender.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), msgs(t, "y", 1)))
	must(sender.PollMessages(nid(s), nid(tp), consumer, iggcon.FirstPollingStrategy(), 1, false, p1))(t)
}

func TestSDKConsumerOffsets(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 2)
	ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.PartitionId(0), msgs(t, "a", 5)))
	single := iggcon.NewSingleConsumer(nid(3))
	named := iggcon.NewSingleConsumer(sid("worker"))
	p0 := ptr(uint32(0))

	off, err := cli.GetConsumerOffset(single, nid(s), nid(tp), p0)
	if err != nil || off != nil {
		t.Fatalf("nothing stored: %+v %v", off, err) // empty OK -> nil, nil
	}
	ok(t, cli.StoreConsumerOffset(single, nid(s), nid(tp), 2, p0))
	off = must(cli.GetConsumerOffset(single, nid(s), nid(tp), p0))(t)
	if off == nil || off.StoredOffset != 2 || off.CurrentOffset != 4 || off.PartitionId != 0 {
		t.Fatalf("stored %+v", off)
	}
	// Without partition id: partition 0.
	ok(t, cli.StoreConsumerOffset(named, nid(s), nid(tp), 3, nil))
	off = must(cli.GetConsumerOffset(named, nid(s), nid(tp), nil))(t)
	if off == nil || off.StoredOffset != 3 {
		t.Fatalf("named consumer %+v", off)
	}
	// The named consumer's id is XXH32(name): the same offsets through the numeric id.
	off = must(cli.GetConsumerOffset(iggcon.NewSingleConsumer(nid(xxh32Of("worker"))), nid(s), nid(tp), p0))(t)
	if off == nil || off.StoredOffset != 3 {
		t.Fatalf("named consumer by hash %+v", off)
	}
	// A poll with "next" continues after the stored offset.
	got := must(cli.PollMessages(nid(s), nid(tp), single, iggcon.NextPollingStrategy(), 10, false, p0))(t)
	if len(got.Messages) != 2 || got.Messages[0].Header.Offset != 3 {
		t.Fatalf("next after stored offset: %+v", got.Messages)
	}

	err = cli.StoreConsumerOffset(single, nid(s), nid(tp), 5, p0) // beyond the current offset
	wantErr(t, err, ierror.ErrInvalidOffset)
	err = cli.StoreConsumerOffset(single, nid(s), nid(tp), 0, ptr(uint32(1))) // empty partition
	wantErr(t, err, ierror.ErrInvalidOffset)
	err = cli.StoreConsumerOffset(single, nid(s), nid(tp), 0, ptr(uint32(9)))
	wantErr(t, err, ierror.ErrPartitionNotFound)
	err = cli.StoreConsumerOffset(single, nid(9), nid(tp), 0, p0)
	wantErr(t, err, ierror.ErrStreamIdNotFound)
	err = cli.StoreConsumerOffset(single, nid(s), nid(9), 0, p0)
	wantErr(t, err, ierror.ErrTopicIdNotFound)
	// Get on missing things: empty OK.
	if off, err := cli.GetConsumerOffset(single, nid(9), nid(tp), p0); err != nil || off != nil {
		t.Fatalf("missing stream: %+v %v", off, err)
	}

	ok(t, cli.DeleteConsumerOffset(single, nid(s), nid(tp), p0))
	err = cli.DeleteConsumerOffset(single, nid(s), nid(tp), p0)
	wantErr(t, err, ierror.ErrConsumerOffsetNotFound)
	err = cli.DeleteConsumerOffset(single, nid(s), nid(tp), ptr(uint32(9)))
	wantErr(t, err, ierror.ErrPartitionNotFound)
	if off, _ := cli.GetConsumerOffset(single, nid(s), nid(tp), p0); off != nil {
		t.Fatalf("offset after delete %+v", off)
	}

	// Group consumer offsets need membership to store.
	g := must(cli.CreateConsumerGroup(nid(s), nid(tp), "g"))(t)
	group := iggcon.NewGroupConsumer(nid(g.Id))
	err = cli.StoreConsumerOffset(group, nid(s), nid(tp), 1, p0)
	wantErr(t, err, ierror.ErrConsumerGroupMemberNotFound)
	ok(t, cli.JoinConsumerGroup(nid(s), nid(tp), nid(g.Id)))
	ok(t, cli.StoreConsumerOffset(group, nid(s), nid(tp), 1, p0))
	off = must(cli.GetConsumerOffset(iggcon.NewGroupConsumer(sid("g")), nid(s), nid(tp), p0))(t)
	if off == nil || off.StoredOffset != 1 {
		t.Fatalf("group offset %+v", off)
	}
	err = cli.StoreConsumerOffset(iggcon.NewGroupConsumer(nid(7)), nid(s), nid(tp), 1, p0)
	wantErr(t, err, ierror.ErrConsumerGroupIdNotFound)

	limited := limitedUser(t, e, cli, "nopoll", iggcon.GlobalPermissions{ReadUsers: true})
	err = limited.StoreConsumerOffset(single, nid(s), nid(tp), 1, p0)
	wantErr(t, err, ierror.ErrUnauthorized)
	// Get answers empty OK on failures, a missing permission included.
	if off, err := limited.GetConsumerOffset(group, nid(s), nid(tp), p0); err != nil || off != nil {
		t.Fatalf("get without permission: %+v %v", off, err)
	}
	// ... but not before login.
	_, err = e.connect(t).GetConsumerOffset(single, nid(s), nid(tp), p0)
	wantErr(t, err, ierror.ErrUnauthenticated)
}

func TestSDKConsumerGroupsCRUD(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	s, tp := mkTopic(t, cli, "s", "t", 3)

	g := must(cli.CreateConsumerGroup(nid(s), nid(tp), "workers"))(t)
	if g.Id != 0 || g.Name != "workers" || g.PartitionsCount != 3 || g.MembersCount != 0 {
		t.Fatalf("created %+v", g)
	}
	_, err := cli.CreateConsumerGroup(nid(s), nid(tp), "workers")
	wantErr(t, err, ierror.ErrConsumerGroupNameAlreadyExists)
	_, err = cli.CreateConsumerGroup(nid(s), nid(9), "x")
	wantErr(t, err, ierror.ErrTopicIdNotFound)
	_, err = cli.CreateConsumerGroup(nid(s), nid(tp), "")
	wantErr(t, err, ierror.ErrInvalidConsumerGroupName) // client-side
	must(cli.CreateConsumerGroup(nid(s), nid(tp), "audit"))(t)

	list := must(cli.GetConsumerGroups(nid(s), nid(tp)))(t)
	if len(list) != 2 || list[0].Name != "workers" || list[1].Name != "audit" {
		t.Fatalf("groups %+v", list)
	}
	if l := must(cli.GetConsumerGroups(nid(9), nid(tp)))(t); len(l) != 0 {
		t.Fatalf("groups of a missing stream %+v", l)
	}
	got := must(cli.GetConsumerGroup(nid(s), nid(tp), sid("workers")))(t)
	if got.Id != 0 || got.MembersCount != 0 {
		t.Fatalf("get %+v", got)
	}
	_, err = cli.GetConsumerGroup(nid(s), nid(tp), nid(5))
	wantErr(t, err, ierror.ErrConsumerGroupIdNotFound)
	_, err = cli.GetConsumerGroup(nid(5), nid(tp), nid(0))
	wantErr(t, err, ierror.ErrConsumerGroupIdNotFound)

	ok(t, cli.JoinConsumerGroup(nid(s), nid(tp), nid(0)))
	ok(t, cli.JoinConsumerGroup(nid(s), nid(tp), nid(0))) // already a member: OK, no change
	got = must(cli.GetConsumerGroup(nid(s), nid(tp), nid(0)))(t)
	if got.MembersCount != 1 || len(got.Members) != 1 || got.Members[0].PartitionsCount != 3 {
		t.Fatalf("after join %+v", got)
	}
	err = cli.JoinConsumerGroup(nid(s), nid(tp), nid(7))
	wantErr(t, err, ierror.ErrConsumerGroupIdNotFound)
	ok(t, cli.LeaveConsumerGroup(nid(s), nid(tp), nid(0)))
	err = cli.LeaveConsumerGroup(nid(s), nid(tp), nid(0))
	wantErr(t, err, ierror.ErrConsumerGroupMemberNotFound)
	err = cli.LeaveConsumerGroup(nid(s), nid(tp), nid(7))
	wantErr(t, err, ierror.ErrConsumerGroupIdNotFound)

	// Polling as a group requires membership.
	_, err = cli.PollMessages(nid(s), nid(tp), iggcon.NewGroupConsumer(nid(0)), iggcon.NextPollingStrategy(), 1, true, nil)
	wantErr(t, err, ierror.ErrConsumerGroupMemberNotFound)
	_, err = cli.PollMessages(nid(s), nid(tp), iggcon.NewGroupConsumer(nid(7)), iggcon.NextPollingStrategy(), 1, true, nil)
	wantErr(t, err, ierror.ErrConsumerGroupIdNotFound)

	ok(t, cli.DeleteConsumerGroup(nid(s), nid(tp), sid("audit")))
	err = cli.DeleteConsumerGroup(nid(s), nid(tp), nid(1))
	wantErr(t, err, ierror.ErrConsumerGroupIdNotFound)
	// Ids are reused.
	again := must(cli.CreateConsumerGroup(nid(s), nid(tp), "again"))(t)
	if again.Id != 1 {
		t.Fatalf("reused id %d", again.Id)
	}
}

func TestSDKUsers(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)

	root := must(cli.GetUser(nid(0)))(t)
	if root.Username != rootUser || root.Status != iggcon.Active || root.Permissions == nil || !root.Permissions.Global.ManageServers {
		t.Fatalf("root %+v", root)
	}
	perms := &iggcon.Permissions{
		Global: iggcon.GlobalPermissions{ReadStreams: true, PollMessages: true},
		Streams: map[int]*iggcon.StreamPermissions{
			3: {ReadStream: true, Topics: map[int]*iggcon.TopicPermissions{1: {SendMessages: true}}},
		},
	}
	u := must(cli.CreateUser("bob", "bob-secret", iggcon.Active, perms))(t)
	if u.Id != 1 || u.Username != "bob" || u.Permissions == nil || !u.Permissions.Global.ReadStreams ||
		u.Permissions.Streams[3] == nil || !u.Permissions.Streams[3].Topics[1].SendMessages {
		t.Fatalf("created %+v", u)
	}
	noPerms := must(cli.CreateUser("carol", "carol-pw", iggcon.Inactive, nil))(t)
	if noPerms.Status != iggcon.Inactive || noPerms.Permissions != nil {
		t.Fatalf("carol %+v", noPerms)
	}
	_, err := cli.CreateUser("bob", "other-pw", iggcon.Active, nil)
	wantErr(t, err, ierror.ErrUserAlreadyExists)
	_, err = cli.CreateUser("xy", "password", iggcon.Active, nil)
	wantErr(t, err, ierror.ErrInvalidUsername)
	_, err = cli.CreateUser("dave", "pw", iggcon.Active, nil)
	wantErr(t, err, ierror.ErrInvalidPassword)

	got := must(cli.GetUser(sid("bob")))(t)
	if got.Id != 1 {
		t.Fatalf("get by name %+v", got)
	}
	_, err = cli.GetUser(nid(42))
	wantErr(t, err, ierror.ErrResourceNotFound) // empty OK
	users := must(cli.GetUsers())(t)
	if len(users) != 3 || users[0].Username != rootUser || users[2].Username != "carol" {
		t.Fatalf("users %+v", users)
	}

	ok(t, cli.UpdateUser(nid(1), ptr("robert"), ptr(iggcon.Inactive)))
	got = must(cli.GetUser(nid(1)))(t)
	if got.Username != "robert" || got.Status != iggcon.Inactive {
		t.Fatalf("updated %+v", got)
	}
	ok(t, cli.UpdateUser(sid("robert"), nil, ptr(iggcon.Active)))
	err = cli.UpdateUser(nid(1), ptr("carol"), nil)
	wantErr(t, err, ierror.ErrUserAlreadyExists)
	err = cli.UpdateUser(nid(42), ptr("zed-user"), nil)
	wantErr(t, err, ierror.ErrResourceNotFound)

	ok(t, cli.UpdatePermissions(nid(1), &iggcon.Permissions{Global: iggcon.GlobalPermissions{ManageStreams: true}}))
	got = must(cli.GetUser(nid(1)))(t)
	if got.Permissions == nil || !got.Permissions.Global.ManageStreams || got.Permissions.Global.ReadStreams {
		t.Fatalf("permissions %+v", got.Permissions)
	}
	ok(t, cli.UpdatePermissions(nid(1), nil))
	if got = must(cli.GetUser(nid(1)))(t); got.Permissions != nil {
		t.Fatalf("cleared permissions %+v", got.Permissions)
	}
	err = cli.UpdatePermissions(nid(0), nil)
	wantErr(t, err, ierror.ErrCannotChangePermissions)
	err = cli.UpdatePermissions(nid(42), nil)
	wantErr(t, err, ierror.ErrResourceNotFound)

	// Login checks: inactive user, then password.
	other := e.connect(t)
	_, err = other.LoginUser("carol", "carol-pw")
	wantErr(t, err, ierror.ErrUserInactive)
	_, err = other.LoginUser("carol", "wrong-pw")
	wantErr(t, err, ierror.ErrUserInactive) // inactive is checked first

	// ChangePassword: own password free, wrong current -> 42.
	bob := e.login(t, "robert", "bob-secret")
	ok(t, bob.ChangePassword(nid(1), "bob-secret", "new-secret"))
	err = bob.ChangePassword(nid(1), "bob-secret", "again-secret")
	wantErr(t, err, ierror.ErrInvalidCredentials)
	err = bob.ChangePassword(nid(0), rootPass, "hacked")
	wantErr(t, err, ierror.ErrUnauthorized)
	_, err = bob.GetUsers()
	wantErr(t, err, ierror.ErrUnauthorized)
	must(bob.GetUser(nid(1)))(t) // own user always readable
	_, err = bob.CreateUser("mallory", "mallory-pw", iggcon.Active, nil)
	wantErr(t, err, ierror.ErrUnauthorized)
	err = bob.DeleteUser(nid(2))
	wantErr(t, err, ierror.ErrUnauthorized)
	e.login(t, "robert", "new-secret")
	err = cli.ChangePassword(nid(42), "x-x-x", "y-y-y")
	wantErr(t, err, ierror.ErrResourceNotFound)

	err = cli.DeleteUser(nid(0))
	wantErr(t, err, ierror.ErrCannotDeleteUser)
	ok(t, cli.DeleteUser(sid("carol")))
	err = cli.DeleteUser(sid("carol"))
	wantErr(t, err, ierror.ErrResourceNotFound)
}

func TestSDKPersonalAccessTokens(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)

	_, err := cli.GetPersonalAccessTokens()
	wantErr(t, err, ierror.ErrEmptyMessagePayload) // SDK quirk for an empty list

	tok := must(cli.CreatePersonalAccessToken("ci-token", 0))(t)
	if len(tok.Token) != 68 {
		t.Fatalf("token %q (%d chars)", tok.Token, len(tok.Token))
	}
	must(cli.CreatePersonalAccessToken("short", 1))(t) // SDK encodes 1 as 1<<32 µs
	_, err = cli.CreatePersonalAccessToken("ci-token", 0)
	wantErr(t, err, ierror.ErrPersonalAccessTokenAlreadyExists)
	_, err = cli.CreatePersonalAccessToken("ab", 0)
	wantErr(t, err, ierror.ErrInvalidPersonalAccessTokenName)

	list := must(cli.GetPersonalAccessTokens())(t)
	names := []string{}
	for _, p := range list {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"ci-token", "short"}) {
		t.Fatalf("tokens %v", names)
	}

	other := e.connect(t)
	id := must(other.LoginWithPersonalAccessToken(tok.Token))(t)
	if id.UserId != 0 {
		t.Fatalf("PAT login as %d", id.UserId)
	}
	must(other.GetStreams())(t)
	third := e.connect(t)
	_, err = third.LoginWithPersonalAccessToken(strings.Repeat("A", 68))
	wantErr(t, err, ierror.ErrResourceNotFound)

	ok(t, cli.DeletePersonalAccessToken("ci-token"))
	err = cli.DeletePersonalAccessToken("ci-token")
	wantErr(t, err, ierror.ErrResourceNotFound)
	_, err = third.LoginWithPersonalAccessToken(tok.Token)
	wantErr(t, err, ierror.ErrResourceNotFound)
}

func TestSDKGetConnectionInfoAndClose(t *testing.T) {
	e := newEnv(t)
	cli := e.root(t)
	info := cli.GetConnectionInfo()
	if info.ServerAddress != e.addr || info.Protocol != iggcon.Tcp {
		t.Fatalf("info %+v", info)
	}
	watcher := e.root(t)
	ok(t, cli.Close())
	if err := cli.Ping(); err == nil {
		t.Fatal("ping after Close succeeded")
	}
	// The server forgot the closed client: only the watcher is left.
	waitFor(t, func() bool {
		cs, err := watcher.GetClients()
		return err == nil && len(cs) == 1
	})
}

// limitedUser creates a user with the given global permissions and
// returns a client logged in as it.
func limitedUser(t *testing.T, e *testEnv, root iggcon.Client, name string, g iggcon.GlobalPermissions) iggcon.Client {
	t.Helper()
	return limitedUserPerms(t, e, root, name, &iggcon.Permissions{Global: g})
}

func limitedUserPerms(t *testing.T, e *testEnv, root iggcon.Client, name string, p *iggcon.Permissions) iggcon.Client {
	t.Helper()
	must(root.CreateUser(name, name+"-password", iggcon.Active, p))(t)
	return e.login(t, name, name+"-password")
}

var _ = errors.Is

// TestSDKDeletedUserSessionIsDropped: deleting a user drops its sessions;
// the next command on such a connection answers ClientNotFound (100) and
// the server closes the connection, as Iggy 0.8.0.
func TestSDKDeletedUserSessionIsDropped(t *testing.T) {
	e := newEnv(t)
	root := e.root(t)
	victim := limitedUser(t, e, root, "victim", iggcon.GlobalPermissions{ReadStreams: true})
	must(victim.GetStreams())(t)
	ok(t, root.DeleteUser(sid("victim")))
	_, err := victim.GetStreams()
	wantErr(t, err, ierror.ErrClientNotFound)
	if err := victim.Ping(); err == nil {
		t.Fatal("connection still usable after ClientNotFound")
	}
}

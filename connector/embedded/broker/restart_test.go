package broker

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func TestRestart(t *testing.T) {
	e := newEnv(t)
	e.stream("a")
	e.stream("orders")
	e.topic("orders", "created", 3)
	e.topic("orders", "gone", 1)
	wantCode(t, e.b.DeleteStream(e.root, name("a")), 0) // stream id 0 free
	wantCode(t, e.b.DeleteTopic(e.root, name("orders"), name("gone")), 0)
	must[UserDetails](t)(e.b.CreateUser(e.root, "alice", "pw-alice", UserActive, &Permissions{Global: GlobalPermissions{PollMessages: true},
		Streams: map[uint32]*StreamPermissions{1: {SendMessages: true, Topics: map[uint32]*TopicPermissions{0: {ReadTopic: true}}}}}))
	tok := must[string](t)(e.b.CreatePersonalAccessToken(e.root, "deploy", 0))
	for p := range uint32(3) {
		e.send(e.root, "orders", "created", Partitioning{Kind: PartitionByID, PartitionID: p}, 5)
	}
	before := must[PollResult](t)(e.b.Poll(e.root, PollRequest{Consumer: Consumer{Kind: SingleConsumer, ID: 1}, Stream: name("orders"), Topic: name("created"),
		PartitionID: ptr[uint32](1), Strategy: PollStrategy{Kind: PollFirst}, Count: 100}))
	must[GroupInfo](t)(e.b.CreateConsumerGroup(e.root, name("orders"), name("created"), "billing"))
	m := e.b.NewSystemSession("m")
	wantCode(t, e.b.JoinConsumerGroup(m, name("orders"), name("created"), name("billing")), 0)
	gc := Consumer{Kind: GroupConsumer, Group: name("billing")}
	wantCode(t, e.b.StoreOffset(m, gc, name("orders"), name("created"), ptr[uint32](2), 3), 0)
	wantCode(t, e.b.StoreOffset(m, Consumer{Kind: SingleConsumer, ID: 77}, name("orders"), name("created"), ptr[uint32](0), 4), 0)

	e.reopen()

	si, ok, _ := e.b.GetStream(e.root, name("orders"))
	if !ok || si.ID != 1 || si.MessagesCount != 15 || len(si.Topics) != 1 {
		t.Fatalf("stream after restart: %+v", si)
	}
	after := must[PollResult](t)(e.b.Poll(e.root, PollRequest{Consumer: Consumer{Kind: SingleConsumer, ID: 1}, Stream: name("orders"), Topic: name("created"),
		PartitionID: ptr[uint32](1), Strategy: PollStrategy{Kind: PollFirst}, Count: 100}))
	if !slices.Equal(before.Messages, after.Messages) || after.Count != 5 {
		t.Fatalf("messages differ after restart (%d vs %d)", before.Count, after.Count)
	}
	oi, ok, _ := e.b.GetOffset(e.root, gc, name("orders"), name("created"), ptr[uint32](2))
	if !ok || oi.StoredOffset != 3 {
		t.Fatalf("group offset after restart: %+v %v", oi, ok)
	}
	oi, ok, _ = e.b.GetOffset(e.root, Consumer{Kind: SingleConsumer, ID: 77}, name("orders"), name("created"), nil)
	if !ok || oi.StoredOffset != 4 {
		t.Fatalf("consumer offset after restart: %+v %v", oi, ok)
	}
	// Memberships are per connection and do not survive; the group does.
	gi, ok, _ := e.b.GetConsumerGroup(e.root, name("orders"), name("created"), name("billing"))
	if !ok || gi.MembersCount != 0 {
		t.Fatalf("group after restart: %+v", gi)
	}
	// Users, permissions and tokens.
	s := e.b.NewSession("r:1", TransportTCP)
	if id := must[uint32](t)(e.b.Login(s, "alice", "pw-alice")); id != 1 {
		t.Fatalf("alice id %d", id)
	}
	d, _, _ := e.b.GetUser(s, num(1))
	if d.Permissions == nil || !d.Permissions.Streams[1].Topics[0].ReadTopic {
		t.Fatalf("permissions after restart: %+v", d.Permissions)
	}
	if id := must[uint32](t)(e.b.LoginWithToken(e.b.NewSession("r:2", TransportTCP), tok)); id != 0 {
		t.Fatalf("token login %d", id)
	}
	// Id reuse continues where it stopped.
	if id := e.stream("b").ID; id != 0 {
		t.Fatalf("stream id after restart %d", id)
	}
	if id := e.topic("orders", "new", 1).ID; id != 1 {
		t.Fatalf("topic id after restart %d", id)
	}
	// Offsets keep going from the stored positions.
	r := e.send(e.root, "orders", "created", Partitioning{Kind: PartitionByID, PartitionID: 0}, 1)
	if r.FirstOffset != 5 {
		t.Fatalf("next offset after restart %d", r.FirstOffset)
	}
}

func TestOrphansRemovedOnOpen(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 1)
	dataDir := e.cfg.DataDir
	wantCode(t, e.b.Close(), 0)
	stray := []string{
		filepath.Join(dataDir, "streams", "7", "topics", "0", "partitions", "0"),
		filepath.Join(dataDir, "streams", "0", "topics", "3"),
		filepath.Join(dataDir, "streams", "0", "topics", "0", "partitions", "5"),
	}
	for _, d := range stray {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dataDir, "metadata.json.tmp123"), []byte("junk"), 0o644)
	e.reopen()
	for _, d := range stray {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Fatalf("%s survived: %v", d, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "metadata.json.tmp123")); !os.IsNotExist(err) {
		t.Fatal("temp file survived")
	}
	if _, ok, _ := e.b.GetTopic(e.root, num(0), num(0)); !ok {
		t.Fatal("real topic lost")
	}
}

func TestDataDirLocked(t *testing.T) {
	e := newEnv(t)
	if b, err := Open(e.cfg); err == nil {
		b.Close()
		t.Fatal("second broker opened the same data directory")
	}
}

func TestCorruptMetadata(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, metadataFile), []byte("{not json"), 0o644)
	if _, err := Open(Config{DataDir: dir}); err == nil {
		t.Fatal("corrupt metadata accepted")
	}
	if _, err := Open(Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
}

func TestClosed(t *testing.T) {
	e := newEnv(t)
	s := e.b.NewSession("a:1", TransportTCP)
	wantCode(t, e.b.Close(), 0)
	wantCode(t, e.b.Close(), 0)
	wantCode(t, e.b.Ping(s), iggyproto.CodeDisconnected)
	_, err := e.b.CreateStream(e.root, "x")
	wantCode(t, err, iggyproto.CodeDisconnected)
	_, err = e.b.Login(s, "iggy", "iggy")
	wantCode(t, err, iggyproto.CodeDisconnected)
	e.b = nil
}

func FuzzMetadata(f *testing.F) {
	f.Add([]byte(`{"version":1,"stream_ids":{"next":1},"streams":[{"id":0,"name":"s","topic_ids":{"next":1},"topics":[{"id":0,"name":"t","partitions":[{"id":0}]}]}]}`))
	f.Add([]byte(`{"version":1,"streams":[{"id":0,"topics":[{"id":0,"partitions":[{"id":3}]}]}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, metadataFile), data, 0o644); err != nil {
			t.Skip(err)
		}
		b, err := Open(Config{DataDir: dir})
		if err == nil {
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

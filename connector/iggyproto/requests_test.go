package iggyproto

import (
	"bytes"
	"testing"
)

// sampleRequests holds at least one value of every request type, with edge
// values (names of 255 bytes, max integers, string ids, nil options).
func sampleRequests() []Request {
	long := string(bytes.Repeat([]byte("n"), 255))
	perms := samplePerms()
	multi := &Permissions{Global: GlobalPermissions{SendMessages: true}, Streams: []StreamPermissions{
		{StreamID: 1, ManageStream: true, Topics: []TopicPermissions{{TopicID: 1, ReadTopic: true}, {TopicID: 2, PollMessages: true}}},
		{StreamID: 2, ReadTopics: true},
	}}
	area := AppendMessage(AppendMessage(nil, [16]byte{9}, 1, []byte("payload"), []byte{2, 1, 0, 0, 0, 'k', 2, 1, 0, 0, 0, 'v'}), [16]byte{}, 2, []byte("p2"), nil)
	return []Request{
		Ping{}, GetStats{}, GetClusterMetadata{}, GetMe{}, GetClients{}, GetUsers{}, LogoutUser{}, GetPersonalAccessTokens{}, GetStreams{},
		GetClient{ClientID: 0xFFFFFFFF},
		GetUser{User: NamedID(long)},
		CreateUser{Username: "user", Password: "", Status: UserInactive},
		CreateUser{Username: long, Password: long, Status: UserActive, Permissions: perms},
		CreateUser{Username: "m", Password: "p", Status: UserActive, Permissions: multi},
		CreateUser{Username: "e", Password: "p", Status: UserActive, Permissions: &Permissions{}},
		DeleteUser{User: NumericID(0)},
		UpdateUser{User: NumericID(1)},
		UpdateUser{User: NamedID("x"), Username: ptr("y"), Status: ptr(UserInactive)},
		UpdatePermissions{User: NumericID(2), Permissions: multi},
		UpdatePermissions{User: NumericID(2)},
		ChangePassword{User: NamedID("ü"), CurrentPassword: "ä", NewPassword: ""},
		LoginUser{Username: "iggy", Password: "iggy", Version: "0.8.0", Context: "ctx"},
		LoginUser{Username: "iggy", Password: "iggy"},
		CreatePersonalAccessToken{Name: "tok", Expiry: ^uint64(0)},
		DeletePersonalAccessToken{Name: "tok"},
		LoginWithPersonalAccessToken{Token: long},
		PollMessages{Consumer: Consumer{ConsumerGroup, NamedID("g")}, Stream: NamedID("s"), Topic: NumericID(7),
			Partition: SomePartition(0), Strategy: PollingStrategy{PollTimestamp, ^uint64(0)}, Count: ^uint32(0)},
		PollMessages{Consumer: Consumer{ConsumerSingle, NumericID(1)}, Stream: NumericID(0), Topic: NumericID(0),
			Strategy: PollingStrategy{Kind: PollFirst}, Count: 1, AutoCommit: true},
		SendMessages{Stream: NumericID(1), Topic: NamedID("t"), Partitioning: BalancedPartitioning(), Count: 2, Messages: area},
		SendMessages{Stream: NumericID(1), Topic: NumericID(2), Partitioning: PartitionIDPartitioning(5), Count: 2, Messages: area},
		SendMessages{Stream: NumericID(1), Topic: NumericID(2), Partitioning: MessageKeyPartitioning(bytes.Repeat([]byte{0xff}, 255)), Count: 2, Messages: area},
		SendMessages{Stream: NumericID(1), Topic: NumericID(2), Partitioning: MessageKeyPartitioning([]byte{}), Count: 1, Messages: area[:64+7+12]},
		GetConsumerOffset{OffsetPath{Consumer: Consumer{ConsumerSingle, NamedID("c")}, Stream: NumericID(1), Topic: NumericID(2), Partition: SomePartition(9)}},
		StoreConsumerOffset{OffsetPath: OffsetPath{Consumer: Consumer{ConsumerGroup, NumericID(1)}, Stream: NumericID(1), Topic: NumericID(2)}, Offset: ^uint64(0)},
		DeleteConsumerOffset{OffsetPath{Consumer: Consumer{ConsumerSingle, NumericID(1)}, Stream: NamedID("s"), Topic: NamedID("t")}},
		GetStream{Stream: NumericID(1)},
		CreateStream{Name: long},
		DeleteStream{Stream: NamedID("s")},
		UpdateStream{Stream: NumericID(1), Name: "renamed"},
		GetTopic{Stream: NumericID(1), Topic: NamedID("t")},
		GetTopics{Stream: NamedID("s")},
		CreateTopic{Stream: NumericID(1), PartitionsCount: 1000, Compression: CompressionGzip, MessageExpiry: 1, MaxTopicSize: ^uint64(0), ReplicationFactor: 255, Name: "t"},
		DeleteTopic{Stream: NumericID(1), Topic: NumericID(2)},
		UpdateTopic{Stream: NumericID(1), Topic: NumericID(2), Compression: CompressionNone, Name: long},
		CreatePartitions{Stream: NumericID(1), Topic: NumericID(2), Count: 1},
		DeletePartitions{Stream: NumericID(1), Topic: NumericID(2), Count: 0},
		GetConsumerGroup{GroupPath{NumericID(1), NumericID(2), NamedID("g")}},
		GetConsumerGroups{Stream: NumericID(1), Topic: NumericID(2)},
		CreateConsumerGroup{Stream: NumericID(1), Topic: NumericID(2), Name: "g"},
		DeleteConsumerGroup{GroupPath{NumericID(1), NumericID(2), NumericID(3)}},
		JoinConsumerGroup{GroupPath{NumericID(1), NumericID(2), NumericID(3)}},
		LeaveConsumerGroup{GroupPath{NumericID(1), NumericID(2), NumericID(3)}},
		GetSnapshotFile{Compression: 2, Types: []uint8{1, 2, 100}},
		FlushUnsavedBuffer{Stream: NumericID(1), Topic: NamedID("t"), PartitionID: 3, Fsync: true},
		PurgeStream{Stream: NamedID("s")},
		PurgeTopic{Stream: NumericID(1), Topic: NumericID(2)},
		DeleteSegments{Stream: NumericID(1), Topic: NumericID(2), PartitionID: 0, SegmentsCount: 5},
	}
}

func normalize(r Request) Request {
	if s, ok := r.(SendMessages); ok {
		s.Indexes = nil
		if len(s.Partitioning.Key) == 0 && s.Partitioning.Kind == PartitionByMessageKey {
			s.Partitioning.Key = []byte{}
		}
		return s
	}
	return r
}

func TestRequestRoundTrip(t *testing.T) {
	seen := map[Command]bool{}
	for _, req := range sampleRequests() {
		seen[req.Command()] = true
		enc, err := EncodeRequest(nil, req)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := DecodeRequest(req.Command(), enc)
		if err != nil {
			t.Fatalf("%s: %v", req.Command(), err)
		}
		eq(t, req.Command().String(), normalize(dec), normalize(req))
		// Trailing bytes are ignored (SendMessages has none: its last
		// message runs to the end of the payload).
		if req.Command() != CmdSendMessages {
			dec2, err := DecodeRequest(req.Command(), append(enc, 0xde, 0xad))
			if err != nil {
				t.Fatalf("%s with trailing bytes: %v", req.Command(), err)
			}
			eq(t, req.Command().String()+" with trailing bytes", normalize(dec2), normalize(req))
		}
		// Every truncation fails.
		for n := 0; n < len(enc); n++ {
			_, err := DecodeRequest(req.Command(), enc[:n])
			if err == nil {
				t.Fatalf("%s truncated to %d of %d bytes decoded", req.Command(), n, len(enc))
			}
			if req.Command() != CmdSendMessages {
				wantCode(t, err, CodeInvalidCommand)
			}
		}
		// AppendRequest builds the frame the SDK would.
		frame, err := AppendRequest(nil, req)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "frame", frame, AppendRequestFrame(nil, req.Command(), enc))
	}
	// Every command is covered.
	for c := range commandNames {
		if !seen[c] {
			t.Errorf("no sample request for %s", c)
		}
	}
}

func TestEncodeRequestUnknownType(t *testing.T) {
	type other struct{ Ping }
	if _, err := EncodeRequest(nil, other{}); err == nil {
		t.Fatal("no error for a foreign type")
	}
	if _, err := AppendRequest(nil, other{}); err == nil {
		t.Fatal("no error for a foreign type")
	}
}

func b(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	id0   = []byte{1, 4, 0, 0, 0, 0}
	perms = AppendPermissions(nil, *samplePerms())
)

func le32(v uint32) []byte { return appendU32(nil, v) }

func TestRequestErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cmd     Command
		payload []byte
		code    Code
	}{
		{"unknown command", 9999, nil, CodeInvalidCommand},
		{"snapshot types truncated", CmdGetSnapshotFile, []byte{1, 3, 1, 2}, CodeInvalidCommand},
		{"purge topic without topic", CmdPurgeTopic, id0, CodeInvalidCommand},
		{"flush without fsync", CmdFlushUnsavedBuffer, b(id0, id0, le32(0)), CodeInvalidCommand},
		{"delete segments truncated", CmdDeleteSegments, b(id0, id0, le32(0), []byte{1}), CodeInvalidCommand},
		{"empty id", CmdGetStream, nil, CodeInvalidCommand},
		{"id kind 0", CmdGetStream, []byte{0, 4, 0, 0, 0, 0}, CodeInvalidCommand},
		{"id kind 3", CmdGetStream, []byte{3, 1, 'a'}, CodeInvalidCommand},
		{"numeric id length 3", CmdGetStream, []byte{1, 3, 0, 0, 0}, CodeInvalidFormat},
		{"numeric id length 8", CmdDeleteStream, []byte{1, 8, 0, 0, 0, 0, 0, 0, 0, 0}, CodeInvalidFormat},
		{"empty string id", CmdGetTopics, []byte{2, 0}, CodeInvalidFormat},
		{"truncated string id", CmdGetUser, []byte{2, 5, 'a'}, CodeInvalidCommand},
		{"numeric id length 3 and truncated", CmdGetUser, []byte{1, 3, 0}, CodeInvalidCommand},
		{"id kind 9 and truncated", CmdGetUser, []byte{9, 4, 0}, CodeInvalidCommand},
		{"string id bad utf-8", CmdDeleteUser, []byte{2, 2, 0xc3, 0x28}, CodeInvalidCommand},
		{"login without version", CmdLoginUser, []byte{1, 'u', 1, 'p'}, CodeInvalidCommand},
		{"login without context", CmdLoginUser, b([]byte{1, 'u', 1, 'p'}, le32(0)), CodeInvalidCommand},
		{"second id bad", CmdGetTopic, b(id0, []byte{1, 2, 0, 0}), CodeInvalidFormat},
		{"client id truncated", CmdGetClient, []byte{1, 2, 3}, CodeInvalidCommand},
		{"empty stream name", CmdCreateStream, []byte{0}, CodeInvalidFormat},
		{"stream name bad utf-8", CmdCreateStream, []byte{2, 0xff, 0xfe}, CodeInvalidCommand},
		{"stream name truncated", CmdCreateStream, []byte{5, 'a'}, CodeInvalidCommand},
		{"update stream empty name", CmdUpdateStream, b(id0, []byte{0}), CodeInvalidFormat},
		{"topic empty name", CmdCreateTopic, b(id0, le32(1), []byte{1}, make([]byte, 17), []byte{0}), CodeInvalidFormat},
		{"group empty name", CmdCreateConsumerGroup, b(id0, id0, []byte{0}), CodeInvalidFormat},
		{"empty username", CmdCreateUser, []byte{0, 1, 'p', 1, 0}, CodeInvalidFormat},
		{"update user empty username", CmdUpdateUser, b(id0, []byte{1, 0, 0}), CodeInvalidFormat},
		{"password bad utf-8", CmdCreateUser, []byte{1, 'u', 1, 0xc3, 1, 0}, CodeInvalidCommand},
		{"permissions length too big", CmdCreateUser, b([]byte{1, 'u', 1, 'p', 1, 1}, le32(uint32(len(perms)+1)), perms), CodeInvalidFormat},
		{"permissions length too small", CmdUpdatePermissions, b(id0, []byte{1}, le32(uint32(len(perms)-1)), perms), CodeInvalidFormat},
		{"permissions truncated", CmdUpdatePermissions, b(id0, []byte{1}, le32(uint32(len(perms))), perms[:len(perms)-1]), CodeInvalidCommand},
		{"login empty username", CmdLoginUser, []byte{0, 1, 'p'}, CodeInvalidFormat},
		{"login version length beyond payload", CmdLoginUser, b([]byte{1, 'u', 1, 'p'}, le32(0xFFFFFFFF)), CodeInvalidCommand},
		{"login context bad utf-8", CmdLoginUser, b([]byte{1, 'u', 1, 'p'}, le32(0), le32(1), []byte{0xff}), CodeInvalidCommand},
		{"pat empty name", CmdCreatePersonalAccessToken, b([]byte{0}, make([]byte, 8)), CodeInvalidFormat},
		{"pat expiry truncated", CmdCreatePersonalAccessToken, []byte{1, 'a', 0, 0}, CodeInvalidCommand},
		{"pat login empty token", CmdLoginWithPersonalAccessToken, []byte{0}, CodeInvalidFormat},
		{"consumer kind 0", CmdGetConsumerOffset, b([]byte{0}, id0, id0, id0, make([]byte, 5)), CodeInvalidCommand},
		{"consumer kind 3", CmdStoreConsumerOffset, b([]byte{3}, id0, id0, id0, make([]byte, 13)), CodeInvalidCommand},
		{"offset truncated", CmdStoreConsumerOffset, b([]byte{1}, id0, id0, id0, make([]byte, 12)), CodeInvalidCommand},
		{"poll strategy 0", CmdPollMessages, b([]byte{1}, id0, id0, id0, make([]byte, 5), []byte{0}, make([]byte, 13)), CodeInvalidCommand},
		{"poll strategy 6", CmdPollMessages, b([]byte{1}, id0, id0, id0, make([]byte, 5), []byte{6}, make([]byte, 13)), CodeInvalidCommand},
		{"poll consumer empty name", CmdPollMessages, b([]byte{2, 2, 0}, id0, id0, make([]byte, 5), []byte{5}, make([]byte, 13)), CodeInvalidFormat},
		{"poll truncated auto commit", CmdPollMessages, b([]byte{1}, id0, id0, id0, make([]byte, 5), []byte{5}, make([]byte, 12)), CodeInvalidCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest(tc.cmd, tc.payload)
			wantCode(t, err, tc.code)
		})
	}
}

// Flag bytes: OptPartition, has_username, has_status and has_perms count
// only when 1; auto_commit and permission booleans are any non-zero.
func TestRequestFlagBytes(t *testing.T) {
	p := b([]byte{1}, id0, id0, id0, []byte{2, 9, 0, 0, 0}, []byte{5}, make([]byte, 8), le32(3), []byte{7})
	got := must(DecodePollMessages(p))(t)
	if got.Partition.Present || got.Partition.ID != 0 || !got.AutoCommit {
		t.Fatalf("%+v", got)
	}
	u := must(DecodeUpdateUser(b(id0, []byte{2, 2})))(t)
	if u.Username != nil || u.Status != nil {
		t.Fatalf("%+v", u)
	}
	c := must(DecodeCreateUser([]byte{1, 'u', 1, 'p', 1, 2, 0, 0, 0}))(t)
	if c.Permissions != nil {
		t.Fatal("has_perms 2 decoded permissions")
	}
}

// Compression and user status are kept raw: Iggy checks them while
// executing the command, after authentication and permissions.
func TestRequestRawEnums(t *testing.T) {
	ct := must(DecodeCreateTopic(b(id0, le32(1), []byte{0}, make([]byte, 17), []byte{1, 't'})))(t)
	if ct.Compression != 0 || ct.Compression.Valid() {
		t.Fatalf("%+v", ct)
	}
	ut := must(DecodeUpdateTopic(b(id0, id0, []byte{3}, make([]byte, 17), []byte{1, 't'})))(t)
	if ut.Compression.Valid() || !CompressionGzip.Valid() || !CompressionNone.Valid() {
		t.Fatalf("%+v", ut)
	}
	cu := must(DecodeCreateUser([]byte{1, 'u', 1, 'p', 0, 0}))(t)
	if cu.Status.Valid() || !UserActive.Valid() || !UserInactive.Valid() {
		t.Fatalf("%+v", cu)
	}
	uu := must(DecodeUpdateUser(b(id0, []byte{0, 1, 3})))(t)
	if uu.Status == nil || *uu.Status != 3 || uu.Status.Valid() {
		t.Fatalf("%+v", uu)
	}
	// Response records are checked: the Go SDK rejects unknown statuses.
	_, err := DecodeUsers(AppendUserInfo(nil, UserInfo{Status: 0, Username: "u"}))
	wantCode(t, err, CodeInvalidCommand)
}

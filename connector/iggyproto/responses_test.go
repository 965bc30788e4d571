package iggyproto

import (
	"bytes"
	"testing"
)

func TestResponseRoundTrips(t *testing.T) {
	s1 := StreamHeader{ID: 1, CreatedAt: 2, TopicsCount: 3, SizeBytes: 4, MessagesCount: 5, Name: "s"}
	t1 := TopicHeader{ID: 1, CreatedAt: 2, PartitionsCount: 3, MessageExpiry: 4, Compression: CompressionGzip, MaxTopicSize: 5,
		ReplicationFactor: 6, SizeBytes: 7, MessagesCount: 8, Name: "topic"}
	p1 := PartitionInfo{ID: 1, CreatedAt: 2, SegmentsCount: 3, CurrentOffset: 4, SizeBytes: 5, MessagesCount: 6}
	if n := len(AppendStreamHeader(nil, s1)); n != 33+1 {
		t.Fatalf("stream header %d bytes", n)
	}
	if n := len(AppendTopicHeader(nil, t1)); n != 51+5 {
		t.Fatalf("topic header %d bytes", n)
	}
	if n := len(AppendPartitionInfo(nil, p1)); n != PartitionInfoSize {
		t.Fatalf("partition info %d bytes", n)
	}

	streams := must(DecodeStreams(AppendStreamHeader(AppendStreamHeader(nil, s1), StreamHeader{ID: 9, Name: "x"})))(t)
	eq(t, "streams", streams, []StreamHeader{s1, {ID: 9, Name: "x"}})
	sh, topics, err := DecodeStreamDetails(AppendTopicHeader(AppendTopicHeader(AppendStreamHeader(nil, s1), t1), t1))
	if err != nil || sh != s1 || len(topics) != 2 || topics[1] != t1 {
		t.Fatalf("stream details %+v %+v %v", sh, topics, err)
	}
	eq(t, "topics", must(DecodeTopics(AppendTopicHeader(nil, t1)))(t), []TopicHeader{t1})
	th, parts, err := DecodeTopicDetails(AppendPartitionInfo(AppendTopicHeader(nil, t1), p1))
	if err != nil || th != t1 || len(parts) != 1 || parts[0] != p1 {
		t.Fatalf("topic details %+v %+v %v", th, parts, err)
	}

	g := GroupHeader{ID: 1, PartitionsCount: 2, MembersCount: 2, Name: "g"}
	ms := []GroupMember{{ID: 0, Partitions: []uint32{0}}, {ID: 1, Partitions: []uint32{}}}
	eq(t, "groups", must(DecodeGroups(AppendGroupHeader(nil, g)))(t), []GroupHeader{g})
	gh, members, err := DecodeGroupDetails(AppendGroupMember(AppendGroupMember(AppendGroupHeader(nil, g), ms[0]), ms[1]))
	if err != nil || gh != g {
		t.Fatal(err)
	}
	eq(t, "members", members, ms)
	if n := len(AppendGroupMember(nil, GroupMember{Partitions: []uint32{1, 2}})); n != 16 {
		t.Fatalf("group member %d bytes", n)
	}

	off := ConsumerOffsetInfo{PartitionID: 1, CurrentOffset: 2, StoredOffset: 3}
	enc := AppendConsumerOffset(nil, off)
	if len(enc) != ConsumerOffsetSize || must(DecodeConsumerOffset(enc))(t) != off {
		t.Fatal("consumer offset")
	}

	u := UserInfo{ID: 1, CreatedAt: 2, Status: UserInactive, Username: "user"}
	eq(t, "users", must(DecodeUsers(AppendUserInfo(nil, u)))(t), []UserInfo{u})
	if n := len(AppendUserInfo(nil, u)); n != 14+4 {
		t.Fatalf("user info %d bytes", n)
	}
	noPerms := AppendUserDetails(nil, UserDetails{UserInfo: u})
	if !bytes.Equal(noPerms[len(noPerms)-4:], []byte{0, 0, 0, 0}) || len(noPerms) != 18+4 {
		t.Fatalf("no-permissions form %x", noPerms)
	}
	eq(t, "user details", must(DecodeUserDetails(noPerms))(t), UserDetails{UserInfo: u})
	withPerms := UserDetails{UserInfo: u, Permissions: samplePerms()}
	eq(t, "user details with permissions", must(DecodeUserDetails(AppendUserDetails(nil, withPerms)))(t), withPerms)

	if id := must(DecodeIdentity(AppendIdentity(nil, 42)))(t); id != 42 {
		t.Fatal("identity")
	}

	ci := ClientInfo{ClientID: 1, UserID: NoUser, Transport: TransportQUIC, Address: "[::1]:9", ConsumerGroupsCount: 0}
	if n := len(AppendClientInfo(nil, ci)); n != 17+len(ci.Address) {
		t.Fatalf("client info %d bytes", n)
	}
	eq(t, "clients", must(DecodeClients(AppendClientInfo(nil, ci)))(t), []ClientInfo{ci})
	cd := ClientDetails{ClientInfo: ci, ConsumerGroups: []ClientGroup{{1, 2, 3}, {4, 5, 6}}}
	got := must(DecodeClientDetails(AppendClientDetails(nil, cd)))(t)
	cd.ConsumerGroupsCount = 2
	eq(t, "client details", got, cd)

	pats := []PATInfo{{Name: "a", ExpiryAt: 0}, {Name: "b", ExpiryAt: 1 << 40}}
	eq(t, "pats", must(DecodePATs(AppendPATInfo(AppendPATInfo(nil, pats[0]), pats[1])))(t), pats)
	if tok := must(DecodeRawToken(AppendRawToken(nil, "token")))(t); tok != "token" {
		t.Fatal("raw token")
	}

	st := sampleStats()
	eq(t, "stats", must(DecodeStats(AppendStats(nil, st)))(t), st)
	cm := sampleCluster()
	eq(t, "cluster", must(DecodeClusterMetadata(AppendClusterMetadata(nil, cm)))(t), cm)

	h := PollHead{PartitionID: 1, CurrentOffset: 2, Count: 3}
	hb := AppendPollHead(nil, h)
	gotH, msgs, err := DecodePollResponse(append(hb, 9, 9))
	if err != nil || gotH != h || !bytes.Equal(msgs, []byte{9, 9}) || len(hb) != PollHeadSize {
		t.Fatalf("poll head %+v %x %v", gotH, msgs, err)
	}
	if gotH, _, err := DecodePollResponse(nil); err != nil || gotH != (PollHead{}) {
		t.Fatal("empty poll response")
	}
}

func TestResponseDecodersRejectTruncation(t *testing.T) {
	payloads := map[string][]byte{
		"streams":        AppendStreamHeader(nil, StreamHeader{Name: "abc"}),
		"stream details": AppendTopicHeader(AppendStreamHeader(nil, StreamHeader{Name: "abc"}), TopicHeader{Name: "t"}),
		"topics":         AppendTopicHeader(nil, TopicHeader{Name: "t"}),
		"topic details":  AppendPartitionInfo(AppendTopicHeader(nil, TopicHeader{Name: "t"}), PartitionInfo{}),
		"groups":         AppendGroupHeader(nil, GroupHeader{Name: "g"}),
		"group details":  AppendGroupMember(AppendGroupHeader(nil, GroupHeader{Name: "g"}), GroupMember{Partitions: []uint32{1, 2}}),
		"offset":         AppendConsumerOffset(nil, ConsumerOffsetInfo{}),
		"users":          AppendUserInfo(nil, UserInfo{Status: UserActive, Username: "u"}),
		"user details":   AppendUserDetails(nil, UserDetails{UserInfo: UserInfo{Status: UserActive, Username: "u"}, Permissions: samplePerms()}),
		"identity":       AppendIdentity(nil, 1),
		"clients":        AppendClientInfo(nil, ClientInfo{Address: "a:1"}),
		"client details": AppendClientDetails(nil, ClientDetails{ClientInfo: ClientInfo{Address: "a:1"}, ConsumerGroups: []ClientGroup{{}}}),
		"pats":           AppendPATInfo(nil, PATInfo{Name: "p"}),
		"raw token":      AppendRawToken(nil, "tok"),
		"stats":          AppendStats(nil, sampleStats()),
		"cluster":        AppendClusterMetadata(nil, sampleCluster()),
	}
	for name, p := range payloads {
		dec := responseDecoders[name]
		if err := dec(p); err != nil {
			t.Fatalf("%s: whole payload: %v", name, err)
		}
		// A details record may end after its head (no sub-records).
		boundary := map[string]int{"stream details": 33 + 3, "topic details": 51 + 1, "group details": 13 + 1}[name]
		for n := 1; n < len(p); n++ {
			if err := dec(p[:n]); err == nil && n != boundary {
				t.Fatalf("%s: truncated to %d of %d decoded", name, n, len(p))
			}
		}
	}
}

// responseDecoders maps a name to a decoder that only reports errors (used
// by tests and the response fuzz target).
var responseDecoders = map[string]func([]byte) error{
	"streams":        func(b []byte) error { _, err := DecodeStreams(b); return err },
	"stream details": func(b []byte) error { _, _, err := DecodeStreamDetails(b); return err },
	"topics":         func(b []byte) error { _, err := DecodeTopics(b); return err },
	"topic details":  func(b []byte) error { _, _, err := DecodeTopicDetails(b); return err },
	"groups":         func(b []byte) error { _, err := DecodeGroups(b); return err },
	"group details":  func(b []byte) error { _, _, err := DecodeGroupDetails(b); return err },
	"offset":         func(b []byte) error { _, err := DecodeConsumerOffset(b); return err },
	"users":          func(b []byte) error { _, err := DecodeUsers(b); return err },
	"user details":   func(b []byte) error { _, err := DecodeUserDetails(b); return err },
	"identity":       func(b []byte) error { _, err := DecodeIdentity(b); return err },
	"clients":        func(b []byte) error { _, err := DecodeClients(b); return err },
	"client details": func(b []byte) error { _, err := DecodeClientDetails(b); return err },
	"pats":           func(b []byte) error { _, err := DecodePATs(b); return err },
	"raw token":      func(b []byte) error { _, err := DecodeRawToken(b); return err },
	"stats":          func(b []byte) error { _, err := DecodeStats(b); return err },
	"cluster":        func(b []byte) error { _, err := DecodeClusterMetadata(b); return err },
	"poll":           func(b []byte) error { _, _, err := DecodePollResponse(b); return err },
}

package server

import (
	"fmt"
	"net"
	"strings"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// New returns a server answering the Iggy TCP protocol for b. It does not
// listen yet (Listen, Serve or Start) and does not own b: close b after
// Shutdown or Close returned.
func New(b *broker.Broker, cfg Config) (*Server, error) {
	s, err := newServer(nil, cfg)
	if err != nil {
		return nil, err
	}
	s.backend = &brokerBackend{b: b, srv: s}
	return s, nil
}

// brokerBackend opens one broker session per connection.
type brokerBackend struct {
	b   *broker.Broker
	srv *Server
}

func (bb *brokerBackend) open(remote net.Addr) (session, error) {
	s := bb.b.NewSession(remote.String(), uint8(iggyproto.TransportTCP))
	return &brokerSession{b: bb.b, srv: bb.srv, s: s}, nil
}

// brokerSession serves one connection's commands against the broker.
type brokerSession struct {
	b   *broker.Broker
	srv *Server
	s   *broker.Session
	// loggedIn mirrors the session's login state. It only decides the
	// order of checks for SendMessages (Iggy answers 40 before looking at
	// the body); the broker enforces authentication itself.
	loggedIn bool
	// lastPoll is the size of the messages of the last PollMessages answer
	// that had some: the size of pooled buffer the next poll asks for.
	lastPoll int
	pid      uint32 // the partition id a poll points the broker at (no allocation)
}

func (bs *brokerSession) close() { bs.b.CloseSession(bs.s) }

func (bs *brokerSession) authenticated() bool { return bs.loggedIn }

var errUnauthenticated = &iggyproto.Error{Code: iggyproto.CodeUnauthenticated, Msg: "not logged in"}

// handle decodes one request, calls the broker and encodes the answer.
// Where Iggy 0.8.0 answers "not found" with an empty OK (GetStream,
// GetTopic, GetTopics, GetUser, GetClient, GetConsumerGroup(s),
// GetConsumerOffset) the reply is empty.
func (bs *brokerSession) handle(code uint32, payload, out []byte) (reply, error) {
	cmd := iggyproto.Command(code)
	if cmd == iggyproto.CmdSendMessages && !bs.loggedIn {
		return reply{}, errUnauthenticated
	}
	// The data plane is decoded without going through the Request
	// interface (which would box every request).
	switch cmd {
	case iggyproto.CmdSendMessages:
		r, err := iggyproto.DecodeSendMessages(payload)
		if err != nil {
			return reply{}, err
		}
		return bs.send(r)
	case iggyproto.CmdPollMessages:
		r, err := iggyproto.DecodePollMessages(payload)
		if err != nil {
			return reply{}, err
		}
		return bs.poll(r, out)
	}
	req, err := iggyproto.DecodeRequest(cmd, payload)
	if err != nil {
		return reply{}, err
	}
	b, s := bs.b, bs.s
	switch r := req.(type) {
	// System.
	case iggyproto.Ping:
		return reply{}, b.Ping(s)
	case iggyproto.GetStats:
		st, err := b.GetStats(s)
		if err != nil {
			return reply{}, err
		}
		return reply{head: iggyproto.AppendStats(out, statsOf(st))}, nil
	case iggyproto.GetClusterMetadata:
		if err := b.Ping(s); err != nil { // closed broker / vanished session
			return reply{}, err
		}
		if !bs.loggedIn {
			return reply{}, errUnauthenticated
		}
		return reply{head: iggyproto.AppendClusterMetadata(out, bs.srv.clusterMetadata())}, nil
	case iggyproto.GetMe:
		ci, err := b.GetMe(s)
		if err != nil {
			return reply{}, err
		}
		return reply{head: iggyproto.AppendClientDetails(out, clientDetailsOf(ci))}, nil
	case iggyproto.GetClient:
		ci, found, err := b.GetClient(s, r.ClientID)
		if err != nil || !found {
			return reply{}, err
		}
		return reply{head: iggyproto.AppendClientDetails(out, clientDetailsOf(ci))}, nil
	case iggyproto.GetSnapshotFile:
		return bs.snapshot(r, out)
	case iggyproto.GetClients:
		cs, err := b.GetClients(s)
		if err != nil {
			return reply{}, err
		}
		for _, ci := range cs {
			out = iggyproto.AppendClientInfo(out, clientDetailsOf(ci).ClientInfo)
		}
		return reply{head: out}, nil

	// Sessions and users.
	case iggyproto.LoginUser:
		id, err := b.Login(s, r.Username, r.Password)
		if err != nil {
			return reply{}, err
		}
		bs.loggedIn = true
		return reply{head: iggyproto.AppendIdentity(out, id)}, nil
	case iggyproto.LoginWithPersonalAccessToken:
		id, err := b.LoginWithToken(s, r.Token)
		if err != nil {
			return reply{}, err
		}
		bs.loggedIn = true
		return reply{head: iggyproto.AppendIdentity(out, id)}, nil
	case iggyproto.LogoutUser:
		if err := b.Logout(s); err != nil {
			return reply{}, err
		}
		bs.loggedIn = false
		return reply{}, nil
	case iggyproto.GetUser:
		u, found, err := b.GetUser(s, r.User)
		if err != nil || !found {
			return reply{}, err
		}
		return reply{head: iggyproto.AppendUserDetails(out, userDetailsOf(u))}, nil
	case iggyproto.GetUsers:
		us, err := b.GetUsers(s)
		if err != nil {
			return reply{}, err
		}
		for _, u := range us {
			out = iggyproto.AppendUserInfo(out, userInfoOf(u))
		}
		return reply{head: out}, nil
	case iggyproto.CreateUser:
		u, err := b.CreateUser(s, r.Username, r.Password, broker.UserStatus(r.Status), permissionsToBroker(r.Permissions))
		if err != nil {
			return reply{}, err
		}
		return reply{head: iggyproto.AppendUserDetails(out, userDetailsOf(u))}, nil
	case iggyproto.DeleteUser:
		return reply{}, b.DeleteUser(s, r.User)
	case iggyproto.UpdateUser:
		var status *broker.UserStatus
		if r.Status != nil {
			st := broker.UserStatus(*r.Status)
			status = &st
		}
		return reply{}, b.UpdateUser(s, r.User, r.Username, status)
	case iggyproto.UpdatePermissions:
		return reply{}, b.UpdatePermissions(s, r.User, permissionsToBroker(r.Permissions))
	case iggyproto.ChangePassword:
		return reply{}, b.ChangePassword(s, r.User, r.CurrentPassword, r.NewPassword)
	case iggyproto.GetPersonalAccessTokens:
		ts, err := b.GetPersonalAccessTokens(s)
		if err != nil {
			return reply{}, err
		}
		for _, t := range ts {
			out = iggyproto.AppendPATInfo(out, iggyproto.PATInfo{Name: t.Name, ExpiryAt: t.ExpiryAt})
		}
		return reply{head: out}, nil
	case iggyproto.CreatePersonalAccessToken:
		tok, err := b.CreatePersonalAccessToken(s, r.Name, r.Expiry)
		if err != nil {
			return reply{}, err
		}
		return reply{head: iggyproto.AppendRawToken(out, tok)}, nil
	case iggyproto.DeletePersonalAccessToken:
		return reply{}, b.DeletePersonalAccessToken(s, r.Name)

	// Messages and offsets.
	case iggyproto.GetConsumerOffset:
		o, found, err := b.GetOffset(s, consumerOf(r.Consumer), r.Stream, r.Topic, optPartition(r.Partition))
		if err != nil {
			// Iggy answers empty OK on any failure of the lookup itself
			// (missing stream, topic, partition or group, no permission);
			// an unauthenticated or vanished session still gets its code.
			switch iggyproto.CodeOf(err) {
			case iggyproto.CodeUnauthenticated, iggyproto.CodeClientNotFound,
				iggyproto.CodeStaleClient, iggyproto.CodeDisconnected:
				return reply{}, err
			}
			return reply{}, nil
		}
		if !found {
			return reply{}, nil
		}
		return reply{head: iggyproto.AppendConsumerOffset(out, iggyproto.ConsumerOffsetInfo{
			PartitionID: o.PartitionID, CurrentOffset: o.CurrentOffset, StoredOffset: o.StoredOffset})}, nil
	case iggyproto.FlushUnsavedBuffer:
		return reply{}, b.FlushUnsavedBuffer(s, r.Stream, r.Topic, r.PartitionID, r.Fsync)
	case iggyproto.DeleteSegments:
		_, _, err := b.DeleteSegments(s, r.Stream, r.Topic, r.PartitionID, r.SegmentsCount)
		return reply{}, err
	case iggyproto.StoreConsumerOffset:
		return reply{}, b.StoreOffset(s, consumerOf(r.Consumer), r.Stream, r.Topic, optPartition(r.Partition), r.Offset)
	case iggyproto.DeleteConsumerOffset:
		return reply{}, b.DeleteOffset(s, consumerOf(r.Consumer), r.Stream, r.Topic, optPartition(r.Partition))

	// Streams, topics, partitions.
	case iggyproto.GetStream:
		st, found, err := b.GetStream(s, r.Stream)
		if err != nil || !found {
			return reply{}, err
		}
		out = iggyproto.AppendStreamHeader(out, streamHeaderOf(st))
		for _, t := range st.Topics {
			out = iggyproto.AppendTopicHeader(out, topicHeaderOf(t))
		}
		return reply{head: out}, nil
	case iggyproto.GetStreams:
		sts, err := b.GetStreams(s)
		if err != nil {
			return reply{}, err
		}
		for _, st := range sts {
			out = iggyproto.AppendStreamHeader(out, streamHeaderOf(st))
		}
		return reply{head: out}, nil
	case iggyproto.CreateStream:
		st, err := b.CreateStream(s, r.Name)
		if err != nil {
			return reply{}, err
		}
		return reply{head: iggyproto.AppendStreamHeader(out, streamHeaderOf(st))}, nil
	case iggyproto.PurgeStream:
		return reply{}, b.PurgeStream(s, r.Stream)
	case iggyproto.DeleteStream:
		return reply{}, b.DeleteStream(s, r.Stream)
	case iggyproto.UpdateStream:
		return reply{}, b.UpdateStream(s, r.Stream, r.Name)
	case iggyproto.GetTopic:
		t, found, err := b.GetTopic(s, r.Stream, r.Topic)
		if err != nil || !found {
			return reply{}, err
		}
		return reply{head: appendTopicDetails(out, t)}, nil
	case iggyproto.GetTopics:
		ts, found, err := b.GetTopics(s, r.Stream)
		if err != nil || !found {
			return reply{}, err
		}
		for _, t := range ts {
			out = iggyproto.AppendTopicHeader(out, topicHeaderOf(t))
		}
		return reply{head: out}, nil
	case iggyproto.CreateTopic:
		t, err := b.CreateTopic(s, r.Stream, broker.TopicConfig{
			Name:                 r.Name,
			PartitionsCount:      r.PartitionsCount,
			CompressionAlgorithm: uint8(r.Compression),
			MessageExpiry:        r.MessageExpiry,
			MaxTopicSize:         r.MaxTopicSize,
			ReplicationFactor:    r.ReplicationFactor,
		})
		if err != nil {
			return reply{}, err
		}
		return reply{head: appendTopicDetails(out, t)}, nil
	case iggyproto.PurgeTopic:
		return reply{}, b.PurgeTopic(s, r.Stream, r.Topic)
	case iggyproto.DeleteTopic:
		return reply{}, b.DeleteTopic(s, r.Stream, r.Topic)
	case iggyproto.UpdateTopic:
		return reply{}, b.UpdateTopic(s, r.Stream, r.Topic, broker.TopicUpdate{
			Name:                 r.Name,
			CompressionAlgorithm: uint8(r.Compression),
			MessageExpiry:        r.MessageExpiry,
			MaxTopicSize:         r.MaxTopicSize,
			ReplicationFactor:    r.ReplicationFactor,
		})
	case iggyproto.CreatePartitions:
		return reply{}, b.CreatePartitions(s, r.Stream, r.Topic, r.Count)
	case iggyproto.DeletePartitions:
		return reply{}, b.DeletePartitions(s, r.Stream, r.Topic, r.Count)

	// Consumer groups.
	case iggyproto.GetConsumerGroup:
		g, found, err := b.GetConsumerGroup(s, r.Stream, r.Topic, r.Group)
		if err != nil || !found {
			return reply{}, err
		}
		return reply{head: appendGroupDetails(out, g)}, nil
	case iggyproto.GetConsumerGroups:
		gs, found, err := b.GetConsumerGroups(s, r.Stream, r.Topic)
		if err != nil || !found {
			return reply{}, err
		}
		for _, g := range gs {
			out = iggyproto.AppendGroupHeader(out, groupHeaderOf(g))
		}
		return reply{head: out}, nil
	case iggyproto.CreateConsumerGroup:
		g, err := b.CreateConsumerGroup(s, r.Stream, r.Topic, r.Name)
		if err != nil {
			return reply{}, err
		}
		return reply{head: iggyproto.AppendGroupHeader(out, groupHeaderOf(g))}, nil
	case iggyproto.DeleteConsumerGroup:
		return reply{}, b.DeleteConsumerGroup(s, r.Stream, r.Topic, r.Group)
	case iggyproto.JoinConsumerGroup:
		return reply{}, b.JoinConsumerGroup(s, r.Stream, r.Topic, r.Group)
	case iggyproto.LeaveConsumerGroup:
		return reply{}, b.LeaveConsumerGroup(s, r.Stream, r.Topic, r.Group)
	}
	return reply{}, iggyproto.Errorf(iggyproto.CodeInvalidCommand, "command %s is not served", cmd)
}

// send serves SendMessages. Send stamps r.Messages in place (it aliases
// the request buffer) and is done with it when it returns.
func (bs *brokerSession) send(r iggyproto.SendMessages) (reply, error) {
	_, err := bs.b.Send(bs.s, r.Stream, r.Topic, partitioningOf(r.Partitioning), r.Messages)
	return reply{}, err
}

// poll serves PollMessages. The messages are read into a pooled buffer
// (the size of this connection's last answer), back to the pool once
// written.
func (bs *brokerSession) poll(r iggyproto.PollMessages, out []byte) (reply, error) {
	bp := bigBufs.get(bs.lastPoll)
	var buf []byte
	if bp != nil {
		buf = *bp
	}
	var pid *uint32
	if r.Partition.Present {
		bs.pid = r.Partition.ID
		pid = &bs.pid
	}
	res, err := bs.b.Poll(bs.s, broker.PollRequest{
		Consumer:    consumerOf(r.Consumer),
		Stream:      r.Stream,
		Topic:       r.Topic,
		PartitionID: pid,
		Strategy:    broker.PollStrategy{Kind: broker.PollKind(r.Strategy.Kind), Value: r.Strategy.Value},
		Count:       r.Count,
		AutoCommit:  r.AutoCommit,
		Buf:         buf,
	})
	if err != nil {
		bigBufs.put(bp)
		return reply{}, err
	}
	if n := len(res.Messages); n > 0 {
		bs.lastPoll = n
		if bp == nil {
			bp = new([]byte)
		}
		*bp = res.Messages // buf, or the bigger buffer it grew into
	}
	head := iggyproto.AppendPollHead(out, iggyproto.PollHead{PartitionID: res.PartitionID, CurrentOffset: res.CurrentOffset, Count: res.Count})
	return reply{head: head, tail: res.Messages, tailBuf: bp}, nil
}

// snapshot serves GetSnapshotFile (11): login first (the broker's codes),
// then the request's validation (3), then the zip archive as the raw
// reply payload, as Iggy 0.8.0.
func (bs *brokerSession) snapshot(r iggyproto.GetSnapshotFile, out []byte) (reply, error) {
	zipped, err := Snapshot(bs.b, bs.s, r, SnapshotOptions{TCP: bs.srv})
	if err != nil {
		return reply{}, err
	}
	return reply{head: append(out, zipped...)}, nil
}

// streamsListing lists the streams and topics the session may read, one
// line each, for the snapshot; false when it may not list streams.
func (bs *brokerSession) streamsListing() (string, bool) {
	sts, err := bs.b.GetStreams(bs.s)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	for _, st := range sts {
		fmt.Fprintf(&b, "stream %d %q: %d topics, %d messages, %d bytes\n", st.ID, st.Name, st.TopicsCount, st.MessagesCount, st.SizeBytes)
		ts, _, err := bs.b.GetTopics(bs.s, iggyproto.NumericID(st.ID))
		if err != nil {
			continue
		}
		for _, t := range ts {
			fmt.Fprintf(&b, "  topic %d %q: %d partitions, %d messages, %d bytes\n", t.ID, t.Name, t.PartitionsCount, t.MessagesCount, t.SizeBytes)
		}
	}
	if len(sts) == 0 {
		b.WriteString("no streams\n")
	}
	return b.String(), true
}

// clusterMetadata is the single-node answer of Iggy 0.8.0: cluster
// "single-node", one healthy leader "iggy-node" at the bound address.
func (s *Server) clusterMetadata() iggyproto.ClusterMetadata {
	node := iggyproto.ClusterNode{Name: "iggy-node", Role: 0, Status: 0}
	if a := s.Addr(); a != nil {
		node.IP = a.IP.String()
		node.TCPPort = uint16(a.Port)
	}
	return iggyproto.ClusterMetadata{Name: "single-node", Nodes: []iggyproto.ClusterNode{node}}
}

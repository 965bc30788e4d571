package server

import (
	"slices"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Conversions between the decoded requests / response records of
// iggyproto and the broker's types. They copy field by field; none fails.

func optPartition(p iggyproto.OptPartition) *uint32 {
	if !p.Present {
		return nil
	}
	id := p.ID
	return &id
}

// consumerOf maps a wire consumer to the broker's: a single consumer named
// by a string stands for XXH32 of the name (Iggy 0.8.0).
func consumerOf(c iggyproto.Consumer) broker.Consumer {
	if c.Kind == iggyproto.ConsumerGroup {
		return broker.Consumer{Kind: broker.GroupConsumer, Group: c.ID}
	}
	id := c.ID.ID
	if c.ID.Kind == iggyproto.StringKind {
		id = iggyproto.ConsumerIDForName(c.ID.Name)
	}
	return broker.Consumer{Kind: broker.ConsumerKind(c.Kind), ID: id}
}

func partitioningOf(p iggyproto.Partitioning) broker.Partitioning {
	return broker.Partitioning{Kind: broker.PartitioningKind(p.Kind), PartitionID: p.PartitionID, Key: p.Key}
}

func streamHeaderOf(s broker.StreamInfo) iggyproto.StreamHeader {
	return iggyproto.StreamHeader{ID: s.ID, CreatedAt: s.CreatedAt, TopicsCount: s.TopicsCount,
		SizeBytes: s.SizeBytes, MessagesCount: s.MessagesCount, Name: s.Name}
}

func topicHeaderOf(t broker.TopicInfo) iggyproto.TopicHeader {
	return iggyproto.TopicHeader{ID: t.ID, CreatedAt: t.CreatedAt, PartitionsCount: t.PartitionsCount,
		MessageExpiry: t.MessageExpiry, Compression: iggyproto.CompressionAlgorithm(t.CompressionAlgorithm),
		MaxTopicSize: t.MaxTopicSize, ReplicationFactor: t.ReplicationFactor, SizeBytes: t.SizeBytes,
		MessagesCount: t.MessagesCount, Name: t.Name}
}

// appendTopicDetails appends TopicHeader + PartitionInfo* (GetTopic and
// CreateTopic answers).
func appendTopicDetails(dst []byte, t broker.TopicInfo) []byte {
	dst = iggyproto.AppendTopicHeader(dst, topicHeaderOf(t))
	for _, p := range t.Partitions {
		dst = iggyproto.AppendPartitionInfo(dst, iggyproto.PartitionInfo{ID: p.ID, CreatedAt: p.CreatedAt,
			SegmentsCount: p.SegmentsCount, CurrentOffset: p.CurrentOffset, SizeBytes: p.SizeBytes,
			MessagesCount: p.MessagesCount})
	}
	return dst
}

func groupHeaderOf(g broker.GroupInfo) iggyproto.GroupHeader {
	return iggyproto.GroupHeader{ID: g.ID, PartitionsCount: g.PartitionsCount, MembersCount: g.MembersCount, Name: g.Name}
}

// appendGroupDetails appends GroupHeader + GroupMember* (GetConsumerGroup).
func appendGroupDetails(dst []byte, g broker.GroupInfo) []byte {
	dst = iggyproto.AppendGroupHeader(dst, groupHeaderOf(g))
	for _, m := range g.Members {
		dst = iggyproto.AppendGroupMember(dst, iggyproto.GroupMember{ID: m.ID, Partitions: m.Partitions})
	}
	return dst
}

func userInfoOf(u broker.UserInfo) iggyproto.UserInfo {
	return iggyproto.UserInfo{ID: u.ID, CreatedAt: u.CreatedAt, Status: iggyproto.UserStatus(u.Status), Username: u.Username}
}

// rootUserID is the root user's id; Iggy 0.8.0 creates it with every
// permission and refuses to change them.
const rootUserID = 0

func userDetailsOf(u broker.UserDetails) iggyproto.UserDetails {
	d := iggyproto.UserDetails{UserInfo: userInfoOf(u.UserInfo), Permissions: permissionsToWire(u.Permissions)}
	if u.ID == rootUserID && d.Permissions == nil {
		// The broker keeps root's rights implicit; Iggy reports them all.
		all := iggyproto.AllPermissions()
		d.Permissions = &all
	}
	return d
}

func clientDetailsOf(c broker.ClientInfo) iggyproto.ClientDetails {
	d := iggyproto.ClientDetails{ClientInfo: iggyproto.ClientInfo{
		ClientID:            c.ClientID,
		UserID:              c.UserID,
		Transport:           iggyproto.Transport(c.Transport),
		Address:             c.Address,
		ConsumerGroupsCount: uint32(len(c.ConsumerGroups)),
	}}
	for _, g := range c.ConsumerGroups {
		d.ConsumerGroups = append(d.ConsumerGroups, iggyproto.ClientGroup{StreamID: g.StreamID, TopicID: g.TopicID, GroupID: g.GroupID})
	}
	return d
}

func statsOf(s broker.Stats) iggyproto.Stats {
	return iggyproto.Stats{
		ProcessID:           s.ProcessID,
		CPUUsage:            s.CPUUsage,
		TotalCPUUsage:       s.TotalCPUUsage,
		MemoryUsage:         s.MemoryUsage,
		TotalMemory:         s.TotalMemory,
		AvailableMemory:     s.AvailableMemory,
		RunTime:             s.RunTime,
		StartTime:           s.StartTime,
		ReadBytes:           s.ReadBytes,
		WrittenBytes:        s.WrittenBytes,
		MessagesSizeBytes:   s.MessagesSizeBytes,
		StreamsCount:        s.StreamsCount,
		TopicsCount:         s.TopicsCount,
		PartitionsCount:     s.PartitionsCount,
		SegmentsCount:       s.SegmentsCount,
		MessagesCount:       s.MessagesCount,
		ClientsCount:        s.ClientsCount,
		ConsumerGroupsCount: s.ConsumerGroupsCount,
		Hostname:            s.Hostname,
		OSName:              s.OSName,
		OSVersion:           s.OSVersion,
		KernelVersion:       s.KernelVersion,
		ServerVersion:       s.ServerVersion,
		ServerSemver:        s.ServerSemver,
		ThreadsCount:        s.ThreadsCount,
		FreeDiskSpace:       s.FreeDiskSpace,
		TotalDiskSpace:      s.TotalDiskSpace,
	}
}

// permissionsToBroker converts decoded permissions (lists) to the broker's
// (maps). A later entry for the same id wins, as a map insert would.
func permissionsToBroker(p *iggyproto.Permissions) *broker.Permissions {
	if p == nil {
		return nil
	}
	g := p.Global
	out := &broker.Permissions{Global: broker.GlobalPermissions{
		ManageServers: g.ManageServers, ReadServers: g.ReadServers, ManageUsers: g.ManageUsers, ReadUsers: g.ReadUsers,
		ManageStreams: g.ManageStreams, ReadStreams: g.ReadStreams, ManageTopics: g.ManageTopics, ReadTopics: g.ReadTopics,
		PollMessages: g.PollMessages, SendMessages: g.SendMessages,
	}}
	if len(p.Streams) > 0 {
		out.Streams = make(map[uint32]*broker.StreamPermissions, len(p.Streams))
	}
	for _, sp := range p.Streams {
		bs := &broker.StreamPermissions{ManageStream: sp.ManageStream, ReadStream: sp.ReadStream,
			ManageTopics: sp.ManageTopics, ReadTopics: sp.ReadTopics, PollMessages: sp.PollMessages, SendMessages: sp.SendMessages}
		if len(sp.Topics) > 0 {
			bs.Topics = make(map[uint32]*broker.TopicPermissions, len(sp.Topics))
		}
		for _, tp := range sp.Topics {
			bs.Topics[tp.TopicID] = &broker.TopicPermissions{ManageTopic: tp.ManageTopic, ReadTopic: tp.ReadTopic,
				PollMessages: tp.PollMessages, SendMessages: tp.SendMessages}
		}
		out.Streams[sp.StreamID] = bs
	}
	return out
}

// permissionsToWire converts the broker's permissions to the wire form,
// streams and topics sorted by id.
func permissionsToWire(p *broker.Permissions) *iggyproto.Permissions {
	if p == nil {
		return nil
	}
	g := p.Global
	out := &iggyproto.Permissions{Global: iggyproto.GlobalPermissions{
		ManageServers: g.ManageServers, ReadServers: g.ReadServers, ManageUsers: g.ManageUsers, ReadUsers: g.ReadUsers,
		ManageStreams: g.ManageStreams, ReadStreams: g.ReadStreams, ManageTopics: g.ManageTopics, ReadTopics: g.ReadTopics,
		PollMessages: g.PollMessages, SendMessages: g.SendMessages,
	}}
	for _, sid := range sortedIDs(p.Streams) {
		sp := p.Streams[sid]
		if sp == nil {
			continue
		}
		ws := iggyproto.StreamPermissions{StreamID: sid, ManageStream: sp.ManageStream, ReadStream: sp.ReadStream,
			ManageTopics: sp.ManageTopics, ReadTopics: sp.ReadTopics, PollMessages: sp.PollMessages, SendMessages: sp.SendMessages}
		for _, tid := range sortedIDs(sp.Topics) {
			tp := sp.Topics[tid]
			if tp == nil {
				continue
			}
			ws.Topics = append(ws.Topics, iggyproto.TopicPermissions{TopicID: tid, ManageTopic: tp.ManageTopic,
				ReadTopic: tp.ReadTopic, PollMessages: tp.PollMessages, SendMessages: tp.SendMessages})
		}
		out.Streams = append(out.Streams, ws)
	}
	return out
}

func sortedIDs[V any](m map[uint32]V) []uint32 {
	ids := make([]uint32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

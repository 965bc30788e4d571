package httpserver

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// parseIdentifier reads a path segment as Iggy's Identifier::from_str_value:
// digits that fit a u32 are a numeric id, anything else a name of 1..255
// bytes (6 InvalidIdentifier otherwise).
func parseIdentifier(s string) (iggyproto.Identifier, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return iggyproto.NumericID(uint32(n)), nil
	}
	if len(s) == 0 || len(s) > 255 {
		return iggyproto.Identifier{}, iggyErr(iggyproto.CodeInvalidIdentifier, "identifier must be 1..255 bytes")
	}
	return iggyproto.NamedID(s), nil
}

// byteSize is Iggy's IggyByteSize in JSON: a string, the exact size in the
// largest decimal unit that divides it ("0 B", "1500 B", "15 KB").
type byteSize uint64

func (b byteSize) MarshalJSON() ([]byte, error) {
	return json.Marshal(formatBytes(uint64(b)))
}

func formatBytes(n uint64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB", "EB"}
	u := 0
	for n != 0 && n%1000 == 0 && u < len(units)-1 {
		n /= 1000
		u++
	}
	return fmt.Sprintf("%d %s", n, units[u])
}

// compression is a compression algorithm in JSON ("none", "gzip").
func compressionName(c uint8) string {
	if c == broker.CompressionGzip {
		return "gzip"
	}
	return "none"
}

func compressionCode(s string) (uint8, error) {
	switch s {
	case "none", "None", "NONE":
		return broker.CompressionNone, nil
	case "gzip", "Gzip", "GZIP":
		return broker.CompressionGzip, nil
	}
	return 0, fmt.Errorf("unknown compression type: %s", s)
}

// StreamJSON is Iggy's Stream (GET /streams).
type StreamJSON struct {
	ID            uint32   `json:"id"`
	CreatedAt     uint64   `json:"created_at"`
	Name          string   `json:"name"`
	Size          byteSize `json:"size"`
	MessagesCount uint64   `json:"messages_count"`
	TopicsCount   uint32   `json:"topics_count"`
}

// StreamDetailsJSON is Iggy's StreamDetails.
type StreamDetailsJSON struct {
	StreamJSON
	Topics []TopicJSON `json:"topics"`
}

// TopicJSON is Iggy's Topic.
type TopicJSON struct {
	ID                   uint32   `json:"id"`
	CreatedAt            uint64   `json:"created_at"`
	Name                 string   `json:"name"`
	Size                 byteSize `json:"size"`
	MessageExpiry        uint64   `json:"message_expiry"`
	CompressionAlgorithm string   `json:"compression_algorithm"`
	MaxTopicSize         uint64   `json:"max_topic_size"`
	ReplicationFactor    uint8    `json:"replication_factor"`
	MessagesCount        uint64   `json:"messages_count"`
	PartitionsCount      uint32   `json:"partitions_count"`
}

// TopicDetailsJSON is Iggy's TopicDetails.
type TopicDetailsJSON struct {
	TopicJSON
	Partitions []PartitionJSON `json:"partitions"`
}

// PartitionJSON is Iggy's Partition.
type PartitionJSON struct {
	ID            uint32   `json:"id"`
	CreatedAt     uint64   `json:"created_at"`
	SegmentsCount uint32   `json:"segments_count"`
	CurrentOffset uint64   `json:"current_offset"`
	Size          byteSize `json:"size"`
	MessagesCount uint64   `json:"messages_count"`
}

func streamJSON(s broker.StreamInfo) StreamJSON {
	return StreamJSON{ID: s.ID, CreatedAt: s.CreatedAt, Name: s.Name, Size: byteSize(s.SizeBytes),
		MessagesCount: s.MessagesCount, TopicsCount: s.TopicsCount}
}

func streamDetailsJSON(s broker.StreamInfo) StreamDetailsJSON {
	d := StreamDetailsJSON{StreamJSON: streamJSON(s), Topics: make([]TopicJSON, 0, len(s.Topics))}
	for _, t := range s.Topics {
		d.Topics = append(d.Topics, topicJSON(t))
	}
	return d
}

func topicJSON(t broker.TopicInfo) TopicJSON {
	return TopicJSON{ID: t.ID, CreatedAt: t.CreatedAt, Name: t.Name, Size: byteSize(t.SizeBytes),
		MessageExpiry: t.MessageExpiry, CompressionAlgorithm: compressionName(t.CompressionAlgorithm),
		MaxTopicSize: t.MaxTopicSize, ReplicationFactor: t.ReplicationFactor,
		MessagesCount: t.MessagesCount, PartitionsCount: t.PartitionsCount}
}

func topicDetailsJSON(t broker.TopicInfo) TopicDetailsJSON {
	d := TopicDetailsJSON{TopicJSON: topicJSON(t), Partitions: make([]PartitionJSON, 0, len(t.Partitions))}
	for _, p := range t.Partitions {
		d.Partitions = append(d.Partitions, PartitionJSON{ID: p.ID, CreatedAt: p.CreatedAt, SegmentsCount: p.SegmentsCount,
			CurrentOffset: p.CurrentOffset, Size: byteSize(p.SizeBytes), MessagesCount: p.MessagesCount})
	}
	return d
}

// GroupJSON is Iggy's ConsumerGroup.
type GroupJSON struct {
	ID              uint32 `json:"id"`
	Name            string `json:"name"`
	PartitionsCount uint32 `json:"partitions_count"`
	MembersCount    uint32 `json:"members_count"`
}

// GroupDetailsJSON is Iggy's ConsumerGroupDetails.
type GroupDetailsJSON struct {
	GroupJSON
	Members []GroupMemberJSON `json:"members"`
}

// GroupMemberJSON is Iggy's ConsumerGroupMember.
type GroupMemberJSON struct {
	ID              uint32   `json:"id"`
	PartitionsCount uint32   `json:"partitions_count"`
	Partitions      []uint32 `json:"partitions"`
}

func groupJSON(g broker.GroupInfo) GroupJSON {
	return GroupJSON{ID: g.ID, Name: g.Name, PartitionsCount: g.PartitionsCount, MembersCount: g.MembersCount}
}

func groupDetailsJSON(g broker.GroupInfo) GroupDetailsJSON {
	d := GroupDetailsJSON{GroupJSON: groupJSON(g), Members: make([]GroupMemberJSON, 0, len(g.Members))}
	for _, m := range g.Members {
		ps := m.Partitions
		if ps == nil {
			ps = []uint32{}
		}
		d.Members = append(d.Members, GroupMemberJSON{ID: m.ID, PartitionsCount: uint32(len(ps)), Partitions: ps})
	}
	return d
}

// OffsetJSON is Iggy's ConsumerOffsetInfo.
type OffsetJSON struct {
	PartitionID   uint32 `json:"partition_id"`
	CurrentOffset uint64 `json:"current_offset"`
	StoredOffset  uint64 `json:"stored_offset"`
}

// IdentityJSON is Iggy's IdentityInfo, the answer of every login.
type IdentityJSON struct {
	UserID      uint32     `json:"user_id"`
	AccessToken *TokenJSON `json:"access_token"`
}

// TokenJSON is Iggy's TokenInfo: the JWT and its expiry (s since the
// epoch).
type TokenJSON struct {
	Token  string `json:"token"`
	Expiry uint64 `json:"expiry"`
}

// UserJSON is Iggy's UserInfo.
type UserJSON struct {
	ID        uint32 `json:"id"`
	CreatedAt uint64 `json:"created_at"`
	Status    string `json:"status"`
	Username  string `json:"username"`
}

// UserDetailsJSON is Iggy's UserInfoDetails.
type UserDetailsJSON struct {
	UserJSON
	Permissions *PermissionsJSON `json:"permissions"`
}

func statusName(s broker.UserStatus) string {
	if s == broker.UserInactive {
		return "inactive"
	}
	return "active"
}

func statusCode(s string) (broker.UserStatus, error) {
	switch s {
	case "active":
		return broker.UserActive, nil
	case "inactive":
		return broker.UserInactive, nil
	}
	return 0, fmt.Errorf("unknown variant `%s`, expected `active` or `inactive`", s)
}

func userJSON(u broker.UserInfo) UserJSON {
	return UserJSON{ID: u.ID, CreatedAt: u.CreatedAt, Status: statusName(u.Status), Username: u.Username}
}

func userDetailsJSON(u broker.UserDetails) UserDetailsJSON {
	return UserDetailsJSON{UserJSON: userJSON(u.UserInfo), Permissions: permissionsJSON(u.Permissions)}
}

// PermissionsJSON is Iggy's Permissions: global flags and per-stream
// entries keyed by the stream id as a string.
type PermissionsJSON struct {
	Global  broker.GlobalPermissions    `json:"global"`
	Streams map[string]*StreamPermsJSON `json:"streams"`
}

// StreamPermsJSON is Iggy's StreamPermissions.
type StreamPermsJSON struct {
	ManageStream bool                                `json:"manage_stream"`
	ReadStream   bool                                `json:"read_stream"`
	ManageTopics bool                                `json:"manage_topics"`
	ReadTopics   bool                                `json:"read_topics"`
	PollMessages bool                                `json:"poll_messages"`
	SendMessages bool                                `json:"send_messages"`
	Topics       map[string]*broker.TopicPermissions `json:"topics"`
}

func permissionsJSON(p *broker.Permissions) *PermissionsJSON {
	if p == nil {
		return nil
	}
	out := &PermissionsJSON{Global: p.Global}
	if len(p.Streams) > 0 {
		out.Streams = map[string]*StreamPermsJSON{}
		for sid, sp := range p.Streams {
			if sp == nil {
				continue
			}
			j := &StreamPermsJSON{ManageStream: sp.ManageStream, ReadStream: sp.ReadStream, ManageTopics: sp.ManageTopics,
				ReadTopics: sp.ReadTopics, PollMessages: sp.PollMessages, SendMessages: sp.SendMessages}
			if len(sp.Topics) > 0 {
				j.Topics = map[string]*broker.TopicPermissions{}
				for tid, tp := range sp.Topics {
					if tp != nil {
						c := *tp
						j.Topics[strconv.FormatUint(uint64(tid), 10)] = &c
					}
				}
			}
			out.Streams[strconv.FormatUint(uint64(sid), 10)] = j
		}
	}
	return out
}

// toBroker converts request permissions; a map key that is not a u32 is
// a shape error (422).
func (p *PermissionsJSON) toBroker() (*broker.Permissions, error) {
	if p == nil {
		return nil, nil
	}
	out := &broker.Permissions{Global: p.Global}
	for k, sp := range p.Streams {
		sid, err := strconv.ParseUint(k, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("permissions.streams: key %q is not a u32", k)
		}
		if sp == nil {
			continue
		}
		if out.Streams == nil {
			out.Streams = map[uint32]*broker.StreamPermissions{}
		}
		bs := &broker.StreamPermissions{ManageStream: sp.ManageStream, ReadStream: sp.ReadStream, ManageTopics: sp.ManageTopics,
			ReadTopics: sp.ReadTopics, PollMessages: sp.PollMessages, SendMessages: sp.SendMessages}
		for tk, tp := range sp.Topics {
			tid, err := strconv.ParseUint(tk, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("permissions.streams.%s.topics: key %q is not a u32", k, tk)
			}
			if tp == nil {
				continue
			}
			if bs.Topics == nil {
				bs.Topics = map[uint32]*broker.TopicPermissions{}
			}
			c := *tp
			bs.Topics[uint32(tid)] = &c
		}
		out.Streams[uint32(sid)] = bs
	}
	return out, nil
}

// PATJSON is Iggy's PersonalAccessTokenInfo; ExpiryAt is µs since the
// epoch, null for a token that never expires.
type PATJSON struct {
	Name     string  `json:"name"`
	ExpiryAt *uint64 `json:"expiry_at"`
}

// RawPATJSON is Iggy's RawPersonalAccessToken.
type RawPATJSON struct {
	Token string `json:"token"`
}

// ClientJSON is Iggy's ClientInfo; UserID is null when not logged in.
type ClientJSON struct {
	ClientID            uint32  `json:"client_id"`
	UserID              *uint32 `json:"user_id"`
	Address             string  `json:"address"`
	Transport           string  `json:"transport"`
	ConsumerGroupsCount uint32  `json:"consumer_groups_count"`
}

// ClientDetailsJSON is Iggy's ClientInfoDetails.
type ClientDetailsJSON struct {
	ClientJSON
	ConsumerGroups []ClientGroupJSON `json:"consumer_groups"`
}

// ClientGroupJSON is Iggy's ConsumerGroupInfo.
type ClientGroupJSON struct {
	StreamID uint32 `json:"stream_id"`
	TopicID  uint32 `json:"topic_id"`
	GroupID  uint32 `json:"group_id"`
}

func transportName(t uint8) string {
	switch t {
	case broker.TransportTCP:
		return "tcp"
	case broker.TransportQUIC:
		return "quic"
	case broker.TransportHTTP:
		return "http"
	case broker.TransportWebSocket:
		return "websocket"
	}
	return "unknown"
}

func clientJSON(c broker.ClientInfo) ClientJSON {
	j := ClientJSON{ClientID: c.ClientID, Address: c.Address, Transport: transportName(c.Transport),
		ConsumerGroupsCount: uint32(len(c.ConsumerGroups))}
	if c.UserID != broker.NoUser {
		u := c.UserID
		j.UserID = &u
	}
	return j
}

func clientDetailsJSON(c broker.ClientInfo) ClientDetailsJSON {
	d := ClientDetailsJSON{ClientJSON: clientJSON(c), ConsumerGroups: make([]ClientGroupJSON, 0, len(c.ConsumerGroups))}
	for _, g := range c.ConsumerGroups {
		d.ConsumerGroups = append(d.ConsumerGroups, ClientGroupJSON{StreamID: g.StreamID, TopicID: g.TopicID, GroupID: g.GroupID})
	}
	return d
}

// u64Max is Iggy's "unlimited" / "never expire".
const u64Max = math.MaxUint64

// UnmarshalJSON accepts a byte count or a size string, as Iggy's
// IggyByteSize does.
func (b *byteSize) UnmarshalJSON(p []byte) error {
	var n uint64
	if err := json.Unmarshal(p, &n); err == nil {
		*b = byteSize(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(p, &s); err != nil {
		return fmt.Errorf("byte size: %w", err)
	}
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

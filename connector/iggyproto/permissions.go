package iggyproto

import "encoding/binary"

// Permissions is a user's permission set (fact sheet, section 2). Global
// flags apply everywhere; Streams entries apply to one stream each and may
// hold per-topic entries. "manage" implies "read" when enforced.
type Permissions struct {
	Global  GlobalPermissions
	Streams []StreamPermissions
}

// GlobalPermissions are the ten global flags, in wire order.
type GlobalPermissions struct {
	ManageServers bool
	ReadServers   bool
	ManageUsers   bool
	ReadUsers     bool
	ManageStreams bool
	ReadStreams   bool
	ManageTopics  bool
	ReadTopics    bool
	PollMessages  bool
	SendMessages  bool
}

// StreamPermissions are the permissions on one stream, in wire order.
type StreamPermissions struct {
	StreamID     uint32
	ManageStream bool
	ReadStream   bool
	ManageTopics bool
	ReadTopics   bool
	PollMessages bool
	SendMessages bool
	Topics       []TopicPermissions
}

// TopicPermissions are the permissions on one topic of a stream.
type TopicPermissions struct {
	TopicID      uint32
	ManageTopic  bool
	ReadTopic    bool
	PollMessages bool
	SendMessages bool
}

// AllPermissions returns a set with every global flag on (root's set).
func AllPermissions() Permissions {
	return Permissions{Global: GlobalPermissions{true, true, true, true, true, true, true, true, true, true}}
}

// PermissionsSize is the encoded size of p.
func PermissionsSize(p Permissions) int {
	n := 11
	for _, s := range p.Streams {
		n += 4 + 6 + 1 + 1 + 9*len(s.Topics)
	}
	return n
}

// AppendPermissions appends the Perms block of p to dst (no length
// prefix). Booleans are written as 0/1; entries in slice order.
func AppendPermissions(dst []byte, p Permissions) []byte {
	g := p.Global
	for _, v := range [...]bool{g.ManageServers, g.ReadServers, g.ManageUsers, g.ReadUsers,
		g.ManageStreams, g.ReadStreams, g.ManageTopics, g.ReadTopics, g.PollMessages, g.SendMessages} {
		dst = appendBool(dst, v)
	}
	dst = appendBool(dst, len(p.Streams) > 0)
	for i, s := range p.Streams {
		dst = binary.LittleEndian.AppendUint32(dst, s.StreamID)
		for _, v := range [...]bool{s.ManageStream, s.ReadStream, s.ManageTopics, s.ReadTopics, s.PollMessages, s.SendMessages} {
			dst = appendBool(dst, v)
		}
		dst = appendBool(dst, len(s.Topics) > 0)
		for j, t := range s.Topics {
			dst = binary.LittleEndian.AppendUint32(dst, t.TopicID)
			for _, v := range [...]bool{t.ManageTopic, t.ReadTopic, t.PollMessages, t.SendMessages} {
				dst = appendBool(dst, v)
			}
			dst = appendBool(dst, j+1 < len(s.Topics))
		}
		dst = appendBool(dst, i+1 < len(p.Streams))
	}
	return dst
}

// DecodePermissions decodes a Perms block at the start of b and returns it
// with the number of bytes used. Any non-zero boolean byte is true.
// Truncation gives CodeInvalidCommand. Every stream entry consumes at least
// 12 bytes and every topic entry 9, so memory is bounded by len(b).
func DecodePermissions(b []byte) (Permissions, int, error) {
	r := newRd("permissions", b)
	p := r.permissions()
	if r.err != nil {
		return Permissions{}, 0, r.err
	}
	return p, r.pos, nil
}

func (r *rd) permissions() Permissions {
	var p Permissions
	g := &p.Global
	for _, f := range [...]*bool{&g.ManageServers, &g.ReadServers, &g.ManageUsers, &g.ReadUsers,
		&g.ManageStreams, &g.ReadStreams, &g.ManageTopics, &g.ReadTopics, &g.PollMessages, &g.SendMessages} {
		*f = r.flag("global flag")
	}
	more := r.flag("has streams")
	for more && r.err == nil {
		var s StreamPermissions
		s.StreamID = r.u32("stream id")
		for _, f := range [...]*bool{&s.ManageStream, &s.ReadStream, &s.ManageTopics, &s.ReadTopics, &s.PollMessages, &s.SendMessages} {
			*f = r.flag("stream flag")
		}
		moreTopics := r.flag("has topics")
		for moreTopics && r.err == nil {
			var t TopicPermissions
			t.TopicID = r.u32("topic id")
			for _, f := range [...]*bool{&t.ManageTopic, &t.ReadTopic, &t.PollMessages, &t.SendMessages} {
				*f = r.flag("topic flag")
			}
			moreTopics = r.flag("has next topic")
			s.Topics = append(s.Topics, t)
		}
		more = r.flag("has next stream")
		p.Streams = append(p.Streams, s)
	}
	return p
}

// optPermissions reads [u8 has_perms][u32 len][Perms] (the form embedded in
// CreateUser and UpdatePermissions); the block is present only when the
// flag is 1. A length field that differs from the bytes the block decodes
// to gives CodeInvalidFormat.
func (r *rd) optPermissions() *Permissions {
	if r.u8("has permissions") != 1 {
		return nil
	}
	n := r.u32("permissions length")
	if r.err != nil {
		return nil
	}
	start := r.pos
	p := r.permissions()
	if r.err != nil {
		return nil
	}
	if used := r.pos - start; uint64(used) != uint64(n) {
		r.fail(CodeInvalidFormat, "permissions length field %d, block is %d bytes", n, used)
		return nil
	}
	return &p
}

func appendOptPermissions(dst []byte, p *Permissions) []byte {
	if p == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(PermissionsSize(*p)))
	return AppendPermissions(dst, *p)
}

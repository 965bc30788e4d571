package broker

// Permissions are a user's rights, as Iggy 0.8.0 models them: global flags
// apply to everything, stream entries to one stream, topic entries to one
// topic of that stream. "Manage" implies "read". The root user (id 0) has
// every right whatever its Permissions say.
type Permissions struct {
	Global  GlobalPermissions             `json:"global"`
	Streams map[uint32]*StreamPermissions `json:"streams,omitempty"`
}

// GlobalPermissions are the ten global flags, in wire order.
type GlobalPermissions struct {
	ManageServers bool `json:"manage_servers"`
	ReadServers   bool `json:"read_servers"`
	ManageUsers   bool `json:"manage_users"`
	ReadUsers     bool `json:"read_users"`
	ManageStreams bool `json:"manage_streams"`
	ReadStreams   bool `json:"read_streams"`
	ManageTopics  bool `json:"manage_topics"`
	ReadTopics    bool `json:"read_topics"`
	PollMessages  bool `json:"poll_messages"`
	SendMessages  bool `json:"send_messages"`
}

// StreamPermissions are the six per-stream flags (wire order) and the
// stream's per-topic entries.
type StreamPermissions struct {
	ManageStream bool                         `json:"manage_stream"`
	ReadStream   bool                         `json:"read_stream"`
	ManageTopics bool                         `json:"manage_topics"`
	ReadTopics   bool                         `json:"read_topics"`
	PollMessages bool                         `json:"poll_messages"`
	SendMessages bool                         `json:"send_messages"`
	Topics       map[uint32]*TopicPermissions `json:"topics,omitempty"`
}

// TopicPermissions are the four per-topic flags, in wire order.
type TopicPermissions struct {
	ManageTopic  bool `json:"manage_topic"`
	ReadTopic    bool `json:"read_topic"`
	PollMessages bool `json:"poll_messages"`
	SendMessages bool `json:"send_messages"`
}

// rootPermissions are the root user's stored permissions (as Iggy: every
// global flag); root's rights do not depend on them.
func rootPermissions() *Permissions {
	return &Permissions{Global: GlobalPermissions{true, true, true, true, true, true, true, true, true, true}}
}

// Clone returns a deep copy (nil for nil).
func (p *Permissions) Clone() *Permissions {
	if p == nil {
		return nil
	}
	c := &Permissions{Global: p.Global}
	if p.Streams != nil {
		c.Streams = make(map[uint32]*StreamPermissions, len(p.Streams))
		for id, sp := range p.Streams {
			if sp == nil {
				continue
			}
			cs := *sp
			cs.Topics = nil
			if sp.Topics != nil {
				cs.Topics = make(map[uint32]*TopicPermissions, len(sp.Topics))
				for tid, tp := range sp.Topics {
					if tp != nil {
						ct := *tp
						cs.Topics[tid] = &ct
					}
				}
			}
			c.Streams[id] = &cs
		}
	}
	return c
}

// access evaluates a user's rights; a nil perms grants nothing and root
// everything.
type access struct {
	root  bool
	perms *Permissions
}

func (a access) g() GlobalPermissions {
	if a.perms == nil {
		return GlobalPermissions{}
	}
	return a.perms.Global
}

func (a access) stream(sid uint32) *StreamPermissions {
	if a.perms == nil {
		return nil
	}
	return a.perms.Streams[sid]
}

func (a access) topic(sid, tid uint32) *TopicPermissions {
	sp := a.stream(sid)
	if sp == nil {
		return nil
	}
	return sp.Topics[tid]
}

func (a access) readServers() bool { return a.root || a.g().ManageServers || a.g().ReadServers }
func (a access) readUsers() bool   { return a.root || a.g().ManageUsers || a.g().ReadUsers }
func (a access) manageUsers() bool { return a.root || a.g().ManageUsers }

func (a access) readStreams() bool  { return a.root || a.g().ManageStreams || a.g().ReadStreams }
func (a access) createStream() bool { return a.root || a.g().ManageStreams }
func (a access) readStream(sid uint32) bool {
	if a.readStreams() {
		return true
	}
	sp := a.stream(sid)
	return sp != nil && (sp.ManageStream || sp.ReadStream)
}

func (a access) manageStream(sid uint32) bool {
	if a.createStream() {
		return true
	}
	sp := a.stream(sid)
	return sp != nil && sp.ManageStream
}

func (a access) readTopics(sid uint32) bool {
	g := a.g()
	if a.readStreams() || g.ManageTopics || g.ReadTopics {
		return true
	}
	sp := a.stream(sid)
	return sp != nil && (sp.ManageStream || sp.ReadStream || sp.ManageTopics || sp.ReadTopics)
}

func (a access) readTopic(sid, tid uint32) bool {
	if a.readTopics(sid) {
		return true
	}
	tp := a.topic(sid, tid)
	return tp != nil && (tp.ManageTopic || tp.ReadTopic)
}

func (a access) createTopic(sid uint32) bool {
	if a.root || a.g().ManageStreams || a.g().ManageTopics {
		return true
	}
	sp := a.stream(sid)
	return sp != nil && (sp.ManageStream || sp.ManageTopics)
}

func (a access) manageTopic(sid, tid uint32) bool {
	if a.createTopic(sid) {
		return true
	}
	tp := a.topic(sid, tid)
	return tp != nil && tp.ManageTopic
}

func (a access) poll(sid, tid uint32) bool {
	g := a.g()
	if a.root || g.PollMessages || g.ManageStreams || g.ReadStreams || g.ManageTopics || g.ReadTopics {
		return true
	}
	if sp := a.stream(sid); sp != nil && (sp.PollMessages || sp.ManageStream || sp.ReadStream || sp.ManageTopics || sp.ReadTopics) {
		return true
	}
	tp := a.topic(sid, tid)
	return tp != nil && (tp.PollMessages || tp.ManageTopic || tp.ReadTopic)
}

func (a access) send(sid, tid uint32) bool {
	g := a.g()
	if a.root || g.SendMessages || g.ManageStreams || g.ManageTopics {
		return true
	}
	if sp := a.stream(sid); sp != nil && (sp.SendMessages || sp.ManageStream || sp.ManageTopics) {
		return true
	}
	tp := a.topic(sid, tid)
	return tp != nil && (tp.SendMessages || tp.ManageTopic)
}

package broker

import (
	"cmp"
	"slices"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func errf(code iggyproto.Code, format string, args ...any) error {
	return iggyproto.Errorf(code, format, args...)
}

func errUnauthorized(op string) error {
	return errf(iggyproto.CodeUnauthorized, "%s: permission denied", op)
}

// validName checks a stream, topic or group name (1..255 bytes, Name8).
func validName(kind, name string) error {
	if len(name) == 0 || len(name) > 255 {
		return errf(iggyproto.CodeInvalidFormat, "%s name must be 1..255 bytes, got %d", kind, len(name))
	}
	return nil
}

// Streams, topics and groups are found by name through an index next to
// each id map: putX, renameX and dropX are the only code that changes the
// id maps or a name, so the two stay equal. All run under mu held for
// writing; the finders need mu held (shared is enough).

// findStream resolves a stream identifier (caller holds mu).
func (b *Broker) findStream(id iggyproto.Identifier) *stream {
	switch id.Kind {
	case iggyproto.NumericKind:
		return b.streams[id.ID]
	case iggyproto.StringKind:
		return b.byName[id.Name]
	}
	return nil
}

func (b *Broker) putStream(st *stream) {
	b.streams[st.id] = st
	if b.byName == nil {
		b.byName = map[string]*stream{}
	}
	b.byName[st.name] = st
}

func (b *Broker) renameStream(st *stream, name string) {
	if b.byName[st.name] == st {
		delete(b.byName, st.name)
	}
	st.name = name
	b.byName[name] = st
}

func (b *Broker) dropStream(st *stream) {
	delete(b.streams, st.id)
	if b.byName[st.name] == st {
		delete(b.byName, st.name)
	}
}

func findTopic(st *stream, id iggyproto.Identifier) *topic {
	switch id.Kind {
	case iggyproto.NumericKind:
		return st.topics[id.ID]
	case iggyproto.StringKind:
		return st.byName[id.Name]
	}
	return nil
}

func putTopic(st *stream, t *topic) {
	st.topics[t.id] = t
	if st.byName == nil {
		st.byName = map[string]*topic{}
	}
	st.byName[t.name] = t
}

func renameTopic(t *topic, name string) {
	if t.stream.byName[t.name] == t {
		delete(t.stream.byName, t.name)
	}
	t.name = name
	t.stream.byName[name] = t
}

func dropTopic(t *topic) {
	delete(t.stream.topics, t.id)
	if t.stream.byName[t.name] == t {
		delete(t.stream.byName, t.name)
	}
}

func findGroup(t *topic, id iggyproto.Identifier) *group {
	switch id.Kind {
	case iggyproto.NumericKind:
		return t.groups[id.ID]
	case iggyproto.StringKind:
		return t.byName[id.Name]
	}
	return nil
}

func putGroup(t *topic, g *group) {
	t.groups[g.id] = g
	if t.byName == nil {
		t.byName = map[string]*group{}
	}
	t.byName[g.name] = g
}

func dropGroup(g *group) {
	delete(g.topic.groups, g.id)
	if g.topic.byName[g.name] == g {
		delete(g.topic.byName, g.name)
	}
}

func (b *Broker) findUser(id iggyproto.Identifier) *user {
	switch id.Kind {
	case iggyproto.NumericKind:
		return b.users[id.ID]
	case iggyproto.StringKind:
		return b.userByName(id.Name)
	}
	return nil
}

func (b *Broker) userByName(name string) *user {
	for _, u := range b.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// streamOf resolves a stream or fails with 1009.
func (b *Broker) streamOf(id iggyproto.Identifier) (*stream, error) {
	st := b.findStream(id)
	if st == nil {
		return nil, errf(iggyproto.CodeStreamIDNotFound, "stream %s not found", id)
	}
	return st, nil
}

// topicOf resolves a stream and topic or fails with 1009 / 2010.
func (b *Broker) topicOf(sid, tid iggyproto.Identifier) (*topic, error) {
	st, err := b.streamOf(sid)
	if err != nil {
		return nil, err
	}
	t := findTopic(st, tid)
	if t == nil {
		return nil, errf(iggyproto.CodeTopicIDNotFound, "topic %s not found in stream %d", tid, st.id)
	}
	return t, nil
}

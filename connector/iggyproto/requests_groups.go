package iggyproto

// GroupPath names a consumer group: stream, topic and group identifiers.
type GroupPath struct{ Stream, Topic, Group Identifier }

func (r *rd) groupPath() GroupPath {
	return GroupPath{Stream: r.ident("stream id"), Topic: r.ident("topic id"), Group: r.ident("group id")}
}

func appendGroupPath(dst []byte, g GroupPath) []byte {
	return AppendIdentifier(AppendIdentifier(AppendIdentifier(dst, g.Stream), g.Topic), g.Group)
}

// GetConsumerGroup (600) asks for GroupHeader + GroupMember*.
type GetConsumerGroup struct{ GroupPath }

// Command implements Request.
func (GetConsumerGroup) Command() Command { return CmdGetConsumerGroup }

// DecodeGetConsumerGroup decodes [Id stream][Id topic][Id group].
func DecodeGetConsumerGroup(p []byte) (GetConsumerGroup, error) {
	r := newRd("get_consumer_group", p)
	return done(GetConsumerGroup{r.groupPath()}, r)
}

// EncodeGetConsumerGroup appends the payload of v to dst.
func EncodeGetConsumerGroup(dst []byte, v GetConsumerGroup) []byte {
	return appendGroupPath(dst, v.GroupPath)
}

// DeleteConsumerGroup (603) deletes a group, its memberships and offsets.
type DeleteConsumerGroup struct{ GroupPath }

// Command implements Request.
func (DeleteConsumerGroup) Command() Command { return CmdDeleteConsumerGroup }

// DecodeDeleteConsumerGroup decodes [Id stream][Id topic][Id group].
func DecodeDeleteConsumerGroup(p []byte) (DeleteConsumerGroup, error) {
	r := newRd("delete_consumer_group", p)
	return done(DeleteConsumerGroup{r.groupPath()}, r)
}

// EncodeDeleteConsumerGroup appends the payload of v to dst.
func EncodeDeleteConsumerGroup(dst []byte, v DeleteConsumerGroup) []byte {
	return appendGroupPath(dst, v.GroupPath)
}

// JoinConsumerGroup (604) makes the connection a member of a group.
type JoinConsumerGroup struct{ GroupPath }

// Command implements Request.
func (JoinConsumerGroup) Command() Command { return CmdJoinConsumerGroup }

// DecodeJoinConsumerGroup decodes [Id stream][Id topic][Id group].
func DecodeJoinConsumerGroup(p []byte) (JoinConsumerGroup, error) {
	r := newRd("join_consumer_group", p)
	return done(JoinConsumerGroup{r.groupPath()}, r)
}

// EncodeJoinConsumerGroup appends the payload of v to dst.
func EncodeJoinConsumerGroup(dst []byte, v JoinConsumerGroup) []byte {
	return appendGroupPath(dst, v.GroupPath)
}

// LeaveConsumerGroup (605) ends the connection's membership of a group.
type LeaveConsumerGroup struct{ GroupPath }

// Command implements Request.
func (LeaveConsumerGroup) Command() Command { return CmdLeaveConsumerGroup }

// DecodeLeaveConsumerGroup decodes [Id stream][Id topic][Id group].
func DecodeLeaveConsumerGroup(p []byte) (LeaveConsumerGroup, error) {
	r := newRd("leave_consumer_group", p)
	return done(LeaveConsumerGroup{r.groupPath()}, r)
}

// EncodeLeaveConsumerGroup appends the payload of v to dst.
func EncodeLeaveConsumerGroup(dst []byte, v LeaveConsumerGroup) []byte {
	return appendGroupPath(dst, v.GroupPath)
}

// GetConsumerGroups (601) asks for GroupHeader* of a topic.
type GetConsumerGroups struct{ Stream, Topic Identifier }

// Command implements Request.
func (GetConsumerGroups) Command() Command { return CmdGetConsumerGroups }

// DecodeGetConsumerGroups decodes [Id stream][Id topic].
func DecodeGetConsumerGroups(p []byte) (GetConsumerGroups, error) {
	r := newRd("get_consumer_groups", p)
	return done(GetConsumerGroups{Stream: r.ident("stream id"), Topic: r.ident("topic id")}, r)
}

// EncodeGetConsumerGroups appends the payload of v to dst.
func EncodeGetConsumerGroups(dst []byte, v GetConsumerGroups) []byte {
	return AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic)
}

// CreateConsumerGroup (602): Id stream, Id topic, Name8 name. The server
// picks the group id.
type CreateConsumerGroup struct {
	Stream, Topic Identifier
	Name          string
}

// Command implements Request.
func (CreateConsumerGroup) Command() Command { return CmdCreateConsumerGroup }

// DecodeCreateConsumerGroup decodes a CreateConsumerGroup payload.
func DecodeCreateConsumerGroup(p []byte) (CreateConsumerGroup, error) {
	r := newRd("create_consumer_group", p)
	return done(CreateConsumerGroup{Stream: r.ident("stream id"), Topic: r.ident("topic id"), Name: r.name8("name")}, r)
}

// EncodeCreateConsumerGroup appends the payload of v to dst.
func EncodeCreateConsumerGroup(dst []byte, v CreateConsumerGroup) []byte {
	return appendName8(AppendIdentifier(AppendIdentifier(dst, v.Stream), v.Topic), v.Name)
}

// OffsetPath is the common head of the consumer offset requests:
// Consumer, Id stream, Id topic, OptPart.
type OffsetPath struct {
	Consumer      Consumer
	Stream, Topic Identifier
	Partition     OptPartition
}

func (r *rd) offsetPath() OffsetPath {
	return OffsetPath{Consumer: r.consumer(), Stream: r.ident("stream id"), Topic: r.ident("topic id"), Partition: r.optPartition()}
}

func appendOffsetPath(dst []byte, o OffsetPath) []byte {
	dst = AppendConsumer(dst, o.Consumer)
	dst = AppendIdentifier(AppendIdentifier(dst, o.Stream), o.Topic)
	return appendOptPartition(dst, o.Partition)
}

// GetConsumerOffset (120) asks for a ConsumerOffsetInfo (empty if none).
type GetConsumerOffset struct{ OffsetPath }

// Command implements Request.
func (GetConsumerOffset) Command() Command { return CmdGetConsumerOffset }

// DecodeGetConsumerOffset decodes [Consumer][Id][Id][OptPart].
func DecodeGetConsumerOffset(p []byte) (GetConsumerOffset, error) {
	r := newRd("get_consumer_offset", p)
	return done(GetConsumerOffset{r.offsetPath()}, r)
}

// EncodeGetConsumerOffset appends the payload of v to dst.
func EncodeGetConsumerOffset(dst []byte, v GetConsumerOffset) []byte {
	return appendOffsetPath(dst, v.OffsetPath)
}

// DeleteConsumerOffset (122) deletes a stored offset.
type DeleteConsumerOffset struct{ OffsetPath }

// Command implements Request.
func (DeleteConsumerOffset) Command() Command { return CmdDeleteConsumerOffset }

// DecodeDeleteConsumerOffset decodes [Consumer][Id][Id][OptPart].
func DecodeDeleteConsumerOffset(p []byte) (DeleteConsumerOffset, error) {
	r := newRd("delete_consumer_offset", p)
	return done(DeleteConsumerOffset{r.offsetPath()}, r)
}

// EncodeDeleteConsumerOffset appends the payload of v to dst.
func EncodeDeleteConsumerOffset(dst []byte, v DeleteConsumerOffset) []byte {
	return appendOffsetPath(dst, v.OffsetPath)
}

// StoreConsumerOffset (121): [Consumer][Id][Id][OptPart][u64 offset].
type StoreConsumerOffset struct {
	OffsetPath
	Offset uint64
}

// Command implements Request.
func (StoreConsumerOffset) Command() Command { return CmdStoreConsumerOffset }

// DecodeStoreConsumerOffset decodes a StoreConsumerOffset payload.
func DecodeStoreConsumerOffset(p []byte) (StoreConsumerOffset, error) {
	r := newRd("store_consumer_offset", p)
	return done(StoreConsumerOffset{OffsetPath: r.offsetPath(), Offset: r.u64("offset")}, r)
}

// EncodeStoreConsumerOffset appends the payload of v to dst.
func EncodeStoreConsumerOffset(dst []byte, v StoreConsumerOffset) []byte {
	return appendU64(appendOffsetPath(dst, v.OffsetPath), v.Offset)
}

package iggyproto

import "fmt"

// Request is a decoded request payload; every typed request struct of this
// package implements it (with a value receiver).
type Request interface {
	// Command is the code the request travels under.
	Command() Command
}

// Requests without a payload. Their decoders ignore any payload bytes, as
// the server ignores trailing bytes.
type (
	// Ping (1) refreshes the client's heartbeat; answered with empty OK.
	Ping struct{}
	// GetStats (10) asks for Stats.
	GetStats struct{}
	// GetClusterMetadata (12) asks for ClusterMetadata.
	GetClusterMetadata struct{}
	// GetMe (20) asks for the caller's ClientDetails.
	GetMe struct{}
	// GetClients (22) asks for ClientInfo*.
	GetClients struct{}
	// GetUsers (32) asks for UserInfo*.
	GetUsers struct{}
	// LogoutUser (39) makes the session anonymous again.
	LogoutUser struct{}
	// GetPersonalAccessTokens (41) lists the caller's tokens.
	GetPersonalAccessTokens struct{}
	// GetStreams (201) asks for StreamHeader*.
	GetStreams struct{}
)

// Command implements Request.
func (Ping) Command() Command { return CmdPing }

// Command implements Request.
func (GetStats) Command() Command { return CmdGetStats }

// Command implements Request.
func (GetClusterMetadata) Command() Command { return CmdGetClusterMetadata }

// Command implements Request.
func (GetMe) Command() Command { return CmdGetMe }

// Command implements Request.
func (GetClients) Command() Command { return CmdGetClients }

// Command implements Request.
func (GetUsers) Command() Command { return CmdGetUsers }

// Command implements Request.
func (LogoutUser) Command() Command { return CmdLogoutUser }

// Command implements Request.
func (GetPersonalAccessTokens) Command() Command { return CmdGetPersonalAccessTokens }

// Command implements Request.
func (GetStreams) Command() Command { return CmdGetStreams }

// DecodeRequest decodes the payload of a request with command code cmd into
// its typed struct (a value, e.g. CreateTopic or SendMessages), for every
// command of section 4 of the fact sheet. Unknown codes give
// CodeInvalidCommand. Errors are *Error with the codes of fact sheet 1.3
// (6.5 for SendMessages). Decoded values may alias payload.
func DecodeRequest(cmd Command, payload []byte) (Request, error) {
	switch cmd {
	case CmdPing:
		return Ping{}, nil
	case CmdGetStats:
		return GetStats{}, nil
	case CmdGetClusterMetadata:
		return GetClusterMetadata{}, nil
	case CmdGetMe:
		return GetMe{}, nil
	case CmdGetClients:
		return GetClients{}, nil
	case CmdGetUsers:
		return GetUsers{}, nil
	case CmdLogoutUser:
		return LogoutUser{}, nil
	case CmdGetPersonalAccessTokens:
		return GetPersonalAccessTokens{}, nil
	case CmdGetStreams:
		return GetStreams{}, nil
	case CmdGetClient:
		return wrap(DecodeGetClient(payload))
	case CmdGetUser:
		return wrap(DecodeGetUser(payload))
	case CmdCreateUser:
		return wrap(DecodeCreateUser(payload))
	case CmdDeleteUser:
		return wrap(DecodeDeleteUser(payload))
	case CmdUpdateUser:
		return wrap(DecodeUpdateUser(payload))
	case CmdUpdatePermissions:
		return wrap(DecodeUpdatePermissions(payload))
	case CmdChangePassword:
		return wrap(DecodeChangePassword(payload))
	case CmdLoginUser:
		return wrap(DecodeLoginUser(payload))
	case CmdCreatePersonalAccessToken:
		return wrap(DecodeCreatePersonalAccessToken(payload))
	case CmdDeletePersonalAccessToken:
		return wrap(DecodeDeletePersonalAccessToken(payload))
	case CmdLoginWithPersonalAccessToken:
		return wrap(DecodeLoginWithPersonalAccessToken(payload))
	case CmdPollMessages:
		return wrap(DecodePollMessages(payload))
	case CmdSendMessages:
		return wrap(DecodeSendMessages(payload))
	case CmdGetConsumerOffset:
		return wrap(DecodeGetConsumerOffset(payload))
	case CmdStoreConsumerOffset:
		return wrap(DecodeStoreConsumerOffset(payload))
	case CmdDeleteConsumerOffset:
		return wrap(DecodeDeleteConsumerOffset(payload))
	case CmdGetStream:
		return wrap(DecodeGetStream(payload))
	case CmdCreateStream:
		return wrap(DecodeCreateStream(payload))
	case CmdDeleteStream:
		return wrap(DecodeDeleteStream(payload))
	case CmdUpdateStream:
		return wrap(DecodeUpdateStream(payload))
	case CmdGetTopic:
		return wrap(DecodeGetTopic(payload))
	case CmdGetTopics:
		return wrap(DecodeGetTopics(payload))
	case CmdCreateTopic:
		return wrap(DecodeCreateTopic(payload))
	case CmdDeleteTopic:
		return wrap(DecodeDeleteTopic(payload))
	case CmdUpdateTopic:
		return wrap(DecodeUpdateTopic(payload))
	case CmdCreatePartitions:
		return wrap(DecodeCreatePartitions(payload))
	case CmdDeletePartitions:
		return wrap(DecodeDeletePartitions(payload))
	case CmdGetConsumerGroup:
		return wrap(DecodeGetConsumerGroup(payload))
	case CmdGetConsumerGroups:
		return wrap(DecodeGetConsumerGroups(payload))
	case CmdCreateConsumerGroup:
		return wrap(DecodeCreateConsumerGroup(payload))
	case CmdDeleteConsumerGroup:
		return wrap(DecodeDeleteConsumerGroup(payload))
	case CmdJoinConsumerGroup:
		return wrap(DecodeJoinConsumerGroup(payload))
	case CmdLeaveConsumerGroup:
		return wrap(DecodeLeaveConsumerGroup(payload))
	case CmdGetSnapshotFile:
		return wrap(DecodeGetSnapshotFile(payload))
	case CmdFlushUnsavedBuffer:
		return wrap(DecodeFlushUnsavedBuffer(payload))
	case CmdPurgeStream:
		return wrap(DecodePurgeStream(payload))
	case CmdPurgeTopic:
		return wrap(DecodePurgeTopic(payload))
	case CmdDeleteSegments:
		return wrap(DecodeDeleteSegments(payload))
	}
	return nil, &Error{Code: CodeInvalidCommand, Msg: fmt.Sprintf("unsupported command %d (%s)", uint32(cmd), cmd)}
}

// wrap converts a typed decode result to (Request, error) without leaking
// a typed zero value next to an error.
func wrap[T Request](v T, err error) (Request, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// EncodeRequest appends the payload of req to dst, dispatching to the
// Encode function of its type. It fails only for a type this package does
// not define.
func EncodeRequest(dst []byte, req Request) ([]byte, error) {
	switch v := req.(type) {
	case Ping, GetStats, GetClusterMetadata, GetMe, GetClients, GetUsers, LogoutUser, GetPersonalAccessTokens, GetStreams:
		return dst, nil
	case GetClient:
		return EncodeGetClient(dst, v), nil
	case GetUser:
		return EncodeGetUser(dst, v), nil
	case CreateUser:
		return EncodeCreateUser(dst, v), nil
	case DeleteUser:
		return EncodeDeleteUser(dst, v), nil
	case UpdateUser:
		return EncodeUpdateUser(dst, v), nil
	case UpdatePermissions:
		return EncodeUpdatePermissions(dst, v), nil
	case ChangePassword:
		return EncodeChangePassword(dst, v), nil
	case LoginUser:
		return EncodeLoginUser(dst, v), nil
	case CreatePersonalAccessToken:
		return EncodeCreatePersonalAccessToken(dst, v), nil
	case DeletePersonalAccessToken:
		return EncodeDeletePersonalAccessToken(dst, v), nil
	case LoginWithPersonalAccessToken:
		return EncodeLoginWithPersonalAccessToken(dst, v), nil
	case PollMessages:
		return EncodePollMessages(dst, v), nil
	case SendMessages:
		return EncodeSendMessages(dst, v), nil
	case GetConsumerOffset:
		return EncodeGetConsumerOffset(dst, v), nil
	case StoreConsumerOffset:
		return EncodeStoreConsumerOffset(dst, v), nil
	case DeleteConsumerOffset:
		return EncodeDeleteConsumerOffset(dst, v), nil
	case GetStream:
		return EncodeGetStream(dst, v), nil
	case CreateStream:
		return EncodeCreateStream(dst, v), nil
	case DeleteStream:
		return EncodeDeleteStream(dst, v), nil
	case UpdateStream:
		return EncodeUpdateStream(dst, v), nil
	case GetTopic:
		return EncodeGetTopic(dst, v), nil
	case GetTopics:
		return EncodeGetTopics(dst, v), nil
	case CreateTopic:
		return EncodeCreateTopic(dst, v), nil
	case DeleteTopic:
		return EncodeDeleteTopic(dst, v), nil
	case UpdateTopic:
		return EncodeUpdateTopic(dst, v), nil
	case CreatePartitions:
		return EncodeCreatePartitions(dst, v), nil
	case DeletePartitions:
		return EncodeDeletePartitions(dst, v), nil
	case GetConsumerGroup:
		return EncodeGetConsumerGroup(dst, v), nil
	case GetConsumerGroups:
		return EncodeGetConsumerGroups(dst, v), nil
	case CreateConsumerGroup:
		return EncodeCreateConsumerGroup(dst, v), nil
	case DeleteConsumerGroup:
		return EncodeDeleteConsumerGroup(dst, v), nil
	case JoinConsumerGroup:
		return EncodeJoinConsumerGroup(dst, v), nil
	case LeaveConsumerGroup:
		return EncodeLeaveConsumerGroup(dst, v), nil
	case GetSnapshotFile:
		return EncodeGetSnapshotFile(dst, v), nil
	case FlushUnsavedBuffer:
		return EncodeFlushUnsavedBuffer(dst, v), nil
	case PurgeStream:
		return EncodePurgeStream(dst, v), nil
	case PurgeTopic:
		return EncodePurgeTopic(dst, v), nil
	case DeleteSegments:
		return EncodeDeleteSegments(dst, v), nil
	}
	return dst, fmt.Errorf("iggyproto: EncodeRequest: unsupported request type %T", req)
}

// AppendRequest appends a whole request frame for req (header and payload)
// to dst.
func AppendRequest(dst []byte, req Request) ([]byte, error) {
	payload, err := EncodeRequest(nil, req)
	if err != nil {
		return dst, err
	}
	return AppendRequestFrame(dst, req.Command(), payload), nil
}

// GetClient (21) asks for one client's details. ClientID 0 is answered
// with CodeInvalidClientID by the server.
type GetClient struct{ ClientID uint32 }

// Command implements Request.
func (GetClient) Command() Command { return CmdGetClient }

// DecodeGetClient decodes [u32 client_id].
func DecodeGetClient(p []byte) (GetClient, error) {
	r := newRd("get_client", p)
	return done(GetClient{ClientID: r.u32("client id")}, r)
}

// done returns v, or T's zero value and r's error when decoding failed.
func done[T any](v T, r *rd) (T, error) {
	if r.err != nil {
		var zero T
		return zero, r.err
	}
	return v, nil
}

// EncodeGetClient appends the payload of v to dst.
func EncodeGetClient(dst []byte, v GetClient) []byte { return appendU32(dst, v.ClientID) }

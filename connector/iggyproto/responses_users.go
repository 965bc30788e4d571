package iggyproto

// Response records for users, sessions, clients and personal access
// tokens (fact sheet 5.1-5.3).

// UserInfo describes a user (14 + len(Username) bytes). GetUsers answers
// UserInfo*.
type UserInfo struct {
	ID        uint32
	CreatedAt uint64
	Status    UserStatus
	Username  string
}

// AppendUserInfo appends u to dst.
func AppendUserInfo(dst []byte, u UserInfo) []byte {
	dst = appendU32(dst, u.ID)
	dst = appendU64(dst, u.CreatedAt)
	dst = append(dst, byte(u.Status))
	return appendName8(dst, u.Username)
}

func (r *rd) userInfo() UserInfo {
	return UserInfo{ID: r.u32("id"), CreatedAt: r.u64("created at"), Status: r.validUserStatus(), Username: r.name8("username")}
}

// DecodeUsers decodes a GetUsers payload (UserInfo*).
func DecodeUsers(b []byte) ([]UserInfo, error) {
	return decodeAll(newRd("users", b), (*rd).userInfo)
}

// UserDetails answers GetUser and CreateUser: a UserInfo, then either
// [u8 1][u32 len][Perms] or, when Permissions is nil, four zero bytes
// (the server's "no permissions" form; Go reads only the first).
type UserDetails struct {
	UserInfo
	Permissions *Permissions
}

// AppendUserDetails appends u to dst.
func AppendUserDetails(dst []byte, u UserDetails) []byte {
	dst = AppendUserInfo(dst, u.UserInfo)
	if u.Permissions == nil {
		return append(dst, 0, 0, 0, 0)
	}
	return appendOptPermissions(dst, u.Permissions)
}

// DecodeUserDetails decodes a GetUser/CreateUser payload. A zero flag byte
// means no permissions (the bytes after it are ignored).
func DecodeUserDetails(b []byte) (UserDetails, error) {
	r := newRd("user details", b)
	u := UserDetails{UserInfo: r.userInfo()}
	u.Permissions = r.optPermissions()
	return done(u, r)
}

// IdentitySize is the encoded size of an identity (LoginUser and
// LoginWithPersonalAccessToken answers).
const IdentitySize = 4

// AppendIdentity appends the login answer, [u32 user_id], to dst.
func AppendIdentity(dst []byte, userID uint32) []byte { return appendU32(dst, userID) }

// DecodeIdentity decodes a login answer.
func DecodeIdentity(b []byte) (uint32, error) {
	r := newRd("identity", b)
	return done(r.u32("user id"), r)
}

// Transport is a client's transport byte.
type Transport uint8

// Client transports, as on the wire.
const (
	TransportTCP       Transport = 1
	TransportQUIC      Transport = 2
	TransportHTTP      Transport = 3
	TransportWebSocket Transport = 4
)

// NoUser is the user id of a connection that is not logged in.
const NoUser uint32 = 0xFFFFFFFF

// ClientInfo describes a connected client (17 + len(Address) bytes).
// GetClients answers ClientInfo*.
type ClientInfo struct {
	ClientID uint32
	// UserID is NoUser before login.
	UserID              uint32
	Transport           Transport
	Address             string // "ip:port"
	ConsumerGroupsCount uint32
}

// AppendClientInfo appends c to dst.
func AppendClientInfo(dst []byte, c ClientInfo) []byte {
	dst = appendU32(dst, c.ClientID)
	dst = appendU32(dst, c.UserID)
	dst = append(dst, byte(c.Transport))
	dst = appendStr32(dst, c.Address)
	return appendU32(dst, c.ConsumerGroupsCount)
}

func (r *rd) clientInfo() ClientInfo {
	return ClientInfo{ClientID: r.u32("client id"), UserID: r.u32("user id"), Transport: Transport(r.u8("transport")),
		Address: r.str32("address"), ConsumerGroupsCount: r.u32("consumer groups count")}
}

// DecodeClients decodes a GetClients payload (ClientInfo*).
func DecodeClients(b []byte) ([]ClientInfo, error) {
	return decodeAll(newRd("clients", b), (*rd).clientInfo)
}

// ClientGroup is one consumer group a client is a member of.
type ClientGroup struct {
	StreamID, TopicID, GroupID uint32
}

// ClientDetails answers GetClient and GetMe: a ClientInfo whose
// consumer_groups_count is len(ConsumerGroups), then the groups.
type ClientDetails struct {
	ClientInfo
	ConsumerGroups []ClientGroup
}

// AppendClientDetails appends c to dst; c.ConsumerGroupsCount is ignored
// in favour of len(c.ConsumerGroups).
func AppendClientDetails(dst []byte, c ClientDetails) []byte {
	info := c.ClientInfo
	info.ConsumerGroupsCount = uint32(len(c.ConsumerGroups))
	dst = AppendClientInfo(dst, info)
	for _, g := range c.ConsumerGroups {
		dst = appendU32(appendU32(appendU32(dst, g.StreamID), g.TopicID), g.GroupID)
	}
	return dst
}

// DecodeClientDetails decodes a GetClient/GetMe payload.
func DecodeClientDetails(b []byte) (ClientDetails, error) {
	r := newRd("client details", b)
	c := ClientDetails{ClientInfo: r.clientInfo()}
	if r.err == nil && uint64(c.ConsumerGroupsCount)*12 > uint64(r.remaining()) {
		r.fail(CodeInvalidCommand, "%d consumer groups, %d bytes left", c.ConsumerGroupsCount, r.remaining())
	}
	if r.err == nil && c.ConsumerGroupsCount > 0 {
		c.ConsumerGroups = make([]ClientGroup, c.ConsumerGroupsCount)
		for i := range c.ConsumerGroups {
			c.ConsumerGroups[i] = ClientGroup{StreamID: r.u32("stream id"), TopicID: r.u32("topic id"), GroupID: r.u32("group id")}
		}
	}
	return done(c, r)
}

// PATInfo describes a personal access token in GetPersonalAccessTokens
// (PATInfo*). ExpiryAt is a µs timestamp, 0 = never expires.
type PATInfo struct {
	Name     string
	ExpiryAt uint64
}

// AppendPATInfo appends t to dst.
func AppendPATInfo(dst []byte, t PATInfo) []byte {
	return appendU64(appendName8(dst, t.Name), t.ExpiryAt)
}

func (r *rd) patInfo() PATInfo { return PATInfo{Name: r.name8("name"), ExpiryAt: r.u64("expiry at")} }

// DecodePATs decodes a GetPersonalAccessTokens payload (PATInfo*).
func DecodePATs(b []byte) ([]PATInfo, error) {
	return decodeAll(newRd("personal access tokens", b), (*rd).patInfo)
}

// AppendRawToken appends the CreatePersonalAccessToken answer, [Name8
// token], to dst. Iggy's tokens are 68 ASCII characters.
func AppendRawToken(dst []byte, token string) []byte { return appendName8(dst, token) }

// DecodeRawToken decodes a CreatePersonalAccessToken answer.
func DecodeRawToken(b []byte) (string, error) {
	r := newRd("raw token", b)
	return done(r.name8("token"), r)
}

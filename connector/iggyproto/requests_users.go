package iggyproto

// UserStatus is a user's status byte.
type UserStatus uint8

// User statuses, as on the wire.
const (
	UserActive   UserStatus = 1
	UserInactive UserStatus = 2
)

// Valid reports whether s is a known status. Request decoders keep the raw
// byte: Iggy 0.8.0 rejects an unknown status with CodeInvalidCommand only
// when executing CreateUser/UpdateUser, after authentication and the
// manage_users permission check.
func (s UserStatus) Valid() bool { return s == UserActive || s == UserInactive }

// validUserStatus reads a status that must be valid (response records).
func (r *rd) validUserStatus() UserStatus {
	s := UserStatus(r.u8("user status"))
	if r.err == nil && !s.Valid() {
		r.fail(CodeInvalidCommand, "user status %d", s)
	}
	return s
}

// LoginUser (38) logs the connection in: Name8 username, Str8 password,
// Str32 version, Str32 context (both length fields required, as in the
// server). The Go SDK sends version "0.8.0" and an empty context; the
// server checks neither.
type LoginUser struct {
	Username string
	Password string
	Version  string
	Context  string
}

// Command implements Request.
func (LoginUser) Command() Command { return CmdLoginUser }

// DecodeLoginUser decodes a LoginUser payload.
func DecodeLoginUser(p []byte) (LoginUser, error) {
	r := newRd("login_user", p)
	return done(LoginUser{Username: r.name8("username"), Password: r.str8("password"),
		Version: r.str32("version"), Context: r.str32("context")}, r)
}

// EncodeLoginUser appends the payload of v to dst (the Go SDK's bytes).
func EncodeLoginUser(dst []byte, v LoginUser) []byte {
	dst = appendName8(dst, v.Username)
	dst = appendName8(dst, v.Password)
	dst = appendStr32(dst, v.Version)
	return appendStr32(dst, v.Context)
}

// LoginWithPersonalAccessToken (44) logs in with a raw token (Name8).
type LoginWithPersonalAccessToken struct{ Token string }

// Command implements Request.
func (LoginWithPersonalAccessToken) Command() Command { return CmdLoginWithPersonalAccessToken }

// DecodeLoginWithPersonalAccessToken decodes [Name8 token].
func DecodeLoginWithPersonalAccessToken(p []byte) (LoginWithPersonalAccessToken, error) {
	r := newRd("login_with_personal_access_token", p)
	return done(LoginWithPersonalAccessToken{Token: r.name8("token")}, r)
}

// EncodeLoginWithPersonalAccessToken appends the payload of v to dst.
func EncodeLoginWithPersonalAccessToken(dst []byte, v LoginWithPersonalAccessToken) []byte {
	return appendName8(dst, v.Token)
}

// CreatePersonalAccessToken (42) creates a token for the caller: Name8
// name, u64 expiry in µs (0 = server default, math.MaxUint64 = never).
// The Go SDK writes its uint32 expiry into the high half of the u64, so the
// server sees expiry<<32 µs; Expiry holds the raw u64 as sent.
type CreatePersonalAccessToken struct {
	Name   string
	Expiry uint64
}

// Command implements Request.
func (CreatePersonalAccessToken) Command() Command { return CmdCreatePersonalAccessToken }

// DecodeCreatePersonalAccessToken decodes a CreatePersonalAccessToken payload.
func DecodeCreatePersonalAccessToken(p []byte) (CreatePersonalAccessToken, error) {
	r := newRd("create_personal_access_token", p)
	return done(CreatePersonalAccessToken{Name: r.name8("name"), Expiry: r.u64("expiry")}, r)
}

// EncodeCreatePersonalAccessToken appends the payload of v to dst. The Go
// SDK's CreatePersonalAccessToken(name, e) equals Expiry = uint64(e)<<32.
func EncodeCreatePersonalAccessToken(dst []byte, v CreatePersonalAccessToken) []byte {
	return appendU64(appendName8(dst, v.Name), v.Expiry)
}

// DeletePersonalAccessToken (43) deletes one of the caller's tokens by name.
type DeletePersonalAccessToken struct{ Name string }

// Command implements Request.
func (DeletePersonalAccessToken) Command() Command { return CmdDeletePersonalAccessToken }

// DecodeDeletePersonalAccessToken decodes [Name8 name].
func DecodeDeletePersonalAccessToken(p []byte) (DeletePersonalAccessToken, error) {
	r := newRd("delete_personal_access_token", p)
	return done(DeletePersonalAccessToken{Name: r.name8("name")}, r)
}

// EncodeDeletePersonalAccessToken appends the payload of v to dst.
func EncodeDeletePersonalAccessToken(dst []byte, v DeletePersonalAccessToken) []byte {
	return appendName8(dst, v.Name)
}

// GetUser (31) asks for UserDetails of one user.
type GetUser struct{ User Identifier }

// Command implements Request.
func (GetUser) Command() Command { return CmdGetUser }

// DecodeGetUser decodes [Id user].
func DecodeGetUser(p []byte) (GetUser, error) {
	r := newRd("get_user", p)
	return done(GetUser{User: r.ident("user id")}, r)
}

// EncodeGetUser appends the payload of v to dst.
func EncodeGetUser(dst []byte, v GetUser) []byte { return AppendIdentifier(dst, v.User) }

// DeleteUser (34) deletes a user.
type DeleteUser struct{ User Identifier }

// Command implements Request.
func (DeleteUser) Command() Command { return CmdDeleteUser }

// DecodeDeleteUser decodes [Id user].
func DecodeDeleteUser(p []byte) (DeleteUser, error) {
	r := newRd("delete_user", p)
	return done(DeleteUser{User: r.ident("user id")}, r)
}

// EncodeDeleteUser appends the payload of v to dst.
func EncodeDeleteUser(dst []byte, v DeleteUser) []byte { return AppendIdentifier(dst, v.User) }

// CreateUser (33): Name8 username, Str8 password, u8 status, u8 has_perms
// (1 = present), [u32 len, Perms]. Permissions nil means none. Status is
// not checked here (see UserStatus.Valid), nor are the username and
// password length rules (43/44): those are the server's.
type CreateUser struct {
	Username    string
	Password    string
	Status      UserStatus
	Permissions *Permissions
}

// Command implements Request.
func (CreateUser) Command() Command { return CmdCreateUser }

// DecodeCreateUser decodes a CreateUser payload. A permissions length field
// that disagrees with the block gives CodeInvalidFormat.
func DecodeCreateUser(p []byte) (CreateUser, error) {
	r := newRd("create_user", p)
	v := CreateUser{Username: r.name8("username"), Password: r.str8("password"), Status: UserStatus(r.u8("status"))}
	v.Permissions = r.optPermissions()
	return done(v, r)
}

// EncodeCreateUser appends the payload of v to dst.
func EncodeCreateUser(dst []byte, v CreateUser) []byte {
	dst = appendName8(dst, v.Username)
	dst = appendName8(dst, v.Password)
	dst = append(dst, byte(v.Status))
	return appendOptPermissions(dst, v.Permissions)
}

// UpdateUser (35): Id, u8 has_username, [Name8], u8 has_status, [u8
// status]. Nil fields are left unchanged. A flag counts only when it is 1.
// Status is not checked here (see UserStatus.Valid). With both fields set
// the Go SDK appends one extra 0 byte, ignored like all trailing bytes.
type UpdateUser struct {
	User     Identifier
	Username *string
	Status   *UserStatus
}

// Command implements Request.
func (UpdateUser) Command() Command { return CmdUpdateUser }

// DecodeUpdateUser decodes an UpdateUser payload.
func DecodeUpdateUser(p []byte) (UpdateUser, error) {
	r := newRd("update_user", p)
	v := UpdateUser{User: r.ident("user id")}
	if r.u8("has username") == 1 {
		name := r.name8("username")
		v.Username = &name
	}
	if r.u8("has status") == 1 {
		s := UserStatus(r.u8("status"))
		v.Status = &s
	}
	return done(v, r)
}

// EncodeUpdateUser appends the canonical payload of v to dst (without the
// Go SDK's extra trailing byte).
func EncodeUpdateUser(dst []byte, v UpdateUser) []byte {
	dst = AppendIdentifier(dst, v.User)
	if v.Username != nil {
		dst = appendName8(append(dst, 1), *v.Username)
	} else {
		dst = append(dst, 0)
	}
	if v.Status != nil {
		return append(dst, 1, byte(*v.Status))
	}
	return append(dst, 0)
}

// UpdatePermissions (36): Id, u8 has_perms, [u32 len, Perms]. Nil
// Permissions clears the user's permissions.
type UpdatePermissions struct {
	User        Identifier
	Permissions *Permissions
}

// Command implements Request.
func (UpdatePermissions) Command() Command { return CmdUpdatePermissions }

// DecodeUpdatePermissions decodes an UpdatePermissions payload.
func DecodeUpdatePermissions(p []byte) (UpdatePermissions, error) {
	r := newRd("update_permissions", p)
	v := UpdatePermissions{User: r.ident("user id")}
	v.Permissions = r.optPermissions()
	return done(v, r)
}

// EncodeUpdatePermissions appends the payload of v to dst.
func EncodeUpdatePermissions(dst []byte, v UpdatePermissions) []byte {
	return appendOptPermissions(AppendIdentifier(dst, v.User), v.Permissions)
}

// ChangePassword (37): Id, Str8 current_password, Str8 new_password.
type ChangePassword struct {
	User            Identifier
	CurrentPassword string
	NewPassword     string
}

// Command implements Request.
func (ChangePassword) Command() Command { return CmdChangePassword }

// DecodeChangePassword decodes a ChangePassword payload.
func DecodeChangePassword(p []byte) (ChangePassword, error) {
	r := newRd("change_password", p)
	return done(ChangePassword{User: r.ident("user id"), CurrentPassword: r.str8("current password"), NewPassword: r.str8("new password")}, r)
}

// EncodeChangePassword appends the payload of v to dst.
func EncodeChangePassword(dst []byte, v ChangePassword) []byte {
	dst = AppendIdentifier(dst, v.User)
	dst = appendName8(dst, v.CurrentPassword)
	return appendName8(dst, v.NewPassword)
}

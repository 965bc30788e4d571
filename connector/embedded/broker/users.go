package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// UserStatus is a user's status, numbered as on the wire.
type UserStatus uint8

// User statuses.
const (
	UserActive   UserStatus = 1
	UserInactive UserStatus = 2
)

// Limits of names and tokens (fact sheet, section 3).
const (
	MaxPATsPerUser = 100
	patRawBytes    = 50
)

type user struct {
	ID           uint32       `json:"id"`
	Username     string       `json:"username"`
	PasswordHash string       `json:"password_hash"`
	Status       UserStatus   `json:"status"`
	CreatedAt    uint64       `json:"created_at"`
	Permissions  *Permissions `json:"permissions,omitempty"`
	PATs         []*pat       `json:"pats,omitempty"`
}

type pat struct {
	Name     string `json:"name"`
	Hash     string `json:"hash"`      // hex SHA-256 of the raw token
	ExpiryAt uint64 `json:"expiry_at"` // µs since the epoch; 0 = never
}

// UserInfo is a user's summary (UserInfo record). CreatedAt is µs.
type UserInfo struct {
	ID        uint32
	CreatedAt uint64
	Status    UserStatus
	Username  string
}

// UserDetails is a user with its permissions (nil: none).
type UserDetails struct {
	UserInfo
	Permissions *Permissions
}

// PATInfo describes a personal access token; ExpiryAt is µs since the
// epoch, 0 = never.
type PATInfo struct {
	Name     string
	ExpiryAt uint64
}

func (u *user) info() UserInfo {
	return UserInfo{ID: u.ID, CreatedAt: u.CreatedAt, Status: u.Status, Username: u.Username}
}

func (u *user) details() UserDetails {
	return UserDetails{UserInfo: u.info(), Permissions: u.Permissions.Clone()}
}

func validUsername(name string) error {
	if len(name) < 3 || len(name) > 50 {
		return errf(iggyproto.CodeInvalidUsername, "username must be 3..50 bytes, got %d", len(name))
	}
	return nil
}

func validPassword(pw string) error {
	if len(pw) < 3 || len(pw) > 100 {
		return errf(iggyproto.CodeInvalidPassword, "password must be 3..100 bytes, got %d", len(pw))
	}
	return nil
}

func validStatus(st UserStatus) error {
	if st != UserActive && st != UserInactive {
		return errf(iggyproto.CodeInvalidCommand, "user status %d", st)
	}
	return nil
}

// Login authenticates s as username; it needs no earlier login and
// replaces any current identity. Codes, in check order: 43 username
// length, 44 password length, 42 unknown user, 47 inactive, 42 wrong
// password. Returns the user id. The password check runs outside the
// broker's lock.
//
// Attempts are throttled per username and per source address (see
// Config.LoginThrottleBase): after a few failures each attempt waits for its
// turn, up to LoginThrottleMax after the previous one, and one that would
// wait over 20 s is refused at once (42) without checking the password. A
// success resets both. An unknown user costs a password hash like a known
// one, so timing does not tell them apart.
func (b *Broker) Login(s *Session, username, password string) (uint32, error) {
	if err := validUsername(username); err != nil {
		return 0, err
	}
	if err := validPassword(password); err != nil {
		return 0, err
	}
	keys := []string{"user:" + username, sourceKey(s.addr)}
	if err := b.awaitLoginTurn(keys); err != nil {
		return 0, err
	}
	b.mu.RLock()
	if err := b.usable(s); err != nil {
		b.mu.RUnlock()
		return 0, err
	}
	u := b.userByName(username)
	var hash string
	var status UserStatus
	if u != nil {
		hash, status = u.PasswordHash, u.Status
	}
	b.mu.RUnlock()
	if u == nil {
		checkPassword(dummyHash(), password) // same cost as a known user
		return 0, errf(iggyproto.CodeInvalidCredentials, "invalid credentials")
	}
	if status != UserActive {
		return 0, errf(iggyproto.CodeUserInactive, "user %d is inactive", u.ID)
	}
	if !checkPassword(hash, password) {
		return 0, errf(iggyproto.CodeInvalidCredentials, "invalid credentials")
	}
	id, err := b.bind(s, u)
	if err == nil {
		b.throttle.succeed(keys...)
	}
	return id, err
}

// awaitLoginTurn waits for the login attempt's turn on keys (see Login).
func (b *Broker) awaitLoginTurn(keys []string) error {
	now := b.cfg.Now()
	turn, ok := b.throttle.reserve(now, keys...)
	if !ok {
		b.log.Warn("login refused: too many failed attempts", "keys", keys, "retry_in", turn.Sub(now))
		return errf(iggyproto.CodeInvalidCredentials, "too many failed logins; retry in %v", turn.Sub(now).Round(time.Second))
	}
	if d := turn.Sub(now); d > 0 {
		if !b.sleep(d) {
			return errf(iggyproto.CodeError, "broker closed")
		}
	}
	return nil
}

// sleep waits d, or until the broker closes (false). Tests replace it.
func (b *Broker) sleepReal(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.stop:
		return false
	}
}

// RootPasswordIsDefault reports whether the root user (id 0) still has
// DefaultRootPassword, as on a fresh data directory without
// Config.RootPassword. It costs one password hash.
func (b *Broker) RootPasswordIsDefault() bool {
	b.mu.RLock()
	u := b.users[0]
	var hash string
	if u != nil {
		hash = u.PasswordHash
	}
	b.mu.RUnlock()
	return u != nil && checkPassword(hash, DefaultRootPassword)
}

// bind logs s in as u if u still exists.
func (b *Broker) bind(s *Session, u *user) (uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(s); err != nil {
		return 0, err
	}
	if b.users[u.ID] != u {
		return 0, errf(iggyproto.CodeInvalidCredentials, "invalid credentials")
	}
	s.user = u
	return u.ID, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// LoginWithToken authenticates s with a personal access token: 20 unknown
// token, 54 expired, 47 inactive user. Returns the user id.
//
// Attempts are throttled per source address, as Login's.
func (b *Broker) LoginWithToken(s *Session, token string) (uint32, error) {
	keys := []string{sourceKey(s.addr)}
	if err := b.awaitLoginTurn(keys); err != nil {
		return 0, err
	}
	h := hashToken(token)
	now := b.nowMicros()
	b.mu.RLock()
	if err := b.usable(s); err != nil {
		b.mu.RUnlock()
		return 0, err
	}
	var found *user
	var expired bool
	for _, u := range b.users {
		for _, p := range u.PATs {
			if subtle.ConstantTimeCompare([]byte(p.Hash), []byte(h)) == 1 {
				found, expired = u, p.ExpiryAt != 0 && now >= p.ExpiryAt
			}
		}
	}
	var status UserStatus
	if found != nil {
		status = found.Status
	}
	b.mu.RUnlock()
	switch {
	case found == nil:
		return 0, errf(iggyproto.CodeResourceNotFound, "personal access token not found")
	case expired:
		return 0, errf(iggyproto.CodePATExpired, "personal access token expired")
	case status != UserActive:
		return 0, errf(iggyproto.CodeUserInactive, "user %d is inactive", found.ID)
	}
	id, err := b.bind(s, found)
	if err == nil {
		b.throttle.succeed(keys...)
	}
	return id, err
}

// Logout makes s anonymous again (40 if not logged in). Group memberships
// stay.
func (b *Broker) Logout(s *Session) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.authed(s); err != nil {
		return err
	}
	s.user = nil
	return nil
}

// GetUser returns a user by id or name. An unknown user returns ok ==
// false (empty OK, checked before permissions as Iggy does). The caller may
// always read itself; other users need read_users (41).
func (b *Broker) GetUser(s *Session, id iggyproto.Identifier) (UserDetails, bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return UserDetails{}, false, err
	}
	u := b.findUser(id)
	if u == nil {
		return UserDetails{}, false, nil
	}
	if u != s.user && !a.readUsers() {
		return UserDetails{}, false, errUnauthorized("get user")
	}
	return u.details(), true, nil
}

// GetUsers lists every user by id; needs read_users.
func (b *Broker) GetUsers(s *Session) ([]UserInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	a, err := b.authed(s)
	if err != nil {
		return nil, err
	}
	if !a.readUsers() {
		return nil, errUnauthorized("get users")
	}
	out := make([]UserInfo, 0, len(b.users))
	for _, id := range sortedKeys(b.users) {
		out = append(out, b.users[id].info())
	}
	return out, nil
}

// CreateUser creates a user (0-based id, slot reuse) and returns it. Codes:
// 43/44 name/password length, 3 bad status, 41 without manage_users, 46
// name taken. perms is copied; nil means no permissions.
func (b *Broker) CreateUser(s *Session, username, password string, status UserStatus, perms *Permissions) (UserDetails, error) {
	b.mu.RLock()
	_, err := b.authed(s)
	b.mu.RUnlock()
	if err != nil {
		return UserDetails{}, err
	}
	if err := validUsername(username); err != nil {
		return UserDetails{}, err
	}
	if err := validPassword(password); err != nil {
		return UserDetails{}, err
	}
	if err := validStatus(status); err != nil {
		return UserDetails{}, err
	}
	hash, err := hashPassword(password) // slow: outside the lock
	if err != nil {
		return UserDetails{}, errf(iggyproto.CodeError, "hash password: %v", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return UserDetails{}, err
	}
	if !a.manageUsers() {
		return UserDetails{}, errUnauthorized("create user")
	}
	if b.userByName(username) != nil {
		return UserDetails{}, errf(iggyproto.CodeUserAlreadyExists, "user %q exists", username)
	}
	u := &user{ID: b.userIDs.alloc(), Username: username, PasswordHash: hash, Status: status,
		CreatedAt: b.nowMicros(), Permissions: perms.Clone()}
	b.users[u.ID] = u
	return u.details(), b.persist("create user")
}

// userToManage checks manage_users (41, refusing op) and resolves a user
// (20); caller holds mu.
func (b *Broker) userToManage(a access, id iggyproto.Identifier, op string) (*user, error) {
	if !a.manageUsers() {
		return nil, errUnauthorized(op)
	}
	u := b.findUser(id)
	if u == nil {
		return nil, errf(iggyproto.CodeResourceNotFound, "user %s not found", id)
	}
	return u, nil
}

// DeleteUser deletes a user: 41 without manage_users, 20 unknown, 48 for
// root. The user's sessions are removed from the registry (they answer 100
// afterwards) and leave their groups.
func (b *Broker) DeleteUser(s *Session, id iggyproto.Identifier) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	u, err := b.userToManage(a, id, "delete user")
	if err != nil {
		return err
	}
	if u.ID == 0 {
		return errf(iggyproto.CodeCannotDeleteUser, "the root user cannot be deleted")
	}
	for _, cid := range sortedKeys(b.clients) {
		if c := b.clients[cid]; c.user == u {
			b.dropSessionLocked(c)
		}
	}
	delete(b.users, u.ID)
	b.userIDs.release(u.ID)
	return b.persist("delete user")
}

// UpdateUser renames a user and/or changes its status (nil = unchanged):
// 41, 20 unknown, 43 bad name, 46 name taken by another user, 3 bad
// status.
func (b *Broker) UpdateUser(s *Session, id iggyproto.Identifier, username *string, status *UserStatus) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	if username != nil {
		if err := validUsername(*username); err != nil {
			return err
		}
	}
	if status != nil {
		if err := validStatus(*status); err != nil {
			return err
		}
	}
	u, err := b.userToManage(a, id, "update user")
	if err != nil {
		return err
	}
	if username != nil {
		if o := b.userByName(*username); o != nil && o != u {
			return errf(iggyproto.CodeUserAlreadyExists, "user %q exists", *username)
		}
		u.Username = *username
	}
	if status != nil {
		u.Status = *status
	}
	return b.persist("update user")
}

// UpdatePermissions replaces a user's permissions (nil clears them): 41,
// 20 unknown, 49 for root. Logged-in sessions of the user see the change
// on their next call.
func (b *Broker) UpdatePermissions(s *Session, id iggyproto.Identifier, perms *Permissions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, err := b.authed(s)
	if err != nil {
		return err
	}
	u, err := b.userToManage(a, id, "update permissions")
	if err != nil {
		return err
	}
	if u.ID == 0 {
		return errf(iggyproto.CodeCannotChangePermissions, "the root user's permissions cannot change")
	}
	u.Permissions = perms.Clone()
	return b.persist("update permissions")
}

// ChangePassword changes a user's password: 44 current or new password
// length not 3..100, 20
// unknown user, 41 for another user without manage_users, 42 wrong
// current password.
func (b *Broker) ChangePassword(s *Session, id iggyproto.Identifier, current, newPassword string) error {
	b.mu.RLock()
	a, err := b.authed(s)
	if err != nil {
		b.mu.RUnlock()
		return err
	}
	for _, pw := range []string{current, newPassword} {
		if err := validPassword(pw); err != nil {
			b.mu.RUnlock()
			return err
		}
	}
	u := b.findUser(id)
	if u == nil {
		b.mu.RUnlock()
		return errf(iggyproto.CodeResourceNotFound, "user %s not found", id)
	}
	if u != s.user && !a.manageUsers() {
		b.mu.RUnlock()
		return errUnauthorized("change password")
	}
	oldHash := u.PasswordHash
	b.mu.RUnlock()
	if !checkPassword(oldHash, current) {
		return errf(iggyproto.CodeInvalidCredentials, "current password is wrong")
	}
	hash, err := hashPassword(newPassword)
	if err != nil {
		return errf(iggyproto.CodeError, "hash password: %v", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.usable(s); err != nil {
		return err
	}
	if b.users[u.ID] != u {
		return errf(iggyproto.CodeResourceNotFound, "user %s not found", id)
	}
	u.PasswordHash = hash
	return b.persist("change password")
}

// CreatePersonalAccessToken creates a token for the caller and returns the
// raw token (68 base64 characters), which is not stored (only its
// SHA-256). expiry is µs from now; 0 and math.MaxUint64 mean never. Codes:
// 50 name length not 3..30, 52 already 100 tokens, 51 name taken.
func (b *Broker) CreatePersonalAccessToken(s *Session, name string, expiry uint64) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.authed(s); err != nil {
		return "", err
	}
	if len(name) < 3 || len(name) > 30 {
		return "", errf(iggyproto.CodeInvalidPATName, "token name must be 3..30 bytes, got %d", len(name))
	}
	u := s.user
	if len(u.PATs) >= MaxPATsPerUser {
		return "", errf(iggyproto.CodePATLimitReached, "user %d has %d tokens", u.ID, len(u.PATs))
	}
	for _, p := range u.PATs {
		if p.Name == name {
			return "", errf(iggyproto.CodePATAlreadyExists, "token %q exists", name)
		}
	}
	raw := make([]byte, patRawBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", errf(iggyproto.CodeError, "random: %v", err)
	}
	token := base64.StdEncoding.EncodeToString(raw)
	var at uint64
	if expiry != 0 && expiry != math.MaxUint64 {
		now := b.nowMicros()
		at = now + expiry
		if at < now { // overflow: as good as never
			at = 0
		}
	}
	u.PATs = append(u.PATs, &pat{Name: name, Hash: hashToken(token), ExpiryAt: at})
	if err := b.persist("create personal access token"); err != nil {
		return "", err
	}
	return token, nil
}

// GetPersonalAccessTokens lists the caller's tokens by name.
func (b *Broker) GetPersonalAccessTokens(s *Session) ([]PATInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if _, err := b.authed(s); err != nil {
		return nil, err
	}
	out := make([]PATInfo, 0, len(s.user.PATs))
	for _, p := range s.user.PATs {
		out = append(out, PATInfo{Name: p.Name, ExpiryAt: p.ExpiryAt})
	}
	slices.SortFunc(out, func(x, y PATInfo) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// DeletePersonalAccessToken deletes one of the caller's tokens (20 when it
// has none of that name).
func (b *Broker) DeletePersonalAccessToken(s *Session, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.authed(s); err != nil {
		return err
	}
	u := s.user
	i := slices.IndexFunc(u.PATs, func(p *pat) bool { return p.Name == name })
	if i < 0 {
		return errf(iggyproto.CodeResourceNotFound, "token %q not found", name)
	}
	u.PATs = slices.Delete(u.PATs, i, i+1)
	return b.persist("delete personal access token")
}

// removeExpiredTokens deletes expired personal access tokens (as Iggy's
// periodic cleaner does) and persists if any went.
func (b *Broker) removeExpiredTokens() {
	now := b.nowMicros()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	removed := 0
	for _, u := range b.users {
		n := len(u.PATs)
		u.PATs = slices.DeleteFunc(u.PATs, func(p *pat) bool { return p.ExpiryAt != 0 && now >= p.ExpiryAt })
		removed += n - len(u.PATs)
	}
	if removed > 0 {
		b.log.LogAttrs(context.Background(), slog.LevelInfo, "expired personal access tokens removed", slog.Int("count", removed))
		_ = b.persist("remove expired tokens")
	}
}

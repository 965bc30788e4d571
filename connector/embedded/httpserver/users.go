package httpserver

import (
	"net/http"
	"sort"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// loginBody is LoginUser; version and context are accepted and ignored.
type loginBody struct {
	Username *string `json:"username"`
	Password *string `json:"password"`
	Version  *string `json:"version"`
	Context  *string `json:"context"`
}

func (b *loginBody) validate() error {
	switch {
	case b.Username == nil:
		return missing("username")
	case b.Password == nil:
		return missing("password")
	}
	return nil
}

// tokenBody is RefreshToken and LoginWithPersonalAccessToken.
type tokenBody struct {
	Token *string `json:"token"`
}

func (b *tokenBody) validate() error {
	if b.Token == nil {
		return missing("token")
	}
	return nil
}

// login checks the credentials with the broker (its throttling included,
// keyed by the caller's address) and issues an access token.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	var body loginBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	s := h.b.NewStatelessSession(r.RemoteAddr, broker.TransportHTTP)
	defer h.b.CloseSession(s)
	uid, err := h.b.Login(s, *body.Username, *body.Password)
	if err != nil {
		writeError(w, err)
		return
	}
	h.writeIdentity(w, uid)
}

func (h *Handler) loginWithPAT(w http.ResponseWriter, r *http.Request) {
	var body tokenBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	s := h.b.NewStatelessSession(r.RemoteAddr, broker.TransportHTTP)
	defer h.b.CloseSession(s)
	uid, err := h.b.LoginWithToken(s, *body.Token)
	if err != nil {
		writeError(w, err)
		return
	}
	h.writeIdentity(w, uid)
}

func (h *Handler) writeIdentity(w http.ResponseWriter, uid uint32) {
	t := h.tokens.issue(uid)
	writeJSON(w, http.StatusOK, IdentityJSON{UserID: uid, AccessToken: &TokenJSON{Token: t.Token, Expiry: t.Expiry}})
}

// refreshToken exchanges a valid, unexpired token for a new one; the old
// one is revoked, so a token refreshes once.
func (h *Handler) refreshToken(w http.ResponseWriter, r *http.Request) {
	var body tokenBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	if *body.Token == "" {
		writeError(w, iggyErr(codeInvalidAccessToken, "Invalid access token"))
		return
	}
	c, uid, err := h.tokens.verify(*body.Token)
	if err != nil {
		writeError(w, iggyErr(iggyproto.CodeUnauthenticated, "Unauthenticated"))
		return
	}
	if s, err := h.b.StatelessSessionFor(r.RemoteAddr, broker.TransportHTTP, uid); err != nil {
		writeError(w, err)
		return
	} else {
		h.b.CloseSession(s)
	}
	fresh, err := h.tokens.revoke(c.JTI, c.Exp)
	if err != nil {
		h.log.Error("refresh token", "err", err)
		writeError(w, iggyErr(iggyproto.CodeError, "cannot save the revoked token"))
		return
	}
	if !fresh {
		writeError(w, iggyErr(codeInvalidAccessToken, "Invalid access token"))
		return
	}
	h.writeIdentity(w, uid)
}

// logout revokes the caller's token.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	id, _ := r.Context().Value(identityKey{}).(identity)
	if _, err := h.tokens.revoke(id.claims.JTI, id.claims.Exp); err != nil {
		h.log.Error("logout", "err", err)
		writeError(w, iggyErr(iggyproto.CodeError, "cannot save the revoked token"))
		return
	}
	noContent(w)
}

func (h *Handler) getUsers(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	us, err := h.b.GetUsers(s)
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]UserJSON, 0, len(us))
	for _, u := range us {
		out = append(out, userJSON(u))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathGet(w, r, func(ids []iggyproto.Identifier) (any, bool, error) {
		v, found, err := h.b.GetUser(s, ids[0])
		return jsonOf(v, found, userDetailsJSON), found, err
	}, "user_id")
}

// createUserBody is CreateUser.
type createUserBody struct {
	Username    *string          `json:"username"`
	Password    *string          `json:"password"`
	Status      *string          `json:"status"`
	Permissions *PermissionsJSON `json:"permissions"`
	status      broker.UserStatus
	perms       *broker.Permissions
}

func (b *createUserBody) validate() error {
	switch {
	case b.Username == nil:
		return missing("username")
	case b.Password == nil:
		return missing("password")
	case b.Status == nil:
		return missing("status")
	}
	st, err := statusCode(*b.Status)
	if err != nil {
		return err
	}
	b.status = st
	b.perms, err = b.Permissions.toBroker()
	return err
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	var body createUserBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	u, err := h.b.CreateUser(s, *body.Username, *body.Password, body.status, body.perms)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, userDetailsJSON(u))
}

// updateUserBody is UpdateUser: either field may be absent or null.
type updateUserBody struct {
	Username *string `json:"username"`
	Status   *string `json:"status"`
	status   *broker.UserStatus
}

func (b *updateUserBody) validate() error {
	if b.Status != nil {
		st, err := statusCode(*b.Status)
		if err != nil {
			return err
		}
		b.status = &st
	}
	return nil
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	var body updateUserBody
	pathBodyOp(w, r, h.cfg.MaxRequestBody, &body, func(ids []iggyproto.Identifier) error {
		return h.b.UpdateUser(s, ids[0], body.Username, body.status)
	}, "user_id")
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	pathOp(w, r, func(ids []iggyproto.Identifier) error { return h.b.DeleteUser(s, ids[0]) }, "user_id")
}

// permissionsBody is UpdatePermissions; null permissions clear them.
type permissionsBody struct {
	Permissions *PermissionsJSON `json:"permissions"`
	perms       *broker.Permissions
}

func (b *permissionsBody) validate() (err error) {
	b.perms, err = b.Permissions.toBroker()
	return err
}

func (h *Handler) updatePermissions(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	var body permissionsBody
	pathBodyOp(w, r, h.cfg.MaxRequestBody, &body, func(ids []iggyproto.Identifier) error {
		return h.b.UpdatePermissions(s, ids[0], body.perms)
	}, "user_id")
}

// passwordBody is ChangePassword.
type passwordBody struct {
	CurrentPassword *string `json:"current_password"`
	NewPassword     *string `json:"new_password"`
}

func (b *passwordBody) validate() error {
	switch {
	case b.CurrentPassword == nil:
		return missing("current_password")
	case b.NewPassword == nil:
		return missing("new_password")
	}
	return nil
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	var body passwordBody
	pathBodyOp(w, r, h.cfg.MaxRequestBody, &body, func(ids []iggyproto.Identifier) error {
		return h.b.ChangePassword(s, ids[0], *body.CurrentPassword, *body.NewPassword)
	}, "user_id")
}

func (h *Handler) getPATs(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ts, err := h.b.GetPersonalAccessTokens(s)
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]PATJSON, 0, len(ts))
	for _, t := range ts {
		j := PATJSON{Name: t.Name}
		if t.ExpiryAt != 0 {
			e := t.ExpiryAt
			j.ExpiryAt = &e
		}
		out = append(out, j)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

// patBody is CreatePersonalAccessToken; expiry is µs, 0 the server
// default, u64::MAX never.
type patBody struct {
	Name   *string `json:"name"`
	Expiry *uint64 `json:"expiry"`
}

func (b *patBody) validate() error {
	switch {
	case b.Name == nil:
		return missing("name")
	case b.Expiry == nil:
		return missing("expiry")
	}
	return nil
}

func (h *Handler) createPAT(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	var body patBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	tok, err := h.b.CreatePersonalAccessToken(s, *body.Name, *body.Expiry)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, RawPATJSON{Token: tok})
}

func (h *Handler) deletePAT(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	if err := h.b.DeletePersonalAccessToken(s, r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	noContent(w)
}

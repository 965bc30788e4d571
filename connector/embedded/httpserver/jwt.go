package httpserver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// File names in Config.StateDir.
const (
	SecretFile        = "http_jwt_secret"
	RevokedTokensFile = "http_revoked_tokens.json"
)

// maxTokenLen bounds a bearer token before it is decoded.
const maxTokenLen = 8 << 10

// claims are the JWT claims Iggy 0.8.0 issues and checks.
type claims struct {
	JTI string `json:"jti"`
	Iss string `json:"iss"`
	Aud string `json:"aud"`
	Sub string `json:"sub"`
	Iat uint64 `json:"iat"`
	Exp uint64 `json:"exp"`
	Nbf uint64 `json:"nbf"`
}

// errBadToken is any token that fails validation; the caller answers 401.
var errBadToken = errors.New("invalid access token")

// tokens issues and validates access tokens and keeps the revoked ids.
type tokens struct {
	secret []byte
	expiry time.Duration
	skew   time.Duration
	now    func() time.Time
	path   string // revoked tokens file; "" keeps them in memory only

	mu      sync.Mutex
	revoked map[string]uint64 // jti -> exp (s); guarded by mu
}

func newTokens(cfg Config) (*tokens, error) {
	t := &tokens{expiry: cfg.AccessTokenExpiry, skew: cfg.ClockSkew, now: cfg.Now, revoked: map[string]uint64{}}
	switch {
	case cfg.Secret != nil:
		t.secret = cfg.Secret
	case cfg.StateDir != "":
		s, err := loadSecret(filepath.Join(cfg.StateDir, SecretFile))
		if err != nil {
			return nil, err
		}
		t.secret = s
	default:
		t.secret = make([]byte, 32)
		_, _ = rand.Read(t.secret)
	}
	if cfg.StateDir != "" {
		t.path = filepath.Join(cfg.StateDir, RevokedTokensFile)
		if err := t.loadRevoked(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// loadSecret reads the secret at path, creating a random one first.
func loadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("jwt secret %s: %d bytes, want at least 32", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("jwt secret: %w", err)
	}
	b = make([]byte, 64)
	_, _ = rand.Read(b)
	if err := writeAtomic(path, b); err != nil {
		return nil, fmt.Errorf("jwt secret: %w", err)
	}
	return b, nil
}

// writeAtomic replaces path with data (temp file, fsync, rename, fsync of
// the directory), mode 0600.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o600)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return werr
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func (t *tokens) loadRevoked() error {
	b, err := os.ReadFile(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("revoked tokens: %w", err)
	}
	if err := json.Unmarshal(b, &t.revoked); err != nil {
		return fmt.Errorf("revoked tokens %s: %w", t.path, err)
	}
	if t.revoked == nil {
		t.revoked = map[string]uint64{}
	}
	return nil
}

// issued is a new access token.
type issued struct {
	Token  string
	Expiry uint64 // s since the epoch
}

// issue signs a token for userID.
func (t *tokens) issue(userID uint32) issued {
	now := uint64(t.now().Unix())
	c := claims{
		JTI: uuid.Must(uuid.NewV7()).String(),
		Iss: DefaultIssuer,
		Aud: DefaultAudience,
		Sub: strconv.FormatUint(uint64(userID), 10),
		Iat: now,
		Exp: now + uint64(t.expiry/time.Second),
		Nbf: now,
	}
	body, _ := json.Marshal(c) // plain strings and numbers: cannot fail
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	return issued{Token: signing + "." + t.sign(signing), Expiry: c.Exp}
}

// jwtHeader is the encoded {"typ":"JWT","alg":"HS256"}.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))

func (t *tokens) sign(s string) string {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(s))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verify checks the token's form, algorithm, signature, issuer, audience
// and expiry (with the clock skew), and that it is not revoked; it
// returns the claims and the user id.
func (t *tokens) verify(token string) (claims, uint32, error) {
	var c claims
	if token == "" || len(token) > maxTokenLen {
		return c, 0, errBadToken
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, 0, errBadToken
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return c, 0, errBadToken
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &h) != nil || h.Alg != "HS256" {
		return c, 0, errBadToken
	}
	want := t.sign(parts[0] + "." + parts[1])
	if !hmac.Equal([]byte(want), []byte(parts[2])) {
		return c, 0, errBadToken
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(body, &c) != nil {
		return c, 0, errBadToken
	}
	if c.Iss != DefaultIssuer || c.Aud != DefaultAudience || c.JTI == "" {
		return c, 0, errBadToken
	}
	now := uint64(t.now().Unix())
	if c.Exp+uint64(t.skew/time.Second) <= now {
		return c, 0, errBadToken
	}
	uid, err := strconv.ParseUint(c.Sub, 10, 32)
	if err != nil {
		return c, 0, errBadToken
	}
	t.mu.Lock()
	_, revoked := t.revoked[c.JTI]
	t.mu.Unlock()
	if revoked {
		return c, 0, errBadToken
	}
	return c, uint32(uid), nil
}

// revoke records jti as revoked until exp; it reports false when it was
// already revoked. Expired entries are dropped on the way, and the set is
// persisted when a state directory is configured.
func (t *tokens) revoke(jti string, exp uint64) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.revoked[jti]; ok {
		return false, nil
	}
	now := uint64(t.now().Unix())
	for id, e := range t.revoked {
		if e+uint64(t.skew/time.Second) <= now {
			delete(t.revoked, id)
		}
	}
	t.revoked[jti] = exp
	if t.path == "" {
		return true, nil
	}
	b, _ := json.Marshal(t.revoked)
	if err := writeAtomic(t.path, b); err != nil {
		delete(t.revoked, jti)
		return false, fmt.Errorf("save revoked tokens: %w", err)
	}
	return true, nil
}

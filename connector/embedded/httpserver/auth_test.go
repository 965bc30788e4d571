package httpserver

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestLoginReturnsIggyIdentityAndClaims(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/users/login", "", `{"username":"iggy","password":"iggy","version":"0.8.0","context":"test"}`).expect(t, 200)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	if string(raw["user_id"]) != "0" {
		t.Fatalf("user_id %s, want 0", raw["user_id"])
	}
	id := decode[IdentityJSON](t, r)
	now := uint64(e.clock.now().Unix())
	if id.AccessToken.Expiry != now+3600 {
		t.Fatalf("expiry %d, want now+3600 = %d", id.AccessToken.Expiry, now+3600)
	}
	parts := strings.Split(id.AccessToken.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", id.AccessToken.Token)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if !strings.Contains(string(hdr), `"alg":"HS256"`) {
		t.Fatalf("header %s", hdr)
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"iss": "iggy.apache.org", "aud": "iggy.apache.org", "sub": "0",
		"iat": float64(now), "nbf": float64(now), "exp": float64(now + 3600)} {
		if c[k] != want {
			t.Errorf("claim %s = %v, want %v", k, c[k], want)
		}
	}
	if jti, _ := c["jti"].(string); len(jti) != 36 {
		t.Errorf("jti %v is not a UUID", c["jti"])
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/users/login", "", `{"username":"iggy","password":"nope"}`).iggyError(t, 400, 42, "invalid_credentials")
	e.do("POST", "/users/login", "", `{"username":"ghost","password":"nope"}`).iggyError(t, 400, 42, "invalid_credentials")
	e.do("POST", "/users/login", "", `{"username":"ig","password":"nope"}`).iggyError(t, 400, 43, "invalid_username")
	e.do("POST", "/users/login", "", `{"username":"iggy"}`).expect(t, 422)
	e.do("POST", "/users/login", "", `{"username":`).expect(t, 400)
}

func TestBearerRequired(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	for _, c := range []struct{ name, auth string }{
		{"none", ""}, {"garbage", "garbage"}, {"tampered", tok[:len(tok)-2] + "xx"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("GET", "/streams", c.auth, nil).expect(t, 401)
			if len(r.body) != 0 {
				t.Fatalf("401 body %q, want empty as Iggy's middleware", r.body)
			}
		})
	}
	// A token signed with another secret.
	other := newEnv(t)
	e.do("GET", "/streams", other.root(), nil).expect(t, 401)
	// A scheme other than Bearer.
	req := e.do("GET", "/streams", "", nil)
	req.expect(t, 401)
	e.do("GET", "/streams", tok, nil).expect(t, 200)
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	e.do("GET", "/nope", "", nil).expect(t, 401) // authentication runs first
	r := e.do("GET", "/nope", tok, nil).expect(t, 404)
	if len(r.body) != 0 {
		t.Fatalf("404 body %q, want empty", r.body)
	}
	r = e.do("PATCH", "/streams", tok, `{}`).expect(t, 405)
	if len(r.body) != 0 {
		t.Fatalf("405 body %q, want empty", r.body)
	}
}

func TestTokenExpiry(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	e.clock.advance(time.Hour) // expiry reached, within the 5 s skew
	e.do("GET", "/streams", tok, nil).expect(t, 200)
	e.clock.advance(5 * time.Second)
	e.do("GET", "/streams", tok, nil).expect(t, 401)
	e.do("POST", "/users/refresh-token", "", map[string]string{"token": tok}).iggyError(t, 401, 40, "unauthenticated")
}

func TestCustomExpiry(t *testing.T) {
	e := newEnvCfg(t, Config{AccessTokenExpiry: time.Minute, ClockSkew: -1})
	tok := e.root()
	e.clock.advance(59 * time.Second)
	e.do("GET", "/streams", tok, nil).expect(t, 200)
	e.clock.advance(time.Second)
	e.do("GET", "/streams", tok, nil).expect(t, 401)
}

func TestLogoutRevokes(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	other := e.root()
	e.do("DELETE", "/users/logout", tok, nil).expect(t, 204)
	e.do("GET", "/streams", tok, nil).expect(t, 401)
	e.do("GET", "/streams", other, nil).expect(t, 200)
	// Revocation survives a restart (the state dir keeps it), and so does
	// the signing secret.
	e.restart()
	e.do("GET", "/streams", tok, nil).expect(t, 401)
	e.do("GET", "/streams", other, nil).expect(t, 200)
}

func TestRefreshOnce(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	e.clock.advance(time.Minute)
	r := e.do("POST", "/users/refresh-token", "", map[string]string{"token": tok}).expect(t, 200)
	fresh := decode[IdentityJSON](t, r)
	if fresh.AccessToken.Token == tok || fresh.AccessToken.Expiry != uint64(e.clock.now().Unix())+3600 {
		t.Fatalf("refresh gave %+v", fresh.AccessToken)
	}
	e.do("GET", "/streams", fresh.AccessToken.Token, nil).expect(t, 200)
	e.do("GET", "/streams", tok, nil).expect(t, 401)
	e.do("POST", "/users/refresh-token", "", map[string]string{"token": tok}).expect(t, 401)
	e.do("POST", "/users/refresh-token", "", map[string]string{"token": ""}).iggyError(t, 401, 78, "invalid_access_token")
}

func TestDeletedUserTokenDies(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	e.do("POST", "/users", root, map[string]any{"username": "alice", "password": "secret", "status": "active",
		"permissions": map[string]any{"global": map[string]bool{"read_streams": true}}}).expect(t, 200)
	alice := e.login("alice", "secret")
	e.do("GET", "/streams", alice, nil).expect(t, 200)
	e.do("DELETE", "/users/alice", root, nil).expect(t, 204)
	e.do("GET", "/streams", alice, nil).iggyError(t, 401, 40, "unauthenticated")
}

func TestPublicRoutes(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/ping", "", nil).expect(t, 200); string(r.body) != "pong" {
		t.Fatalf("/ping %q", r.body)
	}
	if r := e.do("GET", "/", "", nil).expect(t, 200); string(r.body) != "Iggy API" {
		t.Fatalf("/ %q", r.body)
	}
}

package httpserver

import (
	"net/http"
	"strings"
	"testing"
)

func TestPermissionDenials(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	e.mkTopic(root, "s", "t", 1)
	e.do("POST", "/users", root, map[string]any{"username": "nobody", "password": "secret", "status": "active", "permissions": nil}).expect(t, 200)
	e.do("POST", "/users", root, map[string]any{"username": "reader", "password": "secret", "status": "active",
		"permissions": map[string]any{"global": map[string]bool{"read_streams": true}}}).expect(t, 200)
	e.do("POST", "/users", root, map[string]any{"username": "sender", "password": "secret", "status": "active",
		"permissions": map[string]any{"global": map[string]bool{},
			"streams": map[string]any{"0": map[string]any{"send_messages": true}}}}).expect(t, 200)
	nobody, reader, sender := e.login("nobody", "secret"), e.login("reader", "secret"), e.login("sender", "secret")
	send := `{"partitioning":{"kind":"balanced","value":""},"messages":[{"payload":"eA=="}]}`

	e.do("GET", "/streams", nobody, nil).iggyError(t, 403, 41, "unauthorized")
	e.do("POST", "/streams/s/topics/t/messages", nobody, send).iggyError(t, 403, 41, "unauthorized")
	e.do("GET", "/users", nobody, nil).iggyError(t, 403, 41, "unauthorized")
	e.do("GET", "/stats", nobody, nil).iggyError(t, 403, 41, "unauthorized")

	e.do("GET", "/streams", reader, nil).expect(t, 200)
	e.do("GET", "/streams/s/topics/t/messages", reader, nil).expect(t, 200)
	e.do("POST", "/streams", reader, map[string]any{"name": "x1"}).iggyError(t, 403, 41, "unauthorized")
	e.do("POST", "/streams/s/topics/t/messages", reader, send).iggyError(t, 403, 41, "unauthorized")

	e.do("POST", "/streams/s/topics/t/messages", sender, send).expect(t, 201)
	e.do("GET", "/streams/s/topics/t/messages", sender, nil).iggyError(t, 403, 41, "unauthorized")

	// Permissions change at once for live tokens: the session is built per request.
	e.do("PUT", "/users/nobody/permissions", root, map[string]any{"permissions": map[string]any{
		"global": map[string]bool{"read_streams": true}}}).expect(t, 204)
	e.do("GET", "/streams", nobody, nil).expect(t, 200)
	if got := decode[[]StreamJSON](t, e.do("GET", "/streams", root, nil)); len(got) != 1 {
		t.Fatalf("a denied request stored: %+v", got)
	}
}

func TestUsersCRUD(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	r := e.do("POST", "/users", root, map[string]any{"username": "alice", "password": "secret", "status": "active",
		"permissions": map[string]any{"global": map[string]bool{"manage_streams": true},
			"streams": map[string]any{"3": map[string]any{"read_stream": true, "topics": map[string]any{"1": map[string]bool{"poll_messages": true}}}}}}).expect(t, 200)
	u := decode[UserDetailsJSON](t, r)
	if u.Username != "alice" || u.Status != "active" || u.Permissions == nil || !u.Permissions.Global.ManageStreams ||
		u.Permissions.Streams["3"] == nil || !u.Permissions.Streams["3"].Topics["1"].PollMessages {
		t.Fatalf("created %s", r.body)
	}
	e.do("POST", "/users", root, map[string]any{"username": "alice", "password": "secret", "status": "active"}).
		iggyError(t, 400, 46, "user_already_exists")
	e.do("POST", "/users", root, map[string]any{"username": "bob", "password": "secret", "status": "asleep"}).expect(t, 422)
	e.do("POST", "/users", root, map[string]any{"username": "bob", "password": "secret", "status": "active",
		"permissions": map[string]any{"global": map[string]bool{}, "streams": map[string]any{"x": map[string]bool{}}}}).expect(t, 422)
	us := decode[[]UserJSON](t, e.do("GET", "/users", root, nil).expect(t, 200))
	if len(us) != 2 || us[0].ID != 0 || us[1].Username != "alice" {
		t.Fatalf("users %+v", us)
	}
	e.do("GET", "/users/alice", root, nil).expect(t, 200)
	e.do("GET", "/users/99", root, nil).iggyError(t, 404, 404, "not_found")
	e.do("PUT", "/users/alice", root, map[string]any{"username": "alicia", "status": "inactive"}).expect(t, 204)
	got := decode[UserDetailsJSON](t, e.do("GET", "/users/alicia", root, nil).expect(t, 200))
	if got.Status != "inactive" {
		t.Fatalf("updated %+v", got)
	}
	e.do("POST", "/users/login", "", map[string]string{"username": "alicia", "password": "secret"}).iggyError(t, 400, 47, "user_inactive")
	e.do("PUT", "/users/alicia", root, map[string]any{"status": "active"}).expect(t, 204)
	alicia := e.login("alicia", "secret")
	e.do("PUT", "/users/alicia/password", alicia, map[string]string{"current_password": "wrong", "new_password": "better"}).expect(t, 400)
	e.do("PUT", "/users/alicia/password", alicia, map[string]string{"current_password": "secret", "new_password": "better"}).expect(t, 204)
	e.login("alicia", "better")
	e.do("PUT", "/users/alicia/permissions", root, map[string]any{"permissions": nil}).expect(t, 204)
	if p := decode[UserDetailsJSON](t, e.do("GET", "/users/alicia", root, nil)); p.Permissions != nil {
		t.Fatalf("permissions not cleared: %+v", p.Permissions)
	}
	e.do("DELETE", "/users/0", root, nil).iggyError(t, 400, 48, "cannot_delete_user")
	e.do("DELETE", "/users/alicia", root, nil).expect(t, 204)
	e.do("GET", "/users/alicia", root, nil).expect(t, 404)
}

func TestPersonalAccessTokens(t *testing.T) {
	e := newEnv(t)
	root := e.root()
	r := e.do("POST", "/personal-access-tokens", root, map[string]any{"name": "ci-token", "expiry": 0}).expect(t, 200)
	raw := decode[RawPATJSON](t, r)
	if raw.Token == "" {
		t.Fatalf("no token: %s", r.body)
	}
	e.do("POST", "/personal-access-tokens", root, map[string]any{"name": "ci-token", "expiry": 0}).iggyError(t, 400, 51, "personal_access_token_already_exists")
	e.do("POST", "/personal-access-tokens", root, map[string]any{"name": "ttl", "expiry": 60_000_000}).expect(t, 200)
	ps := decode[[]PATJSON](t, e.do("GET", "/personal-access-tokens", root, nil).expect(t, 200))
	if len(ps) != 2 || ps[0].Name != "ci-token" || ps[1].Name != "ttl" || ps[1].ExpiryAt == nil {
		t.Fatalf("tokens %s", e.do("GET", "/personal-access-tokens", root, nil).body)
	}
	id := decode[IdentityJSON](t, e.do("POST", "/personal-access-tokens/login", "", map[string]string{"token": raw.Token}).expect(t, 200))
	if id.UserID != 0 || id.AccessToken == nil {
		t.Fatalf("PAT login %+v", id)
	}
	e.do("GET", "/streams", id.AccessToken.Token, nil).expect(t, 200)
	e.do("POST", "/personal-access-tokens/login", "", map[string]string{"token": "nope"}).iggyError(t, 404, 20, "resource_not_found")
	e.do("DELETE", "/personal-access-tokens/ci-token", root, nil).expect(t, 204)
	e.do("POST", "/personal-access-tokens/login", "", map[string]string{"token": raw.Token}).expect(t, 404)
}

func TestSystemRoutes(t *testing.T) {
	e := newEnvCfg(t, Config{Cluster: ClusterInfo{IP: "127.0.0.1", TCPPort: 8090, HTTPPort: 3000}})
	root := e.root()
	r := e.do("GET", "/stats", root, nil).expect(t, 200)
	for _, k := range []string{`"process_id":`, `"streams_count":0`, `"iggy_server_version":`, `"memory_usage":"`, `"cache_metrics":{}`} {
		if !strings.Contains(string(r.body), k) {
			t.Errorf("stats lacks %s: %s", k, r.body)
		}
	}
	cm := decode[ClusterMetadataJSON](t, e.do("GET", "/cluster/metadata", root, nil).expect(t, 200))
	if len(cm.Nodes) != 1 || cm.Nodes[0].Endpoints.TCP != 8090 || cm.Nodes[0].Endpoints.HTTP != 3000 || cm.Nodes[0].Role != "leader" {
		t.Fatalf("cluster %+v", cm)
	}
	// HTTP requests are stateless: they are not clients. A TCP-like session is.
	s := e.b.NewSession("127.0.0.1:5000", 1)
	defer e.b.CloseSession(s)
	cs := decode[[]ClientJSON](t, e.do("GET", "/clients", root, nil).expect(t, 200))
	if len(cs) != 1 || cs[0].ClientID != s.ID() || cs[0].Transport != "tcp" || cs[0].UserID != nil {
		t.Fatalf("clients %+v", cs)
	}
	e.do("GET", "/clients/"+itoa(s.ID()), root, nil).expect(t, 200)
	e.do("GET", "/clients/4000000000", root, nil).expect(t, 404)
	e.do("GET", "/clients/x", root, nil).expect(t, 400)
}

func TestRustokRoutesOnTheSameListener(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("healthy")) })
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("# metrics")) })
	e := newEnvCfg(t, Config{Rustok: mux})
	if r := e.do("GET", "/health", "", nil).expect(t, 200); string(r.body) != "healthy" {
		t.Fatalf("/health %q", r.body)
	}
	if r := e.do("GET", "/metrics", "", nil).expect(t, 200); string(r.body) != "# metrics" {
		t.Fatalf("/metrics %q", r.body)
	}
	plain := newEnv(t)
	plain.do("GET", "/metrics", "", nil).expect(t, 404)
}

func TestCORS(t *testing.T) {
	e := newEnvCfg(t, Config{CORS: DefaultCORS()})
	req, _ := http.NewRequest("OPTIONS", e.srv.URL+"/streams", nil)
	req.Header.Set("Origin", "http://ui.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "DELETE") ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "authorization") {
		t.Fatalf("preflight %d %v", res.StatusCode, res.Header)
	}
	r := e.doOrigin("GET", "/ping", "http://ui.example")
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("simple request headers %v", r.header)
	}
	strict := newEnvCfg(t, Config{CORS: CORSConfig{Enabled: true, AllowedOrigins: []string{"http://ok.example"},
		AllowedMethods: []string{"GET"}, AllowCredentials: true}})
	if r := strict.doOrigin("GET", "/ping", "http://evil.example"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin allowed: %v", r.header)
	}
	if r := strict.doOrigin("GET", "/ping", "http://ok.example"); r.header.Get("Access-Control-Allow-Origin") != "http://ok.example" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin headers %v", r.header)
	}
	if _, err := New(nil, Config{CORS: CORSConfig{Enabled: true, AllowedOrigins: []string{"*"}, AllowCredentials: true}}); err == nil {
		t.Fatal("credentials with origin * accepted")
	}
}

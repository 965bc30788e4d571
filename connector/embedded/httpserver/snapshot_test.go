package httpserver

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/rustok/rustok-iggy/connector/embedded/server"
)

// snapshotZip opens a POST /snapshot answer and returns its entries'
// names, zip methods and contents, in archive order.
func snapshotZip(t *testing.T, r resp) (names []string, methods []uint16, bodies map[string]string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(r.body), int64(len(r.body)))
	if err != nil {
		t.Fatalf("snapshot is no zip: %v (%d bytes)", err, len(r.body))
	}
	zr.RegisterDecompressor(zstd.ZipMethodWinZip, zstd.ZipDecompressor())
	bodies = map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open %s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", f.Name, err)
		}
		names = append(names, f.Name)
		methods = append(methods, f.Method)
		bodies[f.Name] = string(b)
	}
	return names, methods, bodies
}

func TestSnapshotZip(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	// What the Rust SDK's HTTP client sends: serde's variant names.
	r := e.do("POST", "/snapshot", tok, `{"compression":"Deflated","snapshot_types":["Test","ServerConfig","ProcessList"]}`).expect(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/zip" {
		t.Fatalf("Content-Type %q", ct)
	}
	want := `attachment; filename="iggy_snapshot_` + e.clock.now().Local().Format("20060102_150405") + `.zip"`
	if cd := r.header.Get("Content-Disposition"); cd != want {
		t.Fatalf("Content-Disposition %q, want %q", cd, want)
	}
	names, methods, bodies := snapshotZip(t, r)
	if !slices.Equal(names, []string{"test.txt", "server_config.txt", "process_list.txt"}) {
		t.Fatalf("entries %v", names)
	}
	for i, m := range methods {
		if m != zip.Deflate {
			t.Fatalf("entry %s method %d, want deflate", names[i], m)
		}
	}
	if bodies["test.txt"] != "test\n" {
		t.Fatalf("test.txt %q", bodies["test.txt"])
	}
	cfg := bodies["server_config.txt"]
	for _, s := range []string{"[broker]", "data_dir = " + quote(e.dir), "[tcp]\nenabled = false\n", "[http]", "[http.jwt]",
		`access_token_expiry = "1h0m0s"`, "[http.cors]", "[system]"} {
		if !strings.Contains(cfg, s) {
			t.Fatalf("server_config.txt lacks %q:\n%s", s, cfg)
		}
	}
	if strings.Contains(cfg, `root_password = "iggy"`) {
		t.Fatalf("server_config.txt shows the root password:\n%s", cfg)
	}
}

func quote(s string) string { return `"` + s + `"` }

func TestSnapshotCompressionsAndAll(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	for _, c := range []struct {
		body   string
		names  []string
		method uint16
	}{
		{`{"compression":"Stored","snapshot_types":["Test"]}`, []string{"test.txt"}, zip.Store},
		{`{"compression":"Zstd","snapshot_types":["Test"]}`, []string{"test.txt"}, zstd.ZipMethodWinZip},
		// No bzip2, lzma or xz encoder: deflated, as over TCP.
		{`{"compression":"Xz","snapshot_types":["Test"]}`, []string{"test.txt"}, zip.Deflate},
		// serde_json also reads a unit variant as a one-key map to null.
		{`{"compression":{"Stored":null},"snapshot_types":[{"Test":null}]}`, []string{"test.txt"}, zip.Store},
		{`{"compression":"Stored","snapshot_types":["All"]}`, []string{"filesystem_overview.txt", "process_list.txt",
			"resource_usage.txt", "server_logs.txt", "server_config.txt"}, zip.Store},
		{`{"compression":"Stored","snapshot_types":[],"ignored":1}`, nil, zip.Store},
	} {
		t.Run(c.body, func(t *testing.T) {
			names, methods, _ := snapshotZip(t, e.do("POST", "/snapshot", tok, c.body).expect(t, 200))
			if !slices.Equal(names, c.names) {
				t.Fatalf("entries %v, want %v", names, c.names)
			}
			for i, m := range methods {
				if m != c.method {
					t.Fatalf("entry %s method %d, want %d", names[i], m, c.method)
				}
			}
		})
	}
}

func TestSnapshotRejections(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	for _, body := range []string{
		`{"compression":"Deflated","snapshot_types":["All","Test"]}`,
		`{"compression":"Deflated","snapshot_types":["Test","All"]}`,
	} {
		eb := e.do("POST", "/snapshot", tok, body).iggyError(t, 400, 3, "invalid_command")
		if eb.Field != nil {
			t.Fatalf("%s: field %q, want null", body, *eb.Field)
		}
	}
	for _, c := range []struct {
		body   string
		status int
	}{
		{`{"compression":"Deflated","snapshot_types":["Test"]`, 400}, // not JSON
		{`not json`, 400},
		{`{"snapshot_types":["Test"]}`, 422}, // no default for either field
		{`{"compression":"Deflated"}`, 422},
		{`{"compression":"deflated","snapshot_types":["Test"]}`, 422}, // variant names are case-sensitive
		{`{"compression":2,"snapshot_types":["Test"]}`, 422},          // not the wire code
		{`{"compression":"Deflated","snapshot_types":[4]}`, 422},
		{`{"compression":"Deflated","snapshot_types":["Everything"]}`, 422},
		{`{"compression":"Deflated","snapshot_types":"Test"}`, 422},
		{`{"compression":{"Stored":1},"snapshot_types":["Test"]}`, 422},
		{`{"compression":{"Stored":null,"Zstd":null},"snapshot_types":["Test"]}`, 422},
	} {
		if r := e.do("POST", "/snapshot", tok, c.body); r.status != c.status || len(r.body) == 0 {
			t.Errorf("%s: status %d %q, want %d with a reason", c.body, r.status, r.body, c.status)
		}
	}
	e.doCT("POST", "/snapshot", tok, "", `{"compression":"Deflated","snapshot_types":["Test"]}`).expect(t, 415)
	e.do("GET", "/snapshot", tok, nil).expect(t, 405)
}

// TestSnapshotAuth: a token is needed (a bare 401 without one), and no
// permission, as in Iggy.
func TestSnapshotAuth(t *testing.T) {
	e := newEnv(t)
	body := `{"compression":"Deflated","snapshot_types":["Test"]}`
	for _, tok := range []string{"", "not-a-jwt"} {
		if r := e.do("POST", "/snapshot", tok, body).expect(t, 401); len(r.body) != 0 {
			t.Fatalf("401 with body %q", r.body)
		}
	}
	root := e.root()
	e.mkTopic(root, "secret", "t", 1)
	e.do("POST", "/users", root, map[string]any{"username": "nobody", "password": "secret", "status": "active"}).expect(t, 200)
	nobody := e.login("nobody", "secret")
	e.do("GET", "/stats", nobody, nil).iggyError(t, 403, 41, "unauthorized")
	names, _, bodies := snapshotZip(t, e.do("POST", "/snapshot", nobody, `{"compression":"Deflated","snapshot_types":["Test","ResourceUsage"]}`).expect(t, 200))
	if !slices.Equal(names, []string{"test.txt", "resource_usage.txt"}) {
		t.Fatalf("entries %v", names)
	}
	if ru := bodies["resource_usage.txt"]; strings.Contains(ru, "secret") || !strings.Contains(ru, "lacks the read_streams permission") {
		t.Fatalf("resource_usage.txt for a user without permissions:\n%s", ru)
	}
	_, _, bodies = snapshotZip(t, e.do("POST", "/snapshot", root, `{"compression":"Deflated","snapshot_types":["ResourceUsage"]}`).expect(t, 200))
	if !strings.Contains(bodies["resource_usage.txt"], `"secret": 1 topics`) {
		t.Fatalf("resource_usage.txt for root lists no stream:\n%s", bodies["resource_usage.txt"])
	}
}

// TestSnapshotReportsTCP: with Config.TCP, server_config reports the TCP
// listener's settings and bound address, as the TCP answer does.
func TestSnapshotReportsTCP(t *testing.T) {
	e := newEnv(t)
	tok := e.root()
	srv, err := server.New(e.b, server.Config{Addr: "127.0.0.1:0", MaxConnections: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	h, err := New(e.b, Config{StateDir: e.dir, TCP: srv, Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/snapshot", strings.NewReader(`{"compression":"Stored","snapshot_types":["ServerConfig"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	_, _, bodies := snapshotZip(t, resp{status: rec.Code, body: rec.Body.Bytes(), header: rec.Header()})
	cfg := bodies["server_config.txt"]
	for _, s := range []string{"bound_address = " + quote(srv.Addr().String()), "max_connections = 7", "[http]"} {
		if !strings.Contains(cfg, s) {
			t.Fatalf("server_config.txt lacks %q:\n%s", s, cfg)
		}
	}
	if strings.Contains(cfg, "enabled = false\n\n[http]") {
		t.Fatalf("server_config.txt reports the TCP listener off:\n%s", cfg)
	}
}

package embedded_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/embedded/httpserver"
)

// serveHTTP sends one request to h and returns the recorded answer.
func serveHTTP(h http.Handler, method, path, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// snapshotConfig takes a ServerConfig snapshot over h as root and returns
// its server_config.txt.
func snapshotConfig(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := serveHTTP(h, "POST", "/users/login", "", `{"username":"iggy","password":"iggy"}`)
	var id struct {
		AccessToken struct{ Token string } `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &id); err != nil || id.AccessToken.Token == "" {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	rec = serveHTTP(h, "POST", "/snapshot", id.AccessToken.Token, `{"compression":"Deflated","snapshot_types":["ServerConfig"]}`)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/zip" {
		t.Fatalf("POST /snapshot: %d %s", rec.Code, rec.Body)
	}
	zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	if err != nil || len(zr.File) != 1 {
		t.Fatalf("snapshot zip: %v", err)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHTTPHandlerSnapshotReportsListener: the handler HTTPHandler returns
// reports the broker's own TCP listener in a snapshot, and none when the
// broker has none.
func TestHTTPHandlerSnapshotReportsListener(t *testing.T) {
	b := open(t, embedded.Config{TCPAddr: "127.0.0.1:0"})
	h, err := b.HTTPHandler(httpserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := snapshotConfig(t, h); !strings.Contains(cfg, `bound_address = "`+b.TCPAddr()+`"`) {
		t.Fatalf("server_config.txt lacks the TCP listener %s:\n%s", b.TCPAddr(), cfg)
	}

	nb := open(t, embedded.Config{})
	nh, err := nb.HTTPHandler(httpserver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := snapshotConfig(t, nh); !strings.Contains(cfg, "[tcp]\nenabled = false\n") {
		t.Fatalf("server_config.txt without a TCP listener:\n%s", cfg)
	}
}

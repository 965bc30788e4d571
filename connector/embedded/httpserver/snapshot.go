package httpserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/server"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// enumVariant is a serde enum variant's name and its wire code.
type enumVariant struct {
	name string
	code uint8
}

// snapshotCompressions are iggy_common's SnapshotCompression variants,
// as serde names them (no rename), with their wire codes.
var snapshotCompressions = []enumVariant{
	{"Stored", server.SnapshotStored}, {"Deflated", server.SnapshotDeflated}, {"Bzip2", server.SnapshotBzip2},
	{"Zstd", server.SnapshotZstd}, {"Lzma", server.SnapshotLzma}, {"Xz", server.SnapshotXz},
}

// snapshotTypes are iggy_common's SystemSnapshotType variants, as serde
// names them (no rename), with their wire codes.
var snapshotTypes = []enumVariant{
	{"FilesystemOverview", server.SnapshotFilesystemOverview}, {"ProcessList", server.SnapshotProcessList},
	{"ResourceUsage", server.SnapshotResourceUsage}, {"Test", server.SnapshotTest},
	{"ServerLogs", server.SnapshotServerLogs}, {"ServerConfig", server.SnapshotServerConfig}, {"All", server.SnapshotAll},
}

// variant is a unit variant of a serde enum: "Name", or {"Name": null}
// (serde_json reads both).
type variant string

// UnmarshalJSON reads a unit variant as serde_json does.
func (v *variant) UnmarshalJSON(p []byte) error {
	p = bytes.TrimSpace(p)
	switch {
	case len(p) > 0 && p[0] == '"':
		var s string
		if err := json.Unmarshal(p, &s); err != nil {
			return err
		}
		*v = variant(s)
		return nil
	case len(p) > 0 && p[0] == '{':
		var m map[string]json.RawMessage
		if err := json.Unmarshal(p, &m); err != nil {
			return err
		}
		if len(m) != 1 {
			return fmt.Errorf("invalid length %d, expected map with a single key", len(m))
		}
		for k, val := range m {
			if string(bytes.TrimSpace(val)) != "null" {
				return fmt.Errorf("invalid type: %s, expected unit variant %s", jsonKind(val), k)
			}
			*v = variant(k)
		}
		return nil
	}
	return fmt.Errorf("invalid type: %s, expected variant identifier", jsonKind(p))
}

// jsonKind names the kind of a JSON value, in serde's words.
func jsonKind(p []byte) string {
	p = bytes.TrimSpace(p)
	if len(p) == 0 {
		return "nothing"
	}
	switch p[0] {
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean `" + string(p) + "`"
	case '[':
		return "sequence"
	case '{':
		return "map"
	case '"':
		return "string"
	}
	return "number `" + string(p) + "`"
}

// snapshotBody is iggy_common's GetSnapshot: both fields are required
// (serde has no default for them), the enums are their variant names.
type snapshotBody struct {
	Compression   *variant   `json:"compression"`
	SnapshotTypes *[]variant `json:"snapshot_types"`

	// Decoded by validate.
	req iggyproto.GetSnapshotFile
}

func (b *snapshotBody) validate() error {
	switch {
	case b.Compression == nil:
		return missing("compression")
	case b.SnapshotTypes == nil:
		return missing("snapshot_types")
	}
	c, ok := variantCode(snapshotCompressions, *b.Compression)
	if !ok {
		return unknownVariant("compression", *b.Compression, snapshotCompressions)
	}
	b.req = iggyproto.GetSnapshotFile{Compression: c, Types: make([]uint8, 0, len(*b.SnapshotTypes))}
	for i, v := range *b.SnapshotTypes {
		t, ok := variantCode(snapshotTypes, v)
		if !ok {
			return unknownVariant("snapshot_types["+strconv.Itoa(i)+"]", v, snapshotTypes)
		}
		b.req.Types = append(b.req.Types, t)
	}
	return nil
}

func variantCode(table []enumVariant, v variant) (uint8, bool) {
	for _, e := range table {
		if e.name == string(v) {
			return e.code, true
		}
	}
	return 0, false
}

func unknownVariant(field string, v variant, table []enumVariant) error {
	names := make([]string, len(table))
	for i, e := range table {
		names[i] = "`" + e.name + "`"
	}
	return fmt.Errorf("%s: unknown variant `%s`, expected one of %s", field, string(v), strings.Join(names, ", "))
}

// SnapshotFilenameLayout is the time layout of a snapshot's file name,
// "iggy_snapshot_" + local time + ".zip", as Iggy 0.8.0 names it.
const SnapshotFilenameLayout = "20060102_150405"

// getSnapshot serves POST /snapshot {"compression", "snapshot_types"}:
// the zip of server.Snapshot (the archive GetSnapshotFile answers over
// TCP), as application/zip with Content-Disposition attachment
// iggy_snapshot_<local time>.zip. Any logged-in user may take one, as in
// Iggy; "All" beside another type is InvalidCommand (400).
func (h *Handler) getSnapshot(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	var body snapshotBody
	if !readJSON(w, r, h.cfg.MaxRequestBody, &body) {
		return
	}
	now := h.cfg.Now()
	zipped, err := server.Snapshot(h.b, s, body.req, server.SnapshotOptions{TCP: h.cfg.TCP, Sections: h.snapshotSections(), Now: now})
	if err != nil {
		writeError(w, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/zip")
	hd.Set("Content-Disposition", `attachment; filename="iggy_snapshot_`+now.Local().Format(SnapshotFilenameLayout)+`.zip"`)
	hd.Set("Content-Length", strconv.Itoa(len(zipped)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(zipped)
}

// snapshotSections renders this handler's settings for the snapshot's
// server_config entry (no secrets: the signing key is not printed).
func (h *Handler) snapshotSections() string {
	c := h.cfg
	var b strings.Builder
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s = %v\n", k, v) }
	b.WriteString("\n[http]\n")
	kv("port", c.Cluster.HTTPPort)
	kv("state_dir", strconv.Quote(c.StateDir))
	kv("max_request_body", c.MaxRequestBody)
	kv("max_send_body", c.MaxSendBody)
	b.WriteString("\n[http.jwt]\n")
	kv("algorithm", strconv.Quote("HS256"))
	kv("issuer", strconv.Quote(DefaultIssuer))
	kv("audience", strconv.Quote(DefaultAudience))
	kv("access_token_expiry", strconv.Quote(c.AccessTokenExpiry.String()))
	kv("clock_skew", strconv.Quote(c.ClockSkew.String()))
	b.WriteString("\n[http.cors]\n")
	kv("enabled", c.CORS.Enabled)
	kv("allowed_origins", quoteList(c.CORS.AllowedOrigins))
	kv("allowed_methods", quoteList(c.CORS.AllowedMethods))
	kv("allowed_headers", quoteList(c.CORS.AllowedHeaders))
	kv("exposed_headers", quoteList(c.CORS.ExposedHeaders))
	kv("allow_credentials", c.CORS.AllowCredentials)
	kv("allow_private_network", c.CORS.AllowPrivateNetwork)
	return b.String()
}

// quoteList writes ss as a TOML array of strings.
func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

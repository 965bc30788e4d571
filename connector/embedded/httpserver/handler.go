package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
)

// Handler serves Iggy's HTTP API for one broker. It is safe for
// concurrent use and holds no goroutines.
type Handler struct {
	b      *broker.Broker
	cfg    Config
	log    *slog.Logger
	tokens *tokens
	mux    *http.ServeMux
}

var _ http.Handler = (*Handler)(nil)

// publicPaths need no token, as Iggy's (plus rustok's /health).
var publicPaths = map[string]bool{
	"/": true, "/metrics": true, "/ping": true, "/health": true,
	"/users/login": true, "/users/refresh-token": true, "/personal-access-tokens/login": true,
}

// New returns the handler for b. It does not own b. With
// Config.StateDir it reads (or creates) the signing secret and the revoked
// tokens there, and fails when it cannot.
func New(b *broker.Broker, cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	t, err := newTokens(cfg)
	if err != nil {
		return nil, err
	}
	h := &Handler{b: b, cfg: cfg, log: cfg.Logger.With("component", "httpserver"), tokens: t, mux: http.NewServeMux()}
	h.routes()
	return h, nil
}

// ServeHTTP answers CORS preflights, then authenticates every request but
// the public ones (a bare 401 on failure, before routing, as Iggy's
// middleware), then routes it. Unknown routes and methods answer 404 or
// 405 with an empty body.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.CORS.Enabled && h.cors(w, r) {
		return
	}
	if !publicPaths[r.URL.Path] {
		id, ok := h.authenticate(r)
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.mux.ServeHTTP(bodyless{w}, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// bodyless passes headers and status but drops the body (the mux's
// "404 page not found" text; Iggy's 404 and 405 are empty).
type bodyless struct{ http.ResponseWriter }

func (b bodyless) Write(p []byte) (int, error) { return len(p), nil }

type identityKey struct{}

// identity is the authenticated caller of a request.
type identity struct {
	userID uint32
	claims claims
}

func (h *Handler) authenticate(r *http.Request) (identity, bool) {
	v := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(v, "Bearer ")
	if !ok {
		return identity{}, false
	}
	c, uid, err := h.tokens.verify(tok)
	if err != nil {
		return identity{}, false
	}
	return identity{userID: uid, claims: c}, true
}

// authed wraps a route that needs a logged-in caller: it opens a stateless
// broker session for the token's user (401 when the user is gone or
// inactive) and closes it after the route.
func (h *Handler) authed(fn func(w http.ResponseWriter, r *http.Request, s *broker.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := r.Context().Value(identityKey{}).(identity)
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s, err := h.b.StatelessSessionFor(r.RemoteAddr, broker.TransportHTTP, id.userID)
		if err != nil {
			writeError(w, err)
			return
		}
		defer h.b.CloseSession(s)
		fn(w, r, s)
	}
}

// cors applies Config.CORS; it reports true when it answered a preflight.
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) bool {
	c := h.cfg.CORS
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	allowed := ""
	for _, o := range c.AllowedOrigins {
		if o == "*" && !c.AllowCredentials {
			allowed = "*"
			break
		}
		if o == origin || o == "*" {
			allowed = origin
			break
		}
	}
	hd := w.Header()
	hd.Add("Vary", "Origin")
	if allowed == "" {
		return false
	}
	hd.Set("Access-Control-Allow-Origin", allowed)
	if c.AllowCredentials {
		hd.Set("Access-Control-Allow-Credentials", "true")
	}
	if exp := nonEmpty(c.ExposedHeaders); len(exp) > 0 {
		hd.Set("Access-Control-Expose-Headers", strings.Join(exp, ", "))
	}
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	hd.Add("Vary", "Access-Control-Request-Method")
	hd.Add("Vary", "Access-Control-Request-Headers")
	hd.Set("Access-Control-Allow-Methods", strings.Join(c.AllowedMethods, ", "))
	if hs := nonEmpty(c.AllowedHeaders); len(hs) > 0 {
		hd.Set("Access-Control-Allow-Headers", strings.Join(hs, ", "))
	}
	if c.AllowPrivateNetwork && r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		hd.Set("Access-Control-Allow-Private-Network", "true")
	}
	w.WriteHeader(http.StatusOK)
	return true
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// readJSON reads r's body into dst as axum's Json extractor does: 415
// without a JSON content type, 413 over limit bytes, 400 for malformed
// JSON, 422 for JSON of the wrong shape. It reports whether it succeeded;
// on failure the answer is written.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, dst any) bool {
	if !isJSON(r.Header.Get("Content-Type")) {
		writeText(w, http.StatusUnsupportedMediaType, "Expected request with `Content-Type: application/json`")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeText(w, http.StatusRequestEntityTooLarge, "Failed to buffer the request body: length limit exceeded")
		} else {
			writeText(w, http.StatusBadRequest, "Failed to buffer the request body: "+err.Error())
		}
		return false
	}
	if err := decodeJSON(body, dst); err != nil {
		var je *jsonError
		if errors.As(err, &je) && je.syntax {
			writeText(w, http.StatusBadRequest, "Failed to parse the request body as JSON: "+err.Error())
		} else {
			writeText(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+err.Error())
		}
		return false
	}
	return true
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// jsonError is a decoding failure; syntax says the bytes are not JSON
// (400) rather than JSON of the wrong shape (422).
type jsonError struct {
	syntax bool
	err    error
}

func (e *jsonError) Error() string { return e.err.Error() }
func (e *jsonError) Unwrap() error { return e.err }

// validator is a request body that checks its required fields.
type validator interface{ validate() error }

// decodeJSON decodes b into dst, then runs dst's validate when it has one.
func decodeJSON(b []byte, dst any) error {
	if err := json.Unmarshal(b, dst); err != nil {
		var se *json.SyntaxError
		return &jsonError{syntax: errors.As(err, &se), err: err}
	}
	if v, ok := dst.(validator); ok {
		if err := v.validate(); err != nil {
			return &jsonError{err: err}
		}
	}
	return nil
}

// missing is the error for an absent required field, in serde's words.
func missing(field string) error { return fmt.Errorf("missing field `%s`", field) }

// queryError answers a query string that does not decode (400, as
// axum's Query extractor).
func queryError(w http.ResponseWriter, err error) {
	writeText(w, http.StatusBadRequest, "Failed to deserialize query string: "+err.Error())
}

// queryU32 reads an optional u32 query parameter.
func queryU32(r *http.Request, name string) (v uint32, present bool, err error) {
	s, ok := r.URL.Query()[name]
	if !ok || len(s) == 0 {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s[0], 10, 32)
	if err != nil {
		return 0, true, fmt.Errorf("%s: invalid digit found in string", name)
	}
	return uint32(n), true, nil
}

// queryU64 reads an optional u64 query parameter.
func queryU64(r *http.Request, name string) (v uint64, present bool, err error) {
	s, ok := r.URL.Query()[name]
	if !ok || len(s) == 0 {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s[0], 10, 64)
	if err != nil {
		return 0, true, fmt.Errorf("%s: invalid digit found in string", name)
	}
	return n, true, nil
}

// queryBool reads an optional bool query parameter ("true"/"false").
func queryBool(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	switch s {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fmt.Errorf("%s: provided string was not `true` or `false`", name)
}

// noContent answers 204.
func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

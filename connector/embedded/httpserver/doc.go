// Package httpserver serves Iggy 0.8.0's HTTP API (REST and JWT) for an
// embedded broker, so Iggy's HTTP clients (the Rust SDK's HTTP transport,
// `iggy --transport http`, the Web UI, curl) work against it.
//
// # Flow
//
// [New] returns an http.Handler. Every request but the public ones (/,
// /ping, /metrics, /users/login, /users/refresh-token,
// /personal-access-tokens/login, and rustok's /health) must carry
// "Authorization: Bearer <JWT>" issued by a login; without a valid,
// unexpired, unrevoked token the answer is a bare 401, as Iggy's. The
// token names a user; the handler opens a stateless broker session for
// that user ([broker.Broker.StatelessSessionFor]) and calls the same
// broker methods the TCP server calls, so permissions are checked in one
// place for both transports, against the user's current permissions.
//
// # Errors
//
// A broker error becomes Iggy's JSON body {"id", "code", "reason",
// "field"} with Iggy's status: 404 for "not found" codes, 401 for
// unauthenticated, 403 for unauthorized, 400 otherwise. A body that is not
// JSON (400), JSON of the wrong shape (422), without
// "Content-Type: application/json" (415) or over the size cap (413) gets
// a plain-text answer with the status axum gives Iggy. Unknown routes are
// 404 with an empty body (after authentication, as Iggy's middleware runs
// first). Nothing is stored when a request is rejected.
//
// # Tokens
//
// Access tokens are HS256 JWTs with Iggy's claims (jti, iss, aud, sub,
// iat, exp, nbf), issuer and audience "iggy.apache.org", valid one hour
// by default. The signing secret and the revoked token ids (logout,
// refresh) are kept in the state directory when one is configured, so
// tokens survive a restart and a logged-out token stays dead.
package httpserver

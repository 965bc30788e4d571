package httpserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Iggy error codes the HTTP API answers that the TCP protocol never does.
const (
	codeAccessTokenMissing  iggyproto.Code = 77
	codeInvalidAccessToken  iggyproto.Code = 78
	codeSegmentNotFound     iggyproto.Code = 4000
	codeEmptyMessagePayload iggyproto.Code = 4024
	codeInvalidKeyLength    iggyproto.Code = 4028
)

// ErrorBody is Iggy's HTTP error body.
type ErrorBody struct {
	// ID is the numeric Iggy error code.
	ID uint32 `json:"id"`
	// Code is the error's snake_case name.
	Code string `json:"code"`
	// Reason is a human-readable description.
	Reason string `json:"reason"`
	// Field names the request field at fault, when Iggy names one.
	Field *string `json:"field"`
}

// codeNames adds the names iggyproto does not know.
var codeNames = map[iggyproto.Code]string{
	codeAccessTokenMissing:  "access_token_missing",
	codeInvalidAccessToken:  "invalid_access_token",
	codeSegmentNotFound:     "segment_not_found",
	codeEmptyMessagePayload: "empty_message_payload",
	codeInvalidKeyLength:    "invalid_key_value_length",
}

func codeName(c iggyproto.Code) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return c.String()
}

// statusOf maps an Iggy code to the status Iggy 0.8.0 answers it with.
func statusOf(c iggyproto.Code) int {
	switch c {
	case iggyproto.CodeStreamIDNotFound, iggyproto.CodeTopicIDNotFound, iggyproto.CodePartitionNotFound,
		codeSegmentNotFound, iggyproto.CodeClientNotFound, iggyproto.CodeGroupIDNotFound,
		iggyproto.CodeGroupMemberNotFound, iggyproto.CodeConsumerOffsetNotFound, iggyproto.CodeResourceNotFound:
		return http.StatusNotFound
	case iggyproto.CodeUnauthenticated, codeAccessTokenMissing, codeInvalidAccessToken:
		return http.StatusUnauthorized
	case iggyproto.CodeUnauthorized:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// fieldOf names the field Iggy reports for a code, or "".
func fieldOf(c iggyproto.Code) string {
	switch c {
	case iggyproto.CodeStreamIDNotFound:
		return "stream_id"
	case iggyproto.CodeTopicIDNotFound:
		return "topic_id"
	case iggyproto.CodePartitionNotFound:
		return "partition_id"
	case codeSegmentNotFound:
		return "segment_id"
	case iggyproto.CodeClientNotFound:
		return "client_id"
	case iggyproto.CodeStreamNameAlreadyExists, iggyproto.CodeTopicNameAlreadyExists,
		iggyproto.CodeGroupNameAlreadyExists, iggyproto.CodePATAlreadyExists:
		return "name"
	case iggyproto.CodeUserAlreadyExists:
		return "username"
	case iggyproto.CodeInvalidOffset:
		return "offset"
	}
	return ""
}

// reasonOf describes err: its detail when it carries one, else the code's
// name in words.
func reasonOf(c iggyproto.Code, err error) string {
	var ie *iggyproto.Error
	if errors.As(err, &ie) && ie.Msg != "" {
		return ie.Msg
	}
	r := strings.ReplaceAll(codeName(c), "_", " ")
	if r == "" {
		return "error"
	}
	return strings.ToUpper(r[:1]) + r[1:]
}

// writeError answers err as Iggy does: the JSON error body with the
// status of its code (CodeError, status 400, for an error without one).
func writeError(w http.ResponseWriter, err error) {
	c := iggyproto.CodeOf(err)
	body := ErrorBody{ID: uint32(c), Code: codeName(c), Reason: reasonOf(c, err)}
	if f := fieldOf(c); f != "" {
		body.Field = &f
	}
	writeJSON(w, statusOf(c), body)
}

// writeNotFound is Iggy's answer for a resource that does not exist.
func writeNotFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, ErrorBody{ID: 404, Code: "not_found", Reason: "Resource not found"})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // the models marshal without error; do not lie if one does not
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeText answers a plain-text rejection, as axum's extractors do.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

func iggyErr(c iggyproto.Code, msg string) error { return &iggyproto.Error{Code: c, Msg: msg} }

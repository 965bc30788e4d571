package iggyproto

import (
	"errors"
	"fmt"

	"github.com/rustok/rustok-iggy/core"
)

// Code is an Iggy 0.8.0 error code, sent as the status of a response frame.
type Code uint32

// Error codes used by the 0.8.0 server (see the fact sheet, section 8).
const (
	CodeError                   Code = 1
	CodeInvalidConfiguration    Code = 2
	CodeInvalidCommand          Code = 3
	CodeInvalidFormat           Code = 4
	CodeFeatureUnavailable      Code = 5
	CodeInvalidIdentifier       Code = 6
	CodeDisconnected            Code = 8
	CodeResourceNotFound        Code = 20
	CodeStaleClient             Code = 30
	CodeUnauthenticated         Code = 40
	CodeUnauthorized            Code = 41
	CodeInvalidCredentials      Code = 42
	CodeInvalidUsername         Code = 43
	CodeInvalidPassword         Code = 44
	CodeUserAlreadyExists       Code = 46
	CodeUserInactive            Code = 47
	CodeCannotDeleteUser        Code = 48
	CodeCannotChangePermissions Code = 49
	CodeInvalidPATName          Code = 50
	CodePATAlreadyExists        Code = 51
	CodePATLimitReached         Code = 52
	CodePATExpired              Code = 54
	CodeInvalidSizeBytes        Code = 80
	CodeClientNotFound          Code = 100
	CodeInvalidClientID         Code = 101
	CodeStreamIDNotFound        Code = 1009
	CodeStreamNameAlreadyExists Code = 1012
	CodeInvalidTopicSize        Code = 1019
	CodeTopicIDNotFound         Code = 2010
	CodeTopicNameAlreadyExists  Code = 2013
	CodeTooManyPartitions       Code = 2015
	CodeInvalidPartitionsCount  Code = 2019
	CodePartitionNotFound       Code = 3007
	CodeConsumerOffsetNotFound  Code = 3021
	CodeNotResolvedConsumer     Code = 3022
	CodeInvalidMessagesCount    Code = 4009
	CodeTooBigUserHeaders       Code = 4017
	CodeTooBigMessagePayload    Code = 4022
	CodeNonZeroOffset           Code = 4031
	CodeNonZeroTimestamp        Code = 4032
	CodeMissingIndex            Code = 4033
	CodeInvalidMessagesSize     Code = 4036
	CodeInvalidOffset           Code = 4100
	CodeGroupIDNotFound         Code = 5000
	CodeGroupNameAlreadyExists  Code = 5004
	CodeGroupMemberNotFound     Code = 5006
	// CodeSnapshotFileCompletionFailed: the snapshot zip could not be
	// finished.
	CodeSnapshotFileCompletionFailed Code = 9000
	CodeCannotReadIndexPosition      Code = 10011
)

type codeInfo struct {
	name     string
	sentinel error // the core sentinel this code maps to, or nil
}

var codes = map[Code]codeInfo{
	CodeError:                        {"error", nil},
	CodeInvalidConfiguration:         {"invalid_configuration", core.ErrInvalid},
	CodeInvalidCommand:               {"invalid_command", core.ErrInvalid},
	CodeInvalidFormat:                {"invalid_format", core.ErrInvalid},
	CodeFeatureUnavailable:           {"feature_unavailable", core.ErrInvalid},
	CodeInvalidIdentifier:            {"invalid_identifier", core.ErrInvalid},
	CodeDisconnected:                 {"disconnected", core.ErrUnavailable},
	CodeResourceNotFound:             {"resource_not_found", core.ErrNotFound},
	CodeStaleClient:                  {"stale_client", core.ErrUnavailable},
	CodeUnauthenticated:              {"unauthenticated", core.ErrUnauthenticated},
	CodeUnauthorized:                 {"unauthorized", core.ErrPermissionDenied},
	CodeInvalidCredentials:           {"invalid_credentials", core.ErrUnauthenticated},
	CodeInvalidUsername:              {"invalid_username", core.ErrInvalid},
	CodeInvalidPassword:              {"invalid_password", core.ErrInvalid},
	CodeUserAlreadyExists:            {"user_already_exists", core.ErrAlreadyExists},
	CodeUserInactive:                 {"user_inactive", core.ErrUnauthenticated},
	CodeCannotDeleteUser:             {"cannot_delete_user", core.ErrPermissionDenied},
	CodeCannotChangePermissions:      {"cannot_change_permissions", core.ErrPermissionDenied},
	CodeInvalidPATName:               {"invalid_personal_access_token_name", core.ErrInvalid},
	CodePATAlreadyExists:             {"personal_access_token_already_exists", core.ErrAlreadyExists},
	CodePATLimitReached:              {"personal_access_tokens_limit_reached", core.ErrInvalid},
	CodePATExpired:                   {"personal_access_token_expired", core.ErrUnauthenticated},
	CodeInvalidSizeBytes:             {"invalid_size_bytes", core.ErrInvalid},
	CodeClientNotFound:               {"client_not_found", core.ErrNotFound},
	CodeInvalidClientID:              {"invalid_client_id", core.ErrInvalid},
	CodeStreamIDNotFound:             {"stream_id_not_found", core.ErrNotFound},
	CodeStreamNameAlreadyExists:      {"stream_name_already_exists", core.ErrAlreadyExists},
	CodeInvalidTopicSize:             {"invalid_topic_size", core.ErrInvalid},
	CodeTopicIDNotFound:              {"topic_id_not_found", core.ErrNotFound},
	CodeTopicNameAlreadyExists:       {"topic_name_already_exists", core.ErrAlreadyExists},
	CodeTooManyPartitions:            {"too_many_partitions", core.ErrInvalid},
	CodeInvalidPartitionsCount:       {"invalid_partitions_count", core.ErrInvalid},
	CodePartitionNotFound:            {"partition_not_found", core.ErrNotFound},
	CodeConsumerOffsetNotFound:       {"consumer_offset_not_found", core.ErrNotFound},
	CodeNotResolvedConsumer:          {"not_resolved_consumer", core.ErrNotMember},
	CodeInvalidMessagesCount:         {"invalid_messages_count", core.ErrInvalid},
	CodeTooBigUserHeaders:            {"too_big_user_headers", core.ErrInvalid},
	CodeTooBigMessagePayload:         {"too_big_message_payload", core.ErrInvalid},
	CodeNonZeroOffset:                {"non_zero_offset", core.ErrInvalid},
	CodeNonZeroTimestamp:             {"non_zero_timestamp", core.ErrInvalid},
	CodeMissingIndex:                 {"missing_index", core.ErrInvalid},
	CodeInvalidMessagesSize:          {"invalid_messages_size", core.ErrInvalid},
	CodeInvalidOffset:                {"invalid_offset", core.ErrInvalid},
	CodeGroupIDNotFound:              {"consumer_group_id_not_found", core.ErrNotFound},
	CodeGroupNameAlreadyExists:       {"consumer_group_name_already_exists", core.ErrAlreadyExists},
	CodeGroupMemberNotFound:          {"consumer_group_member_not_found", core.ErrNotMember},
	CodeSnapshotFileCompletionFailed: {"snapshot_file_completion_failed", nil},
	CodeCannotReadIndexPosition:      {"cannot_read_index_position", core.ErrInvalid},
}

// String returns the code's snake_case name as Iggy spells it, or
// "code_<n>" for a code this table does not know.
func (c Code) String() string {
	if info, ok := codes[c]; ok {
		return info.name
	}
	return fmt.Sprintf("code_%d", uint32(c))
}

// Sentinel returns the core sentinel error the code maps to, or nil.
func (c Code) Sentinel() error { return codes[c].sentinel }

// Error is a failure with an Iggy error code. It matches the core sentinel
// of its code with errors.Is, and errors.As recovers the code.
type Error struct {
	Code Code
	// Msg adds detail for logs; it never travels on the wire.
	Msg string
}

// Errorf returns an *Error with the given code and detail.
func Errorf(code Code, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("iggy error %d (%s)", uint32(e.Code), e.Code)
	}
	return fmt.Sprintf("iggy error %d (%s): %s", uint32(e.Code), e.Code, e.Msg)
}

// Is reports whether target is the core sentinel for e's code.
func (e *Error) Is(target error) bool {
	s := e.Code.Sentinel()
	return s != nil && s == target
}

// CodeOf returns the Iggy code carried by err, or CodeError when err holds
// no *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeError
}

package iggyproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Command is an Iggy 0.8.0 command code, the second u32 of a request frame.
type Command uint32

// Command codes of Iggy 0.8.0 (fact sheet, section 4). The Go SDK v0.8.0
// never sends GetSnapshotFile, GetMe, FlushUnsavedBuffer, PurgeStream,
// PurgeTopic or DeleteSegments; DecodeRequest decodes them all and rejects
// unknown codes with CodeInvalidCommand.
const (
	CmdPing                         Command = 1
	CmdGetStats                     Command = 10
	CmdGetSnapshotFile              Command = 11
	CmdGetClusterMetadata           Command = 12
	CmdGetMe                        Command = 20
	CmdGetClient                    Command = 21
	CmdGetClients                   Command = 22
	CmdGetUser                      Command = 31
	CmdGetUsers                     Command = 32
	CmdCreateUser                   Command = 33
	CmdDeleteUser                   Command = 34
	CmdUpdateUser                   Command = 35
	CmdUpdatePermissions            Command = 36
	CmdChangePassword               Command = 37
	CmdLoginUser                    Command = 38
	CmdLogoutUser                   Command = 39
	CmdGetPersonalAccessTokens      Command = 41
	CmdCreatePersonalAccessToken    Command = 42
	CmdDeletePersonalAccessToken    Command = 43
	CmdLoginWithPersonalAccessToken Command = 44
	CmdPollMessages                 Command = 100
	CmdSendMessages                 Command = 101
	CmdFlushUnsavedBuffer           Command = 102
	CmdGetConsumerOffset            Command = 120
	CmdStoreConsumerOffset          Command = 121
	CmdDeleteConsumerOffset         Command = 122
	CmdGetStream                    Command = 200
	CmdGetStreams                   Command = 201
	CmdCreateStream                 Command = 202
	CmdDeleteStream                 Command = 203
	CmdUpdateStream                 Command = 204
	CmdPurgeStream                  Command = 205
	CmdGetTopic                     Command = 300
	CmdGetTopics                    Command = 301
	CmdCreateTopic                  Command = 302
	CmdDeleteTopic                  Command = 303
	CmdUpdateTopic                  Command = 304
	CmdPurgeTopic                   Command = 305
	CmdCreatePartitions             Command = 402
	CmdDeletePartitions             Command = 403
	CmdDeleteSegments               Command = 503
	CmdGetConsumerGroup             Command = 600
	CmdGetConsumerGroups            Command = 601
	CmdCreateConsumerGroup          Command = 602
	CmdDeleteConsumerGroup          Command = 603
	CmdJoinConsumerGroup            Command = 604
	CmdLeaveConsumerGroup           Command = 605
)

var commandNames = map[Command]string{
	CmdPing:                         "ping",
	CmdGetStats:                     "get_stats",
	CmdGetSnapshotFile:              "get_snapshot_file",
	CmdGetClusterMetadata:           "get_cluster_metadata",
	CmdGetMe:                        "get_me",
	CmdGetClient:                    "get_client",
	CmdGetClients:                   "get_clients",
	CmdGetUser:                      "get_user",
	CmdGetUsers:                     "get_users",
	CmdCreateUser:                   "create_user",
	CmdDeleteUser:                   "delete_user",
	CmdUpdateUser:                   "update_user",
	CmdUpdatePermissions:            "update_permissions",
	CmdChangePassword:               "change_password",
	CmdLoginUser:                    "login_user",
	CmdLogoutUser:                   "logout_user",
	CmdGetPersonalAccessTokens:      "get_personal_access_tokens",
	CmdCreatePersonalAccessToken:    "create_personal_access_token",
	CmdDeletePersonalAccessToken:    "delete_personal_access_token",
	CmdLoginWithPersonalAccessToken: "login_with_personal_access_token",
	CmdPollMessages:                 "poll_messages",
	CmdSendMessages:                 "send_messages",
	CmdFlushUnsavedBuffer:           "flush_unsaved_buffer",
	CmdGetConsumerOffset:            "get_consumer_offset",
	CmdStoreConsumerOffset:          "store_consumer_offset",
	CmdDeleteConsumerOffset:         "delete_consumer_offset",
	CmdGetStream:                    "get_stream",
	CmdGetStreams:                   "get_streams",
	CmdCreateStream:                 "create_stream",
	CmdDeleteStream:                 "delete_stream",
	CmdUpdateStream:                 "update_stream",
	CmdPurgeStream:                  "purge_stream",
	CmdGetTopic:                     "get_topic",
	CmdGetTopics:                    "get_topics",
	CmdCreateTopic:                  "create_topic",
	CmdDeleteTopic:                  "delete_topic",
	CmdUpdateTopic:                  "update_topic",
	CmdPurgeTopic:                   "purge_topic",
	CmdCreatePartitions:             "create_partitions",
	CmdDeletePartitions:             "delete_partitions",
	CmdDeleteSegments:               "delete_segments",
	CmdGetConsumerGroup:             "get_consumer_group",
	CmdGetConsumerGroups:            "get_consumer_groups",
	CmdCreateConsumerGroup:          "create_consumer_group",
	CmdDeleteConsumerGroup:          "delete_consumer_group",
	CmdJoinConsumerGroup:            "join_consumer_group",
	CmdLeaveConsumerGroup:           "leave_consumer_group",
}

// String returns the command's snake_case name as Iggy spells it, or
// "command_<n>" for an unknown code.
func (c Command) String() string {
	if n, ok := commandNames[c]; ok {
		return n
	}
	return "command_" + strconv.FormatUint(uint64(c), 10)
}

// Known reports whether c is one of the 0.8.0 command codes above (not
// necessarily one DecodeRequest accepts).
func (c Command) Known() bool { _, ok := commandNames[c]; return ok }

// Frame sizes and limits (fact sheet, section 1).
const (
	// RequestHeaderSize is the size of a request frame header:
	// u32 length (= 4 + payload size), u32 command.
	RequestHeaderSize = 8
	// ResponseHeaderSize is the size of a response frame header:
	// u32 status, u32 payload size.
	ResponseHeaderSize = 8
	// MaxControlPayload is the largest payload accepted for any command
	// except SendMessages (Iggy's MAX_CONTROL_FRAME_PAYLOAD, 10 MiB).
	MaxControlPayload = 10 << 20
	// DefaultMaxSendPayload is the default cap on a SendMessages payload.
	// Iggy itself has no frame cap for SendMessages; 128 MiB holds one
	// message of the largest accepted size (MaxPayloadSize) and more.
	DefaultMaxSendPayload = 128 << 20
)

// Limits bounds what ReadRequest accepts. The zero value is valid.
type Limits struct {
	// MaxSendPayload caps the payload of a SendMessages frame, in bytes.
	// Zero means DefaultMaxSendPayload; negative is treated as zero.
	MaxSendPayload int
}

func (l Limits) maxSend() int {
	if l.MaxSendPayload <= 0 {
		return DefaultMaxSendPayload
	}
	return l.MaxSendPayload
}

// RequestHeader is a decoded request frame header.
type RequestHeader struct {
	// Length is the raw length field: 4 + payload size.
	Length  uint32
	Command Command
}

// PayloadSize is Length-4, or 0 when Length < 4.
func (h RequestHeader) PayloadSize() int {
	if h.Length < 4 {
		return 0
	}
	return int(h.Length - 4)
}

// Frame is one request read from a connection.
type Frame struct {
	Command Command
	// Payload is the command payload; it aliases the buffer given to
	// ReadRequest when that buffer was large enough.
	Payload []byte
}

// FrameError reports a request frame the server must refuse after reading
// only its header. It wraps an *Error with CodeInvalidCommand, so CodeOf
// gives the status to answer with.
//
// Remaining payload bytes of the frame are still unread on the stream: the
// server either discards them (DiscardPayload) and answers, keeping the
// connection, or answers and closes. When Desync is set the stream cannot
// be resynchronised and the connection must be closed after the answer.
type FrameError struct {
	Header    RequestHeader
	Remaining int64
	Desync    bool
	err       *Error
}

func (e *FrameError) Error() string { return "request frame: " + e.err.Error() }

// Unwrap returns the *Error carrying the status code.
func (e *FrameError) Unwrap() error { return e.err }

// ReadRequestHeader reads the 8-byte request header. A clean end of stream
// before the first byte returns io.EOF; a partial header io.ErrUnexpectedEOF.
func ReadRequestHeader(r io.Reader) (RequestHeader, error) {
	var hdr [RequestHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return RequestHeader{}, err
	}
	return DecodeRequestHeader(hdr), nil
}

// DecodeRequestHeader decodes the 8 bytes of a request header (for a caller
// that reads them into its own buffer).
func DecodeRequestHeader(hdr [RequestHeaderSize]byte) RequestHeader {
	return RequestHeader{
		Length:  binary.LittleEndian.Uint32(hdr[0:4]),
		Command: Command(binary.LittleEndian.Uint32(hdr[4:8])),
	}
}

// CheckRequestHeader applies the size rules of the fact sheet (1.3) to a
// header: length < 4 gives a FrameError with Desync set; a payload over
// MaxControlPayload (any command but SendMessages) or over
// lim.MaxSendPayload (SendMessages) gives a FrameError whose Remaining is
// the whole payload. Unknown commands pass: their payload is read and the
// decoder answers CodeInvalidCommand.
func CheckRequestHeader(h RequestHeader, lim Limits) error {
	if h.Length < 4 {
		return &FrameError{Header: h, Desync: true,
			err: &Error{Code: CodeInvalidCommand, Msg: fmt.Sprintf("length field %d < 4", h.Length)}}
	}
	n := int64(h.Length) - 4
	max := int64(MaxControlPayload)
	if h.Command == CmdSendMessages {
		max = int64(lim.maxSend())
	}
	if n > max {
		return &FrameError{Header: h, Remaining: n,
			err: &Error{Code: CodeInvalidCommand, Msg: fmt.Sprintf("%s payload of %d bytes over the %d-byte limit", h.Command, n, max)}}
	}
	return nil
}

// readChunk bounds how much ReadRequest allocates ahead of the bytes that
// actually arrived, so a peer announcing a large frame and sending nothing
// cannot make the server allocate the whole announced size.
const readChunk = 1 << 20

// ReadRequest reads one request frame from r. The payload goes into buf
// (reused when its capacity suffices, else grown as bytes arrive); pass the
// previous Frame.Payload[:0] to recycle it, but only once nothing decoded
// from it (SendMessages.Messages, names, keys) is still in use, since
// decoded requests alias the payload.
//
// Errors: io.EOF when r ends cleanly before a frame; io.ErrUnexpectedEOF
// (or the reader's error) when it ends inside one; a *FrameError for a frame
// refused by CheckRequestHeader, whose payload is then still unread. Every
// other frame is read completely, unknown commands included.
func ReadRequest(r io.Reader, buf []byte, lim Limits) (Frame, error) {
	h, err := ReadRequestHeader(r)
	if err != nil {
		return Frame{}, err
	}
	if err := CheckRequestHeader(h, lim); err != nil {
		return Frame{Command: h.Command}, err
	}
	n := h.PayloadSize()
	buf = buf[:0]
	if n <= cap(buf) {
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return Frame{Command: h.Command}, unexpected(err)
		}
		return Frame{Command: h.Command, Payload: buf}, nil
	}
	for len(buf) < n {
		chunk := min(n-len(buf), max(len(buf), readChunk))
		buf = slices.Grow(buf, chunk)
		start := len(buf)
		buf = buf[:start+chunk]
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			return Frame{Command: h.Command}, unexpected(err)
		}
	}
	return Frame{Command: h.Command, Payload: buf}, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// DiscardPayload reads and drops n bytes from r, the unread rest of a frame
// refused with a *FrameError, so the connection can go on.
func DiscardPayload(r io.Reader, n int64) error {
	_, err := io.CopyN(io.Discard, r, n)
	return unexpected(err)
}

// AppendRequestFrame appends a whole request frame (header and payload) to
// dst, as the Go SDK builds it.
func AppendRequestFrame(dst []byte, cmd Command, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)+4))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(cmd))
	return append(dst, payload...)
}

// ErrOneBytePayload is returned for an OK response whose payload is exactly
// one byte: the Go SDK treats a 1-byte payload as empty and leaves the byte
// unread, which desynchronises the connection. No 0.8.0 response is 1 byte.
var ErrOneBytePayload = errors.New("iggyproto: a 1-byte response payload desynchronises the Go SDK")

// AppendResponse appends a response frame to dst. For status 0 (OK) the
// frame carries payload; for any other status the payload is dropped and the
// frame is [status][0], because clients never read an error's payload.
// A 1-byte OK payload is refused with ErrOneBytePayload (dst unchanged).
func AppendResponse(dst []byte, status Code, payload []byte) ([]byte, error) {
	if status != 0 {
		return AppendError(dst, status), nil
	}
	if len(payload) == 1 {
		return dst, ErrOneBytePayload
	}
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...), nil
}

// AppendError appends the error response [code][0] to dst. Code 0 yields an
// empty OK response.
func AppendError(dst []byte, code Code) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(code))
	return binary.LittleEndian.AppendUint32(dst, 0)
}

// BeginResponse appends a placeholder OK response header to dst and returns
// the extended slice and the header's position; append the payload, then
// call FinishResponse. This builds a response without copying its payload.
func BeginResponse(dst []byte) ([]byte, int) {
	start := len(dst)
	return append(dst, 0, 0, 0, 0, 0, 0, 0, 0), start
}

// FinishResponse writes the payload size into the header placed by
// BeginResponse at start. A 1-byte payload gives ErrOneBytePayload; start
// outside frame gives an error too.
func FinishResponse(frame []byte, start int) ([]byte, error) {
	if start < 0 || start+ResponseHeaderSize > len(frame) {
		return frame, errors.New("iggyproto: FinishResponse: no response header at start")
	}
	n := len(frame) - start - ResponseHeaderSize
	if n == 1 {
		return frame, ErrOneBytePayload
	}
	binary.LittleEndian.PutUint32(frame[start:], 0)
	binary.LittleEndian.PutUint32(frame[start+4:], uint32(n))
	return frame, nil
}

// WriteResponse writes one response frame to w with the rules of
// AppendResponse, in a single Write call.
func WriteResponse(w io.Writer, status Code, payload []byte) error {
	frame, err := AppendResponse(make([]byte, 0, ResponseHeaderSize+len(payload)), status, payload)
	if err != nil {
		return err
	}
	_, err = w.Write(frame)
	return err
}

// ResponseHeader is a decoded response frame header.
type ResponseHeader struct {
	Status Code
	Length uint32
}

// ReadResponse reads one response frame as the Go SDK does: on a non-zero
// status no payload is read; a length of 0 or 1 yields an empty payload and
// nothing is read. maxPayload bounds the payload size (<= 0: MaxControlPayload
// * 16). Intended for tests and tools.
func ReadResponse(r io.Reader, maxPayload int) (ResponseHeader, []byte, error) {
	var hdr [ResponseHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return ResponseHeader{}, nil, err
	}
	h := ResponseHeader{Status: Code(binary.LittleEndian.Uint32(hdr[0:4])), Length: binary.LittleEndian.Uint32(hdr[4:8])}
	if h.Status != 0 || h.Length <= 1 {
		return h, nil, nil
	}
	if maxPayload <= 0 {
		maxPayload = MaxControlPayload * 16
	}
	if int64(h.Length) > int64(maxPayload) {
		return h, nil, fmt.Errorf("iggyproto: response payload of %d bytes over the %d-byte limit", h.Length, maxPayload)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r, p); err != nil {
		return h, nil, unexpected(err)
	}
	return h, p, nil
}

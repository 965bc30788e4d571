package httpserver

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
)

// routes registers Iggy 0.8.0's routes (core/server/src/http/*.rs).
func (h *Handler) routes() {
	m, a := h.mux, h.authed
	// System.
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "Iggy API") })
	m.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "pong") })
	m.HandleFunc("GET /stats", a(h.getStats))
	m.HandleFunc("GET /cluster/metadata", a(h.getClusterMetadata))
	m.HandleFunc("GET /clients", a(h.getClients))
	m.HandleFunc("GET /clients/{client_id}", a(h.getClient))
	m.HandleFunc("POST /snapshot", a(h.getSnapshot))
	if h.cfg.Rustok != nil {
		m.Handle("GET /metrics", h.cfg.Rustok)
		m.Handle("GET /health", h.cfg.Rustok)
	}
	// Users and sessions.
	m.HandleFunc("GET /users", a(h.getUsers))
	m.HandleFunc("POST /users", a(h.createUser))
	m.HandleFunc("GET /users/{user_id}", a(h.getUser))
	m.HandleFunc("PUT /users/{user_id}", a(h.updateUser))
	m.HandleFunc("DELETE /users/{user_id}", a(h.deleteUser))
	m.HandleFunc("PUT /users/{user_id}/permissions", a(h.updatePermissions))
	m.HandleFunc("PUT /users/{user_id}/password", a(h.changePassword))
	m.HandleFunc("POST /users/login", h.login)
	m.HandleFunc("DELETE /users/logout", a(h.logout))
	m.HandleFunc("POST /users/refresh-token", h.refreshToken)
	// Personal access tokens.
	m.HandleFunc("GET /personal-access-tokens", a(h.getPATs))
	m.HandleFunc("POST /personal-access-tokens", a(h.createPAT))
	m.HandleFunc("DELETE /personal-access-tokens/{name}", a(h.deletePAT))
	m.HandleFunc("POST /personal-access-tokens/login", h.loginWithPAT)
	// Streams.
	m.HandleFunc("GET /streams", a(h.getStreams))
	m.HandleFunc("POST /streams", a(h.createStream))
	m.HandleFunc("GET /streams/{stream_id}", a(h.getStream))
	m.HandleFunc("PUT /streams/{stream_id}", a(h.updateStream))
	m.HandleFunc("DELETE /streams/{stream_id}", a(h.deleteStream))
	m.HandleFunc("DELETE /streams/{stream_id}/purge", a(h.purgeStream))
	// Topics.
	const t = "/streams/{stream_id}/topics"
	m.HandleFunc("GET "+t, a(h.getTopics))
	m.HandleFunc("POST "+t, a(h.createTopic))
	m.HandleFunc("GET "+t+"/{topic_id}", a(h.getTopic))
	m.HandleFunc("PUT "+t+"/{topic_id}", a(h.updateTopic))
	m.HandleFunc("DELETE "+t+"/{topic_id}", a(h.deleteTopic))
	m.HandleFunc("DELETE "+t+"/{topic_id}/purge", a(h.purgeTopic))
	// Partitions.
	m.HandleFunc("POST "+t+"/{topic_id}/partitions", a(h.createPartitions))
	m.HandleFunc("DELETE "+t+"/{topic_id}/partitions", a(h.deletePartitions))
	// Consumer groups.
	const g = t + "/{topic_id}/consumer-groups"
	m.HandleFunc("GET "+g, a(h.getGroups))
	m.HandleFunc("POST "+g, a(h.createGroup))
	m.HandleFunc("GET "+g+"/{group_id}", a(h.getGroup))
	m.HandleFunc("DELETE "+g+"/{group_id}", a(h.deleteGroup))
	// Consumer offsets.
	const o = t + "/{topic_id}/consumer-offsets"
	m.HandleFunc("GET "+o, a(h.getOffset))
	m.HandleFunc("PUT "+o, a(h.storeOffset))
	m.HandleFunc("DELETE "+o+"/{consumer_id}", a(h.deleteOffset))
	// Messages.
	m.HandleFunc("GET "+t+"/{topic_id}/messages", a(h.pollMessages))
	m.HandleFunc("POST "+t+"/{topic_id}/messages", a(h.sendMessages))
	m.HandleFunc("GET "+t+"/{topic_id}/messages/flush/{partition_id}/{fsync}", a(h.flush))
	// Segments.
	m.HandleFunc("DELETE "+t+"/{topic_id}/partitions/{partition_id}", a(h.deleteSegments))
}

func (h *Handler) sendMessages(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		writeText(w, http.StatusUnsupportedMediaType, "Expected request with `Content-Type: application/json`")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxSendBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeText(w, http.StatusRequestEntityTooLarge, "Failed to buffer the request body: length limit exceeded")
		} else {
			writeText(w, http.StatusBadRequest, "Failed to buffer the request body: "+err.Error())
		}
		return
	}
	req, err := decodeSend(body, uint64(h.cfg.Now().UnixMicro()))
	if err != nil {
		var je *jsonError
		switch {
		case errors.As(err, &je) && je.syntax:
			writeText(w, http.StatusBadRequest, "Failed to parse the request body as JSON: "+err.Error())
		case errors.As(err, &je):
			writeText(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+err.Error())
		default:
			writeError(w, err)
		}
		return
	}
	if _, err := h.b.Send(s, ids[0], ids[1], req.partitioning, req.messages); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// pollKinds are the strategy kinds a poll's "kind" accepts.
var pollKinds = map[string]broker.PollKind{
	"o": broker.PollOffset, "offset": broker.PollOffset, "t": broker.PollTimestamp, "timestamp": broker.PollTimestamp,
	"f": broker.PollFirst, "first": broker.PollFirst, "l": broker.PollLast, "last": broker.PollLast,
	"n": broker.PollNext, "next": broker.PollNext,
}

// pollMessages serves GET .../messages?consumer_id=&partition_id=&kind=
// &value=&count=&auto_commit=, with Iggy's defaults: consumer 0,
// partition 0, kind offset, value 0, count 10, auto_commit false. The
// consumer is always a single consumer, as in Iggy's HTTP API.
func (h *Handler) pollMessages(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	q := r.URL.Query()
	req := broker.PollRequest{Stream: ids[0], Topic: ids[1], Strategy: broker.PollStrategy{Kind: broker.PollOffset}, Count: 10}
	pid, present, err := queryU32(r, "partition_id")
	if err != nil {
		queryError(w, err)
		return
	}
	if !present {
		pid = 0
	}
	req.PartitionID = &pid
	if k := q.Get("kind"); k != "" {
		kind, ok := pollKinds[k]
		if !ok {
			queryError(w, errors.New("kind: unknown polling kind "+k))
			return
		}
		req.Strategy.Kind = kind
	}
	if v, present, err := queryU64(r, "value"); err != nil {
		queryError(w, err)
		return
	} else if present {
		req.Strategy.Value = v
	}
	if n, present, err := queryU32(r, "count"); err != nil {
		queryError(w, err)
		return
	} else if present {
		req.Count = n
	}
	if req.AutoCommit, err = queryBool(r, "auto_commit"); err != nil {
		queryError(w, err)
		return
	}
	if req.Consumer, err = consumerOf(q.Get("consumer_id")); err != nil {
		writeError(w, err)
		return
	}
	res, err := h.b.Poll(s, req)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := appendPolledJSON(make([]byte, 0, 256+len(res.Messages)*2), res)
	if err != nil {
		h.log.Error("poll: stored messages do not walk", "err", err)
		http.Error(w, "corrupt messages", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// deleteSegments serves DELETE /streams/{s}/topics/{t}/partitions/{p}
// ?segments_count=N (204).
func (h *Handler) deleteSegments(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	pid, err := strconv.ParseUint(r.PathValue("partition_id"), 10, 32)
	if err != nil {
		writeText(w, http.StatusBadRequest, "Invalid URL: Cannot parse `partition_id` to a `u32`")
		return
	}
	n, present, err := queryU32(r, "segments_count")
	if err == nil && !present {
		err = missing("segments_count")
	}
	if err != nil {
		queryError(w, err)
		return
	}
	if _, _, err := h.b.DeleteSegments(s, ids[0], ids[1], uint32(pid), n); err != nil {
		writeError(w, err)
		return
	}
	noContent(w)
}

// flush serves GET .../messages/flush/{partition_id}/{fsync} (200).
func (h *Handler) flush(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	ids, ok := pathIDs(w, r, "stream_id", "topic_id")
	if !ok {
		return
	}
	pid, err := strconv.ParseUint(r.PathValue("partition_id"), 10, 32)
	if err != nil {
		writeText(w, http.StatusBadRequest, "Invalid URL: Cannot parse `partition_id` to a `u32`")
		return
	}
	fsync, err := strconv.ParseBool(r.PathValue("fsync"))
	if err != nil {
		writeText(w, http.StatusBadRequest, "Invalid URL: Cannot parse `fsync` to a `bool`")
		return
	}
	if err := h.b.FlushUnsavedBuffer(s, ids[0], ids[1], uint32(pid), fsync); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

package httpserver

import (
	"net/http"
	"strconv"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
)

// StatsJSON is Iggy's Stats. Sizes are byte sizes as Iggy writes them;
// run_time and start_time are µs. cache_metrics is always empty (the
// broker keeps no message cache).
type StatsJSON struct {
	ProcessID           uint32            `json:"process_id"`
	CPUUsage            float32           `json:"cpu_usage"`
	TotalCPUUsage       float32           `json:"total_cpu_usage"`
	MemoryUsage         byteSize          `json:"memory_usage"`
	TotalMemory         byteSize          `json:"total_memory"`
	AvailableMemory     byteSize          `json:"available_memory"`
	RunTime             uint64            `json:"run_time"`
	StartTime           uint64            `json:"start_time"`
	ReadBytes           byteSize          `json:"read_bytes"`
	WrittenBytes        byteSize          `json:"written_bytes"`
	MessagesSizeBytes   byteSize          `json:"messages_size_bytes"`
	StreamsCount        uint32            `json:"streams_count"`
	TopicsCount         uint32            `json:"topics_count"`
	PartitionsCount     uint32            `json:"partitions_count"`
	SegmentsCount       uint32            `json:"segments_count"`
	MessagesCount       uint64            `json:"messages_count"`
	ClientsCount        uint32            `json:"clients_count"`
	ConsumerGroupsCount uint32            `json:"consumer_groups_count"`
	Hostname            string            `json:"hostname"`
	OSName              string            `json:"os_name"`
	OSVersion           string            `json:"os_version"`
	KernelVersion       string            `json:"kernel_version"`
	IggyServerVersion   string            `json:"iggy_server_version"`
	IggyServerSemver    *uint32           `json:"iggy_server_semver"`
	CacheMetrics        map[string]string `json:"cache_metrics"`
	ThreadsCount        uint32            `json:"threads_count"`
	FreeDiskSpace       byteSize          `json:"free_disk_space"`
	TotalDiskSpace      byteSize          `json:"total_disk_space"`
}

func (h *Handler) getStats(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	st, err := h.b.GetStats(s)
	if err != nil {
		writeError(w, err)
		return
	}
	j := StatsJSON{ProcessID: st.ProcessID, CPUUsage: st.CPUUsage, TotalCPUUsage: st.TotalCPUUsage,
		MemoryUsage: byteSize(st.MemoryUsage), TotalMemory: byteSize(st.TotalMemory), AvailableMemory: byteSize(st.AvailableMemory),
		RunTime: st.RunTime, StartTime: st.StartTime, ReadBytes: byteSize(st.ReadBytes), WrittenBytes: byteSize(st.WrittenBytes),
		MessagesSizeBytes: byteSize(st.MessagesSizeBytes), StreamsCount: st.StreamsCount, TopicsCount: st.TopicsCount,
		PartitionsCount: st.PartitionsCount, SegmentsCount: st.SegmentsCount, MessagesCount: st.MessagesCount,
		ClientsCount: st.ClientsCount, ConsumerGroupsCount: st.ConsumerGroupsCount, Hostname: st.Hostname,
		OSName: st.OSName, OSVersion: st.OSVersion, KernelVersion: st.KernelVersion, IggyServerVersion: st.ServerVersion,
		CacheMetrics: map[string]string{}, ThreadsCount: st.ThreadsCount,
		FreeDiskSpace: byteSize(st.FreeDiskSpace), TotalDiskSpace: byteSize(st.TotalDiskSpace)}
	if st.ServerSemver != 0 {
		v := st.ServerSemver
		j.IggyServerSemver = &v
	}
	writeJSON(w, http.StatusOK, j)
}

// ClusterMetadataJSON is Iggy's ClusterMetadata.
type ClusterMetadataJSON struct {
	Name  string            `json:"name"`
	Nodes []ClusterNodeJSON `json:"nodes"`
}

// ClusterNodeJSON is Iggy's ClusterNode.
type ClusterNodeJSON struct {
	Name      string `json:"name"`
	IP        string `json:"ip"`
	Endpoints struct {
		TCP       uint16 `json:"tcp"`
		QUIC      uint16 `json:"quic"`
		HTTP      uint16 `json:"http"`
		WebSocket uint16 `json:"websocket"`
	} `json:"endpoints"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

// getClusterMetadata answers the single-node cluster, as the TCP server
// does, with the addresses of Config.Cluster.
func (h *Handler) getClusterMetadata(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	if err := h.b.Ping(s); err != nil {
		writeError(w, err)
		return
	}
	n := ClusterNodeJSON{Name: "iggy-node", IP: h.cfg.Cluster.IP, Role: "leader", Status: "healthy"}
	n.Endpoints.TCP, n.Endpoints.HTTP = h.cfg.Cluster.TCPPort, h.cfg.Cluster.HTTPPort
	writeJSON(w, http.StatusOK, ClusterMetadataJSON{Name: "single-node", Nodes: []ClusterNodeJSON{n}})
}

func (h *Handler) getClients(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	cs, err := h.b.GetClients(s)
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]ClientJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientJSON(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getClient(w http.ResponseWriter, r *http.Request, s *broker.Session) {
	id, err := strconv.ParseUint(r.PathValue("client_id"), 10, 32)
	if err != nil {
		writeText(w, http.StatusBadRequest, "Invalid URL: Cannot parse `client_id` to a `u32`")
		return
	}
	c, found, err := h.b.GetClient(s, uint32(id))
	writeFound(w, jsonOf(c, found, clientDetailsJSON), found, err)
}

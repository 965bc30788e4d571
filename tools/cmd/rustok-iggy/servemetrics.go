package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rustok/rustok-iggy/adapters/httpapi"
)

// collectTimeout bounds the broker read behind one /metrics scrape.
const collectTimeout = 5 * time.Second

// Broker metric names of serve's /metrics, without the namespace
// (httpapi.Namespace) and subsystem ("broker").
const (
	metricUp             = "up"
	metricStreams        = "streams"
	metricTopics         = "topics"
	metricPartitions     = "partitions"
	metricSegments       = "segments"
	metricConsumerGroups = "consumer_groups"
	metricMessages       = "messages"
	metricMessagesSize   = "messages_size_bytes"
	metricClients        = "clients"
	metricReadBytes      = "read_bytes_total"
	metricWrittenBytes   = "written_bytes_total"
	metricDiskFree       = "disk_free_bytes"
	metricDiskTotal      = "disk_total_bytes"
)

// brokerCollector is a prometheus.Collector reading the broker's
// statistics through the probe at each scrape (one lock-held walk over
// the partitions; no disk I/O but one statfs):
//
//   - rustok_iggy_broker_up: 1 when the broker answered, else 0 and no
//     other broker figure;
//   - rustok_iggy_broker_{streams,topics,partitions,segments,consumer_groups};
//   - rustok_iggy_broker_messages: messages held (retained) in all partitions;
//   - rustok_iggy_broker_messages_size_bytes: their size on disk;
//   - rustok_iggy_broker_clients: connected clients, the probe excluded;
//   - rustok_iggy_broker_{read,written}_bytes_total: message bytes returned
//     by polls and accepted by sends since the broker opened;
//   - rustok_iggy_broker_disk_{free,total}_bytes: the file system holding
//     the data directory, where measured (Linux).
type brokerCollector struct {
	p     *brokerProbe
	up    *prometheus.Desc
	gauge map[string]*prometheus.Desc
	count map[string]*prometheus.Desc
}

var _ prometheus.Collector = (*brokerCollector)(nil)

func newBrokerCollector(p *brokerProbe) *brokerCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(httpapi.Namespace, "broker", name), help, nil, nil)
	}
	return &brokerCollector{
		p:  p,
		up: desc(metricUp, "1 when the embedded broker answered the scrape's in-process ping and stats read, else 0."),
		gauge: map[string]*prometheus.Desc{
			metricStreams:        desc(metricStreams, "Streams in the broker."),
			metricTopics:         desc(metricTopics, "Topics in all streams."),
			metricPartitions:     desc(metricPartitions, "Partitions of all topics."),
			metricSegments:       desc(metricSegments, "Log segments of all partitions."),
			metricConsumerGroups: desc(metricConsumerGroups, "Consumer groups of all topics."),
			metricMessages:       desc(metricMessages, "Messages retained in all partitions."),
			metricMessagesSize:   desc(metricMessagesSize, "Size of the retained messages in bytes."),
			metricClients:        desc(metricClients, "Connected clients (the HTTP endpoint's own in-process session not counted)."),
			metricDiskFree:       desc(metricDiskFree, "Free bytes, for unprivileged users, of the file system holding the data directory."),
			metricDiskTotal:      desc(metricDiskTotal, "Size in bytes of the file system holding the data directory."),
		},
		count: map[string]*prometheus.Desc{
			metricReadBytes:    desc(metricReadBytes, "Message bytes returned by polls since the broker opened."),
			metricWrittenBytes: desc(metricWrittenBytes, "Message bytes accepted by sends since the broker opened."),
		},
	}
}

// Describe sends every descriptor.
func (c *brokerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	for _, d := range c.gauge {
		ch <- d
	}
	for _, d := range c.count {
		ch <- d
	}
}

// Collect reads the broker once and sends its figures; when the broker
// does not answer within collectTimeout it sends only up = 0.
func (c *brokerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	s, err := c.p.read(ctx)
	if err != nil || s.pingErr != nil || s.statsErr != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	st := s.stats
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	gauges := map[string]float64{
		metricStreams:        float64(st.StreamsCount),
		metricTopics:         float64(st.TopicsCount),
		metricPartitions:     float64(st.PartitionsCount),
		metricSegments:       float64(st.SegmentsCount),
		metricConsumerGroups: float64(st.ConsumerGroupsCount),
		metricMessages:       float64(st.MessagesCount),
		metricMessagesSize:   float64(st.MessagesSizeBytes),
		metricClients:        float64(clients(st)),
	}
	if st.TotalDiskSpace > 0 {
		gauges[metricDiskFree] = float64(st.FreeDiskSpace)
		gauges[metricDiskTotal] = float64(st.TotalDiskSpace)
	}
	for name, v := range gauges {
		ch <- prometheus.MustNewConstMetric(c.gauge[name], prometheus.GaugeValue, v)
	}
	ch <- prometheus.MustNewConstMetric(c.count[metricReadBytes], prometheus.CounterValue, float64(st.ReadBytes))
	ch <- prometheus.MustNewConstMetric(c.count[metricWrittenBytes], prometheus.CounterValue, float64(st.WrittenBytes))
}

// serveRegistry returns the registry serve's /metrics serves: the Go
// runtime and process collectors and the broker's figures. (The
// transport's counters of httpapi.Metrics are left out: a standalone
// broker has no transport, and zeros there would mislead.)
func serveRegistry(p *brokerProbe) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newBrokerCollector(p))
	return reg
}

package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// TopologyReport says what EnsureTopology found and did.
type TopologyReport struct {
	// Created lists what was created: "stream", or topic names.
	Created []string
	// PartitionsAdded maps a topic to the partitions added to it.
	PartitionsAdded map[string]uint32
	// Partitions maps each topic to its partition count afterwards.
	Partitions map[string]uint32
	// Conflicts describes existing topics whose expiry, size cap or
	// replication factor differ from the config. They are left unchanged.
	Conflicts []string
}

type topicSpec struct {
	name string
	cfg  core.TopicConfig
}

func (t *Transport) topicSpecs() []topicSpec {
	c := t.cfg
	mk := func(name string, parts uint32, r TopicRetention) topicSpec {
		return topicSpec{name, core.TopicConfig{
			Partitions:        parts,
			MessageExpiry:     r.expiry(),
			MaxSize:           r.maxSize(),
			ReplicationFactor: c.Topology.ReplicationFactor,
		}}
	}
	return []topicSpec{
		mk(TopicDomain, c.Topology.DomainPartitions, c.Retention.Domain),
		mk(TopicSystem, c.Topology.SystemPartitions, c.Retention.System),
		mk(TopicDLQ, c.Topology.DLQPartitions, c.Retention.DLQ),
	}
}

// EnsureTopology makes sure the stream and its domain, system and dlq
// topics exist with at least the configured partitions. It is idempotent
// and safe when several processes run it at once: losing a create race
// (core.ErrAlreadyExists) is fine. A topic with fewer partitions gets
// partitions appended (two processes growing the same topic at the same
// instant can overshoot; more partitions than configured are kept). A
// topic whose retention or replication factor differ is reported in
// Conflicts, logged, and shown by Health, never changed.
func (t *Transport) EnsureTopology(ctx context.Context) (TopologyReport, error) {
	rep := TopologyReport{PartitionsAdded: map[string]uint32{}, Partitions: map[string]uint32{}}
	stream := t.cfg.Topology.StreamName
	if _, err := t.broker.CreateStream(ctx, stream); err == nil {
		rep.Created = append(rep.Created, "stream")
	} else if !errors.Is(err, core.ErrAlreadyExists) {
		return rep, fmt.Errorf("ensure topology: create stream %q: %w", stream, err)
	}
	for _, spec := range t.topicSpecs() {
		info, err := t.broker.CreateTopic(ctx, stream, spec.name, spec.cfg)
		switch {
		case err == nil:
			rep.Created = append(rep.Created, spec.name)
		case errors.Is(err, core.ErrAlreadyExists):
			info, err = t.broker.Topic(ctx, stream, spec.name)
			if err != nil {
				return rep, fmt.Errorf("ensure topology: topic %s/%s: %w", stream, spec.name, err)
			}
			rep.Conflicts = append(rep.Conflicts, topicConflicts(spec, info)...)
			if info.PartitionsCount < spec.cfg.Partitions {
				add := spec.cfg.Partitions - info.PartitionsCount
				if err := t.broker.CreatePartitions(ctx, stream, spec.name, add); err != nil {
					return rep, fmt.Errorf("ensure topology: add %d partitions to %s/%s: %w", add, stream, spec.name, err)
				}
				rep.PartitionsAdded[spec.name] = add
				t.log.LogAttrs(ctx, slogInfo, "partitions added", strAttr("topic", spec.name), u64Attr("added", uint64(add)))
				if info, err = t.broker.Topic(ctx, stream, spec.name); err != nil {
					return rep, fmt.Errorf("ensure topology: topic %s/%s: %w", stream, spec.name, err)
				}
			}
		default:
			return rep, fmt.Errorf("ensure topology: create topic %s/%s: %w", stream, spec.name, err)
		}
		rep.Partitions[spec.name] = info.PartitionsCount
		t.setPartitions(spec.name, info.PartitionsCount)
	}
	for _, c := range rep.Conflicts {
		t.log.Warn("topology conflict, left unchanged", "conflict", c)
	}
	t.mu.Lock()
	t.conflicts = rep.Conflicts
	t.mu.Unlock()
	return rep, nil
}

func topicConflicts(spec topicSpec, info core.TopicInfo) []string {
	var out []string
	if info.MessageExpiry != spec.cfg.MessageExpiry {
		out = append(out, fmt.Sprintf("topic %s: message expiry is %s, config wants %s", spec.name, fmtExpiry(info.MessageExpiry), fmtExpiry(spec.cfg.MessageExpiry)))
	}
	if normSize(info.MaxSize) != normSize(spec.cfg.MaxSize) {
		out = append(out, fmt.Sprintf("topic %s: max size is %s, config wants %s", spec.name, fmtSize(info.MaxSize), fmtSize(spec.cfg.MaxSize)))
	}
	rf := max(info.ReplicationFactor, 1)
	if rf != max(spec.cfg.ReplicationFactor, 1) {
		out = append(out, fmt.Sprintf("topic %s: replication factor is %d, config wants %d", spec.name, rf, spec.cfg.ReplicationFactor))
	}
	return out
}

// normSize maps the spellings of "unlimited" (0, or u64::MAX as Iggy may
// report it) to 0.
func normSize(n uint64) uint64 {
	if n >= 1<<63 {
		return 0
	}
	return n
}

func fmtExpiry(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.String()
}

func fmtSize(n uint64) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d bytes", n)
}

// TopologyConflicts returns the conflicts the last EnsureTopology found.
func (t *Transport) TopologyConflicts() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.conflicts...)
}

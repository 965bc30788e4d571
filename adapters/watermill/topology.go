package iggywm

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rustok/rustok-iggy/core"
)

// topology creates the stream, topics and groups a Publisher or Subscriber
// uses, on first use, and remembers what it has seen so that later calls
// cost nothing. Concurrent creators of one name race harmlessly:
// core.ErrAlreadyExists counts as success.
type topology struct {
	b   core.Broker
	cfg TopicConfig

	mu     sync.Mutex
	stream bool                // the stream is known to exist
	topics map[string]struct{} // topics known to exist
	groups map[[2]string]struct{}
}

func newTopology(b core.Broker, cfg TopicConfig) *topology {
	return &topology{b: b, cfg: cfg, topics: make(map[string]struct{}), groups: make(map[[2]string]struct{})}
}

// ensureTopic makes sure the stream and topic exist.
func (t *topology) ensureTopic(ctx context.Context, topic string) error {
	t.mu.Lock()
	_, known := t.topics[topic]
	t.mu.Unlock()
	if known {
		return nil
	}
	_, err := t.b.Topic(ctx, t.cfg.Stream, topic)
	if errors.Is(err, core.ErrNotFound) {
		if err = t.ensureStream(ctx); err == nil {
			_, err = t.b.CreateTopic(ctx, t.cfg.Stream, topic, core.TopicConfig{Partitions: t.cfg.Partitions})
			if errors.Is(err, core.ErrAlreadyExists) {
				err = nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("iggywm: topic %q in stream %q: %w", topic, t.cfg.Stream, err)
	}
	t.mu.Lock()
	t.topics[topic] = struct{}{}
	t.mu.Unlock()
	return nil
}

func (t *topology) ensureStream(ctx context.Context) error {
	t.mu.Lock()
	known := t.stream
	t.mu.Unlock()
	if known {
		return nil
	}
	if _, err := t.b.CreateStream(ctx, t.cfg.Stream); err != nil && !errors.Is(err, core.ErrAlreadyExists) {
		return err
	}
	t.mu.Lock()
	t.stream = true
	t.mu.Unlock()
	return nil
}

// ensureGroup makes sure the stream, topic and consumer group exist.
func (t *topology) ensureGroup(ctx context.Context, topic, group string) error {
	if err := t.ensureTopic(ctx, topic); err != nil {
		return err
	}
	key := [2]string{topic, group}
	t.mu.Lock()
	_, known := t.groups[key]
	t.mu.Unlock()
	if known {
		return nil
	}
	if _, err := t.b.CreateGroup(ctx, t.cfg.Stream, topic, group); err != nil && !errors.Is(err, core.ErrAlreadyExists) {
		return fmt.Errorf("iggywm: consumer group %q on %q/%q: %w", group, t.cfg.Stream, topic, err)
	}
	t.mu.Lock()
	t.groups[key] = struct{}{}
	t.mu.Unlock()
	return nil
}

// forget drops what is remembered about topic (after the broker said it
// is gone), so that the next ensure call checks and creates again.
func (t *topology) forget(topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.topics, topic)
	for k := range t.groups {
		if k[0] == topic {
			delete(t.groups, k)
		}
	}
	t.stream = false
}

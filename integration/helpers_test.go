package integration

import (
	"strings"
	"testing"
)

// TestTailBuffer: the buffer keeps the tail and spots a race report even
// when it arrives split across writes.
func TestTailBuffer(t *testing.T) {
	b := newTailBuffer(16)
	b.Write([]byte("0123456789"))
	b.Write([]byte("abcdefghij"))
	if got := b.String(); got != "456789abcdefghij" {
		t.Fatalf("tail %q", got)
	}
	if b.raced() {
		t.Fatal("race reported without one")
	}
	b = newTailBuffer(1 << 10)
	b.Write([]byte("x\nWARNING: DA"))
	b.Write([]byte("TA RACE\nRead at"))
	if !b.raced() {
		t.Fatal("split race report missed")
	}
}

// TestLineWatcher: the listening line's address is found across partial
// writes, after other output.
func TestLineWatcher(t *testing.T) {
	found := make(chan string, 1)
	w := &lineWatcher{tail: newTailBuffer(1 << 10), found: found}
	for _, s := range []string{"starting\nrustok-iggy: Iggy server list", "ening on tcp://127.0.0.1:4", "1475 (data dir /tmp/x)\nmore\n"} {
		w.Write([]byte(s))
	}
	select {
	case a := <-found:
		if a != "127.0.0.1:41475" {
			t.Fatalf("address %q", a)
		}
	default:
		t.Fatal("no address found")
	}
}

// TestParseLog: complete lines parse, a torn last line is ignored, a bad
// line is an error.
func TestParseLog(t *testing.T) {
	es, err := parseLog([]byte("H 3 17 0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f\nS 3 17\nB 2 5\nH 1 2 019"))
	if err != nil || len(es) != 3 || es[0].partition != 3 || es[0].offset != 17 || es[0].id.String() != "0190f1a2-7b3c-7d4e-8f50-6a7b8c9d0e1f" || !es[1].stored || !es[2].blocked {
		t.Fatalf("parseLog = %+v, %v", es, err)
	}
	for _, bad := range []string{"X 1 2\n", "H 1 2\n", "S x 2\n", "H 1 2 not-a-uuid\n"} {
		if _, err := parseLog([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("parseLog(%q) = %v, want an error naming the line", bad, err)
		}
	}
}

package broker

// slab hands out 0-based ids as Iggy 0.8.0's slabs do: the lowest never
// used id, except that a freed id is reused first (most recently freed
// first). Its state is persisted so reuse order survives a restart.
type slab struct {
	Next uint32   `json:"next"`
	Free []uint32 `json:"free,omitempty"`
}

func (s *slab) alloc() uint32 {
	if n := len(s.Free); n > 0 {
		id := s.Free[n-1]
		s.Free = s.Free[:n-1]
		return id
	}
	id := s.Next
	s.Next++
	return id
}

func (s *slab) release(id uint32) { s.Free = append(s.Free, id) }

// fix makes the slab consistent with the ids in use (after loading a file
// that may predate or disagree with them).
func (s *slab) fix(used map[uint32]bool) {
	for id := range used {
		if id >= s.Next {
			s.Next = id + 1
		}
	}
	seen := map[uint32]bool{}
	free := s.Free[:0]
	for _, id := range s.Free {
		if id < s.Next && !used[id] && !seen[id] {
			free = append(free, id)
			seen[id] = true
		}
	}
	// Ids below Next that are neither used nor listed (only in a file we
	// did not write) go under the listed ones, the lowest popped first. A
	// huge gap is left unreachable rather than enumerated.
	gaps := int64(s.Next) - int64(len(used)) - int64(len(free))
	if gaps <= 0 || s.Next > 1<<16 {
		s.Free = free
		return
	}
	var rest []uint32
	for id := s.Next; id > 0; id-- {
		if !used[id-1] && !seen[id-1] {
			rest = append(rest, id-1)
		}
	}
	s.Free = append(rest, free...)
}

//go:build !unix

package server

import (
	"testing"
	"time"
)

// processCPU is unknown here: benchmarks report no CPU time.
func processCPU(testing.TB) time.Duration { return 0 }
